"""MCP servers Lattice knows by name: `mcp: {context7: {enabled: true}}` needs no command or url."""
from __future__ import annotations

from typing import Any

# name → how to reach it when lattice.yaml gives only `enabled`/`description`.
KNOWN: dict[str, dict[str, Any]] = {
    "context7": {"type": "remote", "url": "https://mcp.context7.com/mcp"},
    "websearch_exa": {"type": "remote", "url": "https://mcp.exa.ai/mcp?tools=web_search_exa"},
    "grep_app": {"type": "remote", "url": "https://mcp.grep.app"},
    "filesystem": {"type": "local", "command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "."]},
    "memory": {"type": "local", "command": ["npx", "-y", "@modelcontextprotocol/server-memory"]},
}
