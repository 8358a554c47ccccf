"""`lattice.lock`: the exact inputs a build installs, resolved once and committed beside lattice.yaml.

Shape (format 1; JSON with sorted keys, 2-space indent, trailing newline, so equal locks are equal bytes):
- `node`: the toolchain identity the closure was resolved with (`npm.node_identity`: majors only).
- `roots`: `opencode-ai` (the environment runs its own pinned opencode), what opencode wants in its config
  directory (`@opencode-ai/plugin`), the bridge's AI SDK packages, and every npm plugin → version.
- `packages`: npm's own lockfile v3 entries for the whole closure of the roots, keyed by install path
  (`node_modules/a/node_modules/b`), each with `name`, exact `version` and sha512 `integrity`; platform
  packages of every OS are included (npm lists them as optional), so a lock made on Linux installs on a
  Mac. `resolved` (a registry address) and everything else that could name a host or a path is dropped:
  the build installs from whatever registry the user configures and checks the integrity.
- `unavailable`: optional packages a locked package declares but the registry did not have (a mirror may
  lack some platforms); the lock then installs only where its platform package is present.
- `sources`: `file:` plugins with a content hash of what npm would pack of them (build/file_plugins.py:
  an edit changes the lock, hence the build), `github:` plugins with the commit their ref resolved to.

Reading a lock checks that it is exactly this shape (lock_shape.py): it is committed, so it is input from
whoever committed it, and npm would follow a location written into it.

Re-locking keeps what is already locked: npm is seeded with the previous closure, so transitive versions
move only with `--refresh`, and an up-to-date lock needs no network at all (like `cargo build`).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .. import paths
from ..config.plugin_specs import PluginSpec
from ..errors import LatticeError
from ..flock import file_lock
from ..fsutil import atomic_write
from ..opencode.config import CONFIG_DIR_PACKAGES, OPENCODE_PACKAGE, OPENCODE_VERSION
from .lock_shape import check_lock

LOCK_FILE = "lattice.lock"
FORMAT = 1


class LockResult:
    """What a (re-)lock did. (A plain class: config/model.py says why nothing a no-op build imports is
    a dataclass.)"""

    def __init__(self, path: Path, lock: dict[str, Any], changed: bool, resolved: bool,
                 warnings: list[str] | None = None) -> None:
        self.path, self.lock, self.changed = path, lock, changed
        self.resolved = resolved  # npm ran (False: the previous closure still matched the roots)
        self.warnings = warnings if warnings is not None else []

    @property
    def package_count(self) -> int:
        return len(self.lock["packages"])


def lock_path(loaded: Any) -> Path:
    return Path(loaded.workflow.project_file).with_name(LOCK_FILE)


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock at `path`, or None when there is none (or it is from another format). A lock that is
    not exactly the shape lattice writes (lock_shape.py) is a ConfigError naming each bad key."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LatticeError(f"{paths.display(path)}: unreadable lock ({exc}); delete it and run `lattice lock`") from None
    if isinstance(data, dict) and isinstance(data.get("format"), int) and not isinstance(data["format"], bool) \
            and data["format"] != FORMAT:
        return None  # another format: re-locked from lattice.yaml, as when there is none
    check_lock(data, paths.display(path), text)
    data.setdefault("unavailable", {})
    data.setdefault("sources", {})
    return data


def dumps(lock: dict[str, Any]) -> bytes:
    return (json.dumps(lock, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


# AI SDK providers the routing bridge delegates to (templates/env/bridge/), one per protocol it speaks:
# the versions opencode 1.18.33 bundles itself (read from its binary: each package's user-agent VERSION
# constant), so a call through the bridge behaves as the same call through opencode's own provider.
BRIDGE_PACKAGES = {"@ai-sdk/openai-compatible": "2.0.41", "@ai-sdk/openai": "3.0.88",
                   "@ai-sdk/anthropic": "3.0.111", "@ai-sdk/google": "3.0.73"}


def npm_roots(plugins: tuple[PluginSpec, ...]) -> dict[str, str]:
    roots = {OPENCODE_PACKAGE: OPENCODE_VERSION, **CONFIG_DIR_PACKAGES, **BRIDGE_PACKAGES}
    roots.update({p.name: p.version for p in plugins if p.kind == "npm"})
    return roots


def lock_workflow(loaded: Any, refresh: bool = False, offline: bool = False) -> LockResult:
    """Resolve the workflow's plugins and opencode into `lattice.lock`; write it only if it changed."""
    wf = loaded.workflow
    path = lock_path(loaded)
    key = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:16]
    from .npm import node_identity
    from .resolve import lock_sources, resolve_closure

    with file_lock(Path(paths.data_root(), "locks", f"lattice-lock-{key}.lock")):
        old = None if refresh else read_lock(path)
        roots = npm_roots(wf.plugins)
        sources = lock_sources(loaded, old, offline=offline)  # first: cheap, and fails fast
        node = node_identity()
        warnings: list[str] = []
        if old is not None and old.get("roots") == roots and old.get("node") == node:
            resolved = False
            packages, unavailable = old["packages"], old.get("unavailable", {})
        else:
            resolved = True
            packages, unavailable = resolve_closure(roots, loaded, seed=old, offline=offline)
        lock = {"format": FORMAT, "node": node, "roots": roots, "packages": packages,
                "unavailable": unavailable, "sources": sources}
        check_portable(lock)
        check_lock(lock, LOCK_FILE)  # what we write must read back: npm gave nothing lattice would refuse
        if unavailable:
            names = sorted(unavailable)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            warnings.append(f"the registry lacks {len(names)} optional platform package"
                            f"{'s' if len(names) != 1 else ''} ({shown}): the lock installs only on "
                            f"platforms whose package it has (see `unavailable` in {LOCK_FILE})")
        data = dumps(lock)
        changed = not path.exists() or path.read_bytes() != data
        if changed:
            atomic_write(path, data)
        return LockResult(path, lock, changed, resolved, warnings)


def check_portable(lock: dict[str, Any]) -> None:
    """The lock is committed and shared: no value may be a URL or an absolute path."""
    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k, where)
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for v in value:
                walk(v, where)
        elif isinstance(value, str) and ("://" in value or value.startswith("/") or re.match(r"[A-Za-z]:\\", value)):
            raise LatticeError(f"refusing to write a lock with an address or absolute path at {where}")
    walk(lock, "lock")


def fresh_lock(loaded: Any) -> dict[str, Any] | None:
    """lattice.lock when it still matches lattice.yaml (roots, file: plugin contents), else None; no npm."""
    wf = loaded.workflow
    lock = read_lock(lock_path(loaded))
    if lock is None or lock.get("roots") != npm_roots(wf.plugins):
        return None
    for index, plugin in enumerate(wf.plugins):
        source = (lock.get("sources") or {}).get(plugin.raw)
        if plugin.kind == "file":
            from .file_plugins import content_hash, packed_files

            if source is None or source.get("sha256") != content_hash(packed_files(loaded, index))[0]:
                return None
        if plugin.kind == "github" and source is None:
            return None
    return lock
