"""`python -m lattice_env.routing.bridge OP JSON`: the routing calls the opencode bridge makes for each LLM call
(templates/env/bridge/index.mjs.j2). One JSON object in (argv), one JSON line out; errors as
`{"error": "…"}` with exit status 1, so the bridge can show them inside opencode.

    route         {agent, prompt, commit, session}    → the decision and how to reach the provider
    rate-limited  {agent, prompt, model, position,    → a 429: cool `model` down, then the same call's
                   retry_after, session}                 slot decided again (on_unavailable applies)
    usage         {provider, model, input, output}    → tokens reported by the response (no output)

`session` is opencode's session id (the bridge reads it from the headers opencode gives every call):
providers skipped for it are left out, and a committed decision that finds a provider over its
local_budget applies `hooks.on_budget_exceeded: route.skip_provider` to it. Warnings and notices (such
a skip with `notify: true`, a corrupt state.json) go to `<data dir>/bridge.log` and stderr, and into the
answer's `warnings`: inside opencode's TUI the terminal is opencode's, so the log is where they stay.

The configuration is the environment's own (LATTICE_ENV's manifest), as `lattice run` reads it. Only the
routing package is imported (stdlib only): no click, YAML or jinja2, so a call costs about one bare
interpreter start."""
from __future__ import annotations

import json
import os
import sys
import time

from ..errors import LatticeError
from ..providers.kinds import NATIVE, OPENAI_COMPATIBLE, endpoint
from ..providers.kinds import kind as provider_kind
from ..store.manifest import environment_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Mapping


def _config() -> dict[str, Any]:
    env = os.environ.get("LATTICE_ENV")
    if not env:
        raise LatticeError("LATTICE_ENV is not set (the environment's bin/opencode sets it)")
    return environment_config(env)


def _answer(decision: Any, table: Any) -> dict[str, Any]:
    """The decision and how to reach it: the protocol and endpoint come from provider_kinds.py."""
    provider = table.providers.get(decision.provider)
    kind = provider_kind(decision.provider)
    base_url = endpoint(decision.provider, provider.base_url if provider else None)
    if kind == OPENAI_COMPATIBLE and not base_url:
        # No default endpoint exists for an arbitrary name; say so before any request is made.
        raise LatticeError(f"provider {decision.provider} has no base_url: only {', '.join(NATIVE)} and ollama "
                           f"have a default endpoint (give it base_url: in lattice.yaml)")
    return {"model": decision.model, "provider": decision.provider,
            "model_name": decision.model.partition("/")[2], "position": decision.position,
            "via": decision.via, "skipped": [list(s) for s in decision.skipped], "kind": kind,
            "base_url": base_url, "env": provider.env if provider else None}


def _session(args: Mapping[str, Any]) -> str | None:
    session = args.get("session")
    return str(session) if session else None


def _log(lines: list[str]) -> None:
    """Append `lines` to `<data dir>/bridge.log` (timestamped) and to stderr."""
    if not lines:
        return
    from ..paths import data_root

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    text = "".join(f"{stamp} {line}\n" for line in lines)
    sys.stderr.write(text)
    try:
        os.makedirs(data_root(), exist_ok=True)
        with open(os.path.join(data_root(), "bridge.log"), "a", encoding="utf-8") as log:
            log.write(text)
    except OSError:
        pass  # a notice must never fail the call it is about


def route(args: Mapping[str, Any]) -> dict[str, Any]:
    from .decide import route as decide
    from .table import table_for

    table = table_for(_config())
    decision = decide(table, str(args["agent"]), str(args.get("prompt") or ""), bool(args.get("commit")),
                      _session(args))
    _log(decision.warnings)
    return {**_answer(decision, table), "warnings": decision.warnings}


def rate_limited(args: Mapping[str, Any]) -> dict[str, Any]:
    """Record the 429, then decide the same slot again: the call already took its place in the
    pattern, so the re-route must not take another."""
    from .availability import record_rate_limit
    from .decide import reroute
    from .table import table_for

    table = table_for(_config())
    now = time.time()
    record_rate_limit(str(args["model"]), args.get("retry_after"), now=now)
    decision = reroute(table, str(args["agent"]), str(args.get("prompt") or ""), int(args.get("position") or 0),
                       _session(args), now=now)
    return _answer(decision, table)


def usage(args: Mapping[str, Any]) -> None:
    from .usage import record_usage

    record_usage(str(args["provider"]), str(args["model"]), int(args.get("input") or 0),
                 int(args.get("output") or 0))


OPS = {"route": route, "rate-limited": rate_limited, "usage": usage}


def main(argv: list[str]) -> int:
    try:
        if len(argv) != 2 or argv[0] not in OPS:
            raise LatticeError(f"usage: python -m lattice_env.routing.bridge {{{'|'.join(OPS)}}} JSON")
        result = OPS[argv[0]](json.loads(argv[1]))
    except (LatticeError, ValueError, KeyError, TypeError) as exc:
        sys.stdout.write(json.dumps({"error": str(exc)}) + "\n")
        return 1
    if result is not None:
        sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
