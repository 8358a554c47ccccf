"""Profiles and their generations, in Nix's layout (links.py reads and moves the links themselves):
making a store path a profile's new generation, listing generations and profiles, deleting old
generations, and choosing the active profile. New generations are numbered under the per-profile lock,
so concurrent switches land as distinct generations."""
from __future__ import annotations

import os
import re
import time
from collections import namedtuple

from ..errors import LatticeError, UsageError
from ..flock import file_lock
from ..fsutil import fsync_dir, remove, replace_link
from ..paths import data_root, make_dirs
from . import links

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

_TMP = re.compile(r"\.tmp-[0-9]+-[0-9a-f]+")


class Generation(namedtuple("Generation", ("number", "link", "store_path", "created", "workflow", "version",
                                           "current"))):
    """One generation: its `number`, `link` and `store_path`; `created`, the generation link's own
    mtime (lstat), when it was made; the `workflow` and `version` it holds (None when unknown); whether
    it is the `current` one. collections' named tuple: typing.NamedTuple would import typing into the
    hot `generations`."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        return {"generation": self.number, "link": self.link, "store_path": self.store_path,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.created)),
                "workflow": self.workflow, "version": self.version, "current": self.current}


class ProfileInfo(namedtuple("ProfileInfo", ("name", "generation", "store_path", "active"))):
    """A profile: `name`, its current `generation` and `store_path` (None without one), `active`."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "generation": self.generation, "active": self.active,
                "store_path": self.store_path}


def _sweep(name: str) -> None:
    """Remove temp links a killed switch of this profile left (we hold its lock, so none is live)."""
    pattern = re.compile(re.escape(name) + r"(-[0-9]+-link)?" + _TMP.pattern)
    root = links.profiles_root()
    for entry in os.listdir(root):
        if pattern.fullmatch(entry):
            remove(os.path.join(root, entry))


def switch_to(store_path: str | os.PathLike[str], name: str | None = None) -> links.Moved:
    """Make `store_path` the profile's new generation (highest + 1); nothing when already there.

    Hold a `store.roots.temp_root` on the path while calling, or a concurrent gc may collect it first."""
    from ..store.names import resolve

    name = links.resolve_name(name)
    target = str(resolve(store_path).absolute())
    make_dirs(links.profiles_root())
    with links.lock(name):
        _sweep(name)
        current = links.current_generation(name)
        if current is not None and links.target(name, current) == target:
            return links.Moved(current, False, target)
        number = max(links.numbers(name), default=0) + 1
        replace_link(links.link_path(name, number), target)
        replace_link(os.path.join(links.profiles_root(), name), links.link_name(name, number))
    return links.Moved(number, True, target)


def generations(name: str | None = None) -> list[Generation]:
    """Every generation of the profile, oldest first, with what its manifest says it holds."""
    name = links.resolve_name(name)
    current = links.current_generation(name)
    rows = []
    for number in links.numbers(name):
        link = links.link_path(name, number)
        try:
            target, created = os.readlink(link), os.lstat(link).st_mtime
        except FileNotFoundError:
            continue  # deleted while we listed
        workflow, version = describe(target)
        rows.append(Generation(number, link, target, created, workflow, version, number == current))
    return rows


def describe(path: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """Workflow name and version from the store manifest; (None, None) when it cannot be read."""
    from ..store.manifest import read_manifest

    try:
        drv = read_manifest(path)["derivation"]
        version = (drv.get("inputs") or {}).get("config", {}).get("version")
        return drv.get("name"), None if version is None else str(version)
    except (LatticeError, KeyError, TypeError, AttributeError):
        return None, None


def delete_generations(specs: list[str], name: str | None = None, dry_run: bool = False) -> list[Generation]:
    """Delete the generation links `specs` select (`N`, `+K` keep the K newest, `Nd` older than N days,
    `old` all but current); never the current one. `lattice store gc` then frees their store paths."""
    name = links.resolve_name(name)
    if not specs:
        raise UsageError("say which generations to delete: N…, +K, Nd or old")
    with links.lock(name):
        rows = generations(name)
        chosen = _select(specs, rows, name)
        if not dry_run:
            for row in chosen:
                remove(row.link)
            if chosen:
                fsync_dir(links.profiles_root())
    return chosen


def _select(specs: list[str], rows: list[Generation], name: str) -> list[Generation]:
    numbers = {row.number for row in rows}
    current = next((row.number for row in rows if row.current), None)
    doomed: set[int] = set()
    for spec in specs:
        if spec.isdigit():
            number = int(spec)
            if number not in numbers:
                raise LatticeError(f"profile {name} has no generation {number}")
            if number == current:
                raise LatticeError(f"generation {number} is profile {name}'s current one; switch away first")
            doomed.add(number)
        elif spec == "old":
            doomed |= numbers
        elif re.fullmatch(r"\+[0-9]+", spec):
            doomed |= set(sorted(numbers, reverse=True)[int(spec[1:]):])
        elif re.fullmatch(r"[0-9]+d", spec):
            cutoff = time.time() - int(spec[:-1]) * 86400
            doomed |= {row.number for row in rows if row.created < cutoff}
        else:
            raise UsageError(f"invalid generation spec {spec!r}: use N (a number), +K, Nd or old")
    if current is not None:
        doomed.discard(current)
    return [row for row in rows if row.number in doomed]


def _profile_names() -> Iterator[str]:
    """Profiles are the symlinks named NAME that point at a NAME-<N>-link."""
    root = links.profiles_root()
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            links.check_name(entry)
            target = os.readlink(os.path.join(root, entry))
        except (UsageError, OSError):
            continue
        if links.generation_number(entry, target) is not None:
            yield entry


def profiles() -> list[ProfileInfo]:
    """Every profile with its current generation; the active one is listed even before its first switch."""
    active = links.active_profile()
    names = list(_profile_names())
    if active not in names:
        names = sorted([*names, active])
    return [ProfileInfo(n, links.current_generation(n), links.current_path(n), n == active) for n in names]


def use(name: str) -> None:
    """Make `name` the active profile: `<data>/profile` → `profiles/<name>`, replaced atomically."""
    links.check_name(name)
    if links.current_generation(name) is None:
        raise LatticeError(f"profile {name} has no generation; create one with `lattice switch --profile {name}`")
    make_dirs(links.profiles_root())
    data = data_root()
    with file_lock(os.path.join(links.profiles_root(), ".use-lock")):
        for entry in os.listdir(data):
            if re.fullmatch("profile" + _TMP.pattern, entry):
                remove(os.path.join(data, entry))
        replace_link(os.path.join(data, "profile"), f"profiles/{name}")
