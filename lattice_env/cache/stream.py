"""`lattice store export PATH… > FILE` and `lattice store import < FILE`: the same signed infos and
archives a cache holds, in one uncompressed tar stream for machines without a network — a
`lattice-export` member first, then per path (references first) its `<name>.info` and its archive.
Import verifies each path as a pull does (a signature by a key the global configuration trusts, the
archive's hash and size, the tree hash) and enters it the same way."""
from __future__ import annotations

import contextlib
import json
import tarfile
from pathlib import Path
from typing import BinaryIO, Iterable

from ..errors import LatticeError
from ..store.names import root_dir
from ..store.roots import temp_root
from .config import trust
from .info import MAX_INFO_BYTES, PathInfo, Refused, info_key, parse_info
from .keys import SecretKey
from .push import closure, describe
from .substitute import enter

HEADER = "lattice-export"
HEADER_BYTES = b'{"format":1}\n'


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uname, info.gname = size, 0o444, 1, "", ""
    return info


def export(paths: Iterable[Path], out: BinaryIO, key: SecretKey, root: Path | None = None) -> list[str]:
    """Write the closure of `paths` to `out`; return the names written."""
    import io

    names = []
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_member(HEADER, len(HEADER_BYTES)), io.BytesIO(HEADER_BYTES))
        for path in closure(paths, root):
            info, archive = describe(path, key)
            with archive:  # type: ignore[attr-defined]
                data = info.to_bytes()
                tar.addfile(_member(info_key(path.name), len(data)), io.BytesIO(data))
                tar.addfile(_member(info.archive, info.archive_size), archive)  # type: ignore[arg-type]
            names.append(path.name)
    return names


def import_stream(src: BinaryIO, root: Path | None = None, where: str = "stdin") -> tuple[list[str], list[str]]:
    """Enter every path of the export stream read from `src`; return (imported, already present)."""
    root = root_dir(root)
    keys = trust().import_keys
    if not keys:
        raise LatticeError("no trusted public keys: list the exporting key under `trusted_public_keys:` (or a "
                           "cache's `public_key:`) in the global lattice.yaml before importing")
    label = f"import from {where}"
    imported, present = [], []
    pending: PathInfo | None = None
    try:
        # Every imported path stays rooted until the import ends: the paths that reference it come later.
        with contextlib.ExitStack() as roots, tarfile.open(fileobj=src, mode="r|") as tar:
            first = True
            for member in tar:
                if first:
                    if member.name != HEADER or not member.isreg():
                        raise LatticeError(f"{label}: not a stream `lattice store export` wrote")
                    data = tar.extractfile(member).read(len(HEADER_BYTES) + 1)  # type: ignore[union-attr]
                    if json.loads(data).get("format") != 1:
                        raise LatticeError(f"{label}: an export stream of another format")
                    first = False
                    continue
                if not member.isreg():
                    raise LatticeError(f"{label}: unexpected entry {member.name!r}")
                body = tar.extractfile(member)
                if pending is None:
                    if not member.name.endswith(".info") or member.size > MAX_INFO_BYTES:
                        raise LatticeError(f"{label}: expected an info file, found {member.name!r}")
                    name = member.name.removesuffix(".info")
                    pending = parse_info(body.read(), label, name).verified(keys, label)  # type: ignore[union-attr]
                    continue
                info, pending = pending, None
                if member.name != info.archive:
                    raise Refused(f"{label}: {info.name}: refused: its archive is not next in the stream")
                if (root / info.name).is_dir():
                    present.append(info.name)
                    continue
                roots.enter_context(temp_root(root / info.name, root))
                enter(info, label, lambda body=body: _Unclosed(body), root)  # type: ignore[misc]
                imported.append(info.name)
    except (tarfile.TarError, ValueError, EOFError) as exc:
        raise LatticeError(f"{label}: the stream is damaged or cut short ({exc})") from None
    if pending is not None:
        raise LatticeError(f"{label}: the stream ends before {pending.name}'s archive")
    return imported, present


class _Unclosed:
    """A member of the stream, read through; closing it is the stream's business."""

    def __init__(self, body: BinaryIO) -> None:
        self.read = body.read

    def __enter__(self) -> _Unclosed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
