"""An imported opencode setup's MCP servers (importer.py) as lattice `mcp:` entries: local ones with their
command (the project's own server script copied along) and `environment` as `env:`, remote ones with their
`url` and `headers`; `{env:VAR}` written as lattice's `${VAR}`, a literal secret as `${VAR}` with a
warning (import_secrets.py)."""
from __future__ import annotations

import os
import re
from typing import Any

from ..config.schema import NAME
from .import_base import ENV_ONLY
from .import_files import FileCopies
from .opencode_setup import inside

KEYS = {"type", "command", "environment", "url", "headers", "enabled", "timeout"}


class McpImport(FileCopies):
    def mcp(self) -> dict[str, Any]:
        from ..config.mcp import KNOWN

        out: dict[str, Any] = {}
        servers = self.cfg.get("mcp")
        for name, spec in servers.items() if isinstance(servers, dict) else ():
            key = f"mcp.{name}"
            if not re.fullmatch(NAME, str(name)) or not isinstance(spec, dict):
                self.skip(key, "not an MCP server lattice can name")
                continue
            entry: dict[str, Any] = {}
            if "enabled" in spec:
                entry["enabled"] = bool(spec["enabled"])
            kind = spec.get("type")
            try:
                if kind == "local" and isinstance(spec.get("command"), list) and spec["command"]:
                    entry["command"] = [str(w) for w in spec["command"]]
                    program, *words = entry["command"]
                    # the project's own server script goes along (with its executable bit): an
                    # argument, or the program itself when named by a path (a bare name is PATH's)
                    for word in [*words, *([program] if "/" in program else [])]:
                        rel = os.path.normpath(word)
                        if not word.startswith(("/", "~", "-")) and inside(self.setup.root, rel) \
                                and os.path.isfile(self.setup.root / rel):
                            self.copy(rel, rel)
                    env = spec.get("environment") or {}
                    if env:
                        entry["env"] = {k: self.mcp_value(v, f"{key}.environment.{k}", str(k), str(k))
                                        for k, v in env.items()}
                elif kind == "remote" and isinstance(spec.get("url"), str):
                    if not re.fullmatch(r"https?://\S+", spec["url"]) or "{" in spec["url"]:
                        raise LookupError("its url is not a plain http(s) URL")
                    entry["url"] = spec["url"]
                    headers = spec.get("headers") or {}
                    if headers:
                        var = re.sub(r"[^A-Za-z0-9]", "_", str(name)).upper()
                        entry["headers"] = {k: self.mcp_value(v, f"{key}.headers.{k}", str(k),
                                                              f"{var}_{re.sub(r'[^A-Za-z0-9]', '_', str(k)).upper()}")
                                            for k, v in headers.items()}
                elif kind is None and name not in KNOWN:
                    raise LookupError("only enables or disables a server lattice does not know")
            except LookupError as exc:
                self.skip(key, str(exc))
                continue
            if isinstance(spec.get("timeout"), int) and spec["timeout"] > 0:
                entry["timeout"] = spec["timeout"]
            for extra in sorted(set(spec) - KEYS):
                self.skip(f"{key}.{extra}", "lattice's mcp: has no such key")
            out[name] = entry
        return out

    def mcp_value(self, value: Any, key: str, name: str, var: str) -> str:
        """An MCP `environment`/`headers` value in lattice's syntax: `{env:X}` → `${X}`, a literal secret
        → `${VAR}` with a warning."""
        text = self.secret_value(str(value), key, re.sub(r"[^A-Za-z0-9_]", "_", var).upper(), name)
        return ENV_ONLY.sub(lambda m: "${" + m.group(1) + "}", text)
