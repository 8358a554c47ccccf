"""A path's info file, `<store name>.info` — the cache's description of one store path, like Nix's
narinfo: its derivation (which hashes to its name), tree hash, references, and its archive's sha256 and
sizes, with ed25519 signatures over a canonical fingerprint of all of them. The derivation needs no
signature of its own: the signed name is its hash. Everything read here is untrusted until `verified`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

from ..errors import LatticeError
from ..store.names import STORE_NAME_RE, store_name
from ..store.tree import canonical_json
from .keys import PublicKey, SecretKey

FORMAT = 1
MAX_INFO_BYTES = 4 << 20  # a workflow's info carries its resolved configuration: kilobytes, not megabytes
ARCHIVE_SUFFIX = ".tar.zst"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"format", "name", "derivation", "tree", "references", "archive_sha256", "archive_size", "size",
           "signatures"}


class Refused(LatticeError):
    """A cache's path that does not verify: refused, never entered into the store."""


@dataclass(frozen=True)
class PathInfo:
    name: str
    derivation: dict[str, Any]
    tree: str  # "sha256:<hex>", the manifest's tree hash
    references: tuple[str, ...]
    archive_sha256: str  # hex digest of the compressed archive
    archive_size: int  # bytes of the compressed archive
    size: int  # bytes of the uncompressed tar inside it
    signatures: tuple[str, ...] = ()

    @property
    def archive(self) -> str:
        """The archive's key in the cache: by content, so identical trees share one."""
        return f"archive/{self.archive_sha256}{ARCHIVE_SUFFIX}"

    def fingerprint(self) -> bytes:
        """What a signature covers: everything a pull relies on, in one canonical line."""
        return ";".join(["lattice-cache-1", self.name, self.tree, f"sha256:{self.archive_sha256}",
                         str(self.archive_size), str(self.size), ",".join(self.references)]).encode()

    def signed(self, key: SecretKey) -> PathInfo:
        others = tuple(s for s in self.signatures if s.partition(":")[0] != key.name)
        return replace(self, signatures=(*others, key.sign(self.fingerprint())))

    def to_bytes(self) -> bytes:
        return canonical_json({"format": FORMAT, "name": self.name, "derivation": self.derivation,
                               "tree": self.tree, "references": list(self.references),
                               "archive_sha256": self.archive_sha256, "archive_size": self.archive_size,
                               "size": self.size, "signatures": list(self.signatures)}) + b"\n"

    def verified(self, keys: Iterable[PublicKey], where: str) -> PathInfo:
        """Self, if one of its signatures is by one of `keys`; else Refused naming `where` and the path."""
        keys = list(keys)
        fingerprint = self.fingerprint()
        if any(k.verifies(sig, fingerprint) for k in keys for sig in self.signatures):
            return self
        signers = sorted({s.partition(":")[0] for s in self.signatures}) or ["nobody"]
        trusted = ", ".join(sorted({k.name for k in keys})) or "none"
        raise Refused(f"{where}: {self.name}: refused: no valid signature by a trusted key "
                      f"(signed by {', '.join(signers)}; trusted: {trusted})")


def parse_info(data: bytes, where: str, name: str | None = None) -> PathInfo:
    """An info file's bytes as a PathInfo, checked for shape and for a derivation that hashes to its name
    (and to `name`, when the caller asked for that path). Signatures are checked by `verified`."""
    label = f"{where}: {name or 'info file'}"
    if len(data) > MAX_INFO_BYTES:
        raise Refused(f"{label}: refused: info file larger than {MAX_INFO_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise Refused(f"{label}: refused: info file is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or set(doc) != _FIELDS:
        raise Refused(f"{label}: refused: not a format-{FORMAT} info file")
    drv, refs, sigs = doc["derivation"], doc["references"], doc["signatures"]
    ok = (isinstance(doc["name"], str) and STORE_NAME_RE.fullmatch(doc["name"])
          and isinstance(drv, dict) and isinstance(doc["tree"], str) and doc["tree"].startswith("sha256:")
          and _HEX64.fullmatch(doc["tree"].removeprefix("sha256:"))
          and isinstance(doc["archive_sha256"], str) and _HEX64.fullmatch(doc["archive_sha256"])
          and all(isinstance(doc[k], int) and not isinstance(doc[k], bool) and doc[k] >= 0
                  for k in ("archive_size", "size"))
          and isinstance(refs, list) and all(isinstance(r, str) and STORE_NAME_RE.fullmatch(r) for r in refs)
          and isinstance(sigs, list) and all(isinstance(s, str) for s in sigs))
    if not ok:
        raise Refused(f"{label}: refused: malformed info file")
    label = f"{where}: {doc['name']}"
    if name is not None and doc["name"] != name:
        raise Refused(f"{where}: {name}: refused: its info file describes {doc['name']}")
    try:
        derived = store_name(drv)
    except (TypeError, ValueError, KeyError):
        derived = None
    if derived != doc["name"] or drv.get("references") != refs:
        raise Refused(f"{label}: refused: its derivation does not hash to its name")
    return PathInfo(name=doc["name"], derivation=drv, tree=doc["tree"], references=tuple(refs),
                    archive_sha256=doc["archive_sha256"], archive_size=doc["archive_size"], size=doc["size"],
                    signatures=tuple(sigs))


def info_key(name: str) -> str:
    return f"{name}.info"
