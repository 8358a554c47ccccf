"""An opencode setup (opencode_setup.py) as a lattice workflow, losing nothing that can be carried:

- each agent → `agents/<name>.md`: its prompt the body (`{file:…}` read in), its opencode settings the
  frontmatter (keys lattice has no name for go into `options`, as opencode itself files them), its model
  its routing; the top-level `model` → `defaults.routing`;
- commands → `commands:` (`template:` for inline ones, `path:` to `commands/<name>.md` for files);
- MCP servers → `mcp:`, `{env:VAR}` written as `${VAR}`; plugins pinned to a version → `plugins:` (their
  options `plugin_config:`), local plugin files and folders → `file:` plugins under `plugins/`;
- providers → `providers:` (the key's variable as `env:`, `baseURL` as `base_url:`);
- skill folders (in its config dirs, or in a relative `skills.paths` entry) → lattice.yaml's `skills:`,
  their files copied along;
- the rest — permission, instructions, provider options, every other opencode key — → the `opencode:`
  pass-through, checked against opencode's schema; files `instructions` names and AGENTS.md are copied
  along.
A literal secret is never copied: it becomes a reference to a variable, with a warning naming it. What
cannot be carried is listed by key.

One module per part: import_agents.py, import_commands.py, import_mcp.py, import_secrets.py (providers,
the pass-through, secrets), import_files.py (plugins and files copied along), on import_base.py (the
shared state and value helpers); this module puts them together into lattice.yaml."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from ..config.schema import PASSTHROUGH
from .files import File
from .import_agents import AgentsImport
from .import_base import dump_yaml
from .import_commands import CommandsImport
from .import_mcp import McpImport
from .opencode_setup import Setup

HANDLED = ("$schema", "model", "provider", "agent", "mode", "command", "mcp", "plugin")


class Imported(NamedTuple):
    files: dict[str, File]  # relative path in the new workflow → content, executable bit (lattice.yaml first)
    agents: int
    not_carried: list[str]  # "key: why", by key
    warnings: list[str]


class _Import(AgentsImport, CommandsImport, McpImport):
    def run(self) -> Imported:
        data: dict[str, Any] = {"name": self.name}
        passthrough: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        if "model" in self.cfg and self.need_provider(self.cfg["model"], "model"):
            defaults["routing"] = [self.cfg["model"]]
        provider_config = self.provider_section(passthrough)
        agents = self.agents(passthrough)
        if agents and "routing" not in defaults and any("routing" not in a for a in agents.values()):
            first = next((a["routing"][0] for a in agents.values() if "routing" in a), None)
            if first is not None:
                defaults["routing"] = [first]
                self.warnings.append(f"defaults.routing: the setup names no default model; agents without "
                                     f"one are routed to {first}, the first model it names")
        commands = self.commands()
        mcp = self.mcp()
        plugins, plugin_config = self.plugins()
        for key, value in self.cfg.items():
            if key not in HANDLED:
                passthrough[key] = value
        self.copy_instructions(passthrough)
        skills = self.copy_skills(passthrough)
        passthrough = self.checked_passthrough(passthrough)
        if self.setup.agents_md:
            self.copy(self.setup.agents_md, "AGENTS.md")
        for name, entry in provider_config.items():
            self.providers[name] = entry or self.providers.get(name)
        if self.providers:
            data["providers"] = self.providers
        if defaults:
            data["defaults"] = defaults
        for key, value in (("agents", agents), ("commands", commands), ("mcp", mcp), ("plugins", plugins),
                           ("plugin_config", plugin_config), ("skills", skills), (PASSTHROUGH, passthrough)):
            if value:
                data[key] = value
        text = _header(self.setup) + dump_yaml(data)
        files = {"lattice.yaml": File(text.encode()), **self.files}
        return Imported(files, len(agents), self.not_carried, self.warnings)


def import_setup(setup: Setup, name: str) -> Imported:
    return _Import(setup, name).run()


def _header(setup: Setup) -> str:
    return (f"# lattice.yaml — imported from an opencode setup ({setup.layout} layout: "
            f"{', '.join(setup.config_files) or 'markdown files'}) by `lattice init --from`.\n"
            f"# Agents are in agents/, commands in commands/; what lattice.yaml has no key for is under\n"
            f"# `opencode:`, passed to opencode as it is.\n\n")


def setup_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-._") or "workflow"
