"""The one family of expected errors. `cli.main` turns each into one line on stderr and an exit code;
anything else is a bug and goes to the crash log (see `crashlog.py`)."""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from .config.diagnostics import Diagnostic



class LatticeError(Exception):
    """A user-facing error: printed as one line, never with a traceback."""

    exit_code = 1


class UsageError(LatticeError):
    """The command line itself is wrong (exit 2, like click's own usage errors)."""

    exit_code = 2


class ConfigError(LatticeError):
    """The configuration is invalid; carries every diagnostic found in one run."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics), key=_diagnostic_order)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def _diagnostic_order(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line, d.col, d.key, d.message)
