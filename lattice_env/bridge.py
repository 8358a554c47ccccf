"""`python -m lattice_env.bridge`: the name environments built before the subpackage layout (store format
1) call their routing bridge by. Store paths are immutable, so the name stays, and answers exactly as
`python -m lattice_env.routing.bridge` does (same operations, same JSON)."""
from __future__ import annotations

import sys

from .routing.bridge import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
