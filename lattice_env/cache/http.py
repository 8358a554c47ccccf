"""`https://HOST/PATH` (or `http://`): pulling from a cache that a static web server publishes — any
directory a push wrote, served as files. Read-only; TLS is verified against the system's certificate
authorities (SSL_CERT_FILE and proxies are honoured, as by other tools)."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import BinaryIO

from ..errors import LatticeError
from .url import Meter, Transport, Unreachable

TIMEOUT = 20  # seconds without a byte before a cache counts as down


class HttpCache(Transport):
    writable = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.base = url.rstrip("/") + "/"

    def _open(self, key: str, method: str = "GET"):  # an http.client.HTTPResponse, or None when absent
        request = urllib.request.Request(self.base + key, method=method,
                                         headers={"User-Agent": "lattice", "Accept-Encoding": "identity"})
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410) or (exc.code == 403 and method == "HEAD"):
                return None
            raise LatticeError(f"cache {self.url}: {key}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cache {self.url} is unreachable ({reason})") from None

    def get(self, key: str, limit: int) -> bytes | None:
        response = self._open(key)
        if response is None:
            return None
        with response:
            try:
                data = response.read(limit + 1)
            except OSError as exc:
                raise Unreachable(f"cache {self.url}: {key}: {exc}") from None
        if len(data) > limit:
            raise LatticeError(f"cache {self.url}: {key} is larger than {limit} bytes")
        return data

    def exists(self, key: str) -> bool:
        response = self._open(key, "HEAD")
        if response is not None:
            response.close()
        return response is not None

    def open(self, key: str) -> BinaryIO | None:
        response = self._open(key)
        return None if response is None else _Body(response, f"cache {self.url}: {key}")

    def upload(self, key: str, src: BinaryIO, size: int, meter: Meter) -> None:
        raise self.read_only()

    def list(self, prefix: str = "") -> list[tuple[str, float]]:
        raise self.read_only()

    def delete(self, key: str) -> None:
        raise self.read_only()


class _Body:
    """A response body whose read errors (a connection dropped mid-transfer) are Unreachable."""

    def __init__(self, response: BinaryIO, label: str) -> None:
        self.response, self.label = response, label

    def read(self, n: int = -1) -> bytes:
        try:
            return self.response.read(n)
        except OSError as exc:
            raise Unreachable(f"{self.label}: {exc}") from None

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
