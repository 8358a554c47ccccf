"""The npm closure store path: exactly the packages lattice.lock names, installed with scripts off and
checked against the lock, and the routing bridge's SDKs bundled (bridge_sdks.py). Its name depends on
the lock and the bundles' format alone (plan.closure_derivation), so workflows with the same plugins
share it."""
from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path
from typing import Any

from ..errors import LatticeError
from ..opencode.config import OPENCODE_PACKAGE
from .bridge_sdks import bundle_sdks
from .lock_shape import check_packages
from .lockfile import LOCK_FILE
from .npm import ROOT_NAME, NpmFailure, npm, to_npm_lockfile


def build_closure(out: Path, lock: dict[str, Any], node_path: Path, offline: bool, platform: str) -> None:
    """Install exactly the locked packages, install scripts off. The lock's packages are checked first
    (lock_shape.py: each is a name, an exact version and an integrity, nothing npm would fetch from a
    location of its own), so npm fetches each by name and version from the registry it is configured
    with and checks the tarball against the integrity; we then check that every package the lock needs
    on this platform is there at its locked version, and nothing else. (`npm ci` is not usable: it
    refuses a lock whose optional platform packages the registry lacks, and a partial mirror lacks some.)
    `platform` is the opencode binary package this closure keeps (plan.platform_package): npm installs
    every variant whose os and cpu match (on x64 Linux, `opencode-linux-x64` and `-baseline`, 177 MB
    each), of which opencode-ai's own launcher runs one; the others are removed, a third of the bytes
    every build, push and pull would otherwise write. The choice is an input of the closure's name."""
    check_packages(lock["roots"], lock["packages"], LOCK_FILE)
    manifest = {"name": ROOT_NAME, "version": "0.0.0", "private": True, "dependencies": lock["roots"]}
    (out / "package.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    npm_lock = json.dumps(to_npm_lockfile(manifest, lock["packages"]), indent=2, sort_keys=True) + "\n"
    (out / "package-lock.json").write_text(npm_lock)
    install = ["install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--no-bin-links"]
    try:
        npm([*install, "--prefer-offline"], cwd=out, offline=offline, path_prefix=node_path / "bin")
    except NpmFailure as exc:
        # A cached package document older than the lock (a version published since npm last asked)
        # makes --prefer-offline answer "no matching version": ask the registry once more, fresh.
        if exc.code != "ETARGET" or offline:
            raise
        npm([*install, "--prefer-online"], cwd=out, offline=False, path_prefix=node_path / "bin")
    (out / "package-lock.json").write_text(npm_lock)  # exactly the lock, whatever npm thought of it
    # npm's hidden lockfile records registry addresses and install times: not part of the closure.
    (out / "node_modules" / ".package-lock.json").unlink(missing_ok=True)
    binary = keep_one_binary(out, lock, platform)
    check_closure(out, lock)
    bundle_sdks(out, binary)


def keep_one_binary(out: Path, lock: dict[str, Any], platform: str) -> Path:
    """Remove every opencode binary package but `platform`; the path of the binary it keeps."""
    entry = lock["packages"].get(f"node_modules/{OPENCODE_PACKAGE}") or {}
    variants = entry.get("optionalDependencies") or {}
    binary = out / "node_modules" / platform / "bin" / "opencode"
    if platform not in variants or not binary.is_file():
        raise LatticeError(f"npm did not install {platform}, the opencode binary for this machine")
    for name in variants:
        if name != platform and (out / "node_modules" / name).is_dir():
            shutil.rmtree(out / "node_modules" / name)
    return binary


def _matches_platform(entry: dict[str, Any]) -> bool:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system().lower())
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(platform.machine().lower(),
                                                                      platform.machine().lower())
    for key, value in (("os", system), ("cpu", arch)):
        allowed = entry.get(key)
        if allowed and not any(a == value for a in allowed) and not (
                any(a.startswith("!") for a in allowed) and f"!{value}" not in allowed):
            return False
    return True


def installed_packages(top: Path, prefix: str = "") -> list[str]:
    """Install paths (`node_modules/a/node_modules/@s/b`) of every package directory under `top`."""
    found = []
    modules = top / "node_modules"
    for child in sorted(modules.iterdir()) if modules.is_dir() else ():
        if child.name.startswith("."):
            continue
        packages = sorted(child.iterdir()) if child.name.startswith("@") and child.is_dir() else [child]
        for package in packages:
            where = f"{prefix}node_modules/{child.name}" + (f"/{package.name}" if package is not child else "")
            found.append(where)
            found += installed_packages(package, where + "/")
    return found


def check_closure(out: Path, lock: dict[str, Any]) -> None:
    """Every package the lock needs here is installed at its locked version, and nothing else is."""
    wrong = [f"{where} is installed but not locked" for where in installed_packages(out)
             if where not in lock["packages"]]
    for where, entry in lock["packages"].items():
        if not _matches_platform(entry):
            continue
        try:
            installed = json.loads((out / where / "package.json").read_text()).get("version")
        except (OSError, ValueError):
            installed = None
        if installed is None and entry.get("optional"):
            continue  # an optional package npm could not install here (libc, a mirror without it)
        if installed != entry.get("version"):
            wrong.append(f"{where} is {installed or 'missing'}, locked {entry.get('version')}")
    if wrong:
        raise LatticeError(f"npm did not install what {LOCK_FILE} says: {'; '.join(wrong[:3])}"
                           + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""))

