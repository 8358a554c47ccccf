"""Transfer progress on a terminal: one line per transfer, redrawn at most ten times a second with the
bytes moved; nothing at all when stderr is not a terminal."""
from __future__ import annotations

import sys
import time


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class ByteMeter:
    """Call with the bytes moved since the last call; `done()` ends the line."""

    def __init__(self, message: str, total: int, enabled: bool | None = None) -> None:
        self.message, self.total, self.moved = message, total, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = self.shown = time.monotonic()

    def __call__(self, n: int) -> None:
        self.moved += n
        now = time.monotonic()
        if self.enabled and now - self.shown >= 0.1:
            self.shown = now
            percent = f" {100 * self.moved // self.total}%" if self.total else ""
            sys.stderr.write(f"\rlattice: {self.message}: {_mib(self.moved)} of {_mib(self.total)}{percent}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write(f"\rlattice: {self.message}: {_mib(self.moved)} in "
                             f"{time.monotonic() - self.started:.1f} s\x1b[K\n")
            sys.stderr.flush()
