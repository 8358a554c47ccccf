"""The built-in actions of hooks and custom commands (the design's "Built-in Actions"). Each takes a `Job`
— the hook entry, the event's facts, the resolved configuration, the environment, the deadline — and
returns an `Outcome`: `result` (ok, failed, skipped), `detail` (what happened, one line or a few), a
`notice` for the user's terminal or opencode's toast, and `output` (a command's text for the user, or
the value of the two actions only the environment's plugin asks for, vcs.changed and vcs.gate).
An action raises LatticeError for an ordinary failure; run.py turns it into a failed outcome."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import namedtuple

from ..errors import LatticeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

Job = namedtuple("Job", ("entry", "facts", "config", "environ", "deadline", "cwd"))
Outcome = namedtuple("Outcome", ("result", "detail", "notice", "output"), defaults=(None, ""))

SLACK_VARIABLE = "SLACK_WEBHOOK_URL"  # where notify.slack reads its webhook URL unless `webhook_env` names another
# Placeholders a hook's `message` may use (config/checks.py refuses others).
MESSAGE_FIELDS = ("agent", "provider", "model", "error", "event", "error_count", "summary", "session")
DEFAULT_MESSAGES = {
    "pre_agent": "{agent} starts",
    "post_agent": "{agent} finished",
    "on_rate_limit": "{provider} rate-limited {model}: {error}",
    "on_budget_exceeded": "Budget exceeded for {provider}",
    "on_error": "error: {error}",
}


class _Fields(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, facts: Mapping[str, Any]) -> str:
    """A hook's `message` with the event's facts in its placeholders; missing facts are empty."""
    values = _Fields({k: "" if v is None else v for k, v in facts.items()})
    try:
        return template.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError):
        return template


def message_of(job: Job) -> str:
    template = job.entry.get("message")
    if not isinstance(template, str):
        template = DEFAULT_MESSAGES.get(str(job.facts.get("event")), "{event}")
    return render(template, job.facts)


def remaining(job: Job) -> float:
    left = job.deadline - time.monotonic()
    if left <= 0:
        raise LatticeError("out of time")
    return left


def _preset(job: Job) -> Any:
    from ..vcs import preset_for

    return preset_for(job.config, job.cwd, job.environ, job.deadline)


def _vcs(method: str) -> Callable[[Job], Outcome]:
    def action(job: Job) -> Outcome:
        preset = _preset(job)
        facts = job.facts
        if method == "checkpoint":
            done = preset.checkpoint(str(facts.get("agent") or ""))
        elif method == "commit":
            done = preset.commit(str(facts.get("agent") or ""), str(facts.get("summary") or ""),
                                 provider=facts.get("provider"), model=facts.get("model"))
        else:
            done = getattr(preset, method)()
        result = "ok" if done.get("done", True) else "skipped"
        return Outcome(result, done["message"], None, done["message"])
    return action


def vcs_changed(job: Job) -> Outcome:
    """Whether the turn changed files since its checkpoint (post_agent's `files_changed`): True, False,
    or None when the preset cannot tell, as the outcome's output. Not a lattice.yaml action."""
    changed = _preset(job).changed()
    return Outcome("ok", f"changed: {changed}", None, changed)


def vcs_gate(job: Job) -> Outcome:
    """jj-workspace's gate: why an edit tool may not run now (the output), or "" when it may. Not a
    lattice.yaml action: the hooks plugin asks before each edit tool."""
    refuse = _preset(job).gate()
    return Outcome("ok", refuse or "open", None, refuse or "")


def route_fallback(job: Job) -> Outcome:
    """The bridge has already served the call from the next model (routing/bridge.py `failed`): this
    action says where it went."""
    facts = job.facts
    if not facts.get("fallback"):
        return Outcome("skipped", "no failover happened here (route.fallback follows a failed call)")
    detail = f"{facts.get('error') or str(facts.get('model')) + ' failed'}; the call went to {facts['fallback']}"
    return Outcome("ok", detail)


def route_skip_provider(job: Job) -> Outcome:
    from ..routing.availability import skip_provider

    provider, session = job.facts.get("provider"), job.facts.get("session")
    if not provider or not session:
        return Outcome("skipped", "no provider or session to skip it for")
    skip_provider(str(provider), str(session))
    return Outcome("ok", f"{provider} is skipped for the rest of session {session}")


def notify_terminal(job: Job) -> Outcome:
    text = message_of(job)
    return Outcome("ok", text, text)


def notify_slack(job: Job) -> Outcome:
    """POST {"text": …} (and "channel" when the hook names one) to the Slack incoming webhook whose URL
    the environment variable holds at run time: the URL is a secret, never written anywhere."""
    import urllib.error
    import urllib.request

    variable = job.entry.get("webhook_env") or SLACK_VARIABLE
    url = job.environ.get(variable)
    if not url:
        return Outcome("skipped", f"{variable} is not set: nothing sent to Slack")
    text = message_of(job)
    body: dict[str, Any] = {"text": text}
    if job.entry.get("channel"):
        body["channel"] = job.entry["channel"]
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=remaining(job)) as response:
            answer = response.read(4096).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        raise LatticeError(f"Slack answered HTTP {exc.code}: "
                           f"{exc.read(500).decode('utf-8', 'replace').strip()}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LatticeError(f"cannot reach the Slack webhook in {variable}: {reason}") from None
    if answer != "ok":
        raise LatticeError(f"Slack did not accept the message: {answer[:200]}")
    return Outcome("ok", f"sent to Slack: {text}")


def _log(level: str) -> Callable[[Job], Outcome]:
    def action(job: Job) -> Outcome:
        return Outcome("ok", f"{level}: {message_of(job)}")
    return action


def _lattice(*args: str) -> Callable[[Job], Outcome]:
    """A status command's text, from the `lattice` command itself (what the user would see)."""
    def action(job: Job) -> Outcome:
        from ..proc import run

        done = run([sys.executable, "-m", "lattice_env", *args], env=dict(job.environ), cwd=job.cwd,
                   timeout=remaining(job))
        text = done.stdout.rstrip("\n")
        return Outcome("ok", f"lattice {' '.join(args)}", None, text)
    return action


ACTIONS: dict[str, Callable[[Job], Outcome]] = {
    "vcs.checkpoint": _vcs("checkpoint"),
    "vcs.commit": _vcs("commit"),
    "vcs.push": _vcs("push"),
    "vcs.undo": _vcs("undo"),
    "vcs.status": _vcs("status"),
    "vcs.changed": vcs_changed,  # these two run for the environment's plugin, never from lattice.yaml
    "vcs.gate": vcs_gate,
    "route.fallback": route_fallback,
    "route.skip_provider": route_skip_provider,
    "notify.terminal": notify_terminal,
    "notify.slack": notify_slack,
    "log.info": _log("info"),
    "log.warning": _log("warning"),
    "log.error": _log("error"),
    "providers.status": _lattice("status", "providers"),
    "agents.status": _lattice("status", "agents"),
    "routing.status": _lattice("routing"),
    "routing.reset": _lattice("routing", "reset"),
    "status": _lattice("status"),
}


def cwd_of(facts: Mapping[str, Any]) -> str:
    directory = facts.get("directory")
    return str(directory) if directory and os.path.isdir(str(directory)) else os.getcwd()
