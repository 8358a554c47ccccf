"""`file:///DIR`: a cache in a local directory (a mounted share, a USB disk). Writes are temp + fsync +
rename, so a reader or a crash sees a whole file or none."""
from __future__ import annotations

import os
from typing import BinaryIO

from ..errors import LatticeError
from ..fsutil import fsync_dir, remove
from .url import Meter, Transport

CHUNK = 1 << 20


class FileCache(Transport):
    def __init__(self, url: str, root: str) -> None:
        self.url, self.root = url, root

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _fault(self, exc: OSError) -> LatticeError:
        return LatticeError(f"cache {self.url}: {exc.strerror or exc}: {exc.filename or self.root}")

    def get(self, key: str, limit: int) -> bytes | None:
        try:
            with open(self._path(key), "rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fault(exc) from None
        if len(data) > limit:
            raise LatticeError(f"cache {self.url}: {key} is larger than {limit} bytes")
        return data

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def open(self, key: str) -> BinaryIO | None:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fault(exc) from None

    def upload(self, key: str, src: BinaryIO, size: int, meter: Meter) -> None:
        target = self._path(key)
        directory = os.path.dirname(target)
        tmp = os.path.join(directory, f".tmp-{os.getpid()}-{os.urandom(4).hex()}-{os.path.basename(target)}")
        try:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as f:
                while chunk := src.read(CHUNK):
                    f.write(chunk)
                    meter(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            fsync_dir(directory)
        except OSError as exc:
            remove(tmp)
            raise self._fault(exc) from None
        except BaseException:
            remove(tmp)
            raise

    def list(self, prefix: str = "") -> list[tuple[str, float]]:
        found = []
        for directory, dirs, files in os.walk(self.root):
            dirs.sort()
            rel = os.path.relpath(directory, self.root)
            for name in sorted(files):
                key = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
                if key.startswith(prefix):
                    try:
                        found.append((key, os.lstat(os.path.join(directory, name)).st_mtime))
                    except FileNotFoundError:
                        continue
        return found

    def delete(self, key: str) -> None:
        try:
            remove(self._path(key))
        except OSError as exc:
            raise self._fault(exc) from None
