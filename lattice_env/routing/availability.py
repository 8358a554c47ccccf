"""Why a model cannot be used right now — and the events that make it so for a while: a failure of the
model or its provider (a cool-down: a 429, a refused or reset connection, a 5xx, a 408, no first byte in
time) and a provider skipped for a session (`skip_provider`, or the workflow's
`hooks.on_budget_exceeded: route.skip_provider` once a session meets it over its local_budget).

A model `provider/name` is unavailable when, checked in this order:
  - its provider was skipped for this session (`skip_provider`, `skip_over_budget`);
  - its provider has a key variable (`env:`) that is unset or empty in the caller's environment;
  - its provider's estimated spend this `budget_period` (month, or day) has reached `local_budget`;
  - it, or its whole provider, is cooling down after a failure (`record_failure`);
  - its provider's non-empty `models:` list does not name it (an ollama-style server's pulled models,
    or what lattice.local.yaml says this machine has: config/checks.py warns of such routes).
An undeclared provider is not checked for keys or budget (validation rejects it in lattice.yaml).

A 429 cools the model down for its Retry-After, else `LATTICE_COOLDOWN` seconds (default 60). Any other
failure cools down for its Retry-After when it has one, else `defaults.failure_cooldown` (default 20 s:
shorter, since nothing asked us to wait) — the whole provider when its endpoint could not be reached, the
model otherwise. Cool-downs live in state.json, with the reason, so every process — each `lattice run`,
each opencode's routing process — honours them and `lattice status providers` shows why."""
from __future__ import annotations

import os
import time

from ..errors import LatticeError
from .state import transaction, usage_entry
from .table import RouteTable
from .types import Failover, split_model

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
            entry = self.cooldowns.get(key, {})
            until = entry.get("until", 0)
            if until > self.now:
                what = "" if key == ref else f"provider {provider_name} "
                return f"{what}cooling down after {cause(entry)} ({until - self.now:.0f}s left)"
        if provider is not None and not provider.offers(model):
            return f"{provider_name} does not list {model} in its models"
        return None


def retry_after_seconds(retry_after: float | str | None, now: float | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from `now`; None when absent or unreadable."""
    if retry_after is None or retry_after == "":
        return None
    try:
        return max(0.0, float(retry_after))
    except (TypeError, ValueError):
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(str(retry_after)).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when - (time.time() if now is None else now))


def cooldown_seconds(retry_after: float | str | None, environ: Mapping[str, str] | None = None,
                     now: float | None = None) -> float:
    """A 429's cool-down: Retry-After when given, else LATTICE_COOLDOWN, else 60 s."""
    given = retry_after_seconds(retry_after, now)
    if given is not None:
        return given
    env = os.environ if environ is None else environ
    value = env.get("LATTICE_COOLDOWN")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            raise LatticeError(f"LATTICE_COOLDOWN must be a number of seconds, not {value!r}") from None
    return DEFAULT_COOLDOWN


# What record_failure is told, by kind: whether the whole provider cools down (its endpoint could not be
# reached: every model behind it is as unreachable), and the usage counter it adds to.
FAILURE_KINDS = {
    "rate_limit": (False, "rate_limited_today"),  # a 429
    "server": (False, "failed_today"),  # a 5xx, or a 408
    "timeout": (False, "failed_today"),  # no first byte within first_byte_timeout
    "connection": (True, "failed_today"),  # refused, reset, DNS failure: nothing answered
    "client": (False, "failed_today"),  # 400/401/404…, failed over only when the user opted in
}
DEFAULT_FAILURE_COOLDOWN = Failover().failure_cooldown


def cause(entry: Mapping[str, Any]) -> str:
    """A cool-down's reason as the end of "cooling down after …" (entries before reasons were words
    said only "429")."""
    reason = str(entry.get("reason") or "429")
    return "a 429" if reason == "429" else reason


def record_failure(ref: str, kind: str, reason: str = "", retry_after: float | str | None = None, *,
                   cooldown: float | None = None, now: float | None = None,
                   environ: Mapping[str, str] | None = None, path: Path | None = None) -> dict[str, Any]:
    """`provider/model` failed a call (`kind`: a key of FAILURE_KINDS; `reason`: what happened, worded to
    follow "cooling down after", e.g. "an HTTP 503"): cool it, or its whole provider, down — for
    Retry-After when given, else a 429's LATTICE_COOLDOWN, else `cooldown` (defaults.failure_cooldown)
    — and count it in the provider's usage. A longer cool-down already in place is kept. Returns the event
    (what was cooled, why, until when): the one record of a failover, for the bridge log and the hooks."""
    whole_provider, counter = FAILURE_KINDS[kind]
    now = time.time() if now is None else now
    if kind == "rate_limit":
        seconds = cooldown_seconds(retry_after, environ, now)
    else:
        given = retry_after_seconds(retry_after, now)
        seconds = given if given is not None else \
            DEFAULT_FAILURE_COOLDOWN if cooldown is None else max(0.0, float(cooldown))
    provider = split_model(ref)[0]
    key = provider if whole_provider else ref
    reason = reason or ("a 429" if kind == "rate_limit" else f"a failure ({kind})")
    with transaction(path, now) as state:
        entry = state["cooldowns"].get(key, {})
        if entry.get("until", 0) < now + seconds:
            entry = state["cooldowns"][key] = {"until": now + seconds, "since": now, "kind": kind,
                                               "reason": reason, "model": ref}
        usage = usage_entry(state, provider, now)
        usage[counter] = usage.get(counter, 0) + 1
    return {"model": ref, "cooled": key, "kind": kind, "reason": reason, "until": float(entry["until"]),
            "seconds": round(float(entry["until"]) - now, 1)}


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
