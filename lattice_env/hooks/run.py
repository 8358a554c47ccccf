"""Running hooks and custom commands: events → conditions → actions.

`fire(event, facts, config)` runs every `hooks.<event>` entry of the resolved configuration in order:
its `when` is evaluated by conditions.py (never eval) against the event's facts (agent, provider, model,
error, error_count, files_changed, …); when it holds, its action runs with a deadline of `timeout`
seconds (default DEFAULT_TIMEOUT: every child process and request the action makes ends by then, so a
hook never hangs a turn). A failing action is reported once — its record and one notice — and the
next entry still runs. `run_command(name, args, config)` runs a custom command's action the same way.

Both go through `perform`, the one function through which anything a workflow names gets executed —
the hooks' and commands' actions, and the VCS preset's commands the environment's plugin needs
(routing/bridge.py: `files_changed` after a turn, jj-workspace's gate before an edit): the place where
a check of whether this workflow may run things belongs.

Every run is one line of `<data dir>/hooks.log` (hooks/log.py): event, action, condition and whether
it held, result, detail, duration."""
from __future__ import annotations

import time

from ..errors import LatticeError
from . import log
from .actions import ACTIONS, Job, Outcome, cwd_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Mapping

DEFAULT_TIMEOUT = 30.0  # seconds per action unless the entry's `timeout` says otherwise


def holds(when: str, facts: Mapping[str, Any]) -> bool:
    if when == "always":
        return True
    from . import conditions

    try:
        return conditions.evaluate(conditions.parse(when), facts)
    except conditions.ConditionError:
        return False  # validation refused it; an environment's configuration was valid when built


def entries(config: Mapping[str, Any], event: str) -> list[dict[str, Any]]:
    hooks = config.get("hooks")
    listed = hooks.get(event) if isinstance(hooks, dict) else None
    return [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []


def perform(action: str, entry: Mapping[str, Any], facts: Mapping[str, Any], config: Mapping[str, Any],
            environ: Mapping[str, str], timeout: float) -> Outcome:
    """Run one action — a hook's or a custom command's — within `timeout` seconds: the one place where
    what a workflow names is executed. Never raises for the action's own failure."""
    run = ACTIONS.get(action)
    if run is None:
        return Outcome("failed", f"unknown action {action!r}")
    job = Job(entry, facts, config, environ, time.monotonic() + timeout, cwd_of(facts))
    try:
        return run(job)
    except LatticeError as exc:
        text = str(exc)
        result = "timeout" if "did not finish within" in text or "out of time" in text else "failed"
        return Outcome(result, text)
    except OSError as exc:
        return Outcome("failed", f"{type(exc).__name__}: {exc}")


def fire(event: str, facts: Mapping[str, Any], config: Mapping[str, Any],
         environ: Mapping[str, str] | None = None, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run `hooks.<event>`. Returns `records` (what hooks.log got) and `notices` (what the user should
    see: notify.terminal, entries with `notify: true`, failures). Actions in `skip` were already done
    by the caller (routing applies on_budget_exceeded's route.skip_provider itself) and are recorded
    as such."""
    import os

    environ = os.environ if environ is None else environ
    facts = {**facts, "event": event}
    records, notices = [], []
    for index, entry in enumerate(entries(config, event)):
        action = str(entry.get("action"))
        when = str(entry.get("when") or "always")
        start = time.monotonic()
        held = holds(when, facts)
        if not held:
            outcome = Outcome("skipped", f"condition false: {when}")
        elif action in skip:
            outcome = Outcome("ok", "done by routing")
        else:
            outcome = perform(action, entry, facts, config, environ, _timeout(entry))
        row = {"time": time.time(), "event": event, "index": index, "action": action, "when": when,
               "condition": held, "result": outcome.result, "detail": outcome.detail,
               "duration": round(time.monotonic() - start, 3),
               **{k: facts.get(k) for k in ("agent", "provider", "model", "session") if facts.get(k)}}
        problem = log.record(row)
        records.append(row)
        if outcome.notice:
            notices.append(outcome.notice)
        elif held and entry.get("notify") and outcome.result == "ok":
            notices.append(f"{event}: {outcome.detail}")
        if outcome.result in ("failed", "timeout"):
            notices.append(f"lattice: hooks.{event}[{index}] {action} failed: {outcome.detail}")
        if problem:
            notices.append(f"lattice: {problem}")
    return {"records": records, "notices": notices}


def _timeout(entry: Mapping[str, Any]) -> float:
    value = entry.get("timeout")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 \
        else DEFAULT_TIMEOUT


def run_command(name: str, arguments: str, config: Mapping[str, Any], facts: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A custom command (`commands.NAME`): its action's outcome and `output`, the text for the user."""
    import os

    commands = config.get("commands") if isinstance(config.get("commands"), dict) else {}
    command = commands.get(name)
    if not isinstance(command, dict) or not command.get("action"):
        raise LatticeError(f"no custom command {name!r} in this workflow"
                           + (f" (it has {', '.join(sorted(commands))})" if commands else ""))
    environ = os.environ if environ is None else environ
    facts = {**(facts or {}), "event": "command", "command": name, "arguments": arguments}
    start = time.monotonic()
    action = str(command["action"])
    outcome = perform(action, command, facts, config, environ, _timeout(command))
    row = {"time": time.time(), "event": "command", "command": name, "action": action, "when": "always",
           "condition": True, "result": outcome.result, "detail": outcome.detail,
           "duration": round(time.monotonic() - start, 3)}
    log.record(row)
    output = outcome.output or outcome.detail
    return {"command": name, "action": action, "result": outcome.result, "output": output,
            "ok": outcome.result in ("ok", "skipped")}
