"""Which caches this machine trusts: only the user's global lattice.yaml says, never a project's (a
workflow — perhaps a stranger's — naming a cache and a key would let it choose what runs here):

    caches:                                  # tried in order, before building a path
      - url: s3://team-cache?region=eu-west-1
        public_key: team-cache-1:BASE64      # or a list, while a key is being rotated
    trusted_public_keys: [laptop-1:BASE64]   # also trusted by `lattice store import`

config/sources.py keeps both keys out of every workflow's configuration (and so out of store names:
machines with and without caches build the same names) and refuses them in a project's files."""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import paths
from ..config.diagnostics import Diagnostic
from ..errors import ConfigError, LatticeError
from .keys import PublicKey


class CacheEntry(NamedTuple):
    url: str
    keys: tuple[PublicKey, ...]


class Trust(NamedTuple):
    caches: tuple[CacheEntry, ...]
    import_keys: tuple[PublicKey, ...]  # every key above: what `store import` accepts


def trust() -> Trust:
    """The global configuration's caches and keys; a ConfigError naming file, line and key for any bad
    entry. No global file, or none of these keys: nothing is trusted."""
    from ..config.sources import read_document
    from .url import open_cache

    file = paths.global_config_file()
    if not file.is_file():
        return Trust((), ())
    doc = read_document(file)
    data = doc.data if isinstance(doc.data, dict) else {}
    errors: list[Diagnostic] = []

    def error(path: tuple[Any, ...], message: str) -> None:
        m = doc.where(path)
        errors.append(Diagnostic(doc.file, m.line, m.col, ".".join(str(p) for p in path), message))

    def keys_at(path: tuple[Any, ...], value: Any) -> list[PublicKey]:
        found = []
        for i, text in (enumerate(value) if isinstance(value, list) else [(None, value)]):
            where = path if i is None else (*path, i)
            if not isinstance(text, str):
                error(where, "expected a public key NAME:BASE64 (as `lattice cache keygen` prints it)")
                continue
            try:
                found.append(PublicKey.parse(text))
            except LatticeError as exc:
                error(where, str(exc))
        return found

    caches = []
    raw = data.get("caches") or []
    if not isinstance(raw, list):
        error(("caches",), "expected a list of {url: URL, public_key: NAME:BASE64}")
        raw = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or "public_key" not in entry:
            error(("caches", i), "expected {url: URL, public_key: NAME:BASE64}")
            continue
        unknown = sorted(set(entry) - {"url", "public_key"})
        if unknown:
            error(("caches", i, unknown[0]), "unknown key (a cache has url and public_key)")
        try:
            open_cache(entry["url"])
        except LatticeError as exc:
            error(("caches", i, "url"), str(exc))
            continue
        keys = keys_at(("caches", i, "public_key"), entry["public_key"])
        if keys:
            caches.append(CacheEntry(entry["url"], tuple(keys)))
    extra = keys_at(("trusted_public_keys",), data.get("trusted_public_keys") or [])
    if errors:
        raise ConfigError(errors)
    every = dict.fromkeys([k for c in caches for k in c.keys] + extra)
    return Trust(tuple(caches), tuple(every))
