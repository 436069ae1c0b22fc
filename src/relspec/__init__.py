"""Relationship specs: the rules that relate extracted datasets and emit CPG edges."""
