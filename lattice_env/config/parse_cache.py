"""Documents parsed before, kept so that reading an unchanged lattice.yaml (a no-op `lattice build`,
`status`, `switch`) neither imports yaml — as costly as importing click — nor parses it again.

Each source file has one slot, `<data>/cache/parsed/<sha256 of its absolute path>.json`, holding the
key of the text it was made from and the Document as JSON (data, and each path's marks and YAML 1.1
trap text). The key is a sha256 over the parser's identity, the line offset and the text itself, so
only the very same text parsed by the very same parser is recalled; an edit misses and is parsed again.
The parser's identity is the source of this module, document.py, parser.py and limits.py, and the stat stamp of
every file of the yaml package (stamps.py): upgrading PyYAML or Lattice starts afresh. (A libyaml
that a distribution's PyYAML links dynamically is outside the package and not in it.)

Only documents that parsed without a problem are kept: a bad one is parsed every time, for its
messages. The JSON round trip is exact for what the parser returns (str keys, lists, dicts, str, int,
float without NaN or infinity, bool, None). A slot that is unreadable, malformed or of another shape is
a miss; one that cannot be written is simply not used."""
from __future__ import annotations

import hashlib
import json
import os

from ..paths import data_root
from .document import Document, Mark

_IDENTITY: list[bytes] = []


def _identity() -> bytes:
    """The parser's identity (see the module docstring), computed once per process."""
    if not _IDENTITY:
        digest = hashlib.sha256()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in ("parse_cache.py", "document.py", "parser.py", "limits.py"):
            with open(os.path.join(here, name), "rb") as f:
                digest.update(name.encode() + b"\0" + hashlib.sha256(f.read()).digest())
        from importlib.machinery import PathFinder  # finds yaml without importing it

        from ..stamps import stamp

        spec = PathFinder.find_spec("yaml")
        for directory in (spec.submodule_search_locations or []) if spec else []:
            for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                if entry.is_file():
                    digest.update(json.dumps([entry.name, *stamp(entry.stat())]).encode())
        _IDENTITY.append(digest.digest())
    return _IDENTITY[0]


def _slot(path: str) -> str:
    name = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(data_root(), "cache", "parsed", f"{name}.json")


def _key(text: str, line_offset: int) -> str:
    digest = hashlib.sha256(_identity())
    digest.update(f"\0{line_offset}\0".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def recall(path: str, text: str, line_offset: int, file: str) -> Document | None:
    """The Document `text` parsed to before, shown as `file`; None when the slot of `path` holds
    another text (or nothing usable)."""
    try:
        with open(_slot(path), "rb") as f:
            kept = json.loads(f.read())
        if kept["key"] != _key(text, line_offset):
            return None
        doc = Document(file=file, data=kept["data"])
        doc.marks = {tuple(p): Mark(line, col) for p, line, col in kept["marks"]}
        doc.key_marks = {tuple(p): Mark(line, col) for p, line, col in kept["key_marks"]}
        doc.raw = {tuple(p): (source, kind) for p, source, kind in kept["raw"]}
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return doc


def remember(path: str, text: str, line_offset: int, doc: Document) -> None:
    """Keep `doc`, parsed from `text`, in the slot of `path`."""
    from pathlib import Path

    from ..fsutil import atomic_write

    try:
        kept = {"key": _key(text, line_offset), "data": doc.data,
                "marks": [[list(p), m.line, m.col] for p, m in doc.marks.items()],
                "key_marks": [[list(p), m.line, m.col] for p, m in doc.key_marks.items()],
                "raw": [[list(p), source, kind] for p, (source, kind) in doc.raw.items()]}
        atomic_write(Path(_slot(path)), json.dumps(kept, allow_nan=False).encode())
    except (OSError, ValueError, TypeError):  # an unwritable data dir, or a value JSON cannot hold: not kept
        pass
