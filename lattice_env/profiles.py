"""Profiles and generations, in Nix's layout, so a switch or a rollback is one atomic rename:

    <data>/profile            → profiles/<NAME>           the active profile (absent: `default`)
    <data>/profiles/<NAME>    → <NAME>-<N>-link           the profile's current generation
    <data>/profiles/<NAME>-<N>-link → /abs/store/path     generation N (a gc root)

Every link change writes a `<link>.tmp-<pid>-<random>` symlink, renames it over the link and fsyncs the
directory, so a reader (or a crash) sees the old link or the new one, never none. New generations are
numbered under a per-profile lock, so concurrent switches land as distinct generations. The links
themselves are read and moved by generation_links.py (os only, for `rollback`'s start-up time); this
module adds the Path-typed API. Standard library only (and `store` lazily)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from . import generation_links as links
from .errors import LatticeError, UsageError
from .fsutil import fsync_dir, replace_link
from .locks import file_lock
from .paths import data_dir

DEFAULT = links.DEFAULT
check_name = links.check_name
active_profile = links.active_profile
_TMP = re.compile(r"\.tmp-[0-9]+-[0-9a-f]+")


class Generation(NamedTuple):  # NamedTuple, not dataclass: a third of the import time
    number: int
    link: Path
    store_path: Path
    created: float  # the generation link's own mtime (lstat): when it was made
    workflow: str | None
    version: str | None
    current: bool

    def as_json(self) -> dict[str, Any]:
        return {"generation": self.number, "link": str(self.link), "store_path": str(self.store_path),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.created)),
                "workflow": self.workflow, "version": self.version, "current": self.current}


class SwitchResult(NamedTuple):
    generation: int
    created: bool  # False: the profile already pointed there (or at that generation)
    store_path: Path


class ProfileInfo(NamedTuple):
    name: str
    generation: int | None
    store_path: Path | None
    active: bool

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "generation": self.generation, "active": self.active,
                "store_path": str(self.store_path) if self.store_path else None}


def profiles_dir() -> Path:
    return data_dir() / "profiles"


def _name(name: str | None) -> str:
    return links.resolve_name(name)


def profile_link(name: str | None = None) -> Path:
    return profiles_dir() / _name(name)


def generation_link(name: str, number: int) -> Path:
    return profiles_dir() / f"{name}-{number}-link"


def current_generation(name: str | None = None) -> int | None:
    """The generation the profile link points at; None when the profile does not exist yet."""
    return links.current_generation(_name(name))


def _target(link: Path) -> Path:
    try:
        return Path(os.readlink(link))
    except FileNotFoundError:
        raise LatticeError(f"generation link {link.name} is missing") from None


def current_path(name: str | None = None) -> Path | None:
    """The store path of the profile's current generation (None: no generation yet)."""
    name = _name(name)
    number = current_generation(name)
    return None if number is None else _target(generation_link(name, number))


def _sweep(name: str) -> None:
    """Remove temp links a killed switch of this profile left (we hold its lock, so none is live)."""
    pattern = re.compile(re.escape(name) + r"(-[0-9]+-link)?" + _TMP.pattern)
    for entry in os.listdir(profiles_dir()):
        if pattern.fullmatch(entry):
            (profiles_dir() / entry).unlink(missing_ok=True)


def _store_path(store_path: str | Path) -> Path:
    from .store import resolve

    path = resolve(store_path)
    return path.absolute()


def switch_to(store_path: str | Path, name: str | None = None) -> SwitchResult:
    """Make `store_path` the profile's new generation (highest + 1); nothing when already there.

    Hold a `storegc.temp_root` on the path while calling, or a concurrent gc may collect it first."""
    name = _name(name)
    target = _store_path(store_path)
    profiles_dir().mkdir(parents=True, exist_ok=True)
    with links.lock(name):
        _sweep(name)
        current = current_generation(name)
        if current is not None and _target(generation_link(name, current)) == target:
            return SwitchResult(current, False, target)
        number = max(links.numbers(name), default=0) + 1
        replace_link(generation_link(name, number), str(target))
        replace_link(profiles_dir() / name, f"{name}-{number}-link")
    return SwitchResult(number, True, target)


def _result(moved: links.Moved) -> SwitchResult:
    return SwitchResult(moved.generation, moved.created, Path(moved.store_path))


def switch_generation(number: int, name: str | None = None) -> SwitchResult:
    """Move the profile to an existing generation: the link only, nothing is built."""
    return _result(links.switch_generation(number, name))


def rollback(name: str | None = None) -> SwitchResult:
    """Move the profile to the newest existing generation below the current one."""
    return _result(links.rollback(name))


def generations(name: str | None = None) -> list[Generation]:
    """Every generation of the profile, oldest first, with what its manifest says it holds."""
    name = _name(name)
    current = current_generation(name)
    rows = []
    for number in links.numbers(name):
        link = generation_link(name, number)
        try:
            target, created = Path(os.readlink(link)), os.lstat(link).st_mtime
        except FileNotFoundError:
            continue  # deleted while we listed
        workflow, version = describe(target)
        rows.append(Generation(number, link, target, created, workflow, version, number == current))
    return rows


def describe(path: Path) -> tuple[str | None, str | None]:
    """Workflow name and version from the store manifest; (None, None) when it cannot be read."""
    from .store import read_manifest

    try:
        drv = read_manifest(path)["derivation"]
        version = (drv.get("inputs") or {}).get("config", {}).get("version")
        return drv.get("name"), None if version is None else str(version)
    except (LatticeError, KeyError, TypeError, AttributeError):
        return None, None


def delete_generations(specs: list[str], name: str | None = None, dry_run: bool = False) -> list[Generation]:
    """Delete the generation links `specs` select (`N`, `+K` keep the K newest, `Nd` older than N days,
    `old` all but current); never the current one. `lattice store gc` then frees their store paths."""
    name = _name(name)
    if not specs:
        raise UsageError("say which generations to delete: N…, +K, Nd or old")
    with links.lock(name):
        rows = generations(name)
        chosen = _select(specs, rows, name)
        if not dry_run:
            for row in chosen:
                row.link.unlink(missing_ok=True)
            if chosen:
                fsync_dir(profiles_dir())
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
    try:
        entries = sorted(os.listdir(profiles_dir()))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            links.check_name(entry)
            target = os.readlink(profiles_dir() / entry)
        except (UsageError, OSError):
            continue
        if links.generation_number(entry, target) is not None:
            yield entry


def profiles() -> list[ProfileInfo]:
    """Every profile with its current generation; the active one is listed even before its first switch."""
    active = active_profile()
    names = list(_profile_names())
    if active not in names:
        names = sorted([*names, active])
    return [ProfileInfo(n, current_generation(n), current_path(n), n == active) for n in names]


def use(name: str) -> None:
    """Make `name` the active profile: `<data>/profile` → `profiles/<name>`, replaced atomically."""
    check_name(name)
    if current_generation(name) is None:
        raise LatticeError(f"profile {name} has no generation; create one with `lattice switch --profile {name}`")
    profiles_dir().mkdir(parents=True, exist_ok=True)
    with file_lock(profiles_dir() / ".use-lock"):
        for entry in os.listdir(data_dir()):
            if re.fullmatch("profile" + _TMP.pattern, entry):
                (data_dir() / entry).unlink(missing_ok=True)
        replace_link(data_dir() / "profile", f"profiles/{name}")
