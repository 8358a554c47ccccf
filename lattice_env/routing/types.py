"""The routing parts of the Workflow model — an agent's `Routing`, a `Provider` — and `split_model`.
NamedTuples rather than the frozen dataclasses of config/model.py (which re-exports them): the bridge
routes every call in a fresh interpreter (docs/architecture.md, "Hot paths"). Like the dataclasses they
are immutable, hashable and compared by value."""
from __future__ import annotations

from typing import Any, NamedTuple


def split_model(ref: str) -> tuple[str, str]:
    """`ollama/llama3.1:70b` → (`ollama`, `llama3.1:70b`); the model part may itself contain '/'."""
    provider, _, model = ref.partition("/")
    return provider, model


class Routing(NamedTuple):
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


class Provider(NamedTuple):
    name: str
    env: str | None = None
    auth: str | None = None
    tier: str | None = None
    local_budget: float | None = None  # None: unlimited
    budget_period: str = "month"  # what local_budget caps: the local calendar "month" or "day"
    models: tuple[str, ...] = ()
    base_url: str | None = None
    first_byte_timeout: float | None = None  # seconds; None: defaults.first_byte_timeout

    def offers(self, model: str) -> bool:
        """False when a non-empty `models:` list leaves `model` out: routing skips it, status shows it."""
        return not self.models or model in self.models


class Failover(NamedTuple):
    """`defaults:` settings for a call whose model fails (routing/availability.py, the bridge)."""

    first_byte_timeout: float = 60.0  # seconds without a first byte of the response: the model failed
    failure_cooldown: float = 20.0  # seconds a failed model (or unreachable provider) is left out
    failover_on_client_error: bool = False  # 400/401/404…: fail over too, instead of reporting at once

    @classmethod
    def from_data(cls, defaults: Any) -> Failover:
        d = defaults if isinstance(defaults, dict) else {}
        base = cls()
        return cls(first_byte_timeout=float(d.get("first_byte_timeout") or base.first_byte_timeout),
                   failure_cooldown=float(d.get("failure_cooldown", base.failure_cooldown)),
                   failover_on_client_error=d.get("failover_on_client_error") is True)
