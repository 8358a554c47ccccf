"""`lattice publish [--to GIT_URL]`: the workflow checked as shareable, committed to git (the repository
created when there is none) and pushed, so that `lattice init --from GIT_URL` takes it elsewhere.

Shareable means: it validates (the caller loaded it), no literal secret in lattice.yaml or a prompt
(config/secrets.py's shapes), no path of this machine (absolute or `~`) in the project's own values, and
what is machine-local or generated — lattice.local.yaml, opencode.json and .opencode/, node_modules —
kept out by `.gitignore` (lines added when missing) and not already committed. The lock is committed: it
pins what others build (its `node` entry names no path, only the engine)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import LatticeError
from ..proc import ProcessError
from .git import git

IGNORED = ("lattice.local.yaml", "opencode.json", ".opencode/", "node_modules/")


def machine_paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every value of `data` that is a path of this machine: `~…`, or absolute (two or more segments,
    the first of which exists here — `/review` is a trigger, `/home/me/x` a path); a `file:` plugin's
    path likewise. Triggers and routing hold slash-names, never paths."""
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k not in ("triggers", "routing"):
                out += machine_paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += machine_paths(v, (*path, i))
    elif isinstance(data, str):
        text = data.removeprefix("file://").removeprefix("file:")
        segments = text.split("/")
        if text.startswith("~") or (text.startswith("/") and len(segments) > 2 and segments[1]
                                    and os.path.lexists("/" + segments[1])):
            out.append((path, data))
    return out


def check_shareable(loaded: Any) -> None:
    from ..config.diagnostics import Diagnostic
    from ..config.document import dotted
    from ..config.secrets import text_secrets
    from ..errors import ConfigError
    from ..trust.items import project_data

    problems: list[Diagnostic] = []
    config = loaded.config
    for path, value in machine_paths(project_data(loaded)):
        o = config.where(path)
        problems.append(Diagnostic(o.file, o.line, o.col, dotted(path),
                                   f"'{value}' is a path of this machine; others do not have it (write a path "
                                   f"relative to the workflow, or move it to lattice.local.yaml)"))
    for agent in loaded.workflow.agents.values():
        for line, kind in text_secrets(agent.prompt):
            problems.append(Diagnostic(str(agent.prompt_file), line, 1, f"agents.{agent.name}",
                                       f"the prompt holds {kind}; remove it before sharing"))
    if problems:
        raise ConfigError(problems)


def ensure_gitignore(directory: Path) -> bool:
    """Add what must not be shared to `directory/.gitignore`; whether it was written."""
    from ..fsutil import atomic_write, read_regular

    path = directory / ".gitignore"
    data = read_regular(path, 1 << 20)
    if data is False:
        raise LatticeError(f"{path}: not a regular file")
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [p for p in IGNORED if p not in present and p.rstrip("/") not in present and "/" + p not in present]
    if not missing:
        return False
    head = text if not text or text.endswith("\n") else text + "\n"
    atomic_write(path, (head + "# lattice publish: machine-local and generated files\n"
                        + "".join(f"{p}\n" for p in missing)).encode())
    return True


def publish_workflow(loaded: Any, remote: str | None = None, message: str = "lattice publish") -> dict[str, Any]:
    from .git import local_repository

    check_shareable(loaded)
    directory = Path(loaded.workflow.root)
    wrote = [".gitignore"] if ensure_gitignore(directory) else []
    top = local_repository(directory)
    try:
        if top is None:
            git(["init", "-q", "--initial-branch=main", str(directory)])
            top = directory
        tracked = git(["ls-files", "--", *[p.rstrip("/") for p in IGNORED]], cwd=directory).split()
        if tracked:
            raise LatticeError(f"{', '.join(tracked)} {'is' if len(tracked) == 1 else 'are'} committed already, "
                               f"and must not be shared: `git rm --cached {' '.join(tracked)}`, then publish again")
        git(["add", "-A", "--", "."], cwd=directory)
        staged = git(["diff", "--cached", "--name-only", "--", "."], cwd=directory).split()
        if staged:
            git(["commit", "-q", "-m", message, "--", "."], cwd=directory)
        commit = git(["rev-parse", "HEAD"], cwd=directory).strip()
        branch = git(["symbolic-ref", "--short", "-q", "HEAD"], cwd=directory, check=False).strip() or "main"
        if remote is None:
            remote = git(["remote", "get-url", "origin"], cwd=directory, check=False).strip() or None
            if remote is None:
                raise LatticeError("this repository has no remote `origin`; give one: `lattice publish --to GIT_URL`")
        elif not git(["remote", "get-url", "origin"], cwd=directory, check=False).strip():
            git(["remote", "add", "origin", remote], cwd=directory)
        git(["push", "-q", remote, f"HEAD:refs/heads/{branch}"], cwd=directory)
    except ProcessError as exc:
        text = (exc.stderr or exc.stdout).strip().splitlines()
        why = text[-1].removeprefix("fatal: ").removeprefix("error: ") if text else f"exit status {exc.returncode}"
        raise LatticeError(f"publish: `git {exc.argv[1] if len(exc.argv) > 1 else ''}` failed: {why}") from None
    return {"directory": str(directory), "repository": os.fspath(top), "commit": commit, "branch": branch,
            "remote": remote, "committed": staged, "wrote": wrote}
