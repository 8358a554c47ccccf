"""Where Lattice keeps things. LATTICE_HOME / LATTICE_CONFIG_HOME override platformdirs so tests (and
users with unusual setups) never touch the real home directory."""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

APP = "lattice"
PROJECT_FILE = "lattice.yaml"
LOCAL_FILE = "lattice.local.yaml"


def data_root() -> str:
    """Root of the store, profiles and state (`~/.local/share/lattice` by default). A str: the hot
    commands import neither pathlib nor platformdirs (docs/architecture.md, "Hot paths")."""
    override = os.environ.get("LATTICE_HOME")
    if override:
        return os.path.expanduser(override)
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        # platformdirs' Unix rule, spelled out: importing platformdirs costs more than a rollback.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return os.path.join(base, APP)
    import platformdirs

    return platformdirs.user_data_dir(APP, appauthor=False)


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
