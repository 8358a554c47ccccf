"""Caches named by URL, as Nix names its stores: `s3://BUCKET?endpoint=…&region=…&profile=…` (any
S3-compatible store, s3.py), `file:///DIR` (files.py) and `https://HOST/PATH` or `http://…` (a static
web server, read-only: http.py). Every transport offers the same few calls on keys (`<name>.info`,
`archive/<sha256>.tar.zst`, `lattice-cache-info`); a cache that cannot be reached raises Unreachable,
so a build goes on without it."""
from __future__ import annotations

from typing import BinaryIO, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import LatticeError

Meter = Callable[[int], None]  # called with the bytes moved since the last call

CACHE_INFO = "lattice-cache-info"


class Unreachable(LatticeError):
    """The cache did not answer (connection refused, DNS, timeout): try the next one, or build."""


class Transport:
    """One cache's storage. Keys are `/`-separated; values are bytes."""

    url: str
    writable = True

    def get(self, key: str, limit: int) -> bytes | None:
        """The value of `key` (None if absent); more than `limit` bytes is an error."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO | None:
        """A stream of the value of `key` (None if absent), for the caller to read and close."""
        raise NotImplementedError

    def upload(self, key: str, src: BinaryIO, size: int, meter: Meter) -> None:
        """Store `size` bytes read from `src` under `key`, all at once: readers see all or nothing."""
        raise NotImplementedError

    def put(self, key: str, data: bytes) -> None:
        import io

        self.upload(key, io.BytesIO(data), len(data), lambda n: None)

    def list(self, prefix: str = "") -> list[tuple[str, float]]:
        """Every key starting with `prefix`, with its modification time (seconds since the epoch)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def read_only(self) -> LatticeError:
        return LatticeError(f"cache {self.url} is read-only (a static web server): push to the bucket or "
                            f"directory it serves")


def open_cache(url: str) -> Transport:
    """The transport for `url`; a LatticeError saying what is wrong with it."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise LatticeError(f"cache URL {url!r}: {exc}") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    if any(len(v) > 1 for v in query.values()):
        raise LatticeError(f"cache URL {url}: a parameter is given twice")
    params = {k: v[0] for k, v in query.items()}
    if parts.scheme == "s3":
        from .s3 import S3Cache

        unknown = sorted(set(params) - {"endpoint", "region", "profile"})
        if unknown or not parts.netloc or parts.path not in ("", "/"):
            raise LatticeError(f"cache URL {url}: expected s3://BUCKET?endpoint=URL&region=R&profile=P"
                               + (f" (unknown parameter {', '.join(unknown)})" if unknown else ""))
        return S3Cache(url, parts.netloc, params.get("endpoint"), params.get("region"), params.get("profile"))
    if params or parts.fragment:
        raise LatticeError(f"cache URL {url}: {parts.scheme}:// caches take no parameters")
    if parts.scheme == "file":
        from .files import FileCache

        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise LatticeError(f"cache URL {url}: expected file:///ABSOLUTE/DIR")
        return FileCache(url, unquote(parts.path))
    if parts.scheme in ("https", "http"):
        from .http import HttpCache

        if not parts.netloc:
            raise LatticeError(f"cache URL {url}: expected {parts.scheme}://HOST/PATH")
        return HttpCache(url)
    raise LatticeError(f"cache URL {url}: unknown scheme (use s3://, file:// or https://)")
