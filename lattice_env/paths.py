"""Where Lattice keeps things. LATTICE_HOME / LATTICE_CONFIG_HOME override platformdirs so tests (and
users with unusual setups) never touch the real home directory."""
from __future__ import annotations

import os
import stat
import sys

from .errors import LatticeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

APP = "lattice"
PROJECT_FILE = "lattice.yaml"
LOCAL_FILE = "lattice.local.yaml"


def data_root() -> str:
    """Root of the store, profiles and state (`~/.local/share/lattice` by default). A str: the hot
    commands import neither pathlib nor platformdirs (docs/architecture.md, "Hot paths"). A directory
    whose path opencode could not read back is refused here, once for every command (see _checked)."""
    override = os.environ.get("LATTICE_HOME")
    if override:
        return _checked(os.path.expanduser(override))
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        # platformdirs' Unix rule, spelled out: importing platformdirs costs more than a rollback.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return _checked(os.path.join(base, APP))
    import platformdirs

    return _checked(platformdirs.user_data_dir(APP, appauthor=False))


# Store paths reach opencode through {env:…} references, which opencode pastes into its JSON unescaped:
# a quote or backslash there breaks the JSON, a control character (a newline) is not allowed in a JSON
# string at all, and undecodable bytes are not UTF-8.
_UNSAFE = frozenset('"\\' + "".join(map(chr, range(32))))


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
    what = "is not a directory" if blocker == root else f"cannot be made: {blocker} is not a directory"
    raise LatticeError(f"the data directory {root} {what}; set LATTICE_HOME to a directory")


def _checked(root: str) -> str:
    """`root` when it can be the data directory (_plain, _usable), else a one-line LatticeError."""
    return _usable(_plain(root))


def _plain(root: str) -> str:
    """`root`, or a LatticeError when its absolute path holds a character opencode cannot read back."""
    full = root if root.startswith("/") else os.path.abspath(root)
    if _UNSAFE.isdisjoint(full) and (full.isascii() or _encodes(full)):
        return root
    bad = next((repr(c) for c in full if c in _UNSAFE), "bytes that are not UTF-8")
    raise LatticeError(f"the data directory {full!r} contains {bad}, which opencode cannot read in its "
                       f"configuration; set LATTICE_HOME to a plain path")


def _encodes(text: str) -> bool:
    """False for text holding undecodable bytes (surrogate escapes), which cannot be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def make_dirs(path: str) -> None:
    """`os.makedirs(path, exist_ok=True)`, except that every directory it creates at or below the data
    directory is private (0700): store paths are world-readable by mode (0444/0555, as in Nix), so the
    directories above them are what keeps a user's environments, state and logs to that user."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        make_dirs(parent)
    try:
        os.mkdir(path, dir_mode(path))
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def dir_mode(path: str) -> int:
    """The mode a new directory at `path` gets: 0700 at or below the data directory, else the umask's."""
    root = data_root().rstrip(os.sep) or os.sep
    return 0o700 if path == root or path.startswith(root + os.sep) else 0o777


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
    """The nearest `lattice.yaml` in `start` or one of its ancestors (like git finds `.git`). One that
    is there but is no file stops the search with an error: a parent's is never used instead."""
    start = start.absolute()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if is_config_file(candidate):
            return candidate
    return None


def is_config_file(path: Path) -> bool:
    """True for a regular file (or a symlink to one), False when nothing is at `path`; a LatticeError
    naming anything else there (a directory, a FIFO, a broken symlink), which is never skipped."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not os.path.islink(path):
            return False
        raise LatticeError(f"{display(path)}: is a broken symlink (to {os.readlink(path)}), not a file") from None
    except OSError as exc:  # a symlink loop, a parent that is a file, no permission
        raise LatticeError(f"{display(path)}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return True
    raise LatticeError(f"{display(path)}: is {not_regular(mode)}, not a file")


def not_regular(mode: int) -> str:
    """What a file of `mode` that is not a regular file is, for messages ("a directory", "a FIFO")."""
    import stat

    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def display(path: Path, base: Path | None = None) -> str:
    """A path as users see it in messages: relative to `base` (default: cwd) when inside it."""
    from pathlib import Path

    base = (base or Path.cwd()).absolute()
    try:
        return str(path.absolute().relative_to(base))
    except ValueError:
        return str(path)
