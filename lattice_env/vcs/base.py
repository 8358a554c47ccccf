"""The interface every VCS preset implements, and preset `none` itself (no VCS integration: each action
says so and changes nothing). A method returns a dict whose `message` is what the user is shown (the
CLI prints it, a hook's log line quotes it); the other keys are the same facts as data (--json)."""
from __future__ import annotations

import time

from ..errors import LatticeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Mapping

DEFAULT_CHECKPOINT_MESSAGE = "checkpoint: before {agent}"
DEFAULT_COMMIT_MESSAGE = "ai({agent}): {summary}"


class VcsError(LatticeError):
    """A VCS action that cannot be done (no repository, nothing to undo, no remote): one line."""


class _Fields(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def render_message(template: str, **fields: Any) -> str:
    """A checkpoint_message or commit_message with its placeholders ({agent}, {summary}, {provider},
    {model}, {date}) filled in; config/checks.py has refused any other placeholder."""
    values = _Fields({k: "" if v is None else v for k, v in fields.items()})
    values.setdefault("date", time.strftime("%Y-%m-%d %H:%M"))
    try:
        return template.format_map(values).strip() or template
    except (ValueError, KeyError, IndexError, AttributeError):
        return template  # a message from an environment built before a rule: used as written


class Preset:
    """Preset `none`, and the base of the others: `cwd` is where the action runs (the repository holding
    it), `config` is lattice.yaml's `vcs.config`, `deadline` a time.monotonic() that every child process
    the action starts must finish by (a hook's timeout)."""

    name = "none"
    tool = ""  # the program the preset drives

    def __init__(self, cwd: str, config: Mapping[str, Any], environ: Mapping[str, str],
                 deadline: float | None = None) -> None:
        self.cwd = cwd
        self.config = config
        self.environ = environ
        self.deadline = deadline

    def message(self, key: str, default: str, **fields: Any) -> str:
        template = self.config.get(key)
        return render_message(template if isinstance(template, str) else default, **fields)

    def _none(self, what: str) -> dict[str, Any]:
        return {"preset": self.name, "done": False,
                "message": f"nothing to {what}: vcs.preset is none (no VCS integration)"}

    def checkpoint(self, agent: str = "") -> dict[str, Any]:
        """Record the working state before an agent's turn, touching none of the user's files."""
        return self._none("checkpoint")

    def commit(self, agent: str = "", summary: str = "", **fields: Any) -> dict[str, Any]:
        """Record what the agent changed since the last checkpoint (nothing when it changed nothing)."""
        return self._none("commit")

    def changed(self) -> bool | None:
        """Whether the working state differs from the last checkpoint; None when the preset cannot tell."""
        return None

    def undo(self) -> dict[str, Any]:
        """Put the working state back as it was at the last checkpoint."""
        raise VcsError("nothing to undo: vcs.preset is none (no VCS integration; set vcs.preset in lattice.yaml)")

    def status(self) -> dict[str, Any]:
        raise VcsError("no VCS status: vcs.preset is none (no VCS integration; set vcs.preset in lattice.yaml)")

    def push(self) -> dict[str, Any]:
        raise VcsError("nothing to push: vcs.preset is none (no VCS integration; set vcs.preset in lattice.yaml)")

    def log(self) -> dict[str, Any]:
        raise VcsError("no VCS log: vcs.preset is none (no VCS integration; set vcs.preset in lattice.yaml)")

    def gate(self) -> str | None:
        """Why an agent may not edit files right now (jj-workspace's gate), or None."""
        return None

    def summary(self) -> dict[str, Any]:
        """What `lattice status` shows of the VCS: cheap, never raising for a missing tool or repository."""
        return {"preset": self.name}

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline); a VcsError once it has passed."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise VcsError(f"{self.name}: out of time (the hook's timeout)")
        return left
