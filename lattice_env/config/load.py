"""From configuration sources to a validated, typed Workflow: load & merge, schema, semantic checks,
agent files. Every problem of every file is collected before anything is raised."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError
from .agent_files import AgentPathError, read_agent_file, resolve_agent_path
from .checks import semantic_checks
from .diagnostics import Diagnostic
from .document import dotted
from .mcp import KNOWN as KNOWN_MCP
from .model import Agent, Command, Hook, McpServer, Provider, Routing, Workflow, frozen
from .plugin_specs import parse_plugin
from .schema import validate_shape
from .sources import ResolvedConfig, load_config

DEFAULT_AGENTS_DIR = "./agents"


class Loaded(NamedTuple):
    workflow: Workflow
    config: ResolvedConfig
    warnings: tuple[Diagnostic, ...]


def load_workflow(file: Path | None = None, directory: Path | None = None) -> Loaded:
    """Load, merge and validate; raise ConfigError listing every error (warnings included)."""
    config = load_config(file=file, directory=directory)
    diagnostics = validate_shape(config) + semantic_checks(config)
    agent_files, agent_diags = _read_agents(config)
    diagnostics += agent_diags
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = tuple(sorted(d for d in diagnostics if d.severity == "warning"))
    if errors:
        raise ConfigError(errors + list(warnings))
    return Loaded(_build(config, agent_files), config, warnings)


def agents_dir(config: ResolvedConfig) -> Path:
    defaults = config.data.get("defaults")
    rel = defaults.get("agents_dir") if isinstance(defaults, dict) else None
    return config.root / (rel if isinstance(rel, str) else DEFAULT_AGENTS_DIR)


def _read_agents(config: ResolvedConfig) -> tuple[dict[str, Any], list[Diagnostic]]:
    files: dict[str, Any] = {}
    diags: list[Diagnostic] = []
    agents = config.data.get("agents")
    if not isinstance(agents, dict):
        return files, diags
    base = agents_dir(config)
    for name, agent in agents.items():
        if not isinstance(agent, dict):
            continue
        rel = agent.get("path", f"{name}.md")
        if not isinstance(rel, str) or not rel:
            continue
        where = ("agents", name, "path") if "path" in agent else ("agents", name)
        try:
            full = resolve_agent_path(base, rel)
            files[name] = read_agent_file(full)
        except AgentPathError as exc:
            o = config.where(where)  # at `path:`, or at the agent's name when there is no path
            diags.append(Diagnostic(o.file, o.line, o.col, dotted(where), str(exc)))
        except ConfigError as exc:
            diags.extend(exc.diagnostics)
    return files, diags


def _budget(value: Any) -> float | None:
    return None if value in (None, "unlimited") else float(value)


def _build(config: ResolvedConfig, agent_files: dict[str, Any]) -> Workflow:
    data = config.data
    defaults = data.get("defaults") or {}
    default_routing = Routing.from_data(defaults["routing"]) if defaults.get("routing") else None
    agents = {}
    for name, spec in (data.get("agents") or {}).items():
        file = agent_files[name]
        routing_data = spec.get("routing")
        agents[name] = Agent(
            name=name, path=spec.get("path", f"{name}.md"), prompt_file=file.path, prompt=file.prompt,
            description=spec.get("description") or file.frontmatter.get("description") or "",
            triggers=tuple(spec.get("triggers") or ()),
            routing=Routing.from_data(routing_data) if routing_data else default_routing,  # type: ignore[arg-type]
            routing_inherited=not routing_data, frontmatter=frozen(file.frontmatter))
    providers = {
        name: Provider(name=name, env=p.get("env"), auth=p.get("auth"), tier=p.get("tier"),
                       local_budget=_budget(p.get("local_budget")),
                       budget_period=p.get("budget_period") or "month", models=tuple(p.get("models") or ()),
                       base_url=p.get("base_url"))
        for name, p in ((n, p or {}) for n, p in (data.get("providers") or {}).items())
    }
    mcp = {}
    for name, s in (data.get("mcp") or {}).items():
        s = s or {}
        command = s.get("command") or ()
        if isinstance(command, str):
            command = shlex.split(command)  # checks.py has already rejected unbalanced quotes
        command = (*command, *(s.get("args") or ()))
        kind = "remote" if s.get("url") else "local"
        if not command and not s.get("url") and name in KNOWN_MCP:
            kind = KNOWN_MCP[name]["type"]
        mcp[name] = McpServer(name=name, kind=kind,
                              enabled=s.get("enabled", True), description=s.get("description", ""),
                              command=tuple(command), env=frozen(s.get("env")), url=s.get("url"),
                              headers=frozen(s.get("headers")), timeout=s.get("timeout"))
    vcs = data.get("vcs") or {}
    return Workflow(
        name=data["name"], description=data.get("description", ""), version=str(data.get("version", "")),
        author=data.get("author", ""), vcs_preset=vcs.get("preset", "none"),
        vcs_config=frozen(vcs.get("config")),
        plugins=tuple(parse_plugin(p) for p in data.get("plugins") or ()),
        providers=frozen(providers), agents_dir=agents_dir(config), default_routing=default_routing,
        project_instructions=bool(defaults.get("project_instructions", True)),
        agents=frozen(agents), plugin_config=frozen(data.get("plugin_config")), mcp=frozen(mcp),
        commands=frozen({n: Command(n, c.get("description", ""), c["action"])
                         for n, c in (data.get("commands") or {}).items()}),
        hooks=frozen({event: tuple(Hook(event=event, **entry) for entry in entries)
                      for event, entries in (data.get("hooks") or {}).items()}),
        root=config.root, project_file=config.project_file, files=tuple(config.files))
