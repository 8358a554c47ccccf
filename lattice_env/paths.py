"""Where Lattice keeps things. LATTICE_HOME / LATTICE_CONFIG_HOME override platformdirs so tests (and
users with unusual setups) never touch the real home directory."""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

# pathlib is imported inside the functions that make a Path (annotations are never evaluated here):
# `rollback` runs on data_root() alone, and pathlib's import is a large share of its time.

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


def make_dirs(path: str) -> None:
    """`os.makedirs(path, exist_ok=True)`, except that every directory it creates at or below the data
    directory is private (0700): store paths are world-readable by mode (0444/0555, as in Nix), so the
    directories above them are what keeps a user's environments, state and logs to that user."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        make_dirs(parent)
    root = data_root().rstrip(os.sep) or os.sep
    private = path == root or path.startswith(root + os.sep)
    try:
        os.mkdir(path, 0o700 if private else 0o777)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


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
