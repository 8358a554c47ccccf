"""`lattice run`: launch the active generation's opencode, replacing the lattice process.

    lattice run                      opencode's TUI in the environment
    lattice run /architect MSG…      `opencode run --agent architect --model <routed> MSG…`
    lattice run /ship [ARGS…]        `opencode run --command ship ARGS…`: a custom command (commands.ship),
                                     its action run once by the bridge, no model called
    lattice run -- ARGS…             `opencode ARGS…`, passed through untouched

The workflow comes from the generation itself (its store manifest holds the resolved configuration), not
from the lattice.yaml in the working directory: what runs is what was switched to, as with a Nix profile.
The model is the routing decision (routing/decide.py) for the agent's next call, committed: each launch
takes the next slot of a pattern, as the bridge inside opencode will for each turn. Like `lattice
shell`, the temporary gc root is named by our pid, which exec keeps, so it lives as long as opencode.
"""
from __future__ import annotations

import os
import sys
from typing import NamedTuple, NoReturn, Sequence

from ..errors import LatticeError, UsageError


class OpencodeInvocation(NamedTuple):
    """How `lattice run` starts opencode: exec `argv`; `agent` and `model` when a trigger chose them."""

    argv: list[str]
    agent: str | None
    model: str | None


def plan_launch(env_path: str, args: Sequence[str], passthrough: bool,
                environ: dict[str, str]) -> OpencodeInvocation:
    opencode = os.path.join(env_path, "bin", "opencode")
    if passthrough or not args:
        return OpencodeInvocation([opencode, *args], None, None)
    if not args[0].startswith("/"):
        raise UsageError(f"expected a trigger such as /architect first, not {args[0]!r} "
                         f"(use `lattice run -- ARGS…` to pass arguments to opencode)")
    from ..routing.decide import route
    from ..routing.table import table_for
    from ..store.manifest import environment_config

    config = environment_config(env_path)
    table = table_for(config)
    commands = config.get("commands") if isinstance(config.get("commands"), dict) else {}
    command = commands.get(args[0][1:])
    if args[0] not in table.triggers and isinstance(command, dict) and command.get("action"):
        words = " ".join(args[1:]).split(" ") if args[1:] else []
        return OpencodeInvocation([opencode, "run", "--command", args[0][1:], *words], None, None)
    agent = table.trigger_agent(args[0])
    if not args[1:]:
        raise UsageError(f"{args[0]} needs a message: lattice run {args[0]} \"what to do\"")
    if os.path.isfile(os.path.join(env_path, "bridge", "index.mjs")):
        # The bridge inside opencode routes (and counts) every call of the agent, fallbacks after a 429
        # included; here only a dry run, so that "no model is available" is said before opencode starts.
        route(table, agent, " ".join(args[1:]), commit=False, environ=environ)
        model = f"lattice/{agent}"
    else:
        # The launch is a call: it takes the agent's next slot (pattern position, burst count, …).
        model = route(table, agent, " ".join(args[1:]), commit=True, environ=environ).model
    # `opencode run` joins its words with spaces but wraps a word that contains a space in quotes, which
    # would reach the model; words split at spaces rejoin to exactly the message (runs of spaces and
    # newlines included).
    words = " ".join(args[1:]).split(" ")
    return OpencodeInvocation([opencode, "run", "--agent", agent, "--model", model, *words], agent, model)


def _check_contents(env_path: str) -> None:
    """Beyond the seal env_root checked: the workflow path's own files (the wrapper exec'd next, the
    config and bridge) against its manifest's hashes (~1 ms: a few dozen small files), so even a change
    made to look sealed is not run."""
    from ..store.verify import verify

    problems = [p for p in verify([env_path]) if p.name == os.path.basename(env_path)]
    if problems:
        name = os.path.basename(env_path)
        raise LatticeError(f"store path {name} is damaged ({problems[0].kind}: {problems[0].detail}); refusing "
                           f"to launch it: `lattice store repair {name}` rebuilds it")


def run(profile: str | None, args: Sequence[str], passthrough: bool = False, trust: bool = False) -> NoReturn:
    from ..trust.state import check_environment
    from .activation import env_root

    env_path = env_root(profile, references=True)
    if trust:
        from ..trust.check import trust_environment

        trust_environment(env_path)
    check_environment(env_path, "`lattice run`")
    _check_contents(env_path)
    environ = dict(os.environ)
    # The bridge asks this interpreter (which has lattice_env) about each call: set at run time, so the
    # store holds no host path.
    environ.setdefault("LATTICE_PYTHON", sys.executable)
    launch = plan_launch(env_path, args, passthrough, environ)
    from ..store.roots import temp_root

    with temp_root(env_path):
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execve(launch.argv[0], launch.argv, environ)
        except OSError as exc:
            raise LatticeError(f"cannot start {launch.argv[0]}: {exc.strerror}") from None
    raise AssertionError("unreachable: execve returned")
