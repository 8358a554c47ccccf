"""`Diagnostic`: one located problem in a configuration file, as `ConfigError` carries them. Kept out
of errors.py, which every hot command imports: NamedTuple needs `typing`."""
from __future__ import annotations

from typing import NamedTuple

# A key or value quoted in a message may hold control characters: written as escapes (`a\n`), so that
# a diagnostic stays one line whatever the file contains.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 0x7F, 0x85)} | {
    0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}


class Diagnostic(NamedTuple):
    """One located problem: `file:line:col: key.path: message`.

    `line`/`col` are 1-based; 0 means unknown (the message then omits them). Immutable, hashable and
    ordered field by field."""

    file: str
    line: int
    col: int
    key: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        prefix = "warning: " if self.severity == "warning" else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {prefix}{key}{self.message}".translate(_ESCAPES)


def did_you_mean(word: str, options: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `options`, or "" when none is close."""
    import difflib  # on error paths only: it imports re and heapq

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
