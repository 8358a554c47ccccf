"""ed25519 signing keys, named like Nix's (`NAME:BASE64`): `lattice cache keygen NAME` keeps the secret key
in the user's config dir (`keys/NAME.secret`, 0600) and prints the public key, which machines list in
their global lattice.yaml to trust what the key signs. The `cryptography` package does the arithmetic."""
from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from .. import paths
from ..errors import LatticeError
from ..fsutil import atomic_write

KEY_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def keys_dir() -> Path:
    return paths.config_dir() / "keys"


def _check_name(name: str) -> str:
    if not KEY_NAME_RE.fullmatch(name):
        raise LatticeError(f"invalid key name {name!r}: use letters, digits, '.', '_' or '-' (at most 100), "
                           f"e.g. team-cache-1")
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LatticeError(f"{what} is not base64") from None
    if len(raw) != length:
        raise LatticeError(f"{what} is {len(raw)} bytes, expected {length}")
    return raw


class PublicKey:
    """A trusted key: its name and the 32 bytes of an ed25519 public key."""

    def __init__(self, name: str, raw: bytes) -> None:
        self.name, self.raw = name, raw

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """`NAME:BASE64` (as `lattice cache keygen` prints it); a LatticeError saying what is wrong."""
        name, sep, b64 = text.strip().partition(":")
        if not sep or not KEY_NAME_RE.fullmatch(name):
            raise LatticeError(f"a public key is NAME:BASE64 (as `lattice cache keygen` prints it), not {text!r}")
        return cls(name, _unb64(b64, 32, f"public key {name}"))

    def __str__(self) -> str:
        return f"{self.name}:{_b64(self.raw)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.name, self.raw) == (other.name, other.raw)

    def __hash__(self) -> int:
        return hash((self.name, self.raw))

    def verifies(self, signature: str, message: bytes) -> bool:
        """Whether `signature` (`NAME:BASE64`) is this key's signature of `message`."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        name, _, b64 = signature.partition(":")
        if name != self.name:
            return False
        try:
            raw = _unb64(b64, 64, "signature")
            Ed25519PublicKey.from_public_bytes(self.raw).verify(raw, message)
        except (LatticeError, InvalidSignature):
            return False
        return True


class SecretKey:
    def __init__(self, name: str, seed: bytes) -> None:
        self.name, self.seed = name, seed

    def _key(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def public(self) -> PublicKey:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return PublicKey(self.name, self._key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, message: bytes) -> str:
        return f"{self.name}:{_b64(self._key().sign(message))}"


def keygen(name: str) -> PublicKey:
    """A new key pair NAME: the secret key written to `keys/NAME.secret` (0600, never overwritten), the
    public key beside it as `NAME.public`; returns the public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    _check_name(name)
    directory = keys_dir()
    secret_file = directory / f"{name}.secret"
    if secret_file.exists():
        raise LatticeError(f"{secret_file} already exists; a key is never overwritten (choose another name, "
                           f"e.g. {name}-2)")
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    secret = SecretKey(name, seed)
    atomic_write(secret_file, f"{name}:{_b64(seed)}\n".encode(), mode=0o600)
    public = secret.public()
    atomic_write(directory / f"{name}.public", f"{public}\n".encode(), mode=0o644)
    return public


def secret_key(name: str | None = None) -> SecretKey:
    """The secret key NAME from the keys dir; without a name, the only one there is."""
    directory = keys_dir()
    if name is None:
        found = sorted(p.name.removesuffix(".secret") for p in directory.glob("*.secret")) \
            if directory.is_dir() else []
        if len(found) != 1:
            raise LatticeError("no signing key: create one with `lattice cache keygen NAME`" if not found else
                               f"several signing keys ({', '.join(found)}): choose one with --key NAME")
        name = found[0]
    file = directory / f"{_check_name(name)}.secret"
    try:
        text = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise LatticeError(f"no signing key {name} in {directory} (create it with `lattice cache keygen {name}`)") \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LatticeError(f"{file}: cannot read: {exc}") from None
    if os.stat(file).st_mode & 0o077:
        raise LatticeError(f"{file} is readable by others; `chmod 600 {file}` first")
    stored, _, b64 = text.partition(":")
    if stored != name:
        raise LatticeError(f"{file} holds key {stored!r}, not {name!r}")
    try:
        return SecretKey(name, _unb64(b64, 32, f"{file}"))
    except LatticeError as exc:
        raise LatticeError(f"{exc}: not a key `lattice cache keygen` wrote") from None

