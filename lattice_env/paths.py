"""Where Lattice keeps things. LATTICE_HOME / LATTICE_CONFIG_HOME override platformdirs so tests (and
users with unusual setups) never touch the real home directory."""
from __future__ import annotations

import os
from pathlib import Path

APP = "lattice"
PROJECT_FILE = "lattice.yaml"
LOCAL_FILE = "lattice.local.yaml"


def data_dir() -> Path:
    """Root of the store, profiles and state (`~/.local/share/lattice` by default)."""
    override = os.environ.get("LATTICE_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs  # deferred: hot commands that never need it stay fast

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    """Directory of the global configuration (`~/.config/lattice` by default)."""
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
    base = (base or Path.cwd()).absolute()
    try:
        return str(path.absolute().relative_to(base))
    except ValueError:
        return str(path)
