"""What commands print: lines of text, or the same result as JSON with `--json` — the one output helper
every command uses, click's and the click-free hot commands alike, so both forms print the same bytes."""
from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable


def emit(text: str = "", err: bool = False) -> None:
    """One line on stdout (or stderr)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def emit_json(data: Any) -> None:
    import json

    emit(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def show(data: Any, as_json: bool, text: Callable[[], Iterable[str]] | Iterable[str] = ()) -> None:
    """A command's result: `data` as JSON with --json, else the lines of `text` (a callable is only
    called for text output)."""
    if as_json:
        emit_json(data)
        return
    for line in text() if callable(text) else text:
        emit(line)


def diagnostic_json(d: Any) -> dict[str, Any]:
    """A config.diagnostics.Diagnostic as --json prints it."""
    return {"file": d.file, "line": d.line, "col": d.col, "key": d.key, "message": d.message,
            "severity": d.severity, "text": str(d)}


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for --json (before a `--`, after which arguments are not ours)."""
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def error_json(message: str, exit_code: int, diagnostics: Iterable[Any] = ()) -> None:
    """A failed command's result under --json: `{"error": …, "exit_code": …}` (with the diagnostics of
    an invalid configuration), so that --json always prints JSON."""
    data: dict[str, Any] = {"error": message, "exit_code": exit_code}
    listed = [diagnostic_json(d) for d in diagnostics]
    if listed:
        data["diagnostics"] = listed
    emit_json(data)


def warn(lines: Iterable[Any]) -> None:
    """Warnings (diagnostics or strings), one per line on stderr."""
    for line in lines:
        emit(str(line), err=True)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def size(n: int) -> str:
    """Exact bytes, plus a human-readable figure when it helps."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} bytes" if n < 1024 else f"{n} bytes ({value:.1f} {unit})"
