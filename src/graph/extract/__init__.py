"""Standard-library extractors: one Python file (or the repo's path listing) -> CPG rows.

``file_facts.extract_file`` runs them all for one file; ``filesystem.extract_repo`` covers the
repository level. Rows are plain data (``rows``); ids are stable across runs (``ids``).
"""
