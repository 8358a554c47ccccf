"""The hot commands without click. `print-env` (run by direnv and shell rc files on every prompt),
`shell -c CMD`, `rollback`, `generations` and `switch --generation N` in their plain forms are parsed
here by hand and run through the same bodies the click commands call (below, and launch/); any other
form (help, other flags, repeated options, global options) is left to the click CLI, which gives the
same results. docs/architecture.md ("Hot paths") says what these may import."""
from __future__ import annotations

import sys
import time

from ..profiles import links
from .output import emit, show


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
    if args[0] == "print-env":
        from ..launch.activation import SHELLS

        opts = _options(args[1:], {"--profile": "profile", "--shell": "shell"})
        if opts is None or opts.get("shell", "bash") not in SHELLS:
            return None
        print_env(opts.get("profile"), opts.get("shell", "bash"))
        return 0
    if args[0] == "shell":
        opts = _options(args[1:], {"--profile": "profile", "-c": "command"})
        if opts is None or "command" not in opts:
            return None  # an interactive shell is not timed: the full CLI starts it
        from ..launch.shell import enter

        enter(opts.get("profile"), opts["command"])  # execs the shell: does not return
    return None


def _profile_command(command: str, rest: list[str]) -> int | None:
    takes = {"--profile": "profile", "--generation": "generation"} if command == "switch" else {"--profile": "profile"}
    opts = _options(rest, takes, flags=("--json",))
    if opts is None:
        return None
    profile, as_json = opts.get("profile"), "--json" in opts
    if command == "switch":
        number = opts.get("generation", "")
        if not number.isdigit():  # a build, or a bad number: the full CLI builds or says what is wrong
            return None
        switch_generation(profile, int(number), as_json)
    elif command == "rollback":
        rollback(profile, as_json)
    else:
        generations(profile, as_json)
    return 0


def print_env(profile: str | None, shell: str) -> None:
    from ..launch.activation import print_env as exports

    sys.stdout.buffer.write(exports(profile, shell).encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


def report_switch(name: str, moved: links.Moved, as_json: bool) -> None:
    show({"profile": name, "generation": moved.generation, "created": moved.created,
          "store_path": moved.store_path}, as_json,
         [f"switched profile {name} to generation {moved.generation} ({moved.store_path})" if moved.created
          else f"profile {name} is already at generation {moved.generation}"])


def switch_generation(profile: str | None, number: int, as_json: bool) -> None:
    name = links.resolve_name(profile)
    report_switch(name, links.switch_generation(number, name), as_json)


def rollback(profile: str | None, as_json: bool) -> None:
    name = links.resolve_name(profile)
    moved = links.rollback(name)
    show({"profile": name, "generation": moved.generation, "store_path": moved.store_path}, as_json,
         [f"rolled profile {name} back to generation {moved.generation} ({moved.store_path})"])


def generations(profile: str | None, as_json: bool) -> None:
    from ..profiles.generations import generations as rows_of

    rows = rows_of(profile)
    if not rows and not as_json:
        emit(f"profile {links.resolve_name(profile)} has no generations; `lattice switch` creates one", err=True)

    def text() -> list[str]:
        return [f"{row.number:>4} {'*' if row.current else ' '} "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(row.created))}  "
                f"{(row.workflow or '?') + (' ' + row.version if row.version else '')}  {row.store_path}"
                for row in rows]

    show([row.as_json() for row in rows], as_json, text)
