"""Fixtures that start `mediactl sandbox serve` as a real subprocess (filled in by the sandbox work)."""
