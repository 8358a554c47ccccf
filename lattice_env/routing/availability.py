"""Why a model cannot be used right now — and the two events that make it so for a while: a 429 from
the provider (a cool-down) and a provider skipped for a session (`skip_provider`, or the workflow's
`hooks.on_budget_exceeded: route.skip_provider` once a session meets it over its local_budget).

A model `provider/name` is unavailable when, checked in this order:
  - its provider was skipped for this session (`skip_provider`, `skip_over_budget`);
  - its provider has a key variable (`env:`) that is unset or empty in the caller's environment;
  - its provider's estimated spend this `budget_period` (month, or day) has reached `local_budget`;
  - it, or its whole provider, is cooling down after a 429 (`record_rate_limit`);
  - its provider is an ollama-style local server whose non-empty `models:` list does not name it.
An undeclared provider is not checked for keys or budget (validation rejects it in lattice.yaml).

Cool-downs last `LATTICE_COOLDOWN` seconds (default 60) unless the 429 carried a Retry-After, which
wins. They live in state.json, so every process — each `lattice run`, the bridge — honours them."""
from __future__ import annotations

import os
import time

from ..errors import LatticeError
from ..providers.kinds import is_local
from .state import transaction, usage_entry
from .table import RouteTable
from .types import split_model

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Mapping

DEFAULT_COOLDOWN = 60.0
PERIOD_WORDS = {"day": "today", "month": "this month"}


def period_spend(usage: Mapping[str, Any], period: str) -> float:
    """A provider's estimated spend in its budget period, from its provider_usage entry."""
    return float(usage.get("estimated_spend_month" if period == "month" else "estimated_spend", 0))


class Availability:
    """A `reason(model)` predicate over one snapshot of configuration, state, environment and clock."""

    def __init__(self, table: RouteTable, state: Mapping[str, Any], environ: Mapping[str, str],
                 now: float, session: str | None = None) -> None:
        self.table = table
        self.usage = state.get("provider_usage", {})
        self.cooldowns = state.get("cooldowns", {})
        self.skipped = state.get("skipped", {}).get(session, {}) if session else {}
        self.environ = environ
        self.now = now
        self.over_budget: dict[str, tuple[str, float]] = {}  # provider → (model met, spend)

    def __call__(self, ref: str) -> str | None:
        return self.reason(ref)

    def reason(self, ref: str) -> str | None:
        provider_name, model = split_model(ref)
        if provider_name in self.skipped:
            return f"provider {provider_name} is skipped for this session"
        provider = self.table.providers.get(provider_name)
        if provider is not None:
            if provider.env and not self.environ.get(provider.env):
                return f"{provider.env} is not set"
            budget = provider.local_budget
            if budget is not None:
                spent = period_spend(self.usage.get(provider_name, {}), provider.budget_period)
                if spent >= budget:
                    self.over_budget[provider_name] = (ref, spent)
                    return (f"{provider_name} is over its local_budget (${spent:.2f} of ${budget:g} "
                            f"{PERIOD_WORDS[provider.budget_period]})")
        for key in (ref, provider_name):
            until = self.cooldowns.get(key, {}).get("until", 0)
            if until > self.now:
                what = "" if key == ref else f"provider {provider_name} "
                return f"{what}cooling down after a 429 ({until - self.now:.0f}s left)"
        if provider is not None and is_local(provider) and provider.models and model not in provider.models:
            return f"{provider_name} does not list {model} in its models"
        return None


def cooldown_seconds(retry_after: float | str | None, environ: Mapping[str, str] | None = None,
                     now: float | None = None) -> float:
    """Retry-After (seconds or an HTTP date) when given, else LATTICE_COOLDOWN, else 60 s."""
    if retry_after is not None and retry_after != "":
        try:
            return max(0.0, float(retry_after))
        except (TypeError, ValueError):
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(str(retry_after)).timestamp()
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                return max(0.0, when - (time.time() if now is None else now))
    env = os.environ if environ is None else environ
    value = env.get("LATTICE_COOLDOWN")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            raise LatticeError(f"LATTICE_COOLDOWN must be a number of seconds, not {value!r}") from None
    return DEFAULT_COOLDOWN


def record_rate_limit(ref: str, retry_after: float | str | None = None, *, now: float | None = None,
                      environ: Mapping[str, str] | None = None, path: Path | None = None) -> float:
    """A 429 for `provider/model` (or a bare `provider`: all its models): cool it down. Returns the
    time it is unavailable until. A longer cool-down already in place is kept."""
    now = time.time() if now is None else now
    until = now + cooldown_seconds(retry_after, environ, now)
    provider = split_model(ref)[0]
    with transaction(path, now) as state:
        entry = state["cooldowns"].get(ref, {})
        if entry.get("until", 0) < until:
            state["cooldowns"][ref] = {"until": until, "since": now, "reason": "429"}
        usage = usage_entry(state, provider, now)
        usage["rate_limited_today"] = usage.get("rate_limited_today", 0) + 1
        return float(state["cooldowns"][ref]["until"])


def skip_over_budget(table: RouteTable, agent: str, over_budget: Mapping[str, tuple[str, float]],
                     state: dict[str, Any], session: str, now: float) -> list[str]:
    """The design's `hooks.on_budget_exceeded: [{action: route.skip_provider}]`: leave each provider a
    decision found over its local_budget out of the rest of `session` (in `state`, inside the caller's
    transaction), when the hook's `when` holds. Returns one notice per skip whose hook has
    `notify: true`. A provider already skipped for the session is not skipped (or announced) again."""
    hooks = table.skip_on_budget
    skipped = state["skipped"].get(session, {})
    notices: list[str] = []
    for provider, (ref, spent) in over_budget.items():
        if provider in skipped:
            continue
        context = {"agent": agent, "provider": provider, "model": ref}
        fired = [notify for when, notify in hooks if _holds(when, context)]
        if not fired:
            continue
        state["skipped"].setdefault(session, {})[provider] = now
        if any(fired):
            p = table.providers[provider]
            notices.append(f"{provider} is over its local_budget (${spent:.2f} of "
                           f"${p.local_budget:g} {PERIOD_WORDS[p.budget_period]}); skipping it for "
                           f"the rest of session {session} (hooks.on_budget_exceeded)")
    return notices


def _holds(when: str, context: Mapping[str, Any]) -> bool:
    if when == "always":
        return True
    from ..hooks import conditions  # only when a hook has a condition: the parser imports re

    try:
        return conditions.evaluate(conditions.parse(when), context)
    except conditions.ConditionError:
        return False  # validation reports it; a built environment's config was valid


def skip_provider(provider: str, session: str, *, now: float | None = None, path: Path | None = None) -> None:
    """Leave `provider` out of every decision made for `session` (for 7 days at most)."""
    if not session:
        raise LatticeError("skip_provider needs a session id")
    now = time.time() if now is None else now
    with transaction(path, now) as state:
        state["skipped"].setdefault(session, {})[provider] = now
