"""JSONC as opencode reads it (`opencode.jsonc`, and `opencode.json` too): JSON with `//` and `/* */`
comments and trailing commas. Written by hand — a scanner that blanks comments and drops trailing commas
outside strings, then the standard json parser — rather than taken from a package: it is twenty lines,
and blanking keeps every line and column where it was, so an error points into the file as written."""
from __future__ import annotations

import json
from typing import Any

from ..errors import LatticeError


def strip(text: str) -> str:
    """`text` with comments replaced by spaces (newlines kept) and trailing commas removed."""
    out = list(text)
    i, n = 0, len(text)
    last_comma = -1  # index of a comma that a closing bracket would make trailing
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            last_comma = -1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                out[i] = " "
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            for j in range(i, end):
                out[j] = "\n" if text[j] == "\n" else " "
            i = end
            continue
        elif c == ",":
            last_comma = i
        elif c in "]}":
            if last_comma >= 0:
                out[last_comma] = " "
            last_comma = -1
        elif not c.isspace():
            last_comma = -1
        i += 1
    return "".join(out)


def loads(text: str, shown: str) -> Any:
    """Parse JSONC; a LatticeError `file:line:col: …` when it is not."""
    try:
        return json.loads(strip(text.removeprefix("\ufeff")))
    except json.JSONDecodeError as exc:
        raise LatticeError(f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
