"""The routing-relevant part of a configuration: agents' routings, triggers, providers.

`route()` is called once per prompt, by the bridge inside opencode among others, so it takes the resolved
configuration dict that a built environment stores in its manifest (already validated when it was built)
and reads only what it needs from it — no YAML, no schema. A `Workflow` (or `load_workflow`'s `Loaded`)
is accepted too, for callers that have one already."""
from __future__ import annotations

import functools
import json
import zlib
from collections import abc

from ..errors import LatticeError, UsageError
from .types import Failover, Provider, Routing

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

SKIP_PROVIDER = "route.skip_provider"
# The routing of opencode's own agents (build, plan, general, commands without an agent): the
# environment's opencode.json names `lattice/defaults` as its model, routed by defaults.routing.
# Validation keeps the name free of agents.
DEFAULTS = "defaults"


def _budget(value: Any) -> float | None:
    """`local_budget` as dollars; None (absent or `unlimited`) means no cap."""
    if value is None or value == "unlimited" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None  # validation rejects these; an unvalidated dict must not crash routing


def provider_from_data(name: str, data: Any) -> Provider:
    d = data if isinstance(data, dict) else {}
    period = d.get("budget_period")
    return Provider(name=name, env=d.get("env"), auth=d.get("auth"), tier=d.get("tier"),
                    local_budget=_budget(d.get("local_budget")),
                    budget_period=period if period in ("day", "month") else "month",
                    models=tuple(str(m) for m in d.get("models") or ()), base_url=d.get("base_url"),
                    first_byte_timeout=_seconds(d.get("first_byte_timeout")))


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


@functools.lru_cache(maxsize=256)
def routing_hash(routing: Routing) -> str:
    """Identity of an agent's routing: when lattice.yaml changes it, the agent's position starts over
    (an old pattern index means nothing in a new pattern)."""
    text = json.dumps(routing.to_data(), sort_keys=True, separators=(",", ":")).encode()
    # crc32, not sha256: it only detects an edit (no adversary), and hashlib's OpenSSL import alone
    # costs more than the rest of a decision
    return f"{zlib.crc32(text):08x}{len(text):x}"


class _LazyProviders(abc.Mapping):  # type: ignore[type-arg]
    """`providers:` of a config dict, each turned into a Provider on first use: a decision looks at
    the one or two providers it meets, not at all of them."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self._built: dict[str, Provider] = {}

    def __getitem__(self, name: str) -> Provider:
        built = self._built.get(name)
        if built is None:
            built = self._built[name] = provider_from_data(name, self._data[name])
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class RouteTable:
    """Agents, triggers and providers, read lazily from a config dict or a Workflow."""

    def __init__(self, agents: Mapping[str, Any], default_routing: Any,
                 providers: Mapping[str, Provider], triggers: Mapping[str, str] | None = None,
                 agents_data: Mapping[str, Any] | None = None, budget_hooks: Any = (),
                 failover: Failover | None = None) -> None:
        self._agents = agents  # name → Routing, or raw routing data (list/dict/None)
        self._default = default_routing
        self.providers = providers
        self.failover = failover or Failover()
        self._triggers = triggers
        self._agents_data = agents_data or {}
        self._cache: dict[str, Routing] = {}
        self._budget_hooks = budget_hooks  # hooks.on_budget_exceeded: dicts or Hook objects

    @property
    def skip_on_budget(self) -> list[tuple[str, bool]]:
        """(`when`, `notify`) of each `hooks.on_budget_exceeded` entry whose action is
        `route.skip_provider`: what to do when a decision meets a provider over its local_budget."""
        out = []
        for hook in self._budget_hooks if isinstance(self._budget_hooks, (list, tuple)) else ():
            get = hook.get if isinstance(hook, dict) else lambda key, default=None, hook=hook: getattr(hook, key, default)
            if get("action") == SKIP_PROVIDER:
                out.append((str(get("when") or "always"), bool(get("notify", False))))
        return out

    @property
    def triggers(self) -> Mapping[str, str]:
        """`/trigger` → agent (computed on first use: route() by agent name never needs it)."""
        if self._triggers is None:
            self._triggers = {t: name for name, spec in self._agents_data.items() if isinstance(spec, dict)
                              for t in spec.get("triggers") or ()}
        return self._triggers

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> RouteTable:
        agents_data = data.get("agents") or {}
        agents = {name: (spec.get("routing") if isinstance(spec, dict) else None)
                  for name, spec in agents_data.items()}
        defaults = data.get("defaults")
        default = defaults.get("routing") if isinstance(defaults, dict) else None
        hooks = data.get("hooks")
        budget_hooks = (hooks.get("on_budget_exceeded") or ()) if isinstance(hooks, dict) else ()
        return cls(agents, default, _LazyProviders(data.get("providers") or {}), None, agents_data,
                   budget_hooks, Failover.from_data(defaults))

    @classmethod
    def from_workflow(cls, workflow: Any) -> RouteTable:
        agents = {name: a.routing for name, a in workflow.agents.items()}
        return cls(agents, workflow.default_routing, dict(workflow.providers), workflow.trigger_map(),
                   None, tuple(workflow.hooks.get("on_budget_exceeded", ())), workflow.failover)

    def agent_names(self) -> list[str]:
        """The agents, then `defaults` (opencode's own agents) when there is a defaults.routing."""
        names = list(self._agents)
        if self._default and DEFAULTS not in self._agents:
            names.append(DEFAULTS)
        return names

    def routing(self, agent: str) -> Routing:
        """The agent's routing (its own, else defaults.routing); `defaults` is defaults.routing itself."""
        cached = self._cache.get(agent)
        if cached is not None:
            return cached
        if agent not in self._agents and not (agent == DEFAULTS and self._default):
            known = ", ".join(sorted(self.agent_names())) or "none"
            raise UsageError(f"unknown agent {agent} (known: {known})")
        data = self._agents.get(agent) or self._default
        if not data:
            raise LatticeError(f"agent {agent} has no routing and there is no defaults.routing")
        try:
            routing = data if isinstance(data, Routing) else Routing.from_data(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise LatticeError(f"agent {agent}: routing is not valid; run `lattice validate`") from None
        self._cache[agent] = routing
        return routing

    def agent_for(self, text: str) -> tuple[str, str]:
        """`/architect design X` → (`architect`, `design X`): the trigger's agent and the message."""
        trigger, _, message = text.strip().partition(" ")
        if not trigger.startswith("/"):
            raise UsageError(f"expected a trigger such as /architect first, not {trigger!r}")
        return self.trigger_agent(trigger), message.strip()

    def trigger_agent(self, trigger: str) -> str:
        """The agent `/trigger` starts; an unknown trigger is a usage error listing the known ones."""
        if trigger not in self.triggers:
            from ..config.diagnostics import did_you_mean

            known = ", ".join(sorted(self.triggers)) or "none"
            raise UsageError(f"unknown trigger {trigger} (known: {known})"
                             f"{did_you_mean(trigger, list(self.triggers))}")
        return self.triggers[trigger]


def table_for(source: Any) -> RouteTable:
    """A RouteTable from a config dict, a Workflow, a `Loaded`, or a RouteTable."""
    if isinstance(source, RouteTable):
        return source
    if isinstance(source, abc.Mapping):
        return RouteTable.from_config(source)
    workflow = getattr(source, "workflow", source)
    if hasattr(workflow, "agents") and hasattr(workflow, "providers"):
        return RouteTable.from_workflow(workflow)
    raise TypeError(f"cannot route from {type(source).__name__}")
