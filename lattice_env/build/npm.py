"""npm as Lattice uses it: one environment, one cache, and npm's failures turned into one-line errors.

Why each setting:
- The cache is `<data dir>/npm-cache`, shared by every lock and build, so a later build (or a rebuild with
  the registry unreachable) finds every tarball the lock names.
- HOME is a throwaway directory: the user's `~/.npmrc` must not change what a lock resolves to. A custom
  registry, proxy or CA still reaches npm through the allowlisted variables of `proc.clean_env`.
- Retries are short (one retry after 2 s): with npm's defaults an unreachable registry takes minutes to
  report (measured: 4 min 41 s for one lock; 16 s with 2 retries 1–4 s apart); with this, about 7 s.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import paths
from ..errors import LatticeError
from ..proc import ProcessError, clean_env, run

NETWORK_CODES = {"ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH",
                 "ENETUNREACH", "ESOCKETTIMEDOUT", "ERR_SOCKET_TIMEOUT", "EPROTO", "CERT_HAS_EXPIRED",
                 "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN"}
FETCH_FLAGS = ("--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=4000")
TIMEOUT = 900.0


def cache_dir() -> Path:
    return Path(paths.data_root()) / "npm-cache"


def npm_env(home: Path) -> dict[str, str]:
    """The whole environment of an npm child (see the module docstring for why)."""
    return clean_env(HOME=str(home), npm_config_cache=str(cache_dir()), npm_config_update_notifier="false",
                     npm_config_fund="false", npm_config_audit="false", npm_config_loglevel="error")


class NpmFailure(LatticeError):
    """npm exited non-zero; `code` is npm's own error code (E404, ETARGET, ECONNREFUSED, ...)."""

    def __init__(self, message: str, code: str, stderr: str) -> None:
        super().__init__(message)
        self.code, self.stderr = code, stderr


def npm(args: Sequence[str], cwd: Path | None = None, offline: bool = False,
        path_prefix: Path | None = None) -> str:
    """Run `npm ARGS` and return stdout; failures become NpmFailure (network ones already worded).
    `path_prefix` puts a directory (the store's node environment) first on PATH."""
    argv = ["npm", *args, *FETCH_FLAGS, *(["--offline"] if offline else [])]
    with tempfile.TemporaryDirectory(prefix="lattice-npm-home-") as home:
        env = npm_env(Path(home))
        if path_prefix is not None:
            env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
        try:
            return run(argv, env=env, cwd=cwd, timeout=TIMEOUT).stdout
        except ProcessError as exc:
            code = error_code(exc.stderr + exc.stdout)
            raise NpmFailure(_describe(code, exc), code, exc.stderr) from None


def error_code(output: str) -> str:
    """npm's error code from its output (`npm error code E404`, or a JSON `{"error": {"code": …}}`)."""
    m = re.search(r"^npm (?:error|ERR!) code (\S+)", output, re.M)
    if m:
        return m.group(1)
    m = re.search(r'"code":\s*"([^"]+)"', output)
    return m.group(1) if m else ""


def _describe(code: str, exc: ProcessError) -> str:
    if code in NETWORK_CODES:
        return f"the npm registry is unreachable ({code}); check the network and proxy settings"
    if code == "ENOTCACHED":
        return "offline, and npm's cache lacks a package this needs (run once with the network)"
    detail = next((line.split(" ", 2)[-1] for line in exc.stderr.splitlines()
                   if line.startswith(("npm error", "npm ERR!")) and "code" not in line.split()[:3]), "")
    return f"npm {exc.argv[1]} failed ({code or f'exit {exc.returncode}'}): {_scrub(detail)}".rstrip(": ")


def _scrub(text: str) -> str:
    """Messages never echo a registry address (it may carry credentials)."""
    return re.sub(r"\S+://\S+", "<registry>", text)


@dataclass(frozen=True)
class Versions:
    name: str
    versions: tuple[str, ...]  # in the registry's order (publication order)
    latest: str


def view_versions(name: str, offline: bool = False) -> Versions | None:
    """Every published version of `name` and its `latest` tag; None when no such package exists."""
    try:
        out = npm(["view", name, "versions", "dist-tags.latest", "--json"], offline=offline)
    except NpmFailure as exc:
        if exc.code == "E404":
            return None
        raise
    data = json.loads(out or "{}")
    if isinstance(data, list):  # some npm versions print a list when a field is repeated
        data = data[-1] if data else {}
    versions = data.get("versions") or []
    if isinstance(versions, str):  # a package with a single version
        versions = [versions]
    latest = data.get("dist-tags.latest") or (versions[-1] if versions else "")
    return Versions(name, tuple(versions), latest)


def node_identity() -> dict[str, str]:
    """What of the toolchain a lock depends on: the node major (engines, platform packages) and the
    npm major (its resolver and lockfile format). Minor and patch releases do not change a closure, and
    recording them would make a committed lock churn between teammates' machines."""
    from .node import system_node  # cached: asking node and npm for versions costs ~0.2 s

    toolchain = system_node()
    return {"engine": f"node {toolchain['version'].lstrip('v').split('.')[0]}",
            "npm": toolchain["npm"].split(".")[0]}


ROOT_NAME = "lattice-closure"  # the package.json name of a closure being locked or installed


def to_npm_lockfile(manifest: dict[str, Any], packages: dict[str, Any]) -> dict[str, Any]:
    """An npm lockfile v3 from locked packages (the inverse of `closure_from_npm`, minus `resolved`)."""
    out: dict[str, Any] = {"": {"name": manifest["name"], "version": manifest["version"],
                                "dependencies": manifest["dependencies"]}}
    for where, entry in packages.items():
        entry = dict(entry)
        if entry.get("name") == package_name(where):
            del entry["name"]
        out[where] = entry
    return {"name": manifest["name"], "version": manifest["version"], "lockfileVersion": 3,
            "requires": True, "packages": out}


def package_name(where: str) -> str:
    """`node_modules/a/node_modules/@s/b` → `@s/b`."""
    return where.rsplit("node_modules/", 1)[-1]

