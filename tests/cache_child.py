"""A child process for the cache tests: `python cache_child.py NAME` pulls store path NAME from the
caches the global lattice.yaml trusts (into $LATTICE_HOME's store), saying "started" first so the
parent can time a SIGKILL, and the cache it came from (or "none") last."""
from __future__ import annotations

import sys

from lattice_env.cache.substitute import Substituter

if __name__ == "__main__":
    print("started", flush=True)
    print(Substituter.configured(progress=False).substitute(sys.argv[1]) or "none", flush=True)
