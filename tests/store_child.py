"""A child process for the crash tests: `python store_child.py` adds a slow-building path, and says
"started" once it is about to, so the parent can SIGKILL it at a chosen moment of the build."""
from __future__ import annotations

import os
import time
from pathlib import Path

from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation

DRV = derivation("crashy", "test", {})


def slow_builder(d: Path) -> None:
    for i in range(8):
        (d / f"f{i}").write_bytes(bytes([i]) * 50000)
        time.sleep(0.01)
    (d / "sub").mkdir()
    os.symlink("../f1", d / "sub" / "link")


if __name__ == "__main__":
    print("started", flush=True)
    add_path(DRV, slow_builder)
