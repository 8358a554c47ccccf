"""Profiles and generations, in Nix's layout, so a switch or a rollback is one atomic rename:

    <data>/profile            → profiles/<NAME>           the active profile (absent: `default`)
    <data>/profiles/<NAME>    → <NAME>-<N>-link           the profile's current generation
    <data>/profiles/<NAME>-<N>-link → /abs/store/path     generation N (a gc root)

Every link change writes a `<link>.tmp-<pid>-<random>` symlink, renames it over the link and fsyncs the
directory, so a reader (or a crash) sees the old link or the new one, never none. New generations are
numbered under a per-profile lock, so concurrent switches land as distinct generations. This module
imports only the standard library (and `store` lazily): `rollback` and `generations` are hot commands."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from .errors import LatticeError, UsageError
from .fsutil import fsync_dir, replace_link
from .locks import file_lock
from .paths import data_dir

DEFAULT = "default"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
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


def check_name(name: str) -> str:
    """Refuse names that would be mistaken for a generation link, a temp link or a lock file."""
    if not NAME_RE.fullmatch(name) or name.endswith("-link") or ".tmp-" in name:
        raise UsageError(f"invalid profile name {name!r}: use letters, digits, '.', '_' and '-' "
                         "(first a letter or digit; not ending in -link)")
    return name


def active_profile() -> str:
    """The profile `<data>/profile` points at, like ~/.nix-profile; `default` when there is none."""
    try:
        target = os.readlink(data_dir() / "profile")
    except (FileNotFoundError, NotADirectoryError):
        return DEFAULT
    except OSError as exc:
        raise LatticeError(f"{data_dir() / 'profile'} is not a symlink ({exc.strerror})") from None
    return check_name(os.path.basename(target.rstrip("/")))


def _name(name: str | None) -> str:
    return check_name(name) if name is not None else active_profile()


def profile_link(name: str | None = None) -> Path:
    return profiles_dir() / _name(name)


def generation_link(name: str, number: int) -> Path:
    return profiles_dir() / f"{name}-{number}-link"


def _lock(name: str) -> Any:
    return file_lock(profiles_dir() / f".{name}.lock")


def _numbers(name: str) -> list[int]:
    """Generation numbers of profile `name`, ascending (temp links and other profiles' links excluded)."""
    pattern = re.compile(re.escape(name) + r"-([0-9]+)-link")
    try:
        entries = os.listdir(profiles_dir())
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for m in map(pattern.fullmatch, entries) if m)


def current_generation(name: str | None = None) -> int | None:
    """The generation the profile link points at; None when the profile does not exist yet."""
    name = _name(name)
    try:
        target = os.readlink(profiles_dir() / name)
    except FileNotFoundError:
        return None
    match = re.fullmatch(re.escape(name) + r"-([0-9]+)-link", target)
    if not match:
        raise LatticeError(f"profile {name} points at {target!r}, not one of its generations")
    return int(match.group(1))


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
    with _lock(name):
        _sweep(name)
        current = current_generation(name)
        if current is not None and _target(generation_link(name, current)) == target:
            return SwitchResult(current, False, target)
        number = max(_numbers(name), default=0) + 1
        replace_link(generation_link(name, number), str(target))
        replace_link(profiles_dir() / name, f"{name}-{number}-link")
    return SwitchResult(number, True, target)


def _move(name: str, number: int) -> SwitchResult:
    """Point the profile at existing generation `number` (the lock is held by the caller)."""
    link = generation_link(name, number)
    if not os.path.lexists(link):
        raise LatticeError(f"profile {name} has no generation {number}")
    target = _target(link)
    if not target.is_dir():
        raise LatticeError(f"generation {number} of profile {name} points at a missing store path {target}")
    if current_generation(name) == number:
        return SwitchResult(number, False, target)
    replace_link(profiles_dir() / name, link.name)
    return SwitchResult(number, True, target)


def switch_generation(number: int, name: str | None = None) -> SwitchResult:
    """Move the profile to an existing generation: the link only, nothing is built."""
    name = _name(name)
    with _lock(name):
        return _move(name, number)


def rollback(name: str | None = None) -> SwitchResult:
    """Move the profile to the newest existing generation below the current one."""
    name = _name(name)
    with _lock(name):
        current = current_generation(name)
        if current is None:
            raise LatticeError(f"profile {name} has no generations; `lattice switch` creates one")
        earlier = [n for n in _numbers(name) if n < current]
        if not earlier:
            raise LatticeError(f"profile {name} has no generation before {current} to roll back to")
        return _move(name, earlier[-1])


def generations(name: str | None = None) -> list[Generation]:
    """Every generation of the profile, oldest first, with what its manifest says it holds."""
    name = _name(name)
    current = current_generation(name)
    rows = []
    for number in _numbers(name):
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
    with _lock(name):
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
        if NAME_RE.fullmatch(entry) and not entry.endswith("-link") and ".tmp-" not in entry:
            try:
                target = os.readlink(profiles_dir() / entry)
            except OSError:
                continue
            if re.fullmatch(re.escape(entry) + r"-[0-9]+-link", target):
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
