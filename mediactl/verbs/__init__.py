"""Verbs written once against the provider protocols, one module per verb (DESIGN.md section 4)."""
