"""Bundled JSON-LD context documents (data files, loaded with importlib.resources)."""
