"""The typed, immutable Workflow that everything after validation works from.

Named tuples, not frozen dataclasses: immutable and compared by value alike, but `dataclasses` imports
inspect (and with it ast, dis and tokenize), which cost a no-op `lattice build` more than its own work."""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from ..routing.types import Failover, Provider, Routing, split_model  # noqa: F401  (the routing parts live there)
from .plugin_specs import PluginSpec


def frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


class Agent(NamedTuple):
    name: str
    path: str  # as written, relative to agents_dir
    prompt_file: Path
    prompt: str  # the system prompt: the file without its frontmatter
    description: str
    triggers: tuple[str, ...]
    routing: Routing
    routing_inherited: bool  # True when it comes from defaults.routing
    frontmatter: Mapping[str, Any] = MappingProxyType({})

    @property
    def model(self) -> str:
        """The default model: the routing's first candidate."""
        return self.routing.candidates()[0]


class McpServer(NamedTuple):
    name: str
    kind: str  # "local" | "remote"
    enabled: bool
    description: str = ""
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = MappingProxyType({})
    url: str | None = None
    headers: Mapping[str, str] = MappingProxyType({})
    timeout: int | None = None


class Command(NamedTuple):
    name: str
    description: str
    action: str | None  # a built-in action, else a prompt template:
    template: str | None = None  # inline, or the body of the `path` file
    agent: str | None = None
    model: str | None = None
    subtask: bool | None = None
    variant: str | None = None
    timeout: float | None = None


class Hook(NamedTuple):
    event: str
    action: str
    when: str = "always"
    notify: bool = False
    message: str | None = None
    channel: str | None = None
    webhook_env: str | None = None  # notify.slack: the variable holding the webhook URL
    timeout: float | None = None  # seconds the action may take (hooks/run.py DEFAULT_TIMEOUT)


class Workflow(NamedTuple):
    name: str
    description: str
    version: str
    author: str
    vcs_preset: str
    vcs_config: Mapping[str, Any]
    plugins: tuple[PluginSpec, ...]
    providers: Mapping[str, Provider]
    agents_dir: Path
    project_instructions: bool  # the repository's AGENTS.md reaches the agents (store environments)
    default_routing: Routing | None
    failover: Failover  # defaults.first_byte_timeout, failure_cooldown, failover_on_client_error
    agents: Mapping[str, Agent]
    plugin_config: Mapping[str, Any]
    mcp: Mapping[str, McpServer]
    commands: Mapping[str, Command]
    hooks: Mapping[str, tuple[Hook, ...]]
    passthrough: Mapping[str, Any]  # the `opencode:` section, merged into opencode.json as it is
    root: Path  # the project directory
    project_file: Path
    files: tuple[Path, ...]  # configuration sources read, lowest first
    skill_dirs: tuple[str, ...] = ()  # `skills:` as written, relative to root
    skills: tuple[Any, ...] = ()  # config/skills.py SkillFile: every file of those directories

    def trigger_map(self) -> dict[str, str]:
        """`/architect` → `architect`, for every trigger of every agent."""
        return {t: a.name for a in self.agents.values() for t in a.triggers}
