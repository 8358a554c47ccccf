"""What the hot profile commands print — `rollback`, `generations`, `switch --generation N` — shared by
the click CLI and entry.py's click-free fast path, so both forms print the same bytes. Moving a link
needs only generation_links.py (os); profiles.py (pathlib) is loaded for listing: `rollback` and
`switch --generation` run in the time budget of `nix-env --switch-generation`."""
from __future__ import annotations

import sys
import time

from . import generation_links as links


def emit(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def emit_json(data: object) -> None:
    import json

    emit(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def report_switch(name: str, generation: int, created: bool, store_path: object, as_json: bool) -> None:
    if as_json:
        emit_json({"profile": name, "generation": generation, "created": created, "store_path": str(store_path)})
    elif created:
        emit(f"switched profile {name} to generation {generation} ({store_path})")
    else:
        emit(f"profile {name} is already at generation {generation}")


def switch_generation(profile: str | None, number: int, as_json: bool) -> None:
    name = links.resolve_name(profile)
    moved = links.switch_generation(number, name)
    report_switch(name, moved.generation, moved.created, moved.store_path, as_json)


def rollback(profile: str | None, as_json: bool) -> None:
    name = links.resolve_name(profile)
    result = links.rollback(name)
    if as_json:
        emit_json({"profile": name, "generation": result.generation, "store_path": str(result.store_path)})
    else:
        emit(f"rolled profile {name} back to generation {result.generation} ({result.store_path})")


def generations(profile: str | None, as_json: bool) -> None:
    from . import profiles

    rows = profiles.generations(profile)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    if not rows:
        emit(f"profile {links.resolve_name(profile)} has no generations; `lattice switch` creates one", err=True)
    for row in rows:
        date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created))
        what = f"{row.workflow or '?'} {row.version or ''}".rstrip()
        emit(f"{row.number:>4} {'*' if row.current else ' '} {date}  {what}  {row.store_path}")
