"""Where a workflow came from: `lattice.origin.json` beside lattice.yaml, committed with the workflow.

    {
      "_src_path": "dpshade/ai-workflow",    the source as the user wrote it (a local one: absolute)
      "_ref": "v1.2",                        the ref asked for, or null for the default branch
      "_commit": "3c33fd0…",                 the commit that was fetched (null: a plain directory)
      "_subdirectory": "workflows/web",      the folder inside the repository, or null
      "_kind": "lattice",                    "lattice" (a lattice.yaml) or "opencode" (an imported setup)
      "_lattice": "0.1.0"                    the lattice that wrote it
    }

The keys are copier's (`.copier-answers.yml` records `_src_path` and `_commit`), so anyone who knows
copier reads it at a glance; JSON rather than YAML because lattice alone writes it, and `update` reads it
before anything else. `update` merges from `_commit` to the new ref and records the new commit only
once the merged files are written."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from .. import __version__
from ..errors import LatticeError

ORIGIN_FILE = "lattice.origin.json"
KINDS = ("lattice", "opencode")


class Origin(NamedTuple):
    src: str
    ref: str | None
    commit: str | None
    subdirectory: str | None
    kind: str

    def as_json(self) -> dict[str, Any]:
        return {"_src_path": self.src, "_ref": self.ref, "_commit": self.commit, "_subdirectory": self.subdirectory,
                "_kind": self.kind, "_lattice": __version__}

    def encoded(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n").encode()


def read_origin(directory: Path) -> Origin:
    """The origin file of the workflow in `directory`; a LatticeError naming the file and key when it is
    missing or is not what lattice writes (it is committed: input like lattice.yaml)."""
    from ..fsutil import read_regular

    path = directory / ORIGIN_FILE
    shown = str(path)
    data = read_regular(path, 1 << 16)
    if data is None:
        raise LatticeError(f"{shown}: no such file: this workflow did not come from `lattice init --from`, so there "
                           f"is nothing to update from")
    if data is False:
        raise LatticeError(f"{shown}: not a regular file of at most 64 KiB")
    try:
        raw = json.loads(data)  # type: ignore[arg-type]
    except ValueError as exc:
        raise LatticeError(f"{shown}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise LatticeError(f"{shown}: must be an object")

    def text(key: str, required: bool = False, pattern: str | None = None) -> str | None:
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or (pattern and not re.fullmatch(pattern, value)):
            raise LatticeError(f"{shown}: {key}: must be {'text' if not pattern else 'a ' + key[1:]}")
        return value
    kind = text("_kind", required=True)
    if kind not in KINDS:
        raise LatticeError(f"{shown}: _kind: must be one of {', '.join(KINDS)}")
    return Origin(text("_src_path", required=True) or "", text("_ref", pattern=r"[A-Za-z0-9_./+-]+"),
                  text("_commit", pattern=r"[0-9a-f]{40}"), text("_subdirectory"), kind)
