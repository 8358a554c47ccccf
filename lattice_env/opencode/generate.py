"""`lattice generate`: render opencode's files from the Workflow and write them safely.

Two layouts:
- project (default): `opencode.json` at the project root, agents, commands and oh-my-opencode.json under
  `.opencode/` — where opencode looks when started in the project;
- directory (`--out DIR`): everything inside DIR, a self-contained opencode config dir
  (usable as `OPENCODE_CONFIG_DIR`, and the shape the store builds).

A manifest (`lattice-generated.json`) records the hash of every file written. A file is Lattice's to
replace or delete only when the manifest lists it with its current content; anything else (a file the
user wrote, or edited since) is left alone unless `--force`. Same input → byte-identical files.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, paths
from ..config.model import Workflow
from ..errors import LatticeError
from ..flock import file_lock
from ..fsutil import atomic_write
from ..render import render
from .config import OH_MY_OPENCODE, agent_settings, bridge_model, command_files, opencode_document

MANIFEST = "lattice-generated.json"


@dataclass(frozen=True)
class Layout:
    base: Path  # paths in the manifest are relative to this
    config_file: str  # opencode.json, relative to base
    config_dir: str  # agent/, command/, oh-my-opencode.json, manifest: relative to base

    @classmethod
    def for_output(cls, workflow: Workflow, out: Path | None) -> Layout:
        if out is None:
            return cls(base=workflow.root, config_file="opencode.json", config_dir=".opencode")
        return cls(base=out.absolute(), config_file="opencode.json", config_dir=".")

    def rel(self, name: str) -> str:
        return name if self.config_dir == "." else f"{self.config_dir}/{name}"


@dataclass
class Result:
    out: Path
    files: list[tuple[str, str]] = field(default_factory=list)  # (relative path, status)


def render_files(workflow: Workflow, layout: Layout, plugin_entries: list[Any] | None = None,
                 instructions: list[str] | None = None, bridge: bool = False) -> dict[str, bytes]:
    """Every generated file, keyed by its path relative to `layout.base`. The store passes
    `plugin_entries`, `instructions` and `bridge` (see `opencode_config.opencode_document`): with the
    bridge, each agent's model is `lattice/<agent>`, routed per call."""
    source = paths.PROJECT_FILE
    files: dict[str, str] = {
        layout.config_file: render("opencode/opencode.json.j2",
                                   config=opencode_document(workflow, plugin_entries, instructions, bridge)),
    }
    for agent in workflow.agents.values():
        model = bridge_model(agent) if bridge else None
        files[layout.rel(f"agent/{agent.name}.md")] = render(
            "opencode/agent.md.j2", source=source, settings=agent_settings(agent, model),
            prompt=agent.prompt.rstrip("\n"))
    for name, (settings, template) in command_files(workflow).items():
        files[layout.rel(f"command/{name}.md")] = render(
            "opencode/command.md.j2", source=source, settings=settings, template=template)
    omo = workflow.plugin_config.get(OH_MY_OPENCODE)
    if omo is not None and any(p.short_name == OH_MY_OPENCODE for p in workflow.plugins):  # else none reads it
        files[layout.rel("oh-my-opencode.json")] = render("opencode/oh-my-opencode.json.j2", config=omo)
    return {k: v.encode("utf-8") for k, v in sorted(files.items())}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def _ours(path: Path, recorded: str | None) -> bool:
    """True when `path` holds exactly what Lattice wrote last time."""
    try:
        return recorded is not None and _digest(path.read_bytes()) == recorded
    except OSError:
        return False


def write_generated(workflow: Workflow, out: Path | None = None, force: bool = False) -> Result:
    layout = Layout.for_output(workflow, out)
    files = render_files(workflow, layout)
    manifest_path = layout.base / layout.rel(MANIFEST)
    layout.base.mkdir(parents=True, exist_ok=True)
    with file_lock(layout.base / layout.rel(".lattice-generate.lock")):
        previous = _read_manifest(manifest_path)
        conflicts = [rel for rel in files
                     if (layout.base / rel).exists() and not _ours(layout.base / rel, previous.get(rel))
                     and (layout.base / rel).read_bytes() != files[rel]]
        if conflicts and not force:
            shown = ", ".join(paths.display(layout.base / c) for c in conflicts)
            raise LatticeError(f"{shown}: not generated by lattice (or edited since); nothing was "
                               f"written (move it away, or use --force to overwrite)")
        result = Result(out=layout.base)
        for rel, data in files.items():
            target = layout.base / rel
            if target.exists() and target.read_bytes() == data:
                result.files.append((rel, "unchanged"))
                continue
            status = "updated" if target.exists() else "created"
            atomic_write(target, data)
            result.files.append((rel, status))
        for rel in sorted(set(previous) - set(files)):  # e.g. an agent removed from lattice.yaml
            stale = layout.base / rel
            if _ours(stale, previous[rel]):
                stale.unlink()
                result.files.append((rel, "removed"))
        manifest = {"generated_by": f"lattice {__version__}",
                    "files": {rel: _digest(data) for rel, data in files.items()}}
        atomic_write(manifest_path, render("opencode/manifest.json.j2", manifest=manifest).encode())
    return result
