"""Rendering for people and scripts: textsafe (sanitizing, a leaf); output.py renders results."""
