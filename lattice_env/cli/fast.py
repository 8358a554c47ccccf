"""The hot commands without click. `print-env` (run by direnv and shell rc files on every prompt),
`shell -c CMD`, `rollback`, `generations` and `switch --generation N` in their plain forms are parsed
here by hand and run through the same bodies the click commands call (below, and launch/); any other
form (help, other flags, repeated options, global options) is left to the click CLI, which gives the
same results. docs/architecture.md ("Hot paths") says what these may import.

A no-op `build` and `status` in a project come here too (editors, hooks and prompts run them): through
click, whose import brings inspect, uuid and platform, they run half as long again. tests/test_import_rule.py
keeps the table of what each may not load."""
from __future__ import annotations

import sys
import time

from ..profiles import links
from .output import emit, show, warn

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


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
    if args[0] in ("build", "status"):
        opts = _options(args[1:], {"--profile": "profile"} if args[0] == "status" else {},
                        flags=("--json",) if args[0] == "status" else ("--offline", "--json"))
        if opts is None:  # `status agents`, --help, …: the full CLI
            return None
        if args[0] == "build":
            build("--offline" in opts, "--json" in opts)
        else:
            status(opts.get("profile"), "--json" in opts)
        return 0
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


def build(offline: bool, as_json: bool, file: Path | None = None, directory: Path | None = None,
          trust: bool = False, action: str = "`lattice build`") -> None:
    """`lattice build` (and `plugins sync`): the workflow's environment in the store, its path printed last."""
    from ..build.builder import build as build_env
    from ..config.load import load_workflow

    loaded = load_workflow(file=file, directory=directory)
    warn(loaded.warnings)
    result = build_env(loaded, offline=offline, action=action, trust=trust)
    if result.relocked and not as_json:
        emit("lattice: lattice.lock updated", err=True)
    show({"path": str(result.path), "built": result.built, "substituted": list(result.substituted),
          "relocked": result.relocked}, as_json, [str(result.path)])


def status(profile: str | None, as_json: bool, file: Path | None = None, directory: Path | None = None) -> None:
    """`lattice status`: the profile's generation, its drift from lattice.yaml, the workflow's agents."""
    from ..status import status as report

    data = report(profile, file=file, directory=directory)
    show(data, as_json, lambda: _status_lines(data))


def _status_lines(data: dict[str, Any]) -> list[str]:
    from ..status import format_provider, format_vcs

    info = data["profile"]
    active = " (active)" if info["active"] else ""
    if info["generation"] is None:
        lines = [f"profile {info['profile']}{active}: no generations yet; `lattice switch` creates one"]
    else:
        what = f"{info['workflow'] or '?'} {info['version'] or ''}".rstrip()
        lines = [f"profile {info['profile']}{active}: generation {info['generation']}, {what}",
                 f"  {info['store_path']}"]
        if info["problem"] is not None:
            lines.append(f"  {info['problem']['state'].upper()}: {info['problem']['message']}")
    if info["drift"] is not None and (info["generation"] is not None or info["drift"]["state"] == "lock-invalid"):
        lines.append(f"  {info['drift']['message']}")
    if data["providers"]:
        lines.append("providers: " + ", ".join(format_provider(p) for p in data["providers"]))
    if data.get("vcs") is not None:
        lines.append(format_vcs(data["vcs"]))
    if data["agents"] is not None:
        lines += ["", *agent_lines(data["agents"])]
    return lines


def agent_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The agents part of `status` (and `status agents`)."""
    lines = []
    for row in rows:
        lines.append(f"{row['name']}  {' '.join(row['triggers'])}")
        lines.append(f"  routing: {row['routing']['summary']} → {', '.join(row['routing']['candidates'])}"
                     + ("  (defaults)" if row["routing"]["inherited"] else ""))
        if row["unavailable"]:
            lines.append("  unavailable on this machine: " + ", ".join(
                f"{ref} (not in providers.{ref.partition('/')[0]}.models)" for ref in row["unavailable"]))
        lines.append(f"  prompt:  {row['prompt_file']}")
        if row["description"]:
            lines.append(f"  {row['description']}")
    return lines
