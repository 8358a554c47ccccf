"""The one family of expected errors. `cli.main` turns each into one line on stderr and an exit code;
anything else is a bug and goes to the crash log (see `crashlog.py`)."""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    import os
    from typing import NoReturn

    from .config.diagnostics import Diagnostic


class LatticeError(Exception):
    """A user-facing error: printed as one line, never with a traceback."""

    exit_code = 1


class UsageError(LatticeError):
    """The command line itself is wrong (exit 2, like click's own usage errors)."""

    exit_code = 2


class FilesystemError(LatticeError):
    """An ordinary fault of the filesystem — full, over quota, read-only, permission refused — that
    stopped a write: one line naming the file, never a crash report."""

    @classmethod
    def of(cls, exc: OSError, path: str | os.PathLike[str] | None = None,
           doing: str | None = None) -> FilesystemError | None:
        """`exc` as one line — `cannot <doing> <path>: <reason>`, or `<file>: <reason>` with the file
        the OSError names — or None when it is not an ordinary fault: any other errno is a bug and keeps
        its traceback."""
        import errno  # on error paths only

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        reason = exc.strerror or str(exc)
        if path is not None:
            return cls(f"cannot {doing or 'write'} {str(path)}: {reason}")
        name = exc.filename if exc.filename is not None else "a file"
        also = f" (and {exc.filename2})" if exc.filename2 is not None else ""
        return cls(f"{name}{also}: {reason}")

    @classmethod
    def reraise(cls, exc: OSError, path: str | os.PathLike[str] | None = None,
                doing: str | None = None) -> NoReturn:
        """In `except OSError as exc:`, raise `of(exc, path, doing)` for an ordinary fault, else `exc`."""
        fault = cls.of(exc, path, doing)
        if fault is None:
            raise exc
        raise fault from exc


class ConfigError(LatticeError):
    """The configuration is invalid; carries every diagnostic found in one run."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics), key=_diagnostic_order)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def _diagnostic_order(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line, d.col, d.key, d.message)
