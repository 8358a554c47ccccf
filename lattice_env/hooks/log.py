"""`<data dir>/hooks.log`: one JSON line per hook run (and per custom command run) — event, action,
condition and whether it held, result, detail, duration — appended with fsutil.append_private (0600,
never through a link, one write per line so concurrent processes do not interleave), and read back by
`lattice hooks log`. A line that cannot be read (a torn or foreign line) is skipped, not fatal."""
from __future__ import annotations

import json
import os

from ..errors import LatticeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Mapping

LOG = "hooks.log"
READ_LIMIT = 8 << 20  # the tail of a log read back: enough for tens of thousands of runs


def log_path() -> str:
    from ..paths import data_root

    return os.path.join(data_root(), LOG)


def record(entry: Mapping[str, Any]) -> str | None:
    """Append one run; the reason it could not be written, or None (a hook's log never fails the hook)."""
    from ..fsutil import append_private
    from ..paths import data_root, make_dirs

    try:
        directory = data_root()
        make_dirs(directory)
        append_private(os.path.join(directory, LOG), json.dumps(dict(entry), sort_keys=True) + "\n")
    except (OSError, LatticeError) as exc:
        return f"cannot write {LOG}: {exc}"
    return None


def read(limit: int | None = None) -> list[dict[str, Any]]:
    """The runs recorded, oldest first (the last `limit` of them)."""
    path = log_path()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > READ_LIMIT:
                f.seek(size - READ_LIMIT)
                f.readline()  # the first line read may be cut
            data = f.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LatticeError(f"cannot read {path}: {exc.strerror}") from None
    rows = []
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows[-limit:] if limit else rows
