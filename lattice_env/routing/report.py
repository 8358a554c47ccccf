"""What `lattice routing` and `lattice status providers` show, as plain rows (the CLI prints or dumps
them as JSON). One read of state.json for the whole report; nothing is written."""
from __future__ import annotations

import os
import time

from ..errors import LatticeError
from ..providers.kinds import is_local
from .availability import cause, period_spend
from .decide import agent_entry, next_choice
from .state import read_state
from .table import routing_hash, table_for

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Mapping


def routing_rows(source: Any, *, environ: Mapping[str, str] | None = None, now: float | None = None,
                 path: Path | None = None, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """Per agent: strategy summary, position i/n, the model its next call would get, calls today."""
    table = table_for(source)
    environ = os.environ if environ is None else environ
    now = time.time() if now is None else now
    state = read_state(path, now, warnings)
    rows = []
    for agent in table.agent_names():
        try:
            routing = table.routing(agent)
        except LatticeError as exc:
            rows.append({"agent": agent, "error": str(exc)})
            continue
        entry = agent_entry(state, agent, routing, routing_hash(routing), now)
        row: dict[str, Any] = {
            "agent": agent, "strategy": routing.strategy, "summary": routing.summary(),
            "calls_today": int(entry.get("calls_today", 0)), "call_count": int(entry.get("call_count", 0)),
            "last_model": entry.get("last_model"), "next_model": None, "unavailable": None}
        try:
            choice = next_choice(table, agent, routing, entry, state, "", None, environ, now)
            row["next_model"] = choice.model
            length = choice.length
        except LatticeError as exc:
            row["unavailable"] = str(exc)
            length = None
        if routing.strategy in ("pattern", "round_robin", "burst") and length:
            row["position"] = int(entry.get("pattern_index", 0)) % length
            row["length"] = length
        if routing.strategy == "weighted":
            row["track"] = routing.track
            row["distribution"] = dict(entry.get("distribution", {})) if routing.track else None
        rows.append(row)
    return rows


def provider_rows(source: Any, *, environ: Mapping[str, str] | None = None, now: float | None = None,
                  path: Path | None = None, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """Per provider: key variable (its name and whether it is set — never its value), today's and this
    month's calls, tokens and estimated spend, local_budget and the period it caps (`budget_period`,
    `period_spend`), failures today, and active cool-downs with their reason (`model` is what cools down:
    a model, or a whole provider whose endpoint could not be reached; `failed_model` the call's model)."""
    table = table_for(source)
    environ = os.environ if environ is None else environ
    now = time.time() if now is None else now
    state = read_state(path, now, warnings)
    usage = state["provider_usage"]
    names = list(table.providers) + sorted(set(usage) - set(table.providers))
    rows = []
    for name in names:
        provider = table.providers.get(name)
        u = usage.get(name, {})
        spend = float(u.get("estimated_spend", 0.0))
        budget = provider.local_budget if provider else None
        period = provider.budget_period if provider else "month"
        in_period = period_spend(u, period)
        cooldowns = [{"model": ref, "seconds_left": round(c["until"] - now, 1), "reason": cause(c),
                      "kind": c.get("kind", "rate_limit"), "failed_model": c.get("model", ref)}
                     for ref, c in sorted(state["cooldowns"].items())
                     if (ref == name or ref.startswith(name + "/")) and c.get("until", 0) > now]
        rows.append({
            "provider": name, "declared": provider is not None,
            "env": provider.env if provider else None,
            "env_set": bool(environ.get(provider.env)) if provider and provider.env else None,
            "auth": provider.auth if provider else None,
            "local": is_local(provider) if provider else False,
            "calls_today": int(u.get("calls_today", 0)),
            "input_tokens": int(u.get("input_tokens", 0)), "output_tokens": int(u.get("output_tokens", 0)),
            "estimated_tokens": int(u.get("estimated_tokens", 0)), "estimated_spend": round(spend, 4),
            "calls_month": int(u.get("calls_month", 0)),
            "input_tokens_month": int(u.get("input_tokens_month", 0)),
            "output_tokens_month": int(u.get("output_tokens_month", 0)),
            "estimated_tokens_month": int(u.get("estimated_tokens_month", 0)),
            "estimated_spend_month": round(float(u.get("estimated_spend_month", 0.0)), 4),
            "local_budget": budget, "budget_period": period, "period_spend": round(in_period, 4),
            "over_budget": budget is not None and in_period >= budget,
            "rate_limited_today": int(u.get("rate_limited_today", 0)),
            "failed_today": int(u.get("failed_today", 0)),
            "unpriced_models": list(u.get("unpriced_models", [])),
            "cooldowns": cooldowns})
    return rows
