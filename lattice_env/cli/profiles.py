"""`lattice switch`, `rollback`, `generations`, `delete-generations`, `profiles`, `use`: profiles and their
generations (profiles/). The plain forms of `switch --generation`, `rollback` and `generations` also run
without click (fast.py), through the same bodies."""
from __future__ import annotations

import click

from . import fast
from .app import App, json_option, offline_option, pass_app, profile_option, trust_option
from .app import cli as root
from .output import emit, show, warn


@root.command()
@profile_option
@click.option("--generation", type=int, metavar="N", help="Move to existing generation N (nothing is built).")
@offline_option
@trust_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def switch(app: App, profile: str | None, generation: int | None, offline: bool, trust: bool,
           as_json: bool) -> None:
    """Make the built workflow the profile's new generation.

    With --generation N, move to an existing generation instead: the link only, nothing is built."""
    if generation is not None:
        fast.switch_generation(profile, generation, as_json)
        return
    from ..profiles.links import resolve_name
    from ..profiles.switch import build_and_switch

    name = resolve_name(profile)
    loaded = app.load()
    warn(loaded.warnings)
    fast.report_switch(name, build_and_switch(loaded, name, offline=offline, trust=trust), as_json)


@root.command()
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rollback(profile: str | None, as_json: bool) -> None:
    """Move the profile back to its previous generation.

    Only the link moves: nothing is built and lattice.yaml is not read."""
    fast.rollback(profile, as_json)


@root.command()
@profile_option
@json_option
def generations(profile: str | None, as_json: bool) -> None:
    """List the profile's generations.

    Number, date, workflow name and version, store path; * marks the current one."""
    fast.generations(profile, as_json)


@root.command("delete-generations")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC…")
@profile_option
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
def delete_generations(specs: tuple[str, ...], profile: str | None, dry_run: bool) -> None:
    """Delete old generations of the profile.

    SPEC is a generation number, +K (keep the K newest), Nd (older than N days) or old (all but the
    current one). The current generation is never deleted; `lattice store gc` then frees the paths."""
    from ..profiles.generations import delete_generations as delete

    rows = delete(list(specs), profile, dry_run=dry_run)
    for row in rows:
        emit(f"{'would delete' if dry_run else 'deleted'} generation {row.number} ({row.store_path})")
    if not rows:
        emit("no generation matches; nothing deleted")


@root.command("profiles")
@json_option
def profiles_cmd(as_json: bool) -> None:
    """List profiles and their current generations (* marks the active one)."""
    from ..profiles.generations import profiles

    rows = profiles()
    show([row.as_json() for row in rows], as_json, lambda: [
        f"{'*' if row.active else ' '} {row.name}  "
        + (f"generation {row.generation}  {row.store_path}" if row.generation else "no generations yet")
        for row in rows])


@root.command()
@click.argument("name")
def use(name: str) -> None:
    """Make profile NAME the active one.

    Commands act on the active profile unless given --profile."""
    from ..profiles.generations import use as make_active
    from ..profiles.links import current_generation

    make_active(name)
    emit(f"active profile: {name} (generation {current_generation(name)})")
