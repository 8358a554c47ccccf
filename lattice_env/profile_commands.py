"""What the hot profile commands print — `rollback`, `generations`, `switch --generation N` — shared by
the click CLI and entry.py's click-free fast path, so both forms print the same bytes. Standard library
only (json lazily): these run in the time budget of `nix-env --switch-generation`."""
from __future__ import annotations

import sys
import time
from typing import Any

from . import profiles


def emit(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def emit_json(data: Any) -> None:
    import json

    emit(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def _profile(profile: str | None) -> str:
    return profiles.active_profile() if profile is None else profiles.check_name(profile)


def report_switch(name: str, result: profiles.SwitchResult, as_json: bool) -> None:
    if as_json:
        emit_json({"profile": name, "generation": result.generation, "created": result.created,
                   "store_path": str(result.store_path)})
    elif result.created:
        emit(f"switched profile {name} to generation {result.generation} ({result.store_path})")
    else:
        emit(f"profile {name} is already at generation {result.generation}")


def switch_generation(profile: str | None, number: int, as_json: bool) -> None:
    name = _profile(profile)
    report_switch(name, profiles.switch_generation(number, name), as_json)


def rollback(profile: str | None, as_json: bool) -> None:
    name = _profile(profile)
    result = profiles.rollback(name)
    if as_json:
        emit_json({"profile": name, "generation": result.generation, "store_path": str(result.store_path)})
    else:
        emit(f"rolled profile {name} back to generation {result.generation} ({result.store_path})")


def generations(profile: str | None, as_json: bool) -> None:
    rows = profiles.generations(profile)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    if not rows:
        emit(f"profile {_profile(profile)} has no generations; `lattice switch` creates one", err=True)
    for row in rows:
        date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created))
        what = f"{row.workflow or '?'} {row.version or ''}".rstrip()
        emit(f"{row.number:>4} {'*' if row.current else ' '} {date}  {what}  {row.store_path}")
