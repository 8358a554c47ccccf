"""Store names: a path's name is the hash of everything that went into it (its derivation), so the name
alone says whether a build is needed. The format is store/FORMAT.md; `add.py` builds a path under its
name, `verify.py` checks one, `gc.py` collects, `optimise.py` deduplicates, `tree.py` hashes trees."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .. import paths as locations
from ..errors import LatticeError
from .tree import canonical_json

FORMAT = 2
ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"  # Nix's base32: no e, o, u, t
HASH_CHARS = 32  # 160 bits
_NAME = r"[A-Za-z0-9+_?=][A-Za-z0-9+._?=-]{0,199}"
NAME_RE = re.compile(_NAME)
STORE_NAME_RE = re.compile(rf"[{ALPHABET}]{{{HASH_CHARS}}}-{_NAME}")


def root_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """`root` as a Path, or the default store (`paths.store_root()`)."""
    return Path(root if root is not None else locations.store_root())


def base32(digest: bytes) -> str:
    """The first 160 bits of `digest`, most significant first, 5 bits per character of ALPHABET."""
    number = int.from_bytes(digest[:20], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(HASH_CHARS)))


def derivation(name: str, kind: str, inputs: dict[str, Any], references: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Everything that determines a store path, as data. `references` are the store paths it depends on."""
    if not NAME_RE.fullmatch(name):
        raise LatticeError(f"invalid store path name {name!r}: use letters, digits and + . _ ? = - "
                           "(not first: . or -), at most 200 characters")
    if not kind or not NAME_RE.fullmatch(kind):
        raise LatticeError(f"invalid store path kind {kind!r}")
    refs = sorted({Path(r).name for r in references})
    for ref in refs:
        if not STORE_NAME_RE.fullmatch(ref):
            raise LatticeError(f"{name}: reference {ref!r} is not a store path name")
    drv = {"format": FORMAT, "name": name, "kind": kind, "inputs": inputs, "references": refs}
    try:
        canonical_json(drv)
    except (TypeError, ValueError) as exc:
        raise LatticeError(f"{name}: inputs cannot be hashed: {exc}") from None
    return drv


def store_name(drv: dict[str, Any]) -> str:
    """`<hash>-<name>`: the hash of the derivation's canonical JSON, then its name."""
    return base32(hashlib.sha256(canonical_json(drv)).digest()) + "-" + str(drv["name"])


def store_path(drv: dict[str, Any], root: Path | None = None) -> Path:
    return root_dir(root) / store_name(drv)


def paths(root: Path | None = None) -> list[Path]:
    """Every store path (final names only), sorted."""
    root = root_dir(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if STORE_NAME_RE.fullmatch(p.name))


def resolve(arg: str | Path, root: Path | None = None) -> Path:
    """A store path given by full path (even through a symlink) or by its `<hash>-<name>` basename."""
    root = root_dir(root)
    text = str(arg)
    if "/" in text:
        resolved = Path(text).expanduser().absolute()
        real = resolved.resolve()
        for base in (root.absolute(), root.resolve()):
            for candidate in (resolved, real):
                if candidate.parent == base:
                    text = candidate.name
                    break
            else:
                continue
            break
        else:
            raise LatticeError(f"{arg} is not a store path (store: {root})")
    if not STORE_NAME_RE.fullmatch(text) or not (root / text).is_dir():
        raise LatticeError(f"no store path {text} in {root}")
    return root / text
