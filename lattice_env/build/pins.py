"""Rewrite plugin pins inside lattice.yaml as text edits of the exact scalar, so the user's comments,
quoting, ordering and layout survive (`yaml.safe_dump` would throw all of them away)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import LatticeError
from ..fsutil import atomic_write


def _offset(text: str, line: int, col: int) -> int:
    """Character offset of 1-based `line`/`col` (PyYAML's marks count characters)."""
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[:line - 1]) + col - 1


def _source_file(config: Any, shown: str) -> Path:
    for f in config.files:
        if paths.display(f) == shown:
            return Path(f)
    return Path(config.project_file)


def _scalar_span(text: str, start: int, value: str) -> tuple[int, int]:
    """(start, end) of the characters of `value` as written at `start`: plain or quoted."""
    quote = text[start:start + 1]
    if quote in ("'", '"') and text.startswith(value + quote, start + 1):
        return start + 1, start + 1 + len(value)
    end = start + len(value)
    if text.startswith(value, start) and (end == len(text) or text[end] in " \t\r\n#,]"):
        return start, end
    raise LatticeError(f"cannot find `{value}` where the YAML loader saw it; edit the pin by hand")


def set_pins(config: Any, changes: dict[int, str]) -> list[Path]:
    """Replace `plugins[i]` with `changes[i]` in the file each was written in; returns files written."""
    by_file: dict[Path, list[tuple[int, int, str]]] = {}
    texts: dict[Path, str] = {}
    for index, new in changes.items():
        origin = config.where(("plugins", index))
        file = _source_file(config, origin.file)
        text = texts.setdefault(file, file.read_text(encoding="utf-8"))
        start, end = _scalar_span(text, _offset(text, origin.line, origin.col), config.data["plugins"][index])
        by_file.setdefault(file, []).append((start, end, new))
    for file, edits in by_file.items():
        text = texts[file]
        for start, end, new in sorted(edits, reverse=True):  # from the end: offsets stay valid
            text = text[:start] + new + text[end:]
        atomic_write(file, text.encode("utf-8"), mode=file.stat().st_mode & 0o777)
    return sorted(by_file)


def append_pin(config: Any, spec: str) -> Path:
    """Add `spec` as the last item of `plugins:`, in the style of the items already there."""
    plugins = config.data.get("plugins")
    if plugins:
        last = config.where(("plugins", len(plugins) - 1))
        file = _source_file(config, last.file)
        text = file.read_text(encoding="utf-8")
        start = _offset(text, last.line, last.col)
        _, end = _scalar_span(text, start, plugins[-1])
        if text[end:end + 1] in ("'", '"'):
            end += 1
        line_start = text.rfind("\n", 0, start) + 1
        prefix = text[line_start:start]
        if re.fullmatch(r"\s*-\s+", prefix):  # block list: a new `- item` line with the same indent
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            text = text[:line_end] + "\n" + prefix + spec + text[line_end:]
        else:  # flow list: `[a, b]` → `[a, b, spec]`
            text = text[:end] + ", " + spec + text[end:]
    elif "plugins" in config.data:  # `plugins: []` or `plugins:` with nothing under it
        key = config.where(("plugins",))
        file = _source_file(config, key.file)
        text = file.read_text(encoding="utf-8")
        start = _offset(text, key.line, key.col)
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        line = re.sub(r"(plugins\s*:)\s*(\[\s*\])?", r"\1", text[start:line_end], count=1)
        indent = " " * (key.col - 1)
        text = text[:start] + line + "\n" + indent + "  - " + spec + text[line_end:]
    else:
        file = Path(config.project_file)
        text = file.read_text(encoding="utf-8")
        text += ("" if text.endswith("\n") or not text else "\n") + f"plugins:\n  - {spec}\n"
    atomic_write(file, text.encode("utf-8"), mode=file.stat().st_mode & 0o777)
    return file
