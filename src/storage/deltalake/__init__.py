"""Delta Lake persistence of the registry tables (the only package that imports deltalake)."""
