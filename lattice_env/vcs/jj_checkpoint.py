"""Preset `jj-checkpoint` (raw jj, no gates): `jj new` before each agent turn, so the agent's edits land
in a change of their own; after the turn that change is described with `commit_message`; `undo` goes
back to the operation before the checkpoint (`jj op restore`, which jj's own `jj undo` is one step of;
`jj undo` when no checkpoint is recorded); `push` is `jj git push`."""
from __future__ import annotations

from .base import DEFAULT_CHECKPOINT_MESSAGE, DEFAULT_COMMIT_MESSAGE, Preset, VcsError
from .jj import Jj, forget, read_checkpoints, remember

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


class JjCheckpoint(Preset):
    name = "jj-checkpoint"
    tool = "jj"

    def _jj(self) -> tuple[Jj, str]:
        jj = Jj(self.cwd, self.environ, self.remaining)
        return jj, jj.root()

    def checkpoint(self, agent: str = "") -> dict[str, Any]:
        jj, root = self._jj()
        operation = jj.operation()
        message = self.message("checkpoint_message", DEFAULT_CHECKPOINT_MESSAGE, agent=agent)
        jj("new", "-m", message)
        remember(root, operation, agent, message)
        return {"preset": self.name, "done": True, "operation": operation,
                "message": f"checkpoint: jj new ({message}); undo goes back to operation {operation[:12]}"}

    def changed(self) -> bool | None:
        jj, _ = self._jj()
        return jj.changed()

    def commit(self, agent: str = "", summary: str = "", **fields: Any) -> dict[str, Any]:
        jj, _ = self._jj()
        if not jj.changed():
            return {"preset": self.name, "done": False, "message": "nothing to commit: the change @ is empty"}
        message = self.message("commit_message", DEFAULT_COMMIT_MESSAGE, agent=agent, summary=summary, **fields)
        jj("describe", "-m", message)
        return {"preset": self.name, "done": True, "message": f"described @ as: {message}"}

    def undo(self) -> dict[str, Any]:
        jj, root = self._jj()
        checkpoints = read_checkpoints(root)
        if not checkpoints:
            jj("undo")
            return {"preset": self.name, "done": True, "message": "jj undo: the last operation is undone"}
        last = checkpoints[-1]
        jj("op", "restore", last["operation"])
        forget(root, last["operation"])
        return {"preset": self.name, "done": True, "operation": last["operation"],
                "message": f"restored the repository to operation {last['operation'][:12]} (before: {last['message']})"}

    def status(self) -> dict[str, Any]:
        jj, root = self._jj()
        text = jj("status").stdout.rstrip("\n")
        checkpoints = read_checkpoints(root)
        return {"preset": self.name, "status": text, "checkpoints": checkpoints,
                "message": f"{text}\ncheckpoints: {len(checkpoints)}"}

    def log(self) -> dict[str, Any]:
        jj, _ = self._jj()
        text = jj("log", "--limit", "20").stdout.rstrip("\n")
        return {"preset": self.name, "message": text}

    def push(self) -> dict[str, Any]:
        jj, _ = self._jj()
        done = jj("git", "push", check=False)
        if done.returncode != 0:
            detail = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise VcsError(f"jj git push failed: {detail[-1] if detail else done.returncode}")
        text = (done.stderr.strip() or done.stdout.strip())
        return {"preset": self.name, "done": True, "message": text or "jj git push: done"}

    def summary(self) -> dict[str, Any]:
        import os

        here = os.path.abspath(self.cwd)
        while not os.path.isdir(os.path.join(here, ".jj")):
            if os.path.dirname(here) == here:
                return {"preset": self.name, "repository": None}
            here = os.path.dirname(here)
        checkpoints = read_checkpoints(here)
        return {"preset": self.name, "repository": here, "checkpoints": len(checkpoints),
                "last_checkpoint": checkpoints[-1].get("time") if checkpoints else None}
