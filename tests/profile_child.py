"""A child process for the profile crash test: `python profile_child.py A B` switches the default profile
back and forth between store paths A and B forever, saying "started" first, so the parent can SIGKILL it
at a random moment of some switch."""
from __future__ import annotations

import itertools
import sys

from lattice_env.profiles.generations import switch_to

if __name__ == "__main__":
    print("started", flush=True)
    for target in itertools.cycle(sys.argv[1:]):
        switch_to(target)
