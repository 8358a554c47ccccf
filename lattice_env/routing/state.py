"""`<data dir>/state.json`: routing positions, provider usage, cool-downs and session skips.

Shape (the design's "State Tracking", plus what the design left implicit):

    {"version": 1,
     "routing_state":  {agent: {strategy, routing_hash, pattern_index, call_count, last_model,
                                calls_today, day, distribution?, seed?}},
     "provider_usage": {provider: {calls_today, estimated_tokens, estimated_spend, input_tokens,
                                   output_tokens, rate_limited_today, day}},
     "cooldowns":      {"provider/model" or "provider": {until, since, reason}},
     "skipped":        {session: {provider: since}}}

Every change is a read-modify-write under `<data>/state.lock` (flock), written with temp + fsync +
rename, so concurrent `lattice route --commit`s and the bridge never lose an update and readers never see
half a file. Readers that change nothing (dry runs, `lattice routing`) read without the lock: the rename
makes every read see a whole file. Day counters (`calls_today`, tokens, spend) belong to the local day in
`day` and read as zero once it has passed. A file that is not JSON or not this shape is moved aside to
`state.json.corrupt-<timestamp>` with a warning, and routing starts afresh rather than stopping.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from ..fsutil import atomic_write
from ..locks import file_lock

VERSION = 1
SECTIONS = ("routing_state", "provider_usage", "cooldowns", "skipped")
AGENT_DAY = ("calls_today",)
PROVIDER_DAY = ("calls_today", "estimated_tokens", "estimated_spend", "input_tokens", "output_tokens",
                "rate_limited_today")
SKIP_LIFETIME = 7 * 24 * 3600  # a session skip older than this is forgotten (sessions have no end event)
_NUMBER_FIELDS = {"pattern_index", "call_count", "calls_today", "estimated_tokens", "estimated_spend",
                  "input_tokens", "output_tokens", "rate_limited_today", "until", "since"}


def state_path() -> Path:
    from ..paths import data_dir

    return data_dir() / "state.json"


def local_day(now: float) -> str:
    """The local calendar day of `now`: day counters roll over at local midnight."""
    return time.strftime("%Y-%m-%d", time.localtime(now))


def empty() -> dict[str, Any]:
    return {"version": VERSION, **{s: {} for s in SECTIONS}}


def _shape_error(data: Any) -> str | None:
    """Why `data` is not a state document, or None. Hand-edits that keep the shape are accepted.
    Runs on every read of the hot path, hence type() checks rather than isinstance (bool is an int)."""
    if type(data) is not dict:
        return "not a JSON object"
    for section in SECTIONS:
        value = data.get(section, {})
        if type(value) is not dict:
            return f"{section} is not an object"
        for key, entry in value.items():
            if type(entry) is not dict:
                return f"{section}.{key} is not an object"
            numbers = entry.values() if section == "skipped" else \
                [v for k, v in entry.items() if k in _NUMBER_FIELDS]
            for v in numbers:
                if (type(v) is not int and type(v) is not float) or v < 0:
                    return f"{section}.{key} has a value that is not a non-negative number"
            dist = entry.get("distribution")
            if dist is not None and (type(dist) is not dict
                                     or any(type(v) is not int for v in dist.values())):
                return f"{section}.{key}.distribution is not an object of counts"
    return None


def roll_over(data: dict[str, Any], now: float) -> dict[str, Any]:
    """Zero the day counters of entries from an earlier local day; drop expired cool-downs and skips."""
    today = local_day(now)
    for section, fields in (("routing_state", AGENT_DAY), ("provider_usage", PROVIDER_DAY)):
        for entry in data[section].values():
            if entry.get("day") != today:
                for field in fields:
                    if field in entry:
                        entry[field] = 0
                entry["day"] = today
    data["cooldowns"] = {k: v for k, v in data["cooldowns"].items() if v.get("until", 0) > now}
    data["skipped"] = {s: p for s, p in ((s, {k: t for k, t in p.items() if now - t < SKIP_LIFETIME})
                                         for s, p in data["skipped"].items()) if p}
    return data


def usage_entry(state: dict[str, Any], provider: str, now: float) -> dict[str, Any]:
    """`provider_usage[provider]`, created for today when missing (an entry without its day would read
    as yesterday's and be zeroed)."""
    entry: dict[str, Any] = state["provider_usage"].setdefault(provider, {})
    entry.setdefault("day", local_day(now))
    return entry


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    problem = _shape_error(data)
    if problem:
        return None, problem
    for section in SECTIONS:
        data.setdefault(section, {})
    data["version"] = VERSION
    return data, None


def read_state(path: Path | None = None, now: float | None = None,
               warnings: list[str] | None = None) -> dict[str, Any]:
    """The current state without taking the lock (for dry runs and displays). A corrupt file reads as
    empty, with a warning; it is moved aside by the next write."""
    path = path or state_path()
    now = time.time() if now is None else now
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty()
    data, problem = _parse(raw)
    if data is None:
        if warnings is not None:
            warnings.append(f"{path} is corrupt ({problem}); routing as if it were empty")
        return empty()
    return roll_over(data, now)


def _move_aside(path: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}.{n}")
        n += 1
    os.replace(path, target)
    return target


@contextlib.contextmanager
def transaction(path: Path | None = None, now: float | None = None,
                warnings: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Lock, read (rolled over to today), let the block change the dict, write it back atomically.
    Nothing is written if the block raises."""
    path = path or state_path()
    now = time.time() if now is None else now
    with file_lock(path.with_name("state.lock")):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = None
        data = empty()
        if raw is not None:
            parsed, problem = _parse(raw)
            if parsed is None:
                moved = _move_aside(path, now)
                if warnings is not None:
                    warnings.append(f"{path} was corrupt ({problem}); moved it to {moved.name} "
                                    f"and started afresh")
            else:
                data = parsed
        roll_over(data, now)
        yield data
        # Compact: with `indent`, json falls back to its pure-Python encoder (4× slower per commit).
        atomic_write(path, (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode())
