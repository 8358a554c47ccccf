"""The `lattice` console script. The hottest commands — `print-env` (run by direnv and shell rc files
on every prompt), `shell -c CMD` (benchmarked against `bash -c true`), and `rollback`, `generations`,
`switch --generation N` (benchmarked against `nix-env --switch-generation`) — are dispatched here without
importing click when their arguments are of the plain forms below; anything else (help, other flags,
repeated options, global options) goes to the full click CLI, which gives the same results."""
from __future__ import annotations

import sys

_SHELLS = ("bash", "zsh", "fish")


def _options(rest: list[str], takes: dict[str, str], flags: tuple[str, ...] = ()) -> dict[str, str] | None:
    """`--name VALUE` / `--name=VALUE` pairs for the names in `takes`, and the bare `flags` (value "1");
    None for anything else."""
    found: dict[str, str] = {}
    i = 0
    while i < len(rest):
        token = rest[i]
        if token in flags and token not in found:
            found[token] = "1"
            i += 1
            continue
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if name not in takes or takes[name] in found:
            return None
        if not eq:
            if i + 1 >= len(rest):
                return None
            value = rest[i + 1]
            i += 1
        found[takes[name]] = value
        i += 1
    return found


def fast(args: list[str]) -> int | None:
    """Run a hot command without click; None when the arguments need the full CLI."""
    if not args:
        return None
    if args[0] in ("rollback", "generations", "switch"):
        return _profile_command(args[0], args[1:])
    if args[0] not in ("print-env", "shell"):
        return None
    if args[0] == "print-env":
        opts = _options(args[1:], {"--profile": "profile", "--shell": "shell"})
        if opts is None or opts.get("shell", "bash") not in _SHELLS:
            return None
        from .activation import print_env

        sys.stdout.buffer.write(print_env(opts.get("profile"), opts.get("shell", "bash"))
                                .encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        return 0
    opts = _options(args[1:], {"--profile": "profile", "-c": "command"})
    if opts is None or "command" not in opts:
        return None  # an interactive shell is not timed: the full CLI starts it
    from .shell import enter

    enter(opts.get("profile"), opts["command"])
    return 0  # not reached: enter() execs the shell


def _profile_command(command: str, rest: list[str]) -> int | None:
    takes = {"--profile": "profile", "--generation": "generation"} if command == "switch" else {"--profile": "profile"}
    opts = _options(rest, takes, flags=("--json",))
    if opts is None:
        return None
    from . import profile_commands

    profile, as_json = opts.get("profile"), "--json" in opts
    if command == "switch":
        number = opts.get("generation", "")
        if not number.isdigit():  # a build, or a bad number: the full CLI builds or says what is wrong
            return None
        profile_commands.switch_generation(profile, int(number), as_json)
    else:
        getattr(profile_commands, command)(profile, as_json)
    return 0


def main() -> int:
    args = sys.argv[1:]
    try:
        from .errors import LatticeError

        try:
            code = fast(args)
        except LatticeError as exc:
            print(f"lattice: error: {exc}", file=sys.stderr)
            return exc.exit_code
        if code is not None:
            return code
    except Exception as exc:  # a bug on the fast path: reported like any other
        from .crashlog import report_bug

        return report_bug(exc, args, debug=False)
    from .cli import main as full

    return full(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
