"""Plugin specs as written in `plugins:`: `name@1.2.3`, `@scope/name@1.2.3`, `github:owner/repo@ref`,
`file:path`. Only exact versions are accepted: a range would make two machines build different things."""
from __future__ import annotations

import posixpath
import re
from typing import Iterable, NamedTuple

NPM_NAME = r"(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*"
EXACT_VERSION = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_NPM = re.compile(rf"(?P<name>{NPM_NAME})(?:@(?P<version>.*))?")
_GITHUB = re.compile(r"github:(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<repo>[A-Za-z0-9._-]+)(?:@(?P<ref>.*))?")


class PluginSpecError(ValueError):
    """A spec that cannot be used; the message is one line, ready for a diagnostic."""


class PluginSpec(NamedTuple):
    raw: str
    kind: str  # "npm" | "github" | "file"
    name: str  # npm package name, `owner/repo`, or the path after `file:`
    version: str  # exact npm version, git ref, or "" for file:

    @property
    def short_name(self) -> str:
        """The name `plugin_config` uses for this plugin."""
        if self.kind == "npm":
            return self.name
        return posixpath.basename(posixpath.normpath(self.name))


def parse_plugin(spec: str) -> PluginSpec:
    spec = spec.strip()
    if spec.startswith("file:"):
        path = spec[len("file:"):]
        if not path:
            raise PluginSpecError("file: plugin needs a path (file:../my-plugin)")
        if posixpath.basename(posixpath.normpath(path)) in (".", ".."):
            # the last name is the plugin's own (plugin_config, its directory in the store)
            raise PluginSpecError(f"'{spec}' must end in the plugin's directory name (like file:../my-plugin)")
        return PluginSpec(spec, "file", path, "")
    if spec.startswith("github:"):
        m = _GITHUB.fullmatch(spec)
        if not m:
            raise PluginSpecError(f"'{spec}' is not github:OWNER/REPO@REF")
        if not m["ref"]:
            raise PluginSpecError(f"'{spec}' is not pinned: add @REF (a tag or commit)")
        return PluginSpec(spec, "github", f"{m['owner']}/{m['repo']}", m["ref"])
    m = _NPM.fullmatch(spec)
    if not m:
        raise PluginSpecError(
            f"'{spec}' is not a plugin spec (expected name@1.2.3, @scope/name@1.2.3, "
            f"github:owner/repo@ref or file:path)")
    name, version = m["name"], m["version"]
    if version is None or version == "":
        raise PluginSpecError(f"'{spec}' is not pinned: write {name}@VERSION")
    if not re.fullmatch(EXACT_VERSION, version):
        raise PluginSpecError(f"'{spec}': '{version}' is not an exact version (pin one, like {name}@1.2.3)")
    return PluginSpec(spec, "npm", name, version)


def auth_plugins(auth: str, plugins: Iterable[PluginSpec]) -> list[PluginSpec]:
    """The plugins a provider's `auth: NAME` may name: the one called NAME, else those with NAME as a
    part of their name (`antigravity` → opencode-antigravity-auth). More than one is ambiguous."""
    plugins = list(plugins)
    exact = [p for p in plugins if p.short_name == auth]
    if exact:
        return exact
    return [p for p in plugins if auth in re.split(r"[-_.]", p.short_name.rsplit("/", 1)[-1])]
