"""Usage as the providers report it: calls, input and output tokens, and an estimated spend.

The bridge inside opencode calls `record_usage` with the token counts of each response; nothing here
counts tokens itself. Spend is estimated from `prices.json`, shipped with Lattice (model → dollars per
million input/output tokens, with its date and sources in the file); `LATTICE_PRICES` names another file
of the same shape for users whose prices differ. A model missing from the table still counts calls and
tokens but adds no spend — which also means `local_budget` cannot stop it; `lattice status providers`
says so. Every counter exists twice: today's (local day) and this month's (local calendar month,
`*_month`); `local_budget` caps the provider's `budget_period`, a month unless it says `day`."""
from __future__ import annotations

import json
import os
import re
import time

from ..errors import LatticeError
from .state import transaction, usage_entry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


_PRICES: dict[str, Any] | None = None
_DATED = re.compile(r"-\d{8}$")  # claude-sonnet-4-5-20250929 → claude-sonnet-4-5


def price_table() -> dict[str, Any]:
    """The price table (loaded once per process)."""
    global _PRICES
    if _PRICES is None:
        override = os.environ.get("LATTICE_PRICES")
        path = override or os.path.join(os.path.dirname(__file__), "prices.json")
        try:
            with open(path, encoding="utf-8") as f:
                _PRICES = json.loads(f.read())
            _PRICES["models"].items()
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise LatticeError(f"cannot read the price table {path}: {exc}") from None
    return _PRICES


def price(ref: str) -> tuple[float, float] | None:
    """Dollars per million (input, output) tokens for `provider/model`, or None when unknown."""
    models = price_table()["models"]
    provider = ref.partition("/")[0]
    for key in (ref, _DATED.sub("", ref), f"{provider}/*"):
        entry = models.get(key)
        if entry is not None:
            return float(entry.get("input", 0)), float(entry.get("output", 0))
    return None


def estimate(ref: str, input_tokens: int, output_tokens: int) -> float | None:
    p = price(ref)
    if p is None:
        return None
    return (input_tokens * p[0] + output_tokens * p[1]) / 1_000_000


def record_usage(provider: str, model: str, input_tokens: int, output_tokens: int, *,
                 now: float | None = None, path: str | os.PathLike[str] | None = None) -> float | None:
    """Add one response's usage to today's and this month's counters of `provider`; returns the spend
    it added (None when the model has no price). `model` may be `name` or `provider/name`."""
    if input_tokens < 0 or output_tokens < 0:
        raise LatticeError(f"token counts must not be negative ({input_tokens}, {output_tokens})")
    ref = model if model.startswith(provider + "/") else f"{provider}/{model}"
    spend = estimate(ref, input_tokens, output_tokens)
    now = time.time() if now is None else now
    with transaction(path, now) as state:
        usage = usage_entry(state, provider, now)
        for suffix in ("", "_month"):  # today's counters have the design's names
            calls = "calls_month" if suffix else "calls_today"
            usage[calls] = usage.get(calls, 0) + 1
            for field, add in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                               ("estimated_tokens", input_tokens + output_tokens)):
                usage[field + suffix] = usage.get(field + suffix, 0) + add
            spent = "estimated_spend" + suffix
            usage[spent] = round(usage.get(spent, 0.0) + (spend or 0.0), 6)
        if spend is None:
            unpriced = usage.setdefault("unpriced_models", [])
            if isinstance(unpriced, list) and ref not in unpriced:
                unpriced.append(ref)
    return spend
