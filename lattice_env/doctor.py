"""`lattice doctor`: is this machine able to run its Lattice environments? Each check says what it saw
and, when something is wrong, the one command that fixes it. Nothing here changes anything."""
from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import LatticeError


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _toolchain() -> list[Finding]:
    from .build.node import system_node

    try:
        tc = system_node()
    except LatticeError as exc:
        return [Finding("node and npm", False, str(exc), "install node and npm (Debian: apt-get install nodejs npm)")]
    return [Finding("node and npm", True, f"node {tc['version']} ({tc['node']}), npm {tc['npm']}")]


def _profiles() -> tuple[list[Finding], list[tuple[str, Path]]]:
    from .profiles.generations import profiles

    findings, live = [], []
    try:
        rows = profiles()
    except LatticeError as exc:
        return [Finding("profiles", False, str(exc), "lattice use default")], []
    for row in rows:
        if row.generation is None:
            if row.active:
                findings.append(Finding(f"profile {row.name}", False, "no generation yet", "lattice switch"))
            continue
        path = row.store_path
        if path is None or not Path(path).is_dir():
            findings.append(Finding(f"profile {row.name}", False,
                                    f"generation {row.generation} points at a missing store path {path}",
                                    f"lattice switch --profile {row.name}  (in its project: builds it again), "
                                    f"or lattice rollback --profile {row.name}"))
            continue
        live.append((row.name, Path(path)))
        findings.append(Finding(f"profile {row.name}", True,
                                f"generation {row.generation}{' (active)' if row.active else ''} → {Path(path).name}"))
    return findings, live


def _verify(live: list[tuple[str, Path]]) -> tuple[list[Finding], set[str]]:
    """Every live store path re-hashed against its manifest (and every generation whose path is gone);
    the findings, and the names of the damaged paths."""
    from .paths import store_root
    from .profiles.links import current_generation
    from .store.gc import live as live_names
    from .store.verify import missing_generations, verify

    root = Path(store_root())
    closure = sorted(n for n in (live_names() if live else set()) if (root / n).is_dir())
    problems = verify(closure) if closure else []
    damaged = sorted({p.name for p in problems})
    findings = []
    if problems:
        findings.append(Finding("store", False, f"{len(damaged)} damaged path(s), first: {problems[0]}",
                                f"lattice store repair {' '.join(damaged)}"))
    for gone in missing_generations():
        profile, _, number = gone.name.removesuffix("-link").rpartition("-")
        if str(current_generation(profile)) == number:
            continue  # the profile's own finding says it, with its fix
        findings.append(Finding("store", False, f"generation {number} of profile {profile}: {gone.detail}",
                                f"lattice delete-generations {number} --profile {profile}"))
    return findings or [Finding("store", True, f"{len(closure)} live path(s) verify")], set(damaged)


def _wrapper(name: str, env_path: Path, damaged: set[str]) -> Finding:
    """`bin/opencode --version` — unless the path or one it references failed verification: doctor
    never runs what it has just found changed."""
    from .opencode.config import OPENCODE_VERSION
    from .proc import clean_env, run
    from .store.seal import references

    reached, todo = set(), [env_path.name]
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            todo.extend(references(str(env_path.parent / current)) or [])
    if reached & damaged:
        return Finding(f"opencode ({name})", False, "not run: its store path is damaged (see store above)",
                       f"lattice store repair {' '.join(sorted(reached & damaged))}")
    wrapper = env_path / "bin" / "opencode"
    try:
        out = run([str(wrapper), "--version"], env=clean_env(HOME=os.environ.get("HOME", "/")), timeout=60)
    except LatticeError as exc:
        return Finding(f"opencode ({name})", False, str(exc), f"lattice switch --profile {name}")
    version = out.stdout.strip()
    ok = version == OPENCODE_VERSION
    return Finding(f"opencode ({name})", ok, f"bin/opencode runs opencode {version}",
                   "" if ok else f"lattice switch --profile {name}  (in its project: this lattice pins "
                                 f"opencode {OPENCODE_VERSION})")


def _providers(env_path: Path) -> list[Finding]:
    from .config.model import Provider
    from .providers.kinds import is_local
    from .providers.probe import base_url, server_reachable
    from .store.manifest import environment_config

    try:
        config = environment_config(env_path)
    except LatticeError as exc:
        return [Finding("providers", False, str(exc), "lattice switch")]
    out = []
    for name, spec in (config.get("providers") or {}).items():
        spec = spec or {}
        var = spec.get("env")
        if var:
            present = bool(os.environ.get(var))
            out.append(Finding(f"provider {name}", present, f"{var} is {'set' if present else 'not set'}",
                               "" if present else f"export {var}=…  (in your shell profile or a secrets manager)"))
        provider = Provider(name=name, env=var, auth=spec.get("auth"), base_url=spec.get("base_url"))
        url = base_url(provider)
        up = server_reachable(url) if url and is_local(provider) else None
        if up is not None:  # None: not on this machine, and not probed
            out.append(Finding(f"provider {name}", up, f"model server {'answers' if up else 'does not answer'} at {url}",
                               "" if up else "start the server (e.g. `ollama serve`)"))
    return out


def _temps() -> list[Finding]:
    from .store.gc import stale_temps

    stale = stale_temps()
    if stale:
        return [Finding("store temp dirs", False, f"{len(stale)} left by interrupted builds", "lattice store gc")]
    return [Finding("store temp dirs", True, "none stale")]


def _private() -> list[Finding]:
    """The data directory keeps the store, routing state and logs to their user: store paths are
    world-readable by mode (0444/0555), so the directory above them must not be (paths.make_dirs)."""
    from .paths import data_root

    directory = data_root()
    try:
        mode = os.stat(directory).st_mode & 0o777
    except OSError:
        return []
    if mode & 0o077:
        return [Finding("data directory", False, f"{directory} is {mode:04o}: other users can read your "
                        f"environments, routing state and logs", f"chmod 700 {shlex.quote(directory)}")]
    return [Finding("data directory", True, f"{directory} is private ({mode:04o})")]


def diagnose() -> list[Finding]:
    """Every check, in the order a user would fix things."""
    findings = _toolchain() + _private()
    profile_findings, live = _profiles()
    findings += profile_findings
    store_findings, damaged = _verify(live)
    findings += store_findings
    for name, path in live:
        findings.append(_wrapper(name, path, damaged))
    from .profiles.links import active_profile

    active = next((p for n, p in live if n == active_profile()), None)
    if active is not None:
        findings += _providers(active)
    findings += _temps()
    return findings


def failed(findings: list[Finding]) -> bool:
    return any(not f.ok for f in findings)
