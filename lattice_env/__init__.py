"""Lattice: one declarative lattice.yaml for a whole opencode setup."""
from __future__ import annotations

__version__ = "0.1.0"
