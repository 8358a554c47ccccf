"""The `lattice` command's entry point (scripts/lattice, `python -m lattice_env`). The hot commands'
plain forms run without click (fast.py); everything else goes through the click application. Errors
are turned into output here, once, alike on both paths (`failed`): LatticeError → its message (a
ConfigError's every diagnostic) and exit code, and with `--json` the same as JSON on stdout; click usage
errors → 2; an OSError that is an ordinary fault (a full disk, a read-only data directory:
errors.FilesystemError) → one line naming the file, exit 1; ^C → 130; anything else is a bug → one line
pointing at the crash log (the traceback with `--debug`).

fsutil and flock already raise FilesystemError for the writes and locks they make, naming the file
meant rather than a temp file and cleaning up first; the handler here is the last line of defence for
the direct os calls (gc's renames, optimise's links, generation links' unlinks), whose OSError names
its own file."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from .fast import fast

        code = fast(args)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        return failed(exc, args)
    if code is not None:
        return code
    return run_click(args)


def run_click(args: list[str]) -> int:
    """The click application alone, without the fast path (tests compare the two forms)."""
    import click

    # they register their commands
    from . import (  # noqa: F401
        build,
        cache,
        doctor,
        hooks,
        launch,
        plugins,
        profiles,
        project,
        routing,
        share,
        status,
        store,
        trust,
        vcs,
    )
    from .app import App, cli
    from .output import emit, error_json, wants_json

    try:
        cli.main(args=args, prog_name="lattice", standalone_mode=False, obj=App(args))
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:  # usage errors: exit 2 with click's message
        if wants_json(args):
            error_json(exc.format_message(), exc.exit_code)
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        emit("Aborted.", err=True)
        return 130
    except (Exception, KeyboardInterrupt, SystemExit) as exc:
        return failed(exc, args)
    return 0


def failed(exc: BaseException, args: list[str]) -> int:
    """What a command that raised `exc` prints, and its exit code."""
    from ..errors import ConfigError, FilesystemError, LatticeError
    from .output import emit, error_json, plural, wants_json

    if isinstance(exc, OSError):
        fault = FilesystemError.of(exc)
        if fault is not None:
            exc = fault
    if isinstance(exc, ConfigError):
        errors = plural(sum(1 for d in exc.diagnostics if d.severity == "error"), "error")
        if wants_json(args):
            error_json(f"the configuration is not valid ({errors})", exc.exit_code, exc.diagnostics)
        for d in exc.diagnostics:
            emit(str(d), err=True)
        emit(errors, err=True)
        return exc.exit_code
    if isinstance(exc, LatticeError):
        if wants_json(args):
            error_json(str(exc), exc.exit_code)
        emit(f"lattice: error: {exc}", err=True)
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, BrokenPipeError):
        return 141
    from ..crashlog import report_bug  # a bug: keep the traceback, in the log or with --debug

    return report_bug(exc, args, debug="--debug" in args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
