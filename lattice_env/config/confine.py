"""Paths a configuration names, kept where they may point. A lattice.yaml may come from anyone (workflows
are shared), so a path it names reaches only its own place: `defaults.agents_dir` the project directory,
an agent's `path:` agents_dir, a `file:` plugin the project or a directory beside it. Refused: absolute
paths, `~`, `..` above that place, and any symlink on the way that leads out of it — judged on the
resolved path, so a path that does not exist yet is judged too."""
from __future__ import annotations

import os
from pathlib import Path


class PathError(ValueError):
    """A path that is not acceptable; the message is one line, ready for a diagnostic."""


def confine(base: Path, relpath: str, name: str, beside: bool = False) -> Path:
    """`base / relpath`, refusing anything that would leave `base` (`name` says what base is, in
    messages). `beside=True` also admits the directories beside `base` (`../my-plugin`), never their
    parent itself: `..` may climb one level, and the result must lie inside one of them."""
    if "\0" in relpath:  # no file name holds one; the OS would refuse the path with a ValueError
        raise PathError(f"{relpath!r} contains a NUL character")
    candidate = Path(relpath)
    if candidate.is_absolute() or relpath.startswith("~"):
        raise PathError(f"'{relpath}' must be relative to {name}, not absolute")
    real_base = Path(os.path.realpath(base))
    if not beside:
        if ".." in candidate.parts:
            raise PathError(f"'{relpath}' leaves {name} ('..' is not allowed)")
        limit, where = real_base, name
    else:
        if _climb(candidate.parts) > 1:
            raise PathError(f"'{relpath}' climbs above the directory that holds {name} (only {name} "
                            f"and directories beside it, like ../my-plugin)")
        limit, where = real_base.parent, f"the directory that holds {name}"
    full = base / candidate
    real = Path(os.path.realpath(full))
    inside = limit in real.parents or (real == limit and not beside)
    if not inside:
        raise PathError(f"'{relpath}' is a symlink that leads out of {where} (to {real})"
                        if real != limit else f"'{relpath}' is the directory that holds {name}, not "
                                              f"a directory beside it")
    return full


def stat_of(path: Path, shown: str) -> os.stat_result | None:
    """`os.stat(path)`, or None when nothing is there; PathError for any other failure (a name too long,
    a directory on the way that cannot be searched, a symlink loop)."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise PathError(f"{shown} cannot be read: {exc.strerror or exc}") from None


def _climb(parts: tuple[str, ...]) -> int:
    """How many levels above its start a relative path goes at most (`a/../../b` → 1)."""
    depth = lowest = 0
    for part in parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        lowest = min(lowest, depth)
    return -lowest
