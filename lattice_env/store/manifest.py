"""Reading a store path's `manifest.json` (store/FORMAT.md): its derivation, references and entries.
Standard `os` and `json` only, with str paths: `route`, `lattice run` and the bridge read a workflow
environment's configuration from here on every call."""
from __future__ import annotations

import json
import os

from ..errors import LatticeError
from .seal import MANIFEST

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the store path `path`, as a dict; a missing or unreadable one is a LatticeError."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(os.path.join(path, MANIFEST), "rb") as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        raise LatticeError(f"{name}: {MANIFEST} is missing") from None
    except (OSError, ValueError) as exc:
        raise LatticeError(f"{name}: {MANIFEST} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise LatticeError(f"{name}: {MANIFEST} is not an object")
    return data


def references(path: str | os.PathLike[str]) -> list[str]:
    """The store names `path` depends on; none if its manifest is unreadable (verify reports that)."""
    from .names import STORE_NAME_RE

    try:
        refs = read_manifest(path).get("references", [])
    except LatticeError:
        return []
    return [r for r in refs if isinstance(r, str) and STORE_NAME_RE.fullmatch(r)]


def environment_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The resolved lattice.yaml a workflow environment was built from (its derivation's `config`)."""
    try:
        config = read_manifest(path)["derivation"]["inputs"]["config"]
    except (LatticeError, KeyError, TypeError):
        config = None
    if not isinstance(config, dict):
        raise LatticeError(f"{os.fspath(path)} is not a workflow environment (no configuration in its "
                           f"manifest); run `lattice switch` again")
    return config
