"""From configuration sources to a validated, typed Workflow: load & merge, schema, semantic checks,
agent files. Every problem of every file is collected before anything is raised."""
from __future__ import annotations

import copy
import shlex
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError, LatticeError
from ..routing.table import provider_from_data
from .agent_files import read_agent_file, resolve_agent_path
from .checks import semantic_checks
from .confine import PathError, confine
from .diagnostics import Diagnostic
from .document import dotted
from .limits import MAX_AGENT_FILES_BYTES, MAX_AGENTS, too_large
from .mcp import KNOWN as KNOWN_MCP
from .model import Agent, Command, Failover, Hook, McpServer, Routing, Workflow, frozen
from .plugin_specs import parse_plugin
from .schema import PASSTHROUGH, validate_shape
from .secrets import secret_diagnostics
from .skills import read_skills
from .sources import ResolvedConfig, load_config

DEFAULT_AGENTS_DIR = "./agents"


class Loaded(NamedTuple):
    workflow: Workflow
    config: ResolvedConfig
    warnings: tuple[Diagnostic, ...]


def load_workflow(file: Path | None = None, directory: Path | None = None) -> Loaded:
    """Load, merge and validate; raise ConfigError listing every error (warnings included)."""
    config = load_config(file=file, directory=directory)
    agents = config.data.get("agents")
    if isinstance(agents, dict) and len(agents) > MAX_AGENTS:  # before validating and reading them
        o = config.where(("agents",))
        raise ConfigError([Diagnostic(o.file, o.line, o.col, "agents", f"{len(agents)} agents are more "
                                                                       f"than a workflow may have ({MAX_AGENTS})")])
    diagnostics = validate_shape(config) + semantic_checks(config) + secret_diagnostics(config)
    agent_files, agent_diags = _read_agents(config)
    command_files, command_diags = _read_commands(config)
    skills, skill_diags = read_skills(config)
    diagnostics += agent_diags + command_diags + skill_diags
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = tuple(sorted(d for d in diagnostics if d.severity == "warning"))
    if errors:
        raise ConfigError(errors + list(warnings))
    return Loaded(_build(config, agent_files, command_files)._replace(skills=skills), config, warnings)


def workflow_from_data(data: Any, agents: Any, root: Path, commands: Any = None) -> Workflow:
    """The Workflow a store path's derivation records (its configuration, each agent's prompt and
    frontmatter, each `path:` command's template and frontmatter), for rebuilding that path; `root`
    stands in for the project. A manifest is input too: what is not the shape lattice.yaml has, or
    cannot be built, is a LatticeError."""
    from .agent_files import AgentFile

    if not isinstance(data, dict) or not isinstance(agents, dict):
        raise LatticeError("its derivation records no configuration")
    config = ResolvedConfig(data=copy.deepcopy(data), root=root, project_file=root / "lattice.yaml")
    errors = [d for d in validate_shape(config) if d.severity == "error"]
    if errors:
        raise LatticeError(f"its recorded configuration is not valid ({errors[0].key}: {errors[0].message})")
    files = {}
    for name in (data.get("agents") or {}):
        agent = agents.get(name)
        if not isinstance(agent, dict) or not isinstance(agent.get("prompt"), str) \
                or not isinstance(agent.get("frontmatter"), dict):
            raise LatticeError(f"its derivation records no prompt for agent {name}")
        files[name] = AgentFile(path=root / f"{name}.md", prompt=agent["prompt"], frontmatter=agent["frontmatter"])
    command_files = {}
    for name, command in (data.get("commands") or {}).items():
        if isinstance(command, dict) and "path" in command:
            recorded = (commands or {}).get(name) if isinstance(commands, dict) else None
            if not isinstance(recorded, dict) or not isinstance(recorded.get("template"), str) \
                    or not isinstance(recorded.get("frontmatter"), dict):
                raise LatticeError(f"its derivation records no template for command {name}")
            command_files[name] = AgentFile(path=root / f"{name}.md", prompt=recorded["template"],
                                            frontmatter=recorded["frontmatter"])
    try:
        return _build(config, files, command_files)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LatticeError(f"its recorded configuration cannot be built ({type(exc).__name__}: {exc})") from None


def agents_dir(config: ResolvedConfig) -> Path:
    """`defaults.agents_dir` (default ./agents) inside the project directory; PathError when it would
    lead out of it (a shared lattice.yaml must not make its agents' prompts out of ~/.ssh or /etc)."""
    defaults = config.data.get("defaults")
    rel = defaults.get("agents_dir") if isinstance(defaults, dict) else None
    return confine(config.root, rel if isinstance(rel, str) else DEFAULT_AGENTS_DIR, "the project directory")


def _read_agents(config: ResolvedConfig) -> tuple[dict[str, Any], list[Diagnostic]]:
    files: dict[str, Any] = {}
    diags: list[Diagnostic] = []
    try:
        base = agents_dir(config)
    except PathError as exc:
        where = ("defaults", "agents_dir")
        o = config.where(where)
        return files, [Diagnostic(o.file, o.line, o.col, dotted(where), str(exc))]
    agents = config.data.get("agents")
    if not isinstance(agents, dict):
        return files, diags
    total = 0
    for name, agent in agents.items():
        if not isinstance(agent, dict):
            continue
        rel = agent.get("path", f"{name}.md")
        if not isinstance(rel, str) or not rel:
            continue
        where = ("agents", name, "path") if "path" in agent else ("agents", name)
        o = config.where(where)  # at `path:`, or at the agent's name when there is no path
        try:
            full, size = resolve_agent_path(base, rel)
            total += size
            if total > MAX_AGENT_FILES_BYTES:
                diags.append(Diagnostic(o.file, o.line, o.col, dotted(where),
                                        "the agent files up to this one: " + too_large(
                                            total, MAX_AGENT_FILES_BYTES, "all agent files together")))
                break
            files[name] = read_agent_file(full)
        except PathError as exc:
            diags.append(Diagnostic(o.file, o.line, o.col, dotted(where), str(exc)))
        except ConfigError as exc:
            diags.extend(exc.diagnostics)
    return files, diags


def _read_commands(config: ResolvedConfig) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The markdown file of each `path:` command (inside the project directory): body and frontmatter."""
    from .schema import COMMAND_FRONTMATTER

    files: dict[str, Any] = {}
    diags: list[Diagnostic] = []
    commands = config.data.get("commands")
    for name, command in commands.items() if isinstance(commands, dict) else ():
        rel = command.get("path") if isinstance(command, dict) else None
        if not isinstance(rel, str) or not rel:
            continue
        o = config.where(("commands", name, "path"))
        try:
            full, _ = resolve_agent_path(config.root, rel, "the project directory", "command file")
            files[name] = read_agent_file(full, COMMAND_FRONTMATTER)
        except PathError as exc:
            diags.append(Diagnostic(o.file, o.line, o.col, f"commands.{name}.path", str(exc)))
        except ConfigError as exc:
            diags.extend(exc.diagnostics)
    return files, diags


def _command(name: str, spec: dict[str, Any], file: Any) -> Command:
    """A command from lattice.yaml, over its file's frontmatter (lattice.yaml wins)."""
    settings = {**(file.frontmatter if file is not None else {}), **spec}
    template = file.prompt if file is not None else spec.get("template")
    return Command(name, settings.get("description", ""), spec.get("action"), template, settings.get("agent"),
                   settings.get("model"), settings.get("subtask"), settings.get("variant"), spec.get("timeout"))


def _build(config: ResolvedConfig, agent_files: dict[str, Any], command_files: dict[str, Any] | None = None) -> Workflow:
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
    providers = {name: provider_from_data(name, p) for name, p in (data.get("providers") or {}).items()}
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
        failover=Failover.from_data(defaults),
        project_instructions=bool(defaults.get("project_instructions", True)),
        agents=frozen(agents), plugin_config=frozen(data.get("plugin_config")), mcp=frozen(mcp),
        commands=frozen({n: _command(n, c, (command_files or {}).get(n))
                         for n, c in (data.get("commands") or {}).items()}),
        hooks=frozen({event: tuple(Hook(event=event, **entry) for entry in entries)
                      for event, entries in (data.get("hooks") or {}).items()}),
        passthrough=frozen(data.get(PASSTHROUGH)),
        root=config.root, project_file=config.project_file, files=tuple(config.files),
        skill_dirs=tuple(data.get("skills") or ()))
