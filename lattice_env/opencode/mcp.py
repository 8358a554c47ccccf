"""How each MCP server becomes an opencode `mcp` entry (the servers known by name: config/mcp.py).

`${VAR}` in `env`/`headers` (the design's syntax) becomes opencode's `{env:VAR}` (config/references.py),
so the value is read from the environment when opencode starts and never written into a generated file."""
from __future__ import annotations

from typing import Any

from ..config.mcp import KNOWN
from ..config.model import McpServer
from ..config.references import env_refs


def opencode_entry(server: McpServer) -> dict[str, Any]:
    """The `mcp.<name>` value of opencode.json for one server."""
    if server.command or server.url:
        entry: dict[str, Any] = {"type": server.kind}
        if server.kind == "local":
            entry["command"] = list(server.command)
            if server.env:
                entry["environment"] = {k: env_refs(v) for k, v in server.env.items()}
        else:
            entry["url"] = server.url
            if server.headers:
                entry["headers"] = {k: env_refs(v) for k, v in server.headers.items()}
    else:
        entry = {k: (list(v) if isinstance(v, list) else v) for k, v in KNOWN[server.name].items()}
    entry["enabled"] = server.enabled
    if server.timeout:
        entry["timeout"] = server.timeout
    return entry
