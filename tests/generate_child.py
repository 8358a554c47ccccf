"""A child process for the generate kill test: a real `lattice generate` in the current directory, with
the modules it runs already imported, saying "started" just before, so the parent's SIGKILL after a
random delay lands inside the run rather than in the interpreter's start-up."""
from __future__ import annotations

import importlib
import sys

from lattice_env.cli.main import main

# imported before "started", so only the run itself is timed
for module in ("lattice_env.cli.project", "lattice_env.config.load", "lattice_env.opencode.generate"):
    importlib.import_module(module)

if __name__ == "__main__":
    print("started", flush=True)
    sys.exit(main(["generate", "--trust"]))
