"""Remembers documents that passed shape validation, so commands that re-read an unchanged lattice.yaml
(a no-op `lattice build`, `status`, `switch`) skip cerberus: it re-validates its own schema definitions
in every process, which costs more than the rest of a no-op build together (benchmarks/bench_build.py).

The key is a SHA-256 of schema.py's source, the schema given and the document (canonical JSON; callables
by their qualified name, never an address), so any change to either validates afresh. Only passing
results are remembered: a failing document is validated every time, because its messages need the
file positions. Each entry is an empty file under `<data>/cache/valid/`, made with O_CREAT|O_EXCL —
there is nothing to tear — and a cache that cannot be written is simply not used."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ..paths import data_root, make_dirs


def _canonical(value: Any) -> Any:
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(type(value)))}"
    return repr(value)


def _encode(value: Any) -> bytes:
    return b"\0" + json.dumps(value, sort_keys=True, default=_canonical).encode("utf-8", "surrogatepass")


# id(schema) → (schema, sha256 of schema.py and that schema). The schema is kept so its id cannot be reused.
_SCHEMA_DIGESTS: dict[int, tuple[dict[str, Any], Any]] = {}


def key(data: Any, schema: dict[str, Any]) -> str:
    """Validated once per agent file too: schema.py and the schema are hashed once per process (the
    schemas are module constants), then only the document is added."""
    kept = _SCHEMA_DIGESTS.get(id(schema))
    if kept is not None:
        digest = kept[1]
    else:
        from ..config import schema as schema_module

        digest = hashlib.sha256()
        with open(schema_module.__file__, "rb") as source:
            digest.update(source.read())
        digest.update(_encode(schema))
        _SCHEMA_DIGESTS[id(schema)] = (schema, digest)
    digest = digest.copy()
    digest.update(_encode(data))
    return digest.hexdigest()


def _entry(name: str) -> str:
    return os.path.join(data_root(), "cache", "valid", name)


def passed_before(name: str) -> bool:
    return os.path.exists(_entry(name))


def remember(name: str) -> None:
    path = _entry(name)
    try:
        make_dirs(os.path.dirname(path))
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError:  # already there, or an unwritable data dir: validation simply runs next time
        pass
