"""Entering an environment: what "active" means (activation.py), `lattice shell` (shell.py) and
`lattice run` (run.py)."""
