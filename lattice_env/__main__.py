"""`python -m lattice_env` is the `lattice` command."""
from __future__ import annotations

import sys

from .cli.main import main

sys.exit(main())
