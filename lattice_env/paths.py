"""Where Lattice keeps things. LATTICE_HOME / LATTICE_CONFIG_HOME override platformdirs so tests (and
users with unusual setups) never touch the real home directory."""
from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

APP = "lattice"
PROJECT_FILE = "lattice.yaml"
LOCAL_FILE = "lattice.local.yaml"


def data_root() -> str:
    """Root of the store, profiles and state (`~/.local/share/lattice` by default). A str: the hot
    commands import neither pathlib nor platformdirs (docs/architecture.md, "Hot paths"). A directory
    that cannot be one is refused here, once for every command (see _usable)."""
    override = os.environ.get("LATTICE_HOME")
    if override:
        return _usable(os.path.expanduser(override))
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        # platformdirs' Unix rule, spelled out: importing platformdirs costs more than a rollback.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return _usable(os.path.join(base, APP))
    import platformdirs

    return _usable(platformdirs.user_data_dir(APP, appauthor=False))


def _usable(root: str) -> str:
    """`root`, or a LatticeError when it, or a directory above it, is something other than a directory
    (LATTICE_HOME naming a file): one stat, where every command asks for the data directory."""
    try:
        if stat.S_ISDIR(os.stat(root).st_mode):
            return root
        blocker = root
    except FileNotFoundError:
        return root  # made on first use
    except NotADirectoryError:  # something above it is a file: name the nearest one that exists
        blocker = root
        while not os.path.lexists(blocker):
            blocker = os.path.dirname(blocker)
    except OSError:
        return root  # e.g. no permission: the command that uses it says so
    from .errors import LatticeError

    what = "is not a directory" if blocker == root else f"cannot be made: {blocker} is not a directory"
    raise LatticeError(f"the data directory {root} {what}; set LATTICE_HOME to a directory")


def store_root() -> str:
    """The store: `<data>/store`."""
    return os.path.join(data_root(), "store")


def config_dir() -> Path:
    """Directory of the global configuration (`~/.config/lattice` by default)."""
    from pathlib import Path

    override = os.environ.get("LATTICE_CONFIG_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def global_config_file() -> Path:
    return config_dir() / PROJECT_FILE


def find_project_file(start: Path) -> Path | None:
    """The nearest `lattice.yaml` in `start` or one of its ancestors (like git finds `.git`)."""
    start = start.absolute()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def display(path: Path, base: Path | None = None) -> str:
    """A path as users see it in messages: relative to `base` (default: cwd) when inside it."""
    from pathlib import Path

    base = (base or Path.cwd()).absolute()
    try:
        return str(path.absolute().relative_to(base))
    except ValueError:
        return str(path)
