"""What happens to a bug: one line on stderr pointing to a log with the traceback (shown directly with
`--debug`). User errors never come here; they are LatticeError and printed by `cli.main`."""
from __future__ import annotations

import datetime
import os
import platform
import tempfile
import traceback
from pathlib import Path

from . import __version__


def write_crash_log(exc: BaseException, argv: list[str]) -> Path:
    """Append the traceback to `<data dir>/crash.log` (or the temp dir if that is unwritable)."""
    from . import paths

    text = (
        f"### {datetime.datetime.now().isoformat(timespec='seconds')}\n"
        f"lattice {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
        f"argv: {argv!r}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        + "\n"
    )
    try:
        directories = [Path(paths.data_root()), Path(tempfile.gettempdir())]
    except Exception:  # an unusable data directory must not hide the bug being reported
        directories = [Path(tempfile.gettempdir())]
    for directory in directories:
        log = directory / "crash.log"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as f:
                f.write(text)
            return log
        except OSError:
            continue
    return Path(os.devnull)


def report_bug(exc: BaseException, argv: list[str], debug: bool) -> int:
    import click

    if debug:
        click.echo("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), err=True, nl=False)
    log = write_crash_log(exc, argv)
    message = " ".join(str(exc).split())[:200]
    click.echo(f"lattice: internal error ({type(exc).__name__}: {message}); this is a bug. "
               f"Details in {log}" + ("" if debug else "; rerun with --debug to see the traceback"), err=True)
    return 3
