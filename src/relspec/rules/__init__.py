"""Relationship rule specs, templates and their registry codecs."""
