"""`lattice plugins`: what is pinned, locked and published, and changing pins safely (edit lattice.yaml,
re-lock, and put the file back if the new pin cannot be locked)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from ..config.plugin_specs import PluginSpecError, parse_plugin
from ..errors import LatticeError
from ..fsutil import atomic_write
from .lockfile import LockResult, lock_path, lock_workflow, read_lock
from .npm import Versions, view_versions
from .pins import append_pin, set_pins
from .resolve import nearest


@dataclass(frozen=True)
class PluginRow:
    index: int
    spec: str
    kind: str
    name: str
    pinned: str
    locked: str | None  # version, short content hash (file:) or commit (github:); None: not locked
    built: str | None  # version installed in the store for the current lock; None: not built yet
    latest: str | None  # None: not looked up (offline, or not an npm plugin)

    @property
    def outdated(self) -> bool:
        return bool(self.latest) and self.latest != self.pinned

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "outdated": self.outdated}


def _latest(names: list[str]) -> dict[str, Versions | None]:
    """Registry look-ups in parallel: each `npm view` is mostly waiting on the network."""
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return dict(zip(names, pool.map(view_versions, names)))


def plugin_rows(loaded: Any, offline: bool = False, only: str | None = None) -> list[PluginRow]:
    wf = loaded.workflow
    lock = read_lock(lock_path(loaded)) or {}
    roots, sources = lock.get("roots") or {}, lock.get("sources") or {}
    plugins = [(i, p) for i, p in enumerate(wf.plugins) if only in (None, p.name, p.short_name, p.raw)]
    if only is not None and not plugins:
        raise LatticeError(f"no plugin named {only} in plugins:")
    views = {} if offline else _latest(sorted({p.name for _, p in plugins if p.kind == "npm"}))
    closure = _built_closure(lock)
    rows = []
    for index, p in plugins:
        locked: str | None = None
        latest: str | None = None
        built: str | None = None
        if p.kind == "npm":
            locked = roots.get(p.name)
            view = views.get(p.name)
            latest = view.latest if view else None
            built = _installed_version(closure, p.name)
        elif p.raw in sources:
            src = sources[p.raw]
            locked = (src.get("sha256") or src.get("commit") or "")[:12] or None
        rows.append(PluginRow(index, p.raw, p.kind, p.name, p.version, locked, built, latest))
    return rows


def _built_closure(lock: dict[str, Any]) -> Path | None:
    """The store path of the lock's npm closure, if `lattice build` has made it."""
    if not lock.get("packages"):
        return None
    from ..store.names import store_path
    from .plan import closure_derivation

    path = store_path(closure_derivation(lock))
    return path if path.is_dir() else None


def _installed_version(closure: Path | None, name: str) -> str | None:
    if closure is None:
        return None
    try:
        return json.loads((closure / "node_modules" / name / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None


def _relock_or_restore(files: dict[Path, bytes], reload: Callable[[], Any]) -> LockResult:
    """Re-lock after an edit; on any failure put the edited files back as they were."""
    try:
        return lock_workflow(reload())
    except BaseException:
        for path, data in files.items():
            atomic_write(path, data, mode=path.stat().st_mode & 0o777)
        raise


def apply_updates(loaded: Any, rows: list[PluginRow], reload: Callable[[], Any]) -> LockResult | None:
    """Pin every outdated npm plugin in `rows` to its latest version, then re-lock."""
    changes = {r.index: f"{r.name}@{r.latest}" for r in rows if r.kind == "npm" and r.outdated}
    if not changes:
        return None
    saved = {Path(f): Path(f).read_bytes() for f in loaded.config.files}
    set_pins(loaded.config, changes)
    return _relock_or_restore(saved, reload)


def add_plugin(loaded: Any, spec: str, reload: Callable[[], Any]) -> LockResult:
    """Check `spec` exists, append it to `plugins:` and re-lock."""
    try:
        plugin = parse_plugin(spec)
    except PluginSpecError as exc:
        raise LatticeError(str(exc)) from None
    for existing in loaded.workflow.plugins:
        if existing.kind == plugin.kind and existing.name == plugin.name:
            raise LatticeError(f"{plugin.name} is already in plugins: as {existing.raw} "
                               f"(change it with `lattice plugins update {plugin.name} --apply`)")
    if plugin.kind == "npm":
        info = view_versions(plugin.name)
        if info is None or not info.versions:
            raise LatticeError(f"{plugin.raw} does not exist (no package named {plugin.name} in the registry)")
        if plugin.version not in info.versions:
            near = nearest(plugin.version, info.versions)
            hint = f"nearest: {', '.join(near)}; " if near else ""
            raise LatticeError(f"{plugin.raw} does not exist ({hint}latest {info.latest})")
    saved = {Path(f): Path(f).read_bytes() for f in loaded.config.files}
    append_pin(loaded.config, plugin.raw)
    return _relock_or_restore(saved, reload)
