"""What the opencode bridge (templates/env/bridge/) asks Lattice for each LLM call, answered by one
long-lived routing process per opencode process (`serve.py`: `python -m lattice_env.routing.bridge serve`,
lines of JSON over a pipe) or by one process per question (`python -m lattice_env.routing.bridge OP JSON`:
one JSON object in, one JSON line out, errors as `{"error": "…"}` with exit status 1).

    route         {agent, prompt, commit, session}     → the decision and how to reach the provider
    failed        {agent, prompt, model, position,     → the model failed the call: cool it (or its
                   kind, reason, retry_after, session}    provider) down, then the same call's slot decided
                                                          again (on_unavailable applies); the answer's
                                                          `failure` is the event (bridge.log, hooks)
    rate-limited  as failed, for a 429                  (the name environments built before `failed` use)
    usage         {provider, model, input, output}     → tokens reported by the response (no answer)
    hook          {event, session, agent, prompt,      → lattice.yaml's hooks.<event> run (hooks/run.py):
                   directory, error, files, …}            {notices, records}
    command       {name, arguments, session,           → a custom command's action run: {output, ok}
                   directory}
    gate          {directory, session}                 → {refuse}: why an edit tool may not run now

`route` and `failed` answers carry `events`: the hooks' events routing met (on_budget_exceeded once per
provider and session; on_rate_limit for a 429 failover, on_error for any other), which the bridge sends
back as `hook` messages once the call has its model, so the hooks never delay it. A session's turn
(its agent, prompt, whether pre_agent checkpointed, its error count) is kept by this process, which
lives as long as its opencode.

`kind` is one of routing/availability.py's FAILURE_KINDS. `session` is opencode's session id (the bridge
reads it from the headers opencode gives every call): providers skipped for it are left out, and a
committed decision that finds a provider over its local_budget applies `hooks.on_budget_exceeded:
route.skip_provider` to it. Warnings and notices (such a skip with `notify: true`, a failover, a corrupt
state.json) go to `<data dir>/bridge.log` and stderr, and into the answer's `warnings`: inside opencode's
TUI the terminal is opencode's, so the log is where they stay.

The configuration is the environment's own (LATTICE_ENV's manifest), as `lattice run` reads it; a store
path never changes, so a routing process reads it once. A hot path (docs/architecture.md)."""
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


_TABLE: list[Any] = []  # the environment's RouteTable and config, once per process


def _table() -> tuple[Any, dict[str, Any]]:
    if not _TABLE:
        env = os.environ.get("LATTICE_ENV")
        if not env:
            raise LatticeError("LATTICE_ENV is not set (the environment's bin/opencode sets it)")
        from .table import table_for

        config = environment_config(env)
        _TABLE[:] = [table_for(config), config]
    return _TABLE[0], _TABLE[1]


def _answer(decision: Any, table: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The decision and how to reach it: the protocol and endpoint come from providers/kinds.py, the
    failover settings from lattice.yaml (the provider's first_byte_timeout, else the defaults')."""
    provider = table.providers.get(decision.provider)
    kind = provider_kind(decision.provider)
    base_url = endpoint(decision.provider, provider.base_url if provider else None)
    if kind == OPENAI_COMPATIBLE and not base_url:
        # No default endpoint exists for an arbitrary name; say so before any request is made.
        raise LatticeError(f"provider {decision.provider} has no base_url: only {', '.join(NATIVE)} and ollama "
                           f"have a default endpoint (give it base_url: in lattice.yaml)")
    failover = table.failover
    return {"model": decision.model, "provider": decision.provider,
            "model_name": decision.model.partition("/")[2], "position": decision.position,
            "via": decision.via, "skipped": [list(s) for s in decision.skipped], "kind": kind,
            "base_url": base_url, "env": provider.env if provider else None,
            "first_byte_timeout": (provider.first_byte_timeout if provider else None) or failover.first_byte_timeout,
            "failover_on_client_error": failover.failover_on_client_error,
            "auth": _auth_plugin(provider, config) if provider and provider.auth else None}


def _auth_plugin(provider: Any, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The plugin whose auth hook gives `provider` its credentials: where this environment serves it
    from and its plugin_config (the options opencode passes it)."""
    from ..config.plugin_specs import PluginSpecError, auth_plugins, parse_plugin
    from ..opencode.config import store_plugin_path

    try:
        specs = [parse_plugin(s) for s in config.get("plugins") or ()]
    except PluginSpecError:
        return None  # validation reported it when the environment was built
    found = auth_plugins(provider.auth, specs)
    if len(found) != 1:
        return None  # validation warned: no credentials from a plugin
    path = store_plugin_path(found[0])
    for name in ("LATTICE_ENV", "LATTICE_CLOSURE"):
        path = path.replace("{env:" + name + "}", os.environ.get(name, ""))
    options = (config.get("plugin_config") or {}).get(found[0].short_name)
    return {"plugin": path, "name": found[0].short_name, "options": options if isinstance(options, dict) else {}}


def _session(args: Mapping[str, Any]) -> str | None:
    session = args.get("session")
    return str(session) if session else None


def log(lines: list[str]) -> None:
    """Append `lines` to `<data dir>/bridge.log` (timestamped) and to stderr."""
    if not lines:
        return
    from ..fsutil import append_private
    from ..paths import data_root, make_dirs

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    text = "".join(f"{stamp} {line}\n" for line in lines)
    sys.stderr.write(text)
    sys.stderr.flush()
    try:
        directory = data_root()
        make_dirs(directory)
        append_private(os.path.join(directory, "bridge.log"), text)
    except (OSError, LatticeError):
        pass  # a notice must never fail the call it is about


_TURNS: dict[str, dict[str, Any]] = {}  # session → its current turn's facts, for the hooks
_BUDGET_MET: set[tuple[str, str]] = set()  # (session, provider): on_budget_exceeded already fired


def _turn(session: str | None) -> dict[str, Any]:
    return _TURNS.setdefault(session or "", {"errors": 0})


def route(args: Mapping[str, Any]) -> dict[str, Any]:
    from .decide import route as decide

    table, config = _table()
    session = _session(args)
    decision = decide(table, str(args["agent"]), str(args.get("prompt") or ""), bool(args.get("commit")), session)
    log(decision.warnings)
    events = []
    if decision.committed:
        _turn(session).update(provider=decision.provider, model=decision.model)
    for provider, ref, spent in decision.over_budget:
        if (session or "", provider) not in _BUDGET_MET:
            _BUDGET_MET.add((session or "", provider))
            events.append({"event": "on_budget_exceeded", "facts": {
                "session": session, "agent": args["agent"], "provider": provider, "model": ref,
                "error": f"{provider} is over its local_budget (${spent:.2f})"}})
    return {**_answer(decision, table, config), "warnings": decision.warnings, "events": events}


def failed(args: Mapping[str, Any]) -> dict[str, Any]:
    """Record the failure, then decide the same slot again: the call already took its place in the
    pattern, so the re-route must not take another. When nothing is left, the error says why each
    candidate is unavailable, this failure included."""
    from .availability import FAILURE_KINDS, record_failure
    from .decide import reroute

    table, config = _table()
    kind = str(args.get("kind") or "rate_limit")
    if kind not in FAILURE_KINDS:
        raise LatticeError(f"unknown failure kind {kind!r} (expected {', '.join(FAILURE_KINDS)})")
    model, agent = str(args["model"]), str(args["agent"])
    now = time.time()
    event = record_failure(model, kind, str(args.get("reason") or ""), args.get("retry_after"),
                           cooldown=table.failover.failure_cooldown, now=now)
    cooled = "provider " + event["cooled"] if event["cooled"] != model else model
    facts = {"session": _session(args), "agent": agent, "provider": model.partition("/")[0], "model": model,
             "error": f"{model} failed ({event['reason']})"}
    hook = "on_rate_limit" if kind == "rate_limit" else "on_error"
    try:
        decision = reroute(table, agent, str(args.get("prompt") or ""), int(args.get("position") or 0),
                           _session(args), now=now)
    except LatticeError as exc:
        log([f"failover: {model} failed ({event['reason']}) for agent {agent}; {cooled} cools down for "
             f"{event['seconds']:g}s; no model is left for the call"])
        exc.events = [{"event": hook, "facts": facts}]  # type: ignore[attr-defined]
        raise
    log([f"failover: {model} failed ({event['reason']}) for agent {agent}; {cooled} cools down for "
         f"{event['seconds']:g}s; the call goes to {decision.model}"])
    facts["fallback"] = decision.model
    return {**_answer(decision, table, config), "failure": event, "events": [{"event": hook, "facts": facts}]}


def rate_limited(args: Mapping[str, Any]) -> dict[str, Any]:
    return failed({**args, "kind": "rate_limit", "reason": "a 429"})


def usage(args: Mapping[str, Any]) -> None:
    from .usage import record_usage

    record_usage(str(args["provider"]), str(args["model"]), int(args.get("input") or 0),
                 int(args.get("output") or 0))


def hook(args: Mapping[str, Any]) -> dict[str, Any]:
    """Run `hooks.<event>` with the facts of the event, completed from the session's turn: pre_agent
    starts a turn (its provider and model: the agent's routing decision, not committed), post_agent
    ends it (`files_changed`: what the VCS preset sees since the turn's checkpoint, else the files the
    turn's tools wrote; `summary`: the prompt's first line), on_error counts the session's errors."""
    from ..hooks.run import fire

    table, config = _table()
    event = str(args["event"])
    session = _session(args)
    turn = _turn(session)
    facts: dict[str, Any] = {k: args[k] for k in ("agent", "provider", "model", "error", "fallback", "directory",
                                                 "tool") if args.get(k)}
    facts["session"] = session
    if event == "pre_agent":
        turn.update(agent=args.get("agent"), prompt=str(args.get("prompt") or ""), checkpointed=False,
                    provider=None, model=None)
        try:
            from .decide import route as decide

            decision = decide(table, str(args.get("agent") or ""), turn["prompt"], False, session)
            facts.setdefault("provider", decision.provider)
            facts.setdefault("model", decision.model)
        except (LatticeError, KeyError, ValueError):
            pass  # an agent routing does not know (opencode's own, without defaults.routing)
    for key in ("agent", "provider", "model"):
        if not facts.get(key) and turn.get(key):
            facts[key] = turn[key]
    prompt = str(args.get("prompt") or turn.get("prompt") or "")
    facts["summary"] = summary_of(prompt)
    if event == "post_agent":
        facts["files_changed"] = _files_changed(config, facts, turn, args.get("files"))
    if event == "on_error":
        turn["errors"] = int(turn.get("errors", 0)) + 1
    facts["error_count"] = int(turn.get("errors", 0))
    skip = ("route.skip_provider",) if event == "on_budget_exceeded" else ()
    result = fire(event, facts, config, skip=skip)
    if event == "pre_agent":
        turn["checkpointed"] = any(r["action"] == "vcs.checkpoint" and r["result"] == "ok" for r in result["records"])
    return {"notices": result["notices"], "records": len(result["records"])}


def summary_of(prompt: str, width: int = 72) -> str:
    """A commit subject's summary of the turn: the prompt's first line, cut at a word near `width`."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    if len(line) <= width:
        return line
    cut = line[:width].rsplit(" ", 1)[0]
    return (cut if len(cut) > width // 2 else line[:width]) + "…"


def _files_changed(config: Mapping[str, Any], facts: Mapping[str, Any], turn: Mapping[str, Any], files: Any) -> bool:
    if turn.get("checkpointed"):
        from ..hooks.run import DEFAULT_TIMEOUT, perform

        done = perform("vcs.changed", {}, facts, config, os.environ, DEFAULT_TIMEOUT)
        if done.result == "ok" and done.output is not None:
            return bool(done.output)
    return bool(files)


def command(args: Mapping[str, Any]) -> dict[str, Any]:
    from ..hooks.run import run_command

    _, config = _table()
    facts = {"session": _session(args), "directory": args.get("directory")}
    done = run_command(str(args["name"]), str(args.get("arguments") or ""), config, facts)
    return {"output": done["output"], "ok": done["ok"], "result": done["result"]}


def gate(args: Mapping[str, Any]) -> dict[str, Any]:
    from ..hooks.run import perform

    _, config = _table()
    done = perform("vcs.gate", {}, args, config, os.environ, GATE_TIMEOUT)
    if done.result != "ok":
        return {"refuse": None, "warning": done.detail}
    return {"refuse": done.output or None}


GATE_TIMEOUT = 20.0  # seconds for jj to say whether the change is described
OPS = {"route": route, "failed": failed, "rate-limited": rate_limited, "usage": usage, "hook": hook,
       "command": command, "gate": gate}
ERRORS = (LatticeError, ValueError, KeyError, TypeError)  # bad input or an ordinary fault: one line back


def error_text(exc: BaseException) -> str:
    return f"missing {exc} in the message" if isinstance(exc, KeyError) else str(exc)


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        from .serve import serve

        return serve(parent=int(argv[2]) if argv[1:2] == ["--parent"] and argv[2:3] and argv[2].isdigit() else None)
    try:
        if len(argv) != 2 or argv[0] not in OPS:
            raise LatticeError(f"usage: python -m lattice_env.routing.bridge {{{'|'.join(OPS)}}} JSON, "
                               f"or serve [--parent PID]")
        result = OPS[argv[0]](json.loads(argv[1]))
    except ERRORS as exc:
        sys.stdout.write(json.dumps({"error": error_text(exc)}) + "\n")
        return 1
    if result is not None:
        sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
