"""The routing parts of the Workflow model — an agent's `Routing`, a `Provider` — and `split_model`.

Named tuples (collections.namedtuple, not typing.NamedTuple, nor dataclasses): the bridge routes every
call in a fresh interpreter (docs/architecture.md, "Hot paths"). Immutable, hashable and compared by
value, like the rest of the model."""
from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


def split_model(ref: str) -> tuple[str, str]:
    """`ollama/llama3.1:70b` → (`ollama`, `llama3.1:70b`); the model part may itself contain '/'."""
    provider, _, model = ref.partition("/")
    return provider, model


class Routing(namedtuple("Routing", ("strategy", "models", "pattern", "weights", "track", "iterate", "final",
                                     "burst_size", "final_trigger", "on_unavailable", "fallback_models"),
                         defaults=((), (), (), False, None, None, None, None, "next", ()))):
    """An agent's routing. `strategy` (str); `models` (tuple of refs: fallback, round_robin);
    `pattern` (tuple of refs); `weights` (tuple of (ref, float)); `track` (bool); `iterate`, `final`,
    `burst_size`, `final_trigger` (burst; None when unset); `on_unavailable` ("next" unless set);
    `fallback_models` (tuple of refs)."""

    __slots__ = ()

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


class Provider(namedtuple("Provider", ("name", "env", "auth", "tier", "local_budget", "budget_period", "models",
                                       "base_url", "first_byte_timeout"),
                          defaults=(None, None, None, None, "month", (), None, None))):
    """A provider: `name`; `env`, `auth`, `tier`, `base_url` (str or None); `local_budget` (float, None
    for unlimited); `budget_period`, what local_budget caps: the local calendar "month" or "day";
    `models` (tuple of names); `first_byte_timeout` (seconds; None: defaults.first_byte_timeout)."""

    __slots__ = ()

    def offers(self, model: str) -> bool:
        """False when a non-empty `models:` list leaves `model` out: routing skips it, status shows it."""
        return not self.models or model in self.models


class Failover(namedtuple("Failover", ("first_byte_timeout", "failure_cooldown", "failover_on_client_error"),
                          defaults=(60.0, 20.0, False))):
    """`defaults:` settings for a call whose model fails (routing/availability.py, the bridge):
    `first_byte_timeout`, seconds without a first byte of the response after which the model failed;
    `failure_cooldown`, seconds a failed model (or unreachable provider) is left out;
    `failover_on_client_error`: 400/401/404… fail over too, instead of being reported at once."""

    __slots__ = ()

    @classmethod
    def from_data(cls, defaults: Any) -> Failover:
        d = defaults if isinstance(defaults, dict) else {}
        base = cls()
        return cls(first_byte_timeout=float(d.get("first_byte_timeout") or base.first_byte_timeout),
                   failure_cooldown=float(d.get("failure_cooldown", base.failure_cooldown)),
                   failover_on_client_error=d.get("failover_on_client_error") is True)
