"""The long-lived routing process of one opencode process: `python -m lattice_env.routing.bridge serve`,
started by the bridge (templates/env/bridge/router.mjs) on its first call, so a model call costs a line
over a pipe instead of an interpreter start.

Protocol: one JSON object per line each way. A message is `{"op": OP, "id": N, …arguments}` with an OP of
bridge.py's OPS; the answer is `{"id": N, …result}` or `{"id": N, "error": "…"}`, in the order asked. A
message without an `id` is fire-and-forget (usage reports) and gets no answer; so are ops this version
does not know, which are ignored. An error answer may carry `events` (bridge.py: the hooks' events met
before the error). Messages are handled one at a time: a hook's actions (bounded by their timeouts)
hold back the questions behind them, which the bridge sends only once a call has its model.

The decision stays in routing/ (one implementation) and state.json stays the truth, read and written
under its lock for every call, so several opencode processes keep exact counts.

Lifetime: it exits when its stdin reaches end of file — opencode exited, however it died, since the
kernel closes the pipe of a killed process — or, checked every second, when its parent is gone (should
something else hold the pipe open). The bridge names its parent (`--parent PID`): had it died before
this process looked, the parent seen would be whoever adopted it. It ignores SIGINT: a Ctrl-C in the terminal is opencode's to
handle, and the routing process goes when opencode does."""
from __future__ import annotations

import json
import os
import signal

from . import bridge

PARENT_CHECK = 1.0  # seconds between checks that the parent is still there


def serve(stdin: int = 0, stdout: int = 1, parent: int | None = None) -> int:
    import select

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid() if parent is None else parent
    pending = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], PARENT_CHECK)
        if not ready:
            if os.getppid() != parent:
                return 0
            continue
        chunk = os.read(stdin, 1 << 16)
        if not chunk:  # end of file: answer what is left (a last usage report), then go
            if pending.strip():
                _write(stdout, handle(pending) or b"")
            return 0
        pending += chunk
        *lines, pending = pending.split(b"\n")
        out = [answer for answer in (handle(line) for line in lines if line.strip()) if answer]
        if out:
            _write(stdout, b"".join(out))


def handle(line: bytes) -> bytes | None:
    """One message: its answer line, or None for a fire-and-forget message."""
    ident = None
    try:
        message = json.loads(line)
        if type(message) is not dict:
            raise ValueError("a message is a JSON object")
        ident = message.pop("id", None)
        op = message.pop("op", None)
        known = bridge.OPS.get(op)
        if known is None:
            if ident is None:
                return None  # a kind of event this version does not handle yet
            raise ValueError(f"unknown op {op!r} (expected {', '.join(bridge.OPS)})")
        result = known(message)
    except bridge.ERRORS as exc:
        result = {"error": bridge.error_text(exc)}
        if getattr(exc, "events", None):
            result["events"] = exc.events  # type: ignore[attr-defined]
    except Exception as exc:  # a bug: keep serving the other calls, and leave its traceback
        from ..crashlog import write_crash_log

        where = write_crash_log(exc, ["lattice_env.routing.bridge", "serve", line.decode(errors="replace")])
        result = {"error": f"internal error in Lattice's routing ({type(exc).__name__}: {exc}); this is a "
                           f"bug, details in {where}"}
    if ident is None:
        if result and "error" in result:
            bridge.log([f"{result['error']} (in a message that expects no answer)"])
        return None
    return (json.dumps({"id": ident, **(result or {})}) + "\n").encode()


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # opencode is gone (the answer's work, a post_agent commit, is done all the same)
