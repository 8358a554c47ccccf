"""A store path's archive: a tar of its entries in the manifest's order (manifest.json first), with the
store's fixed modes (0444/0555), mtime 1, owner 0 and no user or group names — so the same tree gives
the same bytes under any store root — compressed with zstd (level 3, one thread: deterministic too).
zstd rather than xz: on a 900 MB npm closure xz -0 took ten times as long to decompress, and a pull
exists to be faster than a build.

Extraction trusts nothing: only files, directories and symlinks, relative names without `.`/`..`, each
created (O_EXCL, O_NOFOLLOW) inside a directory the archive itself made, so no symlink is ever followed,
and never more bytes than the signed size. What it wrote is then sealed by store/add.py like any build,
and refused there unless its tree hash is the signed one. A file whose content and executable bit the
archive's manifest gives for an earlier file too becomes a hard link to it (as `store optimise` would
make): an npm closure holds a fifth of its bytes twice, and writing is most of a pull. A manifest that
lies about it only makes the tree hash differ."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from ..errors import LatticeError
from ..store.manifest import MANIFEST, read_manifest
from ..store.tree import DIR_MODE, EXEC_MODE, FILE_MODE, MTIME, tree_hash
from .info import Refused
from .writer import CHUNK, Writers

LEVEL = 3
MAX_MANIFEST = 64 << 20


class _Counting:
    """A write-only file that hashes and counts what passes through it to `out`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.sha256, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)

    def flush(self) -> None:
        self.out.flush()


def _tarinfo(name: str, kind: str, mode: int, size: int = 0, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}[kind]
    info.mode, info.size, info.linkname = mode, size, target
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
    return info


def write_archive(path: Path, out: BinaryIO) -> tuple[str, int, int]:
    """Write the archive of the store path `path` to `out`; return (sha256 hex, compressed size, tar size).

    The manifest says what is archived; each file is hashed as it is read, so a damaged path (one that
    `lattice store verify` would fail) is never archived."""
    import zstandard

    manifest = read_manifest(path)
    entries = [tuple(e) for e in manifest["entries"]]
    if tree_hash(entries) != manifest.get("tree"):
        raise LatticeError(f"{path.name}: its manifest does not match its tree hash (`lattice store verify`)")
    compressed = _Counting(out)
    writer = zstandard.ZstdCompressor(level=LEVEL).stream_writer(compressed, closefd=False)
    tar_bytes = _Counting(writer)
    with tarfile.open(fileobj=tar_bytes, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        with open(path / MANIFEST, "rb") as f:
            data = f.read()
        tar.addfile(_tarinfo(MANIFEST, "file", FILE_MODE, len(data)), io.BytesIO(data))
        for rel, kind, executable, digest in entries:
            full = path / rel
            if kind == "dir":
                tar.addfile(_tarinfo(rel, "dir", DIR_MODE))
            elif kind == "symlink":
                target = os.readlink(full)
                if hashlib.sha256(os.fsencode(target)).hexdigest() != digest:
                    raise _damaged(path, rel)
                tar.addfile(_tarinfo(rel, "symlink", 0o777, target=target))
            else:
                with open(full, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    checked = _Checked(f)
                    tar.addfile(_tarinfo(rel, "file", EXEC_MODE if executable else FILE_MODE, size), checked)
                if checked.sha256.hexdigest() != digest or checked.size != size:
                    raise _damaged(path, rel)
    writer.close()
    return compressed.sha256.hexdigest(), compressed.size, tar_bytes.size


class _Checked:
    """A file being archived, hashed as tarfile reads it."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.sha256, self.size = f, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _damaged(path: Path, rel: str) -> LatticeError:
    return LatticeError(f"{path.name}: {rel} differs from its manifest; not archived "
                        f"(`lattice store verify {path.name}`)")


class _Limited:
    """The decompressed tar, read at most `limit` bytes far: a bomb stops at the signed size."""

    def __init__(self, raw: BinaryIO, limit: int, label: str) -> None:
        self.raw, self.limit, self.label, self.seen = raw, limit, label, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n >= 0 else CHUNK)
        self.seen += len(data)
        if self.seen > self.limit:
            raise Refused(f"{self.label}: refused: the archive unpacks to more than its signed size")
        return data


def _relative(name: str, label: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or "\0" in name or any(p in ("", ".", "..") for p in parts):
        raise Refused(f"{label}: refused: the archive has an unsafe entry name {name!r}")
    return name


def extract(archive: BinaryIO, out: Path, size: int, label: str) -> dict[str, str]:
    """Unpack the archive read from `archive` into the empty directory `out` (its manifest.json is left
    out: the store writes its own); return the sha256 of every file, by relative path, as it was
    written (for the seal, which then need not read them again). `label` (`cache: path`) starts every
    refusal."""
    import zstandard

    made = {""}  # directories this archive created: the only places an entry may go
    claimed: dict[str, tuple[str, bool]] = {}  # rel → (sha256, executable), as the manifest says
    written: dict[tuple[str, bool], str] = {}  # the first file written with that content
    try:
        with Writers() as writers, \
                zstandard.ZstdDecompressor().stream_reader(archive, closefd=False) as raw:
            with tarfile.open(fileobj=_Limited(raw, size, label), mode="r|", encoding="utf-8",
                              errors="strict") as tar:
                for member in tar:
                    rel = _relative(member.name, label)
                    parent = rel.rpartition("/")[0]
                    if parent not in made:
                        raise Refused(f"{label}: refused: archive entry {rel!r} is not inside a directory "
                                      f"the archive made")
                    target = os.path.join(out, rel)
                    if rel == MANIFEST:
                        if not member.isreg() or member.size > MAX_MANIFEST:
                            raise Refused(f"{label}: refused: the archive's {MANIFEST} is not a manifest")
                        claimed = _claims(tar.extractfile(member).read())  # type: ignore[union-attr]
                        continue
                    if member.isdir():
                        os.mkdir(target, 0o755)
                        made.add(rel)
                    elif member.issym():
                        os.symlink(member.linkname, target)
                    elif member.isreg():
                        executable = bool(member.mode & 0o111)
                        same = claimed.get(rel)
                        if same is not None and same[1] == executable and same in written:
                            source = written[same]
                            writers.link(os.path.join(out, source), target, source, rel)
                        else:
                            writers.write(tar.extractfile(member), member.size, executable,  # type: ignore[arg-type]
                                          target, rel)
                            if same is not None and same[1] == executable:
                                written[same] = rel
                    else:
                        raise Refused(f"{label}: refused: archive entry {rel!r} is not a file, directory "
                                      f"or symlink")
            return writers.digests()
    except FileExistsError as exc:
        raise Refused(f"{label}: refused: the archive has {os.path.relpath(exc.filename, out)!r} twice") from None
    except (tarfile.TarError, zstandard.ZstdError, UnicodeError, EOFError) as exc:
        raise Refused(f"{label}: refused: the archive is damaged ({exc})") from None


def _claims(data: bytes) -> dict[str, tuple[str, bool]]:
    """What a manifest says each file holds; nothing when it does not parse (then nothing is linked)."""
    import json

    try:
        return {e[0]: (e[3], bool(e[2])) for e in json.loads(data)["entries"]
                if isinstance(e, list) and len(e) == 4 and e[1] == "file" and isinstance(e[0], str)
                and isinstance(e[3], str)}
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return {}
