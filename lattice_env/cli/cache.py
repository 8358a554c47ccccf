"""`lattice cache keygen|push|gc`: binary caches (cache/). `store export|import` are in store.py."""
from __future__ import annotations

from pathlib import Path

import click

from .app import cli as root
from .app import json_option, profile_option
from .output import emit, plural, show, size


@root.group("cache")
def cache_group() -> None:
    """Share built store paths through a signed binary cache (s3://, file://, https://)."""


@cache_group.command("keygen")
@click.argument("name")
def keygen(name: str) -> None:
    """Make the ed25519 key pair NAME; print its public key (NAME:BASE64).

    The secret key stays in the user's config dir (keys/NAME.secret, mode 0600). Machines that should
    trust what it signs list the public key in their global lattice.yaml under `caches:`."""
    from ..cache.keys import keygen as make

    emit(str(make(name)))


def profile_paths(paths: tuple[str, ...], profile: str | None) -> list[Path]:
    """The store paths given, else the profile's (default: the active one's) current generation."""
    from ..errors import UsageError

    if paths and profile:
        raise UsageError("give store paths or --profile, not both")
    if paths:
        return [Path(p) for p in paths]
    from ..launch.activation import env_root

    return [Path(env_root(profile))]


@cache_group.command("push")
@click.argument("url")
@click.argument("paths", nargs=-1, metavar="[STORE_PATH]…")
@click.option("--key", "key_name", metavar="NAME", help="Signing key (default: your only one).")
@profile_option
@json_option
def push(url: str, paths: tuple[str, ...], key_name: str | None, profile: str | None, as_json: bool) -> None:
    """Upload store paths and everything they reference to the cache at URL.

    Without STORE_PATHs, the profile's current generation. Paths the cache has are not uploaded again."""
    from ..cache.keys import secret_key
    from ..cache.push import push as upload
    from ..cache.url import open_cache

    key = secret_key(key_name)
    targets = profile_paths(paths, profile)
    result = upload(open_cache(url), targets, key)
    show({"cache": url, "pushed": result.pushed, "present": result.present,
          "uploaded_bytes": result.uploaded_bytes}, as_json,
         [*(f"  pushed {name}" for name in result.pushed),
          f"{plural(len(result.pushed), 'path')} pushed ({size(result.uploaded_bytes)} of archives), "
          f"{len(result.present)} already in {url}"])


@cache_group.command("gc")
@click.argument("url")
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True, metavar="DAYS",
              help="Keep paths pushed in the last DAYS days and what they reference.")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
def cache_gc(url: str, days: float, dry_run: bool) -> None:
    """Delete from the cache at URL what no recently pushed path needs."""
    from ..cache.gc import gc
    from ..cache.url import open_cache

    result = gc(open_cache(url), days, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for name in result.removed:
        emit(f"  {verb} {name}")
    emit(f"{verb} {plural(len(result.removed), 'path')} and {plural(len(result.archives), 'archive')}; "
         f"kept {len(result.kept)}")
