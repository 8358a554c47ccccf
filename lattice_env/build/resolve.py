"""Resolving lattice.lock's content: the npm closure of the roots from real npm (metadata only, no
script runs), `file:` plugins' content hashes and `github:` refs' commits through git, and the messages
that name the plugin behind a failure and the versions that do exist."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from ..config.plugin_specs import PluginSpec
from ..errors import LatticeError
from ..proc import ProcessError, clean_env, run
from .file_plugins import content_hash, packed_files
from .lock_shape import KEEP, find_installed
from .npm import ROOT_NAME, NpmFailure, npm, package_name, to_npm_lockfile, view_versions


# Keys of npm's lockfile entries worth keeping: what an install needs, nothing that names a host or path.
def resolve_closure(roots: dict[str, str], loaded: Any, seed: dict[str, Any] | None,
                    offline: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The npm closure of `roots`, from real npm (`--package-lock-only`: nothing is downloaded but
    metadata, no script runs). A previous lock seeds npm so already-locked versions stay."""
    with tempfile.TemporaryDirectory(prefix="lattice-lock-") as tmp:
        work = Path(tmp)
        manifest = {"name": ROOT_NAME, "version": "0.0.0", "private": True, "dependencies": roots}
        (work / "package.json").write_text(json.dumps(manifest, indent=2))
        if seed and seed.get("packages"):
            (work / "package-lock.json").write_text(json.dumps(to_npm_lockfile(manifest, seed["packages"])))
        try:
            npm(["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=work, offline=offline)
        except NpmFailure as exc:
            raise explain_failure(exc, loaded, offline) from None
        npm_lock = json.loads((work / "package-lock.json").read_text())
    return closure_from_npm(npm_lock)


def closure_from_npm(npm_lock: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep what an install needs from npm's lockfile; note optional packages the registry lacked.

    `extraneous` entries are dropped: npm itself prunes them when it re-reads its own lock (they are
    optional peers that no dependency requires)."""
    packages: dict[str, Any] = {}
    for where, entry in npm_lock.get("packages", {}).items():
        if not where or entry.get("extraneous") or entry.get("link"):
            continue
        kept = {k: entry[k] for k in KEEP if k in entry}
        kept["name"] = entry.get("name") or package_name(where)
        if "integrity" not in kept and not kept.get("inBundle"):
            raise LatticeError(f"npm locked {kept['name']}@{kept.get('version')} without an integrity hash; "
                               f"refusing to lock what cannot be verified")
        packages[where] = kept
    unavailable: dict[str, Any] = {}
    for where, entry in packages.items():
        for dep, wanted in (entry.get("optionalDependencies") or {}).items():
            if find_installed(packages, where, dep) is None:
                info = unavailable.setdefault(f"{dep}@{wanted}", {"wanted_by": []})
                info["wanted_by"].append(where)
    return packages, unavailable


def explain_failure(exc: NpmFailure, loaded: Any, offline: bool) -> LatticeError:
    """Name the plugin behind an npm failure, and the versions that do exist."""
    if exc.code in ("ETARGET", "E404"):
        m = (re.search(r"No matching version found for (\S+?)\.?$", exc.stderr, re.M)
             or re.search(r"'(\S+)' (?:is not in this registry|could not be found)", exc.stderr))
        if m:
            name, _, version = m.group(1).rpartition("@")
            for index, plugin in enumerate(loaded.workflow.plugins):
                if plugin.kind == "npm" and plugin.name == name:
                    return missing_pin(loaded, index, plugin, offline)
            return LatticeError(f"{name}@{version} does not exist in the registry "
                                f"(required by opencode or a plugin's dependencies)")
    return exc


def missing_pin(loaded: Any, index: int, plugin: PluginSpec, offline: bool = False) -> LatticeError:
    where = f"{loaded.config.where(('plugins', index))}: plugins[{index}]: {plugin.name}@{plugin.version}"
    info = view_versions(plugin.name, offline=offline)
    if info is None or not info.versions:
        return LatticeError(f"{where} does not exist (no package named {plugin.name} in the registry)")
    near = nearest(plugin.version, info.versions)
    hint = f"nearest: {', '.join(near)}; " if near else ""
    return LatticeError(f"{where} does not exist ({hint}latest {info.latest})")


def _key(version: str) -> tuple[int, int, int, int, str]:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)(-.*)?", version)
    if not m:
        return (-1, -1, -1, 0, version)
    return (int(m[1]), int(m[2]), int(m[3]), 0 if m[4] else 1, m[4] or "")


def nearest(wanted: str, versions: tuple[str, ...]) -> list[str]:
    """The closest release above and below `wanted`, closest (same major, then minor) first."""
    w = _key(wanted)
    stable = [v for v in versions if "-" not in v] or list(versions)
    above = min((v for v in stable if _key(v) > w), key=_key, default=None)
    below = max((v for v in stable if _key(v) < w), key=_key, default=None)
    found = [v for v in (above, below) if v]
    return sorted(found, key=lambda v: tuple(abs(a - b) for a, b in zip(_key(v)[:3], w[:3])))


def lock_sources(loaded: Any, old: dict[str, Any] | None, offline: bool = False) -> dict[str, Any]:
    """`file:` plugins → content hash of what npm would pack of them (file_plugins.py); `github:` plugins
    → commit (kept from the old lock while the ref is unchanged: a moving branch moves only with
    `--refresh` or an update)."""
    sources: dict[str, Any] = {}
    previous = (old or {}).get("sources") or {}
    for index, plugin in enumerate(loaded.workflow.plugins):
        if plugin.kind == "file":
            digest, count = content_hash(packed_files(loaded, index))
            sources[plugin.raw] = {"kind": "file", "sha256": digest, "files": count}
        elif plugin.kind == "github":
            kept = previous.get(plugin.raw)
            if kept and kept.get("commit"):
                sources[plugin.raw] = kept
                continue
            sources[plugin.raw] = {"kind": "github", "commit": resolve_github(loaded, index, plugin, offline)}
    return sources


def resolve_github(loaded: Any, index: int, plugin: PluginSpec, offline: bool = False) -> str:
    """The commit `ref` names, from `git ls-remote` (a full commit hash is taken as it is)."""
    if re.fullmatch(r"[0-9a-f]{40}", plugin.version):
        return plugin.version
    where = f"{loaded.config.where(('plugins', index))}: plugins[{index}]: {plugin.raw}"
    if offline:
        raise LatticeError(f"{where}: offline, and the ref is not locked yet (run once with the network)")
    url = f"https://github.com/{plugin.name}.git"
    env = clean_env(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.gettempdir())
    try:
        out = run(["git", "ls-remote", url, plugin.version, f"{plugin.version}^{{}}"], env=env,
                  timeout=60).stdout
    except ProcessError as exc:
        reason = (exc.stderr.strip().splitlines() or [f"exit status {exc.returncode}"])[-1]
        raise LatticeError(f"{where}: cannot reach the repository through git ({_short(reason)})") from None
    except LatticeError as exc:
        raise LatticeError(f"{where}: {exc}") from None
    refs: dict[str, str] = {}
    for line in out.splitlines():
        commit, _, name = line.partition("\t")
        refs[name] = commit
    for name in (f"refs/tags/{plugin.version}^{{}}", f"refs/tags/{plugin.version}",
                 f"refs/heads/{plugin.version}", plugin.version):
        if name in refs:
            return refs[name]
    raise LatticeError(f"{where}: the repository has no branch or tag named {plugin.version}")


def _short(reason: str) -> str:
    reason = re.sub(r"^(fatal|error): ", "", reason)
    return re.sub(r"unable to access '[^']*': ", "", reason).strip()


