"""The one way Lattice reads YAML: a safe loader that keeps where every key and value came from.

`load_yaml` returns a `Document`: plain Python data plus, for every path into it, the line and column
of the value and of its key, and the source text of plain scalars that YAML 1.1 turned into something
other than a string (`version: 1.0` is a float, `on:` a boolean) so validation can explain the trap
instead of printing a confusing type error. Mapping keys are always kept as their source text, so a key
spelled `on` or `no` never silently becomes `True`/`False`.

The parsing itself is parser.py's; a document parsed before, with the same text and the same parser,
comes from the parse cache instead (parse_cache.py), without importing yaml.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import ConfigError
from .diagnostics import Diagnostic

KeyPath = tuple  # a path into a document: keys (str) and list indices (int)


class Mark(NamedTuple):
    line: int  # 1-based
    col: int  # 1-based


class Document:
    """A loaded YAML file: data and, per path, where it was written. (A plain class, filled as the
    walk goes; config/model.py says why there is no dataclass here.)"""

    def __init__(self, file: str, data: Any) -> None:
        self.file = file  # as shown in messages
        self.data = data
        self.marks: dict[KeyPath, Mark] = {}
        self.key_marks: dict[KeyPath, Mark] = {}
        # Source text and resolved type name of plain scalars that did not load as strings.
        self.raw: dict[KeyPath, tuple[str, str]] = {}

    def mark(self, path: KeyPath) -> Mark:
        """Where the value at `path` starts, else where its nearest located ancestor's does."""
        return nearest(path, (self.marks,), Mark(1, 1))

    def where(self, path: KeyPath) -> Mark:
        """Where a message about `path` points: its key for a mapping key, its own position for a
        list item (no key); an unwritten path points at its nearest located ancestor, by that rule."""
        return nearest(path, (self.key_marks, self.marks), Mark(1, 1))


def nearest(path: KeyPath, tables: tuple[dict[KeyPath, Any], ...], default: Any) -> Any:
    """The position recorded for `path`, else for its nearest ancestor that has one (the document itself
    last): at each level, the first of `tables` that records it; `default` when none does."""
    path = tuple(path)
    while True:
        for table in tables:
            if path in table:
                return table[path]
        if not path:
            return default
        path = path[:-1]


def load_yaml(text: str | bytes, file: str, line_offset: int = 0, slot: str | None = None) -> Document:
    """Parse one YAML document safely. Raises ConfigError (never a YAML or Python error) on bad input.

    `line_offset` shifts reported lines, for YAML embedded in another file (agent frontmatter). `slot`
    (the file's absolute path) names its entry in the parse cache; without one nothing is cached."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([Diagnostic(file, 0, 0, "", f"not UTF-8 text (byte {exc.start})")]) from None
    from . import parse_cache

    if slot is not None:
        doc = parse_cache.recall(slot, text, line_offset, file)
        if doc is not None:
            return doc
    from .parser import parse

    doc = parse(text, file, line_offset)
    if slot is not None:
        parse_cache.remember(slot, text, line_offset, doc)
    return doc


def dotted(path: KeyPath) -> str:
    """`('agents', 'a', 'triggers', 0)` → `agents.a.triggers[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
