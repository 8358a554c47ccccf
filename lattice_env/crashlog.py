"""What happens to a bug: one line on stderr pointing to a log with the traceback (shown directly with
`--debug`). User errors never come here; they are LatticeError and printed by `cli.main`.

The log is `<data dir>/crash.log`, private to the user (argv may hold prompt text) and never written
through a symlink. There is no fallback to a shared directory (a predictable `$TMPDIR/crash.log` is a
name anyone on the machine can plant a symlink at): when the data dir cannot take the log, the
traceback goes to stderr instead."""
from __future__ import annotations

import datetime
import os
import platform
import traceback

from . import __version__


def write_crash_log(exc: BaseException, argv: list[str]) -> str | None:
    """Append the traceback to `<data dir>/crash.log`; its path, or None when it cannot be written."""
    from . import paths
    from .errors import LatticeError
    from .fsutil import append_private

    text = (
        f"### {datetime.datetime.now().isoformat(timespec='seconds')}\n"
        f"lattice {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
        f"argv: {argv!r}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        + "\n"
    )
    try:
        directory = paths.data_root()
        paths.make_dirs(directory)
        log = os.path.join(directory, "crash.log")
        append_private(log, text)
        return log
    except (OSError, LatticeError):
        return None


def report_bug(exc: BaseException, argv: list[str], debug: bool) -> int:
    import click

    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if debug:
        click.echo(trace, err=True, nl=False)
    log = write_crash_log(exc, argv)
    message = " ".join(str(exc).split())[:200]
    if log:
        where = f"Details in {log}" + ("" if debug else "; rerun with --debug to see the traceback")
    else:
        where = "The crash log could not be written" + ("" if debug else "; the traceback follows")
    click.echo(f"lattice: internal error ({type(exc).__name__}: {message}); this is a bug. {where}", err=True)
    if not log and not debug:
        click.echo(trace, err=True, nl=False)
    return 3
