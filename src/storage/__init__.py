"""Turning specs into Arrow tables and persisting them (Delta Lake)."""
