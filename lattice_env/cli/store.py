"""`lattice store ls|verify|gc|optimise|why|export|import`: inspecting and maintaining the store (store/);
export and import carry paths to machines without a network (cache/stream.py)."""
from __future__ import annotations

import click

from .app import cli as root
from .app import json_option, offline_option
from .output import emit, show, size


@root.group("store")
def store_group() -> None:
    """Inspect and maintain the store of built environments."""


@store_group.command("ls")
@json_option
def store_ls(as_json: bool) -> None:
    """List store paths with their size and references."""
    from ..store.verify import ls

    rows = ls()
    show(rows, as_json, lambda: [f"{row['path']}  {size(row['size'])}  {len(row['references'])} references"
                                 for row in rows])


@store_group.command("verify")
@click.argument("paths", nargs=-1)
def store_verify(paths: tuple[str, ...]) -> None:
    """Recompute each store PATH (default: all) against its manifest; exit 1 on any difference."""
    from ..store.verify import verify

    problems = verify(paths or None)
    for problem in problems:
        emit(str(problem))
    if problems:
        raise SystemExit(1)


@store_group.command("repair")
@click.argument("paths", nargs=-1)
@offline_option
def store_repair(paths: tuple[str, ...], offline: bool) -> None:
    """Rebuild each damaged store PATH (default: all that fail verify) from its own derivation, or
    restore its read-only modes when only those changed; exit 1 if any cannot be repaired."""
    from ..build.repair import repair

    done, failed = repair(list(paths) or None, offline=offline)
    for line in done:
        emit(f"repaired {line}")
    for line in failed:
        emit(f"lattice: error: {line}", err=True)
    if not done and not failed:
        emit("nothing to repair: every store path verifies")
    if failed:
        raise SystemExit(1)


@store_group.command("gc")
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
def store_gc(dry_run: bool) -> None:
    """Remove store paths no profile generation or running build references."""
    from ..store.gc import gc

    result = gc(dry_run=dry_run)
    for name in result.removed + result.stale:
        emit(f"  {'would remove' if dry_run else 'removed'} {name}")
    emit(f"{len(result.removed)} store paths, {len(result.stale)} leftovers: "
         f"{size(result.bytes_freed)} {'would be freed' if dry_run else 'freed'}")


@store_group.command("optimise")
def store_optimise() -> None:
    """Hard-link identical files across store paths."""
    from ..store.optimise import optimise

    emit(f"{size(optimise())} saved")


@store_group.command("why")
@click.argument("path")
def store_why(path: str) -> None:
    """Show which roots keep store PATH alive (exit 1 when none does)."""
    from ..store.gc import describe

    emit(describe(path))


@store_group.command("export")
@click.argument("paths", nargs=-1, required=True, metavar="STORE_PATH…")
@click.option("--key", "key_name", metavar="NAME", help="Signing key (default: your only one).")
def store_export(paths: tuple[str, ...], key_name: str | None) -> None:
    """Write STORE_PATHs and everything they reference, signed, to stdout (redirect it to a file).

    `lattice store import < FILE` enters them into another machine's store, no network needed."""
    import sys
    from pathlib import Path

    from ..cache.keys import secret_key
    from ..cache.stream import export
    from ..errors import UsageError

    if sys.stdout.isatty():
        raise UsageError("the export is binary: redirect it to a file (`lattice store export PATH > FILE`)")
    key = secret_key(key_name)
    names = export([Path(p) for p in paths], sys.stdout.buffer, key)
    sys.stdout.buffer.flush()
    emit(f"exported {len(names)} store paths", err=True)


@store_group.command("import")
def store_import() -> None:
    """Enter the store paths of an export stream read from stdin (`lattice store import < FILE`).

    Each must be signed by a key the global lattice.yaml trusts (caches' public_key or
    trusted_public_keys) and hash to what its signed info says."""
    import sys

    from ..cache.stream import import_stream
    from ..errors import UsageError

    if sys.stdin.isatty():
        raise UsageError("give the export on stdin: `lattice store import < FILE`")
    imported, present = import_stream(sys.stdin.buffer)
    for name in imported:
        emit(f"  imported {name}")
    emit(f"imported {len(imported)} store paths, {len(present)} already present")
