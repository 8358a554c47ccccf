"""Lifecycle hooks: the `when:` condition language (conditions.py)."""
