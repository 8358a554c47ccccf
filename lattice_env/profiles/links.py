"""The link layer under profiles.py: naming, reading and moving the symlinks of Nix's profile layout

    <data>/profile                  → profiles/<NAME>        the active profile (absent: `default`)
    <data>/profiles/<NAME>          → <NAME>-<N>-link        the profile's current generation
    <data>/profiles/<NAME>-<N>-link → /abs/store/path        generation N (a gc root)

with plain `str` paths and nothing but `os` (`rollback` and `switch --generation N` are this module and a
process start). Every link change writes a `<link>.tmp-<pid>-<random>` symlink and renames it over the
link (fsutil.replace_link), under the per-profile lock, so a reader or a crash sees the old link or the
new one, never none. generations.py adds new generations, listings and deletion on top."""
from __future__ import annotations

import os

from ..errors import LatticeError, UsageError
from ..flock import file_lock
from ..fsutil import replace_link
from ..paths import data_root

DEFAULT = "default"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class Moved:
    """Where a switch, rollback or move left the profile: generation number, whether the link changed
    (False: it already pointed there), and the store path."""

    __slots__ = ("generation", "created", "store_path")

    def __init__(self, generation: int, created: bool, store_path: str) -> None:
        self.generation, self.created, self.store_path = generation, created, store_path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Moved) and (self.generation, self.created, self.store_path) == \
            (other.generation, other.created, other.store_path)

    def __repr__(self) -> str:
        return f"Moved({self.generation}, {self.created}, {self.store_path!r})"


def profiles_root() -> str:
    return os.path.join(data_root(), "profiles")


def check_name(name: str) -> str:
    """Refuse names that would be mistaken for a generation link, a temp link or a lock file."""
    if (not name or not set(name) <= _NAME_CHARS or not name[0].isalnum()
            or name.endswith("-link") or ".tmp-" in name):
        raise UsageError(f"invalid profile name {name!r}: use letters, digits, '.', '_' and '-' "
                         "(first a letter or digit; not ending in -link)")
    return name


def active_profile() -> str:
    """The profile `<data>/profile` points at, like ~/.nix-profile; `default` when there is none."""
    link = os.path.join(data_root(), "profile")
    try:
        target = os.readlink(link)
    except (FileNotFoundError, NotADirectoryError):
        return DEFAULT
    except OSError as exc:
        raise LatticeError(f"{link} is not a symlink ({exc.strerror})") from None
    return check_name(os.path.basename(target.rstrip("/")))


def resolve_name(name: str | None) -> str:
    return check_name(name) if name is not None else active_profile()


def link_name(name: str, number: int) -> str:
    return f"{name}-{number}-link"


def link_path(name: str, number: int) -> str:
    return os.path.join(profiles_root(), link_name(name, number))


def generation_number(name: str, entry: str) -> int | None:
    """N when `entry` is `<name>-<N>-link`, else None (other profiles' links, temp links, locks)."""
    if not (entry.startswith(name + "-") and entry.endswith("-link")):
        return None
    digits = entry[len(name) + 1:-len("-link")]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def numbers(name: str) -> list[int]:
    """Generation numbers of profile `name`, ascending."""
    try:
        entries = os.listdir(profiles_root())
    except FileNotFoundError:
        return []
    return sorted(n for n in (generation_number(name, e) for e in entries) if n is not None)


def current_generation(name: str | None = None) -> int | None:
    """The generation the profile (default: the active one) points at; None when it has none yet."""
    name = resolve_name(name)
    try:
        target = os.readlink(os.path.join(profiles_root(), name))
    except FileNotFoundError:
        return None
    number = generation_number(name, target)
    if number is None:
        raise LatticeError(f"profile {name} points at {target!r}, not one of its generations")
    return number


def target(name: str, number: int) -> str:
    """The store path generation `number` links to."""
    try:
        return os.readlink(link_path(name, number))
    except FileNotFoundError:
        raise LatticeError(f"generation link {link_name(name, number)} is missing") from None


def current_path(name: str | None = None) -> str | None:
    """The store path of the profile's (default: the active one's) current generation; None when it has
    no generation yet."""
    name = resolve_name(name)
    number = current_generation(name)
    return None if number is None else target(name, number)


def lock(name: str) -> file_lock:
    """The per-profile lock every change of the profile's links is made under."""
    return file_lock(os.path.join(profiles_root(), f".{name}.lock"))


def move(name: str, number: int) -> Moved:
    """Point the profile at existing generation `number` (the caller holds `lock(name)`)."""
    if not os.path.lexists(link_path(name, number)):
        raise LatticeError(f"profile {name} has no generation {number}")
    path = target(name, number)
    if not os.path.isdir(path):
        raise LatticeError(f"generation {number} of profile {name} points at a missing store path {path}")
    if current_generation(name) == number:
        return Moved(number, False, path)
    replace_link(os.path.join(profiles_root(), name), link_name(name, number))
    return Moved(number, True, path)


def switch_generation(number: int, name: str | None = None) -> Moved:
    """Move the profile to an existing generation: the link only, nothing is built."""
    name = resolve_name(name)
    with lock(name):
        return move(name, number)


def rollback(name: str | None = None) -> Moved:
    """Move the profile to the newest existing generation below the current one."""
    name = resolve_name(name)
    with lock(name):
        current = current_generation(name)
        if current is None:
            raise LatticeError(f"profile {name} has no generations; `lattice switch` creates one")
        earlier = [n for n in numbers(name) if n < current]
        if not earlier:
            raise LatticeError(f"profile {name} has no generation before {current} to roll back to")
        return move(name, earlier[-1])
