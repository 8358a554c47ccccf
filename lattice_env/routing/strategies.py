"""The design's five strategies and three `on_unavailable` modes, as pure functions.

Everything a choice depends on comes in as arguments — the routing, the agent's position, the prompt,
a uniform draw in [0, 1) and a `reason(model)` function (None when the model can be used) — so each
rule is testable without files, clocks or environment variables.

Every strategy is read as a *sequence* with a position:

    pattern      the pattern as written; position = pattern_index
    round_robin  the models once each; position advances by one per call, which is the design's
                 `call_count % len` whenever every model is available, and lets `retry` hold a slot
    burst        `iterate` × burst_size then `final`; a prompt containing `final_trigger` jumps to the
                 final slot, and the slot after final is 0 again: a new burst
    fallback     the models; always from slot 0 (first available)
    weighted     the weighted models, one drawn per call (no position)

When the scheduled model is unavailable:

    next      use the first available model after the slot (wrapping); the position moves past it
    retry     serve this call the same way, but keep the position: the next call tries the slot again
    fallback  use the first available of `fallback_models`; the slot counts as served

For `weighted`, `next` and `retry` draw again among the available models (from the same draw, rescaled),
so the remaining weights keep their ratio.
"""
from __future__ import annotations

from collections import namedtuple

from ..errors import LatticeError
from .types import Routing

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Callable

    Reason = Callable[[str], "str | None"]


class NoModelAvailable(LatticeError):
    """Every candidate of an agent is unavailable; the message names each one and why, and `skipped`
    holds them as (model, why) for reports."""

    def __init__(self, agent: str, skipped: tuple[tuple[str, str], ...]) -> None:
        listed = "; ".join(f"{m} ({r})" for m, r in skipped)
        super().__init__(f"no model is available for agent {agent}: {listed}")
        self.agent, self.skipped = agent, skipped


class Choice(namedtuple("Choice", ("model", "scheduled", "position", "length", "next_position", "via",
                                   "skipped"))):
    """What a strategy chose: `model`; `scheduled`, what it wanted before availability was considered;
    `position`, the slot it scheduled (0-based; 0 for weighted); `length`, slots in the sequence (1 for
    weighted); `next_position`; `via`: scheduled | next | retry | fallback | final_trigger; `skipped`,
    (model, why) pairs. A named tuple (routing/types.py says why)."""

    __slots__ = ()


def sequence(routing: Routing) -> tuple[str, ...]:
    """The slots of the routing's sequence (see the module docstring)."""
    if routing.strategy == "pattern":
        return routing.pattern
    if routing.strategy == "burst":
        size = routing.burst_size if routing.burst_size and routing.burst_size > 0 else 1
        return (routing.iterate or "",) * size + (routing.final or "",)
    if routing.strategy == "weighted":
        return tuple(m for m, _ in routing.weights)
    return routing.models


def final_requested(routing: Routing, prompt: str) -> bool:
    """A burst prompt that asks for the final model at once (case-insensitive substring)."""
    trigger = routing.final_trigger
    return bool(trigger) and trigger.casefold() in (prompt or "").casefold()  # type: ignore[union-attr]


def weighted_pick(weights: tuple[tuple[str, float], ...], u: float) -> str:
    """The model whose cumulative-weight interval holds `u` × total."""
    total = sum(w for _, w in weights)
    target = u * total
    acc = 0.0
    for model, weight in weights:
        acc += weight
        if target < acc:
            return model
    return weights[-1][0]


class _Skips:
    """Unavailable models seen while choosing, each once, in the order met."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        self.seen: dict[str, str | None] = {}

    def ok(self, model: str) -> bool:
        if model not in self.seen:
            self.seen[model] = self.reason(model)
        return self.seen[model] is None

    def skipped(self) -> tuple[tuple[str, str], ...]:
        return tuple((m, r) for m, r in self.seen.items() if r is not None)


def _none_left(agent: str, skips: _Skips) -> NoModelAvailable:
    return NoModelAvailable(agent, skips.skipped())


def _fallback_models(agent: str, routing: Routing, skips: _Skips) -> str:
    for model in routing.fallback_models:
        if skips.ok(model):
            return model
    raise _none_left(agent, skips)


def choose(agent: str, routing: Routing, position: int, prompt: str, u: float, reason: Reason) -> Choice:
    """The model for the agent's next call; raises NoModelAvailable naming every candidate and why."""
    skips = _Skips(reason)
    mode = routing.on_unavailable
    if routing.strategy == "weighted":
        return _choose_weighted(agent, routing, u, skips)
    seq = sequence(routing)
    if not seq:
        raise LatticeError(f"agent {agent}: its {routing.strategy} routing lists no models")
    n = len(seq)
    via = "scheduled"
    if routing.strategy == "fallback":
        slot = 0
    elif routing.strategy == "burst" and final_requested(routing, prompt):
        slot, via = n - 1, "final_trigger"
    else:
        slot = position % n
    scheduled = seq[slot]
    if skips.ok(scheduled):
        nxt = 0 if routing.strategy == "fallback" else (slot + 1) % n
        return Choice(scheduled, scheduled, slot, n, nxt, via, ())
    if routing.strategy == "fallback" or mode in ("next", "retry"):
        for k in range(1, n):
            s = (slot + k) % n
            if skips.ok(seq[s]):
                if routing.strategy == "fallback":
                    nxt = 0
                else:
                    nxt = slot if mode == "retry" else (s + 1) % n
                return Choice(seq[s], scheduled, slot, n, nxt, "next" if mode != "retry" else "retry",
                              skips.skipped())
        if mode != "fallback":
            raise _none_left(agent, skips)
    model = _fallback_models(agent, routing, skips)
    nxt = 0 if routing.strategy == "fallback" else (slot + 1) % n
    return Choice(model, scheduled, slot, n, nxt, "fallback", skips.skipped())


def _choose_weighted(agent: str, routing: Routing, u: float, skips: _Skips) -> Choice:
    if not routing.weights:
        raise LatticeError(f"agent {agent}: its weighted routing lists no models")
    scheduled = weighted_pick(routing.weights, u)
    if skips.ok(scheduled):
        return Choice(scheduled, scheduled, 0, 1, 0, "scheduled", ())
    if routing.on_unavailable == "fallback":
        return Choice(_fallback_models(agent, routing, skips), scheduled, 0, 1, 0, "fallback",
                      skips.skipped())
    left = tuple((m, w) for m, w in routing.weights if skips.ok(m))
    if not left:
        raise _none_left(agent, skips)
    return Choice(weighted_pick(left, _within(routing.weights, scheduled, u)), scheduled, 0, 1, 0,
                  routing.on_unavailable, skips.skipped())


def _within(weights: tuple[tuple[str, float], ...], model: str, u: float) -> float:
    """Where `u` fell inside `model`'s interval, rescaled to [0, 1): uniform again given that it fell
    there, so redrawing with it spreads the unavailable model's share over the rest by their weights
    (reusing `u` itself would hand it all to the models after it)."""
    total = sum(w for _, w in weights)
    lo = 0.0
    for m, w in weights:
        if m == model:
            return min(max((u * total - lo) / w, 0.0), 0.999999999) if w > 0 else 0.0
        lo += w
    return u
