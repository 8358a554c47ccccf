"""`lattice generate`: render opencode's files from the Workflow and write them safely.

Two layouts:
- project (default): `opencode.json` at the project root, agents, commands and oh-my-opencode.json under
  `.opencode/` — where opencode looks when started in the project;
- directory (`--out DIR`): everything inside DIR, a self-contained opencode config dir
  (usable as `OPENCODE_CONFIG_DIR`, and the shape the store builds).

A manifest (`lattice-generated.json`) records the hash of every file written. A file is Lattice's to
replace or delete only when the manifest lists it with its current content; anything else (a file the
user wrote, or edited since) is left alone unless `--force`. Same input → byte-identical files.

The manifest comes with the repository, so it is input like lattice.yaml (manifest.py): it can name only
the files this layout generates, and writes and deletes never pass through a symlink. A run is
crash-consistent: every new file is first written aside (fsutil.Staged, so a full disk changes
nothing), then the manifest is replaced by one that also lists, under `previous`, the content each
changing file holds now; only then are files renamed into place and stale ones removed, and the final
manifest drops `previous`. Killed at any moment, the next run finds every file holding content a
manifest calls ours, and completes without `--force`.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, paths
from ..config.diagnostics import Diagnostic
from ..config.model import Workflow
from ..config.schema import NAME, NAME_MAX
from ..errors import FilesystemError, LatticeError
from ..flock import file_lock
from ..fsutil import Staged, read_regular
from ..render import render
from .config import OH_MY_OPENCODE, agent_settings, bridge_model, command_files, opencode_document
from .manifest import MANIFEST, read_manifest

LOCK = ".lattice-generate.lock"
_NAME = re.compile(NAME)
_TEMP = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")  # fsutil.Staged's temp files (tempfile.mkstemp names)


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

    def directories(self) -> list[str]:
        """The directories generated files go in, relative to base, parents first ("." is base)."""
        inner = [self.rel("agent"), self.rel("command")]
        return inner if self.config_dir == "." else [self.config_dir, *inner]

    def generated(self, rel: object) -> bool:
        """Whether `rel` is a path this layout generates — opencode.json, oh-my-opencode.json,
        agent/<name>.md, command/<name>.md — and so the only kind a manifest may list."""
        if not isinstance(rel, str):
            return False
        if rel in (self.config_file, self.rel("oh-my-opencode.json")):
            return True
        for kind in ("agent", "command"):
            prefix = self.rel(f"{kind}/")
            if rel.startswith(prefix) and rel.endswith(".md"):
                name = rel[len(prefix):-len(".md")]
                parts = name.split("/") if kind == "command" else [name]  # commands may have folders
                return all(len(p) <= NAME_MAX and _NAME.fullmatch(p) is not None for p in parts)
        return False


@dataclass
class Result:
    out: Path
    files: list[tuple[str, str]] = field(default_factory=list)  # (relative path, status)
    warnings: list[Diagnostic] = field(default_factory=list)


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
    for name, (settings, template) in command_files(workflow, bridge).items():
        files[layout.rel(f"command/{name}.md")] = render(
            "opencode/command.md.j2", source=source, settings=settings, template=template)
    omo = workflow.plugin_config.get(OH_MY_OPENCODE)
    if omo is not None and any(p.short_name == OH_MY_OPENCODE for p in workflow.plugins):  # else none reads it
        files[layout.rel("oh-my-opencode.json")] = render("opencode/oh-my-opencode.json.j2", config=omo)
    return {k: v.encode("utf-8") for k, v in sorted(files.items())}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_directories(layout: Layout) -> None:
    """Every directory generated files go in is a real directory (or absent): never a symlink planted
    in the project to send writes and deletes elsewhere."""
    for rel in layout.directories():
        path = layout.base / rel
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue  # made by the run (its subdirectories are absent too)
        except OSError as exc:
            FilesystemError.reraise(exc, path, "read")
        shown = paths.display(path)
        if stat.S_ISLNK(st.st_mode):
            raise LatticeError(f"{shown} is a symbolic link (to {os.readlink(path)}); lattice writes generated "
                               f"files only into real directories inside the project: remove it")
        if not stat.S_ISDIR(st.st_mode):
            raise LatticeError(f"{shown} is not a directory; nothing was written (move it away)")


def _check_folders(layout: Layout, files: dict[str, bytes]) -> None:
    """The folders of namespaced commands (command/team/review.md) are real directories too."""
    for rel in files:
        parent = os.path.dirname(rel)
        while parent and parent not in (".", layout.config_dir) and parent not in layout.directories():
            path = layout.base / parent
            if os.path.islink(path):
                raise LatticeError(f"{paths.display(path)} is a symbolic link (to {os.readlink(path)}); lattice writes "
                                   f"generated files only into real directories inside the project: remove it")
            if os.path.lexists(path) and not path.is_dir():
                raise LatticeError(f"{paths.display(path)} is not a directory; nothing was written (move it away)")
            parent = os.path.dirname(parent)


def _sweep_temps(layout: Layout) -> None:
    """Remove temp files a killed run left beside the files it was writing (we hold the lock, so none is
    live): only fsutil's temp names of files this layout generates, only regular files."""
    for rel in [".", *layout.directories()]:
        directory = layout.base / rel
        try:
            entries = os.listdir(directory)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            m = _TEMP.fullmatch(entry)
            own = os.path.normpath(os.path.join(rel, m.group(1))) if m else ""
            if m and (layout.generated(own) or own == layout.rel(MANIFEST)):
                path = directory / entry
                if stat.S_ISREG(os.lstat(path).st_mode):
                    path.unlink()


def _manifest_bytes(files: dict[str, str], previous: dict[str, str] | None = None) -> bytes:
    manifest: dict[str, Any] = {"generated_by": f"lattice {__version__}", "files": files}
    if previous:
        manifest["previous"] = previous
    return render("opencode/manifest.json.j2", manifest=manifest).encode()


@dataclass
class _Plan:
    """What a run changes: files to write and stale ones to remove, those that are not Lattice's
    (`conflicts`, written only with --force), and what each changing file holds now (`held`)."""

    writes: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # rel → digest of its content now
    existed: set[str] = field(default_factory=set)


def _plan(layout: Layout, files: dict[str, bytes], ours: dict[str, set[str]]) -> _Plan:
    plan = _Plan()
    for rel in sorted(set(files) | set(ours)):
        held = read_regular(layout.base / rel)
        if rel not in files:  # listed before, no longer generated (an agent removed from lattice.yaml)
            if isinstance(held, bytes) and digest(held) in ours[rel]:
                plan.removals.append(rel)
                plan.held[rel] = digest(held)
            continue
        if held == files[rel]:
            continue
        if held is not None:
            plan.existed.add(rel)
        if isinstance(held, bytes):
            plan.held[rel] = digest(held)
        if held is False or (isinstance(held, bytes) and plan.held[rel] not in ours.get(rel, ())):
            plan.conflicts.append(rel)  # the user's, edited since, or a symlink or fifo
        plan.writes.append(rel)
    return plan


def write_generated(workflow: Workflow, out: Path | None = None, force: bool = False) -> Result:
    layout = Layout.for_output(workflow, out)
    files = render_files(workflow, layout)
    manifest_path = layout.base / layout.rel(MANIFEST)
    _check_directories(layout)
    try:
        (layout.base / layout.config_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        FilesystemError.reraise(exc, layout.base / layout.config_dir, "create")
    with file_lock(layout.base / layout.rel(LOCK)):
        _check_directories(layout)  # again, under the lock
        _check_folders(layout, files)
        _sweep_temps(layout)
        manifest, raw = read_manifest(manifest_path, layout.generated)
        plan = _plan(layout, files, manifest.ours)
        if plan.conflicts and not force:
            shown = ", ".join(paths.display(layout.base / c) for c in plan.conflicts)
            raise LatticeError(f"{shown}: not generated by lattice (or edited since); nothing was "
                               f"written (move it away, or use --force to overwrite)")
        for rel in plan.conflicts:
            target = layout.base / rel
            if target.is_dir() and not target.is_symlink():
                raise LatticeError(f"{paths.display(target)} is a directory; nothing was written (move it away)")
        digests = {rel: digest(data) for rel, data in files.items()}
        final = _manifest_bytes(digests)
        changing = bool(plan.writes or plan.removals)
        # The manifest that calls both the old and the new content ours; when nothing existing changes
        # (a first run), that is the final manifest, written before the files instead of after them.
        first = _manifest_bytes(digests, plan.held) if changing else None
        with Staged() as staged, Staged() as intent, Staged() as closing:
            try:  # everything that needs room on disk, before anything is replaced
                for rel in plan.writes:
                    staged.write(layout.base / rel, files[rel])
                if first is not None:
                    intent.write(manifest_path, first)
                if final != (first or raw):
                    closing.write(manifest_path, final)
            except FilesystemError as exc:
                raise FilesystemError(f"{exc}; nothing was changed") from exc
            intent.commit()
            staged.commit()
            for rel in plan.removals:
                try:
                    (layout.base / rel).unlink()
                except FileNotFoundError:
                    pass
            closing.commit()
    statuses = {rel: ("updated" if rel in plan.existed else "created") for rel in plan.writes}
    return Result(out=layout.base, warnings=manifest.warnings,
                  files=[(rel, statuses.get(rel, "unchanged")) for rel in files]
                  + [(rel, "removed") for rel in plan.removals])
