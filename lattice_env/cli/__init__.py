"""The `lattice` command: a thin click layer (app.py, one module per command group) over the library,
the click-free hot commands (fast.py), one output helper (output.py) and the entry point (main.py)."""
