"""`lattice init`: the embedded default workflow (templates/init), written without ever overwriting
a file the user already has unless asked to."""
from __future__ import annotations

import re
from pathlib import Path

from .. import paths
from ..errors import FilesystemError, LatticeError
from ..fsutil import Staged
from ..render import read_template, render

AGENTS = ("architect", "implementer", "reviewer", "quick")


def default_name(directory: Path) -> str:
    """A valid workflow name from the directory's name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory.absolute().name).strip("-._")
    return name or "workflow"


def init_project(directory: Path, force: bool = False, name: str | None = None) -> list[Path]:
    """Write lattice.yaml and the starter agents into `directory`; returns the paths written.

    All-or-nothing: when any target exists (and not `force`), nothing is written; when the disk fills
    (or is read-only), every file is still a temp file, so nothing is replaced and no directory is left."""
    directory = directory.absolute()  # `lattice init .`: a bare file name has no directory to make
    name = name or default_name(directory)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise LatticeError(f"workflow name '{name}' must be letters, digits, '.', '_' or '-'")
    files = {directory / paths.PROJECT_FILE: render("init/lattice.yaml.j2", name=name)}
    for agent in AGENTS:
        files[directory / "agents" / f"{agent}.md"] = read_template(f"init/agents/{agent}.md")
    existing = [p for p in files if p.exists()]
    if existing and not force:
        shown = ", ".join(paths.display(p) for p in existing)
        raise LatticeError(f"{shown} already exist{'s' if len(existing) == 1 else ''}; "
                           f"nothing was written (use --force to overwrite)")
    with Staged() as staged:
        try:
            for path, text in files.items():
                staged.write(path, text.encode("utf-8"))
        except FilesystemError as exc:
            raise FilesystemError(f"{exc}; nothing was written") from exc
        staged.commit()
    trust_created(directory)
    return list(files)


def trust_created(directory: Path) -> None:
    """A workflow `lattice init` writes is the user's own: trusted at creation (trust/). When the
    configuration around it does not load (a broken global file), it is left untrusted, with a warning."""
    from ..config.load import load_workflow
    from ..trust.check import trust

    try:
        trust(load_workflow(directory=directory))
    except LatticeError as exc:
        import sys

        sys.stderr.write(f"lattice: warning: {directory} is not trusted yet ({str(exc).splitlines()[0]}); "
                         f"run `lattice trust` there once it loads\n")
