"""Bundled 1EdTech JSON Schemas (data files, loaded with importlib.resources); see README.md."""
