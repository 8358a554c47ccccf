"""Getting a workflow into a directory: the embedded default (init.py)."""
