"""The one gate: `check_trusted(loaded, action)` before anything of a workflow's own can run (build,
switch, `plugins sync`, `init --from`, `lattice NAME`; hooks run only in environments launched under
their trust), `state.check_environment(path, action)` before `lattice run` or `lattice shell` launch a generation (os only: it is on their hot path). `trust`
and `revoke` are `lattice trust [--revoke]`.

Trust is keyed by the workflow's directory and the fingerprint of what can run in it (items.py): moving
the directory, or editing any of those items, needs trust again, and the refusal says what changed."""
from __future__ import annotations

import os
import time
from typing import Any, NamedTuple

from ..errors import LatticeError
from ..flock import file_lock
from . import state
from .items import changes, describe, executables, fingerprint


class Trusted(NamedTuple):
    directory: str
    fingerprint: str
    items: dict[str, Any]
    key: str | None  # None: nothing of the workflow's own can run, so there is nothing to trust


def directory_of(loaded: Any) -> str:
    """The workflow's directory, as trust keys it: its real path (a symlink to it is the same place)."""
    return os.path.realpath(loaded.workflow.root)


def check_trusted(loaded: Any, action: str, sources: dict[str, Any] | None = None) -> Trusted:
    """What `action` (e.g. "`lattice switch`") may run of `loaded` (a config.load.Loaded), trusted: its
    key is None when nothing would run. A LatticeError, one line naming what would run and what changed
    since it was last trusted, when the user has not trusted it."""
    items = executables(loaded, sources)
    directory = directory_of(loaded)
    fp = fingerprint(items)
    if not items:
        return Trusted(directory, fp, items, None)
    key = state.allow_key(directory, fp)
    if state.is_allowed(key):
        return Trusted(directory, fp, items, key)
    raise LatticeError(refusal(directory, items, action))


def gate(loaded: Any, action: str, trust_now: bool = False, sources: dict[str, Any] | None = None) -> Trusted:
    """`check_trusted`, or — given `--trust` (`trust_now`) — trust it first, as `lattice trust` would."""
    return trust(loaded, sources) if trust_now else check_trusted(loaded, action, sources)


def refusal(directory: str, items: dict[str, Any], action: str) -> str:
    record = state.read_record(directory)
    before = record.get("items") if record is not None and isinstance(record.get("items"), dict) else None
    what = ", ".join(describe(k, v) for k, v in sorted(items.items()))
    if before is not None:
        changed = "; ".join(changes(before, items)) or "its content changed"
        head = f"{directory} changed since you trusted it ({changed}): "
    else:
        head = f"{directory} is not trusted: "
    return (f"{head}{action} would run {what}; review them, then run `lattice trust` there (or pass --trust "
            f"once)")


def trust(loaded: Any, sources: dict[str, Any] | None = None) -> Trusted:
    """Trust what can run in `loaded`'s directory now (`lattice trust`, `--trust`, and `lattice init`
    for the workflow it writes)."""
    items = executables(loaded, sources)
    directory = directory_of(loaded)
    fp = fingerprint(items)
    with file_lock(state.lock_path()):
        key = state.write_allow(directory, fp) if items else None
        state.write_record(directory, {"directory": directory, "fingerprint": fp, "items": items,
                                       "trusted_at": int(time.time())})
    return Trusted(directory, fp, items, key)


def revoke(directory: str) -> int:
    """Forget every trust given in `directory`; how many trusted versions that was."""
    directory = os.path.realpath(directory)
    with file_lock(state.lock_path()):
        keys = [key for key, where, _ in state.allow_entries() if where == directory]
        for key in keys:
            state.remove_allow(key)
        had_record = state.read_record(directory) is not None
        state.remove_record(directory)
    return len(keys) + (not keys and had_record)


def listing() -> list[dict[str, Any]]:
    """Each trusted directory: what was trusted last, and whether that is still trusted."""
    allowed = {key for key, _, _ in state.allow_entries()}
    rows = []
    for record in state.records():
        fp = str(record.get("fingerprint", ""))
        items = record.get("items") if isinstance(record.get("items"), dict) else {}
        rows.append({"directory": record["directory"], "fingerprint": fp, "trusted_at": record.get("trusted_at"),
                     "runs": sorted(items),
                     "active": not items or state.allow_key(record["directory"], fp) in allowed})
    return rows


def record_environment(store_name: str, trusted: Trusted) -> None:
    """Note that `store_name` was built under `trusted` (nothing when nothing of its own can run)."""
    if trusted.key is None or state.environment_key(store_name) == trusted.key:
        return
    with file_lock(state.lock_path()):
        state.write_environment(store_name, trusted.key, trusted.directory, trusted.fingerprint)


def trust_environment(env_path: str) -> None:
    """`run --trust`/`shell --trust`: trust again what `env_path` was built under."""
    entry = state.environment_entry(os.path.basename(env_path))
    if entry is None or state.is_allowed(entry[0]):
        return
    with file_lock(state.lock_path()):
        state.write_allow(entry[1], entry[2])
