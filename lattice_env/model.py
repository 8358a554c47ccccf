"""The typed, immutable Workflow that everything after validation works from."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .plugins import PluginSpec


def split_model(ref: str) -> tuple[str, str]:
    """`ollama/llama3.1:70b` → (`ollama`, `llama3.1:70b`); the model part may itself contain '/'."""
    provider, _, model = ref.partition("/")
    return provider, model


def frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Routing:
    strategy: str
    models: tuple[str, ...] = ()  # fallback, round_robin
    pattern: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    track: bool = False
    iterate: str | None = None
    final: str | None = None
    burst_size: int | None = None
    final_trigger: str | None = None
    on_unavailable: str = "next"
    fallback_models: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: Any) -> Routing:
        if isinstance(data, list):
            return cls(strategy="fallback", models=tuple(data))
        return cls(
            strategy=data["strategy"],
            models=tuple(data.get("models") or ()),
            pattern=tuple(data.get("pattern") or ()),
            weights=tuple((k, float(v)) for k, v in (data.get("weights") or {}).items()),
            track=bool(data.get("track", False)),
            iterate=data.get("iterate"),
            final=data.get("final"),
            burst_size=data.get("burst_size"),
            final_trigger=data.get("final_trigger"),
            on_unavailable=data.get("on_unavailable", "next"),
            fallback_models=tuple(data.get("fallback_models") or ()),
        )

    def scheduled(self) -> tuple[str, ...]:
        """Models the strategy itself can pick, in declaration order (duplicates removed)."""
        if self.strategy == "pattern":
            seq: tuple[str, ...] = self.pattern
        elif self.strategy == "weighted":
            seq = tuple(m for m, _ in self.weights)
        elif self.strategy == "burst":
            seq = tuple(m for m in (self.iterate, self.final) if m)
        else:
            seq = self.models
        return tuple(dict.fromkeys(seq))

    def candidates(self) -> tuple[str, ...]:
        """Every model this routing may ever send to; the first is the agent's default model."""
        return tuple(dict.fromkeys(self.scheduled() + self.fallback_models))

    def summary(self) -> str:
        """One line for listings: `pattern 3:1`, `weighted 75:25`, `fallback (3 models)`."""
        if self.strategy == "pattern":
            counts: dict[str, int] = {}
            for m in self.pattern:
                counts[m] = counts.get(m, 0) + 1
            return "pattern " + ":".join(str(c) for c in counts.values())
        if self.strategy == "weighted":
            return "weighted " + ":".join(f"{w:g}" for _, w in self.weights)
        if self.strategy == "burst":
            return f"burst {self.burst_size}+1"
        return f"{self.strategy} ({len(self.models)} models)"

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"strategy": self.strategy}
        for key in ("models", "pattern", "fallback_models"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        if self.weights:
            data["weights"] = dict(self.weights)
        for key in ("iterate", "final", "burst_size", "final_trigger"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.track:
            data["track"] = True
        data["on_unavailable"] = self.on_unavailable
        return data


@dataclass(frozen=True)
class Provider:
    name: str
    env: str | None = None
    auth: str | None = None
    tier: str | None = None
    local_budget: float | None = None  # None: unlimited
    budget_period: str = "month"  # what local_budget caps: the local calendar "month" or "day"
    models: tuple[str, ...] = ()
    base_url: str | None = None


@dataclass(frozen=True)
class Agent:
    name: str
    path: str  # as written, relative to agents_dir
    prompt_file: Path
    prompt: str  # the system prompt: the file without its frontmatter
    description: str
    triggers: tuple[str, ...]
    routing: Routing
    routing_inherited: bool  # True when it comes from defaults.routing
    frontmatter: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The default model: the routing's first candidate."""
        return self.routing.candidates()[0]


@dataclass(frozen=True)
class McpServer:
    name: str
    kind: str  # "local" | "remote"
    enabled: bool
    description: str = ""
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: int | None = None


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    action: str


@dataclass(frozen=True)
class Hook:
    event: str
    action: str
    when: str = "always"
    notify: bool = False
    message: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Workflow:
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
    agents: Mapping[str, Agent]
    plugin_config: Mapping[str, Any]
    mcp: Mapping[str, McpServer]
    commands: Mapping[str, Command]
    hooks: Mapping[str, tuple[Hook, ...]]
    root: Path  # the project directory
    project_file: Path
    files: tuple[Path, ...]  # configuration sources read, lowest first

    def trigger_map(self) -> dict[str, str]:
        """`/architect` → `architect`, for every trigger of every agent."""
        return {t: a.name for a in self.agents.values() for t in a.triggers}
