"""`lattice doctor`: what is broken on this machine, and the command that fixes each problem (doctor.py)."""
from __future__ import annotations

from .app import cli as root
from .app import json_option
from .output import show


@root.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check node and npm, profiles, the store, each environment's opencode, providers and leftovers;
    print the command that fixes each problem. Exits 1 when there is any."""
    from ..doctor import diagnose, failed

    findings = diagnose()

    def lines() -> list[str]:
        out = []
        for f in findings:
            out.append(f"{'ok  ' if f.ok else 'FAIL'}  {f.check}: {f.detail}")
            if f.fix:
                out.append(f"      fix: {f.fix}")
        return out

    show({"ok": not failed(findings), "findings": [f.as_json() for f in findings]}, as_json, lines)
    if failed(findings):
        raise SystemExit(1)
