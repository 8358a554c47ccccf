"""The trust files, in the data directory (private, 0700, like the rest of it):

    trust/allow/<key>              one per trusted (directory, fingerprint) — its existence is the trust;
                                   key = sha256 of "<directory>\\n<fingerprint>", the file names both
    trust/workflows/<dir key>.json what was last trusted in a directory: `lattice trust --list` shows it
                                   and a refusal compares against it to say what changed
    trust/environments/<name>      the allow key a store path was built under, for workflows where
                                   something can run: `lattice run` and `lattice shell` check that key

Old allow files stay when a directory is trusted again (as direnv keeps its allow files): the generations
built from what was trusted before still launch; `lattice trust --revoke` removes every one of the
directory. Every write is temp + fsync + rename (fsutil.atomic_write) under `<data>/locks/trust.lock`;
reads take no lock, since every file is replaced whole. Standard `os` only, and no JSON on the hot path:
`shell -c` and `run` read an environment's key and stat its allow file."""
from __future__ import annotations

import os

from ..paths import data_root

_HEX = frozenset("0123456789abcdef")


def trust_dir() -> str:
    return os.path.join(data_root(), "trust")


def lock_path() -> str:
    return os.path.join(data_root(), "locks", "trust.lock")


def _key_like(text: str) -> bool:
    return len(text) == 64 and _HEX.issuperset(text)


def allow_key(directory: str, fingerprint: str) -> str:
    import hashlib  # not on the hot path: only building and trusting name a key

    return hashlib.sha256(f"{directory}\n{fingerprint}".encode("utf-8", "surrogateescape")).hexdigest()


def directory_key(directory: str) -> str:
    import hashlib

    return hashlib.sha256(directory.encode("utf-8", "surrogateescape")).hexdigest()


def is_allowed(key: str) -> bool:
    return _key_like(key) and os.path.isfile(os.path.join(trust_dir(), "allow", key))


def _read(path: str, limit: int = 1 << 20) -> bytes | None:
    from ..fsutil import read_regular

    data = read_regular(path, limit)
    return data if isinstance(data, bytes) else None


def environment_entry(store_name: str) -> tuple[str, str, str] | None:
    """(key, directory, fingerprint) the store path `store_name` was built under; None when none was
    recorded (nothing of its workflow's own could run, or it was built before Lattice had trust)."""
    if not store_name or "/" in store_name or store_name.startswith("."):
        return None
    data = _read(os.path.join(trust_dir(), "environments", store_name), 1 << 16)
    if data is None:
        return None
    key, _, rest = data.decode("utf-8", "surrogateescape").partition("\n")
    directory, _, fp = rest.partition("\n")
    return (key, directory, fp.strip()) if _key_like(key) else None


def environment_key(store_name: str) -> str | None:
    entry = environment_entry(store_name)
    return entry[0] if entry is not None else None


def check_environment(env_path: str, action: str) -> None:
    """Before `lattice run`/`shell` launch `env_path`: the trust it was built under must still stand
    (a LatticeError otherwise). Paths without a recorded key needed none."""
    name = os.path.basename(env_path)
    entry = environment_entry(name)
    if entry is None or is_allowed(entry[0]):
        return
    from ..errors import LatticeError

    raise LatticeError(f"{name} was built from {entry[1]}, whose trust was revoked: {action} would start what "
                       f"its workflow runs; run `lattice trust` there and `lattice switch` again (or pass "
                       f"--trust once)")


def write_allow(directory: str, fingerprint: str) -> str:
    """Record (directory, fingerprint) as trusted; its key. The caller holds the lock."""
    from ..fsutil import atomic_write

    key = allow_key(directory, fingerprint)
    atomic_write(os.path.join(trust_dir(), "allow", key), f"{directory}\n{fingerprint}\n".encode(
        "utf-8", "surrogateescape"), mode=0o600)
    return key


def allow_entries() -> list[tuple[str, str, str]]:
    """(key, directory, fingerprint) of every allow file."""
    base = os.path.join(trust_dir(), "allow")
    try:
        names = sorted(os.listdir(base))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        data = _read(os.path.join(base, name), 1 << 16) if _key_like(name) else None
        if data is None:
            continue
        directory, _, rest = data.decode("utf-8", "surrogateescape").partition("\n")
        out.append((name, directory, rest.strip()))
    return out


def remove_allow(key: str) -> None:
    from ..fsutil import remove

    remove(os.path.join(trust_dir(), "allow", key))


def record_path(directory: str) -> str:
    return os.path.join(trust_dir(), "workflows", directory_key(directory) + ".json")


def read_record(directory: str) -> dict | None:
    """What was last trusted in `directory` (its fingerprint and items), or None."""
    import json

    data = _read(record_path(directory))
    try:
        record = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("directory") == directory else None


def write_record(directory: str, record: dict) -> None:
    import json

    from ..fsutil import atomic_write

    atomic_write(record_path(directory), (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
                                          + "\n").encode("utf-8", "surrogateescape"), mode=0o600)


def records() -> list[dict]:
    """Every directory's record, sorted by directory."""
    import json

    base = os.path.join(trust_dir(), "workflows")
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        data = _read(os.path.join(base, name)) if name.endswith(".json") else None
        try:
            record = json.loads(data) if data is not None else None
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("directory"), str):
            out.append(record)
    return sorted(out, key=lambda r: r["directory"])


def remove_record(directory: str) -> None:
    from ..fsutil import remove

    remove(record_path(directory))


def write_environment(store_name: str, key: str, directory: str, fingerprint: str) -> None:
    """Record that `store_name` was built under `key` (once: a no-op build finds it written)."""
    if environment_key(store_name) == key:
        return
    from ..fsutil import atomic_write

    atomic_write(os.path.join(trust_dir(), "environments", store_name),
                 f"{key}\n{directory}\n{fingerprint}\n".encode("utf-8", "surrogateescape"), mode=0o600)
