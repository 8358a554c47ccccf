"""The exact shape of lattice.lock, checked every time one is read or written.

A committed lock is input from whoever committed it. npm follows whatever a lockfile entry says — a
`resolved` tarball path or URL, `link: true`, a git or `file:` dependency — so a lock that could say any
of that would let a stranger's repository swap any package, opencode itself included, for code of their
choosing, with an integrity hash to match. The lock therefore holds only what lattice writes: each
package by install path, name and exact version with its sha512 integrity (npm fetches it by name and
version from the registry the user configures and checks the hash), dependency ranges that npm resolves
by name, and the roots and toolchain identity. Anything else is refused with its key path:

    lattice.lock:12: packages["node_modules/x"].resolved: not allowed …
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..config.diagnostics import Diagnostic
from ..errors import ConfigError

# Keys of npm's lockfile entries worth keeping: what an install needs, nothing that names a host or path.
KEEP = ("version", "integrity", "name", "os", "cpu", "libc", "optional", "peer", "dev", "devOptional",
        "dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bin",
        "engines", "hasInstallScript", "license", "inBundle", "bundleDependencies")

_NAME = r"(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*"  # npm's rule for new names, lower case
_LEGACY_NAME = r"(?:@[A-Za-z0-9][A-Za-z0-9._~-]*/)?[A-Za-z0-9][A-Za-z0-9._~-]*"  # old packages have capitals
NAME = re.compile(_LEGACY_NAME)
INSTALL_PATH = re.compile(rf"node_modules/{_LEGACY_NAME}(?:/node_modules/{_LEGACY_NAME})*")
VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
INTEGRITY = re.compile(r"sha512-[A-Za-z0-9+/]{86}==")
# A semver range (`^1.2.0 || >=2 <3`, `*`, `1.x`) or a dist-tag: npm resolves both by name, in the
# registry. No `:` or `/`: those are what `file:`, `git+…`, `github:`, `link:`, URLs and `user/repo` need.
RANGE = re.compile(r"[0-9A-Za-z.+\-*^~<>=| ]*")
ALIAS = re.compile(rf"npm:({_LEGACY_NAME})@([0-9A-Za-z.+\-*^~<>=| ]*)")  # `npm:string-width@^4.2.0`
PLATFORM = re.compile(r"!?[A-Za-z0-9_]+")
ENGINE = re.compile(r"node \d+")
TOP = {"format": int, "node": dict, "roots": dict, "packages": dict, "unavailable": dict, "sources": dict}
OPTIONAL_TOP = ("unavailable", "sources")  # absent in locks of older lattice versions: empty
FLAGS = ("optional", "peer", "dev", "devOptional", "hasInstallScript", "inBundle")
DEPENDENCY_KEYS = ("dependencies", "optionalDependencies", "peerDependencies")
LIMIT = 20  # problems shown; a lock can be made to have thousands


class _Checker:
    def __init__(self, shown: str, text: str) -> None:
        self.shown, self.text = shown, text
        self.problems: list[tuple[tuple[Any, ...], str]] = []

    def bad(self, path: tuple[Any, ...], message: str) -> None:
        self.problems.append((path, message))

    def diagnostics(self) -> list[Diagnostic]:
        more = f" ({len(self.problems)} problems, the first {LIMIT} below)" if len(self.problems) > LIMIT else ""
        note = Diagnostic(self.shown, 0, 0, "", f"not a lock lattice wrote{more}, so nothing of it is used; "
                          "`lattice lock --refresh` resolves it again from lattice.yaml", "note")
        return [note] + [Diagnostic(self.shown, _line_of(self.text, path), 0, key_path(path), message)
                         for path, message in self.problems[:LIMIT]]

    def string(self, path: tuple[Any, ...], value: Any, pattern: re.Pattern[str], what: str) -> bool:
        if isinstance(value, str) and pattern.fullmatch(value):
            return True
        self.bad(path, f"must be {what}, not {_show(value)}")
        return False

    def flag(self, path: tuple[Any, ...], value: Any) -> None:
        if not isinstance(value, bool):
            self.bad(path, f"must be true or false, not {_show(value)}")

    def strings(self, path: tuple[Any, ...], value: Any, pattern: re.Pattern[str], what: str) -> None:
        if not isinstance(value, list):
            self.bad(path, f"must be a list of {what}, not {_show(value)}")
            return
        for i, item in enumerate(value):
            self.string((*path, i), item, pattern, what)

    def mapping(self, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.bad(path, f"must be an object, not {_show(value)}")
        return {}

    # ── the sections ────────────────────────────────────────────────────────
    def top(self, lock: dict[str, Any]) -> None:
        for key in lock:
            if key not in TOP:
                self.bad((key,), f"not allowed (a lock has only {', '.join(TOP)})")
        for key, kind in TOP.items():
            if key not in lock:
                if key not in OPTIONAL_TOP:
                    self.bad((key,), "missing")
            elif not isinstance(lock[key], kind) or isinstance(lock[key], bool):
                self.bad((key,), f"must be {'a number' if kind is int else 'an object'}, not {_show(lock[key])}")

    def node(self, node: dict[str, Any]) -> None:
        for key in node:
            if key not in ("engine", "npm"):
                self.bad(("node", key), "not allowed (node has only engine and npm)")
        self.string(("node", "engine"), node.get("engine"), ENGINE, 'the node major ("node 20")')
        self.string(("node", "npm"), node.get("npm"), re.compile(r"\d+"), 'the npm major ("10")')

    def roots(self, roots: dict[str, Any], packages: dict[str, Any]) -> None:
        for name, version in roots.items():
            if not NAME.fullmatch(name):
                self.bad(("roots", name), "is not an npm package name")
                continue
            if not self.string(("roots", name), version, VERSION, "an exact version (1.2.3)"):
                continue
            entry = packages.get(f"node_modules/{name}")
            if not isinstance(entry, dict) or entry.get("version") != version:
                have = entry.get("version") if isinstance(entry, dict) else None
                self.bad(("roots", name), f"{version} is not what packages locks "
                                          f"({'node_modules/' + name + ' is ' + _show(have) if have else 'it has no node_modules/' + name})")

    def package(self, where: str, entry: Any, aliases: set[tuple[str, str]]) -> None:
        path = ("packages", where)
        if not INSTALL_PATH.fullmatch(where):
            self.bad(path, "is not an install path (node_modules/NAME, nested through node_modules/)")
            return
        entry = self.mapping(path, entry)
        for key in entry:
            if key not in KEEP:
                self.bad((*path, key), "not allowed: a locked package is its name, exact version and integrity, "
                                       "which npm fetches from the configured registry (no location of its own)")
        installed_as = where.rsplit("node_modules/", 1)[-1]
        name = entry.get("name")
        if self.string((*path, "name"), name, NAME, "an npm package name") and name != installed_as \
                and (installed_as, name) not in aliases:
            self.bad((*path, "name"), f"{name} is installed as {installed_as}, and no locked package "
                                      f"depends on it under that alias (npm:{name}@…)")
        self.string((*path, "version"), entry.get("version"), VERSION, "an exact version (1.2.3)")
        if "integrity" in entry or not entry.get("inBundle"):  # bundled packages come inside their parent
            self.string((*path, "integrity"), entry.get("integrity"), INTEGRITY, "a sha512-… integrity hash")
        for key in FLAGS:
            if key in entry:
                self.flag((*path, key), entry[key])
        for key in ("os", "cpu", "libc"):
            if key in entry:
                self.strings((*path, key), entry[key], PLATFORM, "platform names")
        for key in DEPENDENCY_KEYS:
            for dep, spec in self.mapping((*path, key), entry.get(key, {})).items():
                if not NAME.fullmatch(dep):
                    self.bad((*path, key, dep), "is not an npm package name")
                elif not isinstance(spec, str) or not (RANGE.fullmatch(spec) or ALIAS.fullmatch(spec)):
                    self.bad((*path, key, dep), f"must be a version range that npm resolves in the registry, "
                                                f"not {_show(spec)} (no file:, git, link: or URL dependencies)")
        for dep, meta in self.mapping((*path, "peerDependenciesMeta"), entry.get("peerDependenciesMeta", {})).items():
            meta = self.mapping((*path, "peerDependenciesMeta", dep), meta)
            for key, value in meta.items():
                if key != "optional":
                    self.bad((*path, "peerDependenciesMeta", dep, key), "not allowed (only optional)")
                self.flag((*path, "peerDependenciesMeta", dep, key), value)
        if "bin" in entry:
            for command, target in self.mapping((*path, "bin"), entry["bin"]).items():
                if not isinstance(target, str) or target.startswith("/") or ".." in target.split("/") \
                        or "/" in command or "\\" in command + target:
                    self.bad((*path, "bin", command), "must be a relative path inside the package")
        engines = entry.get("engines", {})
        if not (isinstance(engines, dict) and all(isinstance(v, str) for v in engines.values())
                or isinstance(engines, list) and all(isinstance(v, str) for v in engines)):
            self.bad((*path, "engines"), f"must map names to version ranges, not {_show(engines)}")
        if "license" in entry and not isinstance(entry["license"], str):
            self.bad((*path, "license"), f"must be text, not {_show(entry['license'])}")
        bundled = entry.get("bundleDependencies", [])
        if not isinstance(bundled, bool) and not (isinstance(bundled, list) and all(
                isinstance(b, str) and NAME.fullmatch(b) for b in bundled)):
            self.bad((*path, "bundleDependencies"), "must be a list of package names")

    def closure(self, roots: dict[str, Any], packages: dict[str, Any]) -> None:
        """Every package is one that the roots need (nothing extra rides along), and a dependency on an
        exact version finds that version."""
        valid = {w: e for w, e in packages.items() if isinstance(e, dict) and INSTALL_PATH.fullmatch(w)}
        bundled: dict[str, list[str]] = {}  # a bundled package ships inside its parent's tarball
        for where, entry in valid.items():
            if entry.get("inBundle") and "/node_modules/" in where:
                bundled.setdefault(where.rsplit("/node_modules/", 1)[0], []).append(where)
        seen: set[str] = set()
        queue = [f"node_modules/{name}" for name in roots if f"node_modules/{name}" in valid]
        while queue:
            where = queue.pop()
            if where in seen:
                continue
            seen.add(where)
            entry = valid[where]
            for key in DEPENDENCY_KEYS:
                deps = entry.get(key)
                for dep, spec in (deps.items() if isinstance(deps, dict) else ()):
                    found = find_installed(valid, where, dep)
                    if found is None:
                        continue  # an optional or peer dependency this platform or registry lacks
                    queue.append(found)
                    exact = spec[len(f"npm:{dep}@"):] if isinstance(spec, str) and spec.startswith("npm:") else spec
                    if isinstance(exact, str) and VERSION.fullmatch(exact) and valid[found].get("version") != exact:
                        self.bad(("packages", found, "version"), f"{_show(valid[found].get('version'))}, but "
                                 f"{where} depends on exactly {exact}")
            queue.extend(bundled.get(where, ()))
        for where in valid:
            if where not in seen:
                self.bad(("packages", where), "no root depends on it, directly or through locked packages")

    def unavailable(self, unavailable: dict[str, Any], packages: dict[str, Any]) -> None:
        for key, info in unavailable.items():
            path = ("unavailable", key)
            name, _, spec = key.rpartition("@")
            if not NAME.fullmatch(name) or not RANGE.fullmatch(spec):
                self.bad(path, "must be NAME@RANGE of an optional package the registry lacks")
                continue
            info = self.mapping(path, info)
            for k in info:
                if k != "wanted_by":
                    self.bad((*path, k), "not allowed (only wanted_by)")
            wanted = info.get("wanted_by")
            if not isinstance(wanted, list) or not all(isinstance(w, str) and w in packages for w in wanted):
                self.bad((*path, "wanted_by"), "must list locked packages")

    def sources(self, sources: dict[str, Any]) -> None:
        for raw, info in sources.items():
            path = ("sources", raw)
            info = self.mapping(path, info)
            kind = info.get("kind")
            if raw.startswith("file:") and kind == "file":
                allowed = {"kind", "sha256", "files"}
                self.string((*path, "sha256"), info.get("sha256"), re.compile(r"[0-9a-f]{64}"), "a sha256 hex digest")
                if not isinstance(info.get("files"), int) or isinstance(info.get("files"), bool):
                    self.bad((*path, "files"), "must be a number")
            elif raw.startswith("github:") and kind == "github":
                allowed = {"kind", "commit"}
                self.string((*path, "commit"), info.get("commit"), re.compile(r"[0-9a-f]{40}"), "a full commit hash")
            else:
                self.bad(path, "must be a file: plugin with kind file or a github: plugin with kind github")
                continue
            for key in info:
                if key not in allowed:
                    self.bad((*path, key), f"not allowed (a {kind} source has only {', '.join(sorted(allowed))})")


def check_lock(lock: Any, shown: str = "lattice.lock", text: str = "") -> None:
    """Raise ConfigError, one located line per problem, unless `lock` has exactly lattice's shape.
    `text` (the file as read) lets the messages give line numbers."""
    c = _Checker(shown, text)
    if not isinstance(lock, dict):
        c.bad((), f"must be a JSON object, not {_show(lock)}")
        raise ConfigError(c.diagnostics())
    c.top(lock)
    if not c.problems:
        c.node(lock["node"])
        _packages(c, lock["roots"], lock["packages"])
        c.unavailable(lock.get("unavailable", {}), lock["packages"])
        c.sources(lock.get("sources", {}))
    if c.problems:
        raise ConfigError(c.diagnostics())


def check_packages(roots: Any, packages: Any, shown: str) -> None:
    """The part of a lock npm installs (a closure derivation's inputs), checked the same way."""
    c = _Checker(shown, "")
    _packages(c, c.mapping(("roots",), roots), c.mapping(("packages",), packages))
    if c.problems:
        raise ConfigError(c.diagnostics())


def _packages(c: _Checker, roots: dict[str, Any], packages: dict[str, Any]) -> None:
    aliases = {(dep, m.group(1)) for e in packages.values() if isinstance(e, dict)
               for key in DEPENDENCY_KEYS if isinstance(e.get(key), dict)
               for dep, spec in e[key].items() if isinstance(spec, str) and (m := ALIAS.fullmatch(spec))}
    c.roots(roots, packages)
    for where, entry in packages.items():
        c.package(where, entry, aliases)
    c.closure(roots, packages)


def key_path(path: tuple[Any, ...]) -> str:
    """`("packages", "node_modules/x", "resolved")` → `packages["node_modules/x"].resolved`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _line_of(text: str, path: tuple[Any, ...]) -> int:
    """Where the key path's last key is written (each key searched after the one before it); 0 when
    the text does not show it. Exact for the layout lattice writes, a good guess for hand edits."""
    pos, found = 0, 0
    for part in path:
        if isinstance(part, int):
            continue
        at = text.find(json.dumps(part, ensure_ascii=False) + ":", pos)
        if at < 0:
            break
        pos, found = at, text.count("\n", 0, at) + 1
    return found


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "…"


def find_installed(packages: dict[str, Any], where: str, dep: str) -> str | None:
    """Where node would find `dep` when required from the package at `where` (walk up node_modules)."""
    base = where
    while True:
        candidate = f"{base}/node_modules/{dep}" if base else f"node_modules/{dep}"
        if candidate in packages:
            return candidate
        if not base:
            return None
        base = base.rsplit("/node_modules/", 1)[0] if "/node_modules/" in base else ""
