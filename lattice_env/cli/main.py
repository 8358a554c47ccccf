"""The `lattice` command's entry point (scripts/lattice, `python -m lattice_env`). The hot commands'
plain forms run without click (fast.py); everything else goes through the click application. Errors
are turned into output here, once: LatticeError → its message and exit code; click usage errors → 2;
anything else is a bug → one line pointing at the crash log (the traceback with `--debug`)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from ..errors import LatticeError
        from .fast import fast
        from .output import emit

        try:
            code = fast(args)
        except LatticeError as exc:
            emit(f"lattice: error: {exc}", err=True)
            return exc.exit_code
        if code is not None:
            return code
    except Exception as exc:  # a bug on the fast path: reported like any other
        from ..crashlog import report_bug

        return report_bug(exc, args, debug=False)
    return run_click(args)


def run_click(args: list[str]) -> int:
    """The click application alone, without the fast path (tests compare the two forms)."""
    import click

    from ..errors import ConfigError, LatticeError
    from . import build, cache, doctor, launch, plugins, profiles, project, routing, status, store  # noqa: F401 — they register their commands
    from .app import App, cli
    from .output import emit, plural

    try:
        cli.main(args=args, prog_name="lattice", standalone_mode=False, obj=App(args))
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:  # usage errors: exit 2 with click's message
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        emit("Aborted.", err=True)
        return 130
    except ConfigError as exc:
        for d in exc.diagnostics:
            emit(str(d), err=True)
        emit(plural(sum(1 for d in exc.diagnostics if d.severity == "error"), "error"), err=True)
        return exc.exit_code
    except LatticeError as exc:
        emit(f"lattice: error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # a bug: keep the traceback, in the log or with --debug
        from ..crashlog import report_bug

        return report_bug(exc, args, debug="--debug" in args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
