"""`python -m lattice_env` is the `lattice` command."""
from __future__ import annotations

import sys

from .entry import main

sys.exit(main())
