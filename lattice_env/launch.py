"""`lattice run`: launch the active generation's opencode, replacing the lattice process.

    lattice run                      opencode's TUI in the environment
    lattice run /architect MSG…      `opencode run --agent architect --model <routed> MSG…`
    lattice run -- ARGS…             `opencode ARGS…`, passed through untouched

The workflow comes from the generation itself (its store manifest holds the resolved configuration), not
from the lattice.yaml in the working directory: what runs is what was switched to, as with a Nix profile.
The model is the routing decision (routing/decide.py) for the agent's next call, committed: each launch
takes the next slot of a pattern, as the bridge inside opencode will for each turn. Like `lattice
shell`, the temporary gc root is named by our pid, which exec keeps, so it lives as long as opencode.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Sequence

from .errors import LatticeError, UsageError


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    agent: str | None
    model: str | None


def environment_config(env_path: Path) -> dict[str, Any]:
    """The resolved lattice.yaml the environment was built from."""
    try:
        manifest = json.loads((env_path / "manifest.json").read_text(encoding="utf-8"))
        return manifest["derivation"]["inputs"]["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise LatticeError(f"{env_path} is not a workflow environment (no configuration in its "
                           f"manifest); run `lattice switch` again") from None


def trigger_agent(config: dict[str, Any], trigger: str) -> str:
    triggers = {t: name for name, a in (config.get("agents") or {}).items() if isinstance(a, dict)
                for t in a.get("triggers") or ()}
    if trigger not in triggers:
        from .schema import did_you_mean

        known = ", ".join(sorted(triggers)) or "none"
        raise UsageError(f"unknown trigger {trigger} (known: {known}){did_you_mean(trigger, list(triggers))}")
    return triggers[trigger]


def plan_launch(env_path: Path, args: Sequence[str], passthrough: bool,
                environ: dict[str, str]) -> Launch:
    opencode = str(env_path / "bin" / "opencode")
    if passthrough or not args:
        return Launch([opencode, *args], None, None)
    if not args[0].startswith("/"):
        raise UsageError(f"expected a trigger such as /architect first, not {args[0]!r} "
                         f"(use `lattice run -- ARGS…` to pass arguments to opencode)")
    config = environment_config(env_path)
    agent = trigger_agent(config, args[0])
    if not args[1:]:
        raise UsageError(f"{args[0]} needs a message: lattice run {args[0]} \"what to do\"")
    from .routing.decide import route

    if (env_path / "bridge" / "index.mjs").is_file():
        # The bridge inside opencode routes (and counts) every call of the agent, fallbacks after a 429
        # included; here only a dry run, so that "no model is available" is said before opencode starts.
        route(config, agent, " ".join(args[1:]), commit=False, environ=environ)
        model = f"lattice/{agent}"
    else:
        # The launch is a call: it takes the agent's next slot (pattern position, burst count, …).
        model = route(config, agent, " ".join(args[1:]), commit=True, environ=environ).model
    # `opencode run` joins its words with spaces but wraps a word that contains a space in quotes, which
    # would reach the model; words split at spaces rejoin to exactly the message (runs of spaces and
    # newlines included).
    words = " ".join(args[1:]).split(" ")
    return Launch([opencode, "run", "--agent", agent, "--model", model, *words], agent, model)


def run(profile: str | None, args: Sequence[str], passthrough: bool = False) -> NoReturn:
    from .activation import profile_env

    env_path = profile_env(profile)
    environ = dict(os.environ)
    # The bridge asks this interpreter (which has lattice_env) about each call: set at run time, so the
    # store holds no host path.
    environ.setdefault("LATTICE_PYTHON", sys.executable)
    launch = plan_launch(env_path, args, passthrough, environ)
    from .gcroots import temp_root

    with temp_root(env_path):
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execve(launch.argv[0], launch.argv, environ)
        except OSError as exc:
            raise LatticeError(f"cannot start {launch.argv[0]}: {exc.strerror}") from None
    raise AssertionError("unreachable: execve returned")
