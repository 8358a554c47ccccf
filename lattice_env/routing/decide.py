"""`route()`: the one routing decision every caller asks for — `lattice route`, `lattice run` and the
bridge inside opencode — so a pattern advances the same way whoever asks.

A dry run (`commit=False`) reads state.json without the lock and changes nothing: it shows what the
next committed call would get (for `weighted` too, since draws are derived from a seed and the call
count). A commit does the read, the decision and the write under one lock, so concurrent callers each
get their own slot and no call is counted twice or lost."""
from __future__ import annotations

import os
import time
from collections import namedtuple

from ..errors import LatticeError
from .availability import Availability, skip_over_budget
from .state import local_day, read_state, transaction
from .strategies import Choice, choose
from .table import RouteTable, routing_hash, table_for
from .types import Routing, split_model

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Mapping


class Decision(namedtuple("Decision", ("agent", "strategy", "position", "length", "next_position", "model", "provider", "skipped",
                                       "scheduled", "via", "committed", "warnings", "over_budget"),
                         defaults=((),))):
    """One routing decision: `agent`, `strategy`; `position`, the slot the strategy scheduled (0-based);
    `length`, slots in the agent's sequence (1 for weighted); `next_position`, where the agent's next
    call starts (as committed; `retry` keeps `position`); `model`, the provider/model to send this
    call to, and its `provider`; `skipped`, (model, why) for each unavailable candidate met;
    `scheduled`, what the strategy wanted before availability; `via`: scheduled | next | retry |
    fallback | final_trigger; `committed`; `warnings` (e.g. a corrupt state.json moved aside);
    `over_budget`, (provider, model met, spend) for each provider a committed decision found over its
    local_budget (the hooks' on_budget_exceeded).
    A named tuple (routing/types.py says why)."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        data = self._asdict()
        del data["over_budget"]
        data["skipped"] = [{"model": m, "reason": r} for m, r in self.skipped]
        data["model_name"] = split_model(self.model)[1]
        return data


def seed_for(entry: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """LATTICE_SEED when set (reproducible runs and tests), else the agent's own stored seed."""
    return environ.get("LATTICE_SEED") or str(entry.get("seed", ""))


def draw(seed: str, agent: str, call_count: int) -> float:
    """The uniform draw for an agent's `call_count`-th call: a pure function of seed and count, so a
    seeded run repeats exactly, and a dry run predicts the next commit."""
    import random

    return random.Random(f"{seed}/{agent}/{call_count}").random()


def agent_entry(state: dict[str, Any], agent: str, routing: Routing, digest: str,
                now: float) -> dict[str, Any]:
    """The agent's routing_state, started afresh when its routing changed (position, count, tracked
    distribution); today's call counter survives the change."""
    entry = state["routing_state"].get(agent)
    if entry is not None and entry.get("routing_hash") == digest:
        return entry
    old = entry or {}
    fresh: dict[str, Any] = {"strategy": routing.strategy, "routing_hash": digest, "pattern_index": 0,
                             "call_count": 0, "calls_today": old.get("calls_today", 0),
                             "day": old.get("day", local_day(now))}
    if routing.strategy == "weighted":
        fresh["seed"] = os.urandom(8).hex()
    return fresh


def next_choice(table: RouteTable, agent: str, routing: Routing, entry: Mapping[str, Any],
                state: Mapping[str, Any], prompt: str, session: str | None, environ: Mapping[str, str],
                now: float, available: Availability | None = None) -> Choice:
    """What the agent's next call gets, from its state entry (`agent_entry`) and the whole state: the
    strategy's choice at the entry's position (a weighted agent's draw for its next call), with the
    unavailable candidates skipped. Reads only; `route` commits it, reports show it."""
    u = draw(seed_for(entry, environ), agent, int(entry.get("call_count", 0))) \
        if routing.strategy == "weighted" else 0.0
    if available is None:
        available = Availability(table, state, environ, now, session)
    return choose(agent, routing, int(entry.get("pattern_index", 0)), prompt, u, available)


def _decision(agent: str, routing: Routing, choice: Choice, committed: bool,
              warnings: list[str]) -> Decision:
    return Decision(agent=agent, strategy=routing.strategy, position=choice.position, length=choice.length,
                    next_position=choice.next_position, model=choice.model, provider=split_model(choice.model)[0], skipped=list(choice.skipped),
                    scheduled=choice.scheduled, via=choice.via, committed=committed, warnings=warnings)


def reroute(source: Any, agent: str, prompt: str, position: int, session: str | None = None, *,
            environ: Mapping[str, str] | None = None, now: float | None = None,
            path: Path | None = None) -> Decision:
    """The same call decided again after its model answered 429 (record the cool-down first): the call
    already took slot `position` and its place in the count, so nothing advances and nothing is written;
    a weighted agent redraws that call's own number."""
    table = table_for(source)
    routing = table.routing(agent)
    environ = os.environ if environ is None else environ
    now = time.time() if now is None else now
    warnings: list[str] = []
    state = read_state(path, now, warnings)
    entry = state["routing_state"].get(agent, {})
    u = draw(seed_for(entry, environ), agent, max(0, int(entry.get("call_count", 1)) - 1)) \
        if routing.strategy == "weighted" else 0.0
    choice = choose(agent, routing, position, prompt, u, Availability(table, state, environ, now, session))
    return _decision(agent, routing, choice, False, warnings)


def route(source: Any, agent: str, prompt: str = "", commit: bool = False, session: str | None = None, *,
          environ: Mapping[str, str] | None = None, now: float | None = None,
          path: Path | None = None) -> Decision:
    """The model for `agent`'s next prompt. `source` is the resolved config dict (as in an
    environment's manifest), a Workflow, or a RouteTable. With `commit`, the agent's position, counts
    and (with `track`) distribution are updated; otherwise state.json is left as it is. A committed
    decision for a `session` that meets a provider over its local_budget also applies the workflow's
    `hooks.on_budget_exceeded: route.skip_provider` (a notify: true notice joins the warnings).
    Raises NoModelAvailable (a LatticeError) naming every candidate and why."""
    table = table_for(source)
    routing = table.routing(agent)
    digest = routing_hash(routing)
    environ = os.environ if environ is None else environ
    now = time.time() if now is None else now
    warnings: list[str] = []
    if not commit:
        state = read_state(path, now, warnings)
        entry = agent_entry(state, agent, routing, digest, now)
        choice = next_choice(table, agent, routing, entry, state, prompt, session, environ, now)
        return _decision(agent, routing, choice, False, warnings)
    with transaction(path, now, warnings) as state:
        entry = agent_entry(state, agent, routing, digest, now)
        available = Availability(table, state, environ, now, session)
        choice = next_choice(table, agent, routing, entry, state, prompt, session, environ, now, available)
        if session and available.over_budget:
            warnings += skip_over_budget(table, agent, available.over_budget, state, session, now)
        entry["strategy"] = routing.strategy
        entry["pattern_index"] = choice.next_position
        entry["call_count"] = int(entry.get("call_count", 0)) + 1
        entry["calls_today"] = int(entry.get("calls_today", 0)) + 1  # `day` is today: roll_over saw to it
        entry["last_model"] = choice.model
        if routing.strategy == "weighted" and routing.track:
            dist = entry.setdefault("distribution", {})
            dist[choice.model] = dist.get(choice.model, 0) + 1
        state["routing_state"][agent] = entry
    over = tuple((p, ref, spent) for p, (ref, spent) in available.over_budget.items())
    return _decision(agent, routing, choice, True, warnings)._replace(over_budget=over)


def route_text(source: Any, text: str, commit: bool = False, session: str | None = None,
               **kwargs: Any) -> Decision:
    """`/architect design X`: route for the trigger's agent, with the rest as the prompt."""
    table = table_for(source)
    agent, message = table.agent_for(text)
    return route(table, agent, message, commit, session, **kwargs)


def reset(agent: str | None = None, known: list[str] | None = None, *, path: Path | None = None,
          now: float | None = None) -> list[str]:
    """Put `agent` (default: every agent) back at position 0 with its call count and tracked
    distribution cleared; today's call counters and provider usage stay. Returns the agents reset.
    `known`, when given, are the configured agents (one without state yet is no error)."""
    with transaction(path, now) as state:
        entries = state["routing_state"]
        if agent is None:
            names = list(entries)
        elif agent in entries:
            names = [agent]
        elif known is not None and agent in known:
            names = []
        else:
            listed = ", ".join(sorted(set(entries) | set(known or ()))) or "none"
            raise LatticeError(f"unknown agent {agent} (known: {listed})")
        for name in names:
            entries[name].update(pattern_index=0, call_count=0)
            entries[name].pop("distribution", None)
    return names
