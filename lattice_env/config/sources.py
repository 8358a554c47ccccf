"""Configuration sources and how they merge.

Sources, lowest first: the global `<config dir>/lattice.yaml`, the project's `lattice.yaml`, then
`lattice.local.yaml` beside it. Maps merge key by key; lists and scalars are replaced whole; `null`
removes a key that a lower source set (a key that first appears as `null` stays, as an empty value, so
`ollama:` with nothing under it still declares the provider). Every path keeps the file, line and
column it came from, for error messages and `lattice config --sources`.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from .. import paths
from ..errors import ConfigError, LatticeError
from .diagnostics import Diagnostic
from .document import Document, KeyPath, Mark, load_yaml, nearest
from .limits import MAX_CONFIG_BYTES, read_limited


class Origin(NamedTuple):
    file: str  # as shown in messages
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ResolvedConfig:
    """The merged configuration and where each part of it was written. (A plain class: it is filled
    source by source; see model.py for why nothing on a no-op build is a dataclass.)"""

    def __init__(self, data: dict[str, Any], root: Path, project_file: Path) -> None:
        self.data = data
        self.root = root  # the project directory: relative paths in lattice.yaml are resolved from here
        self.project_file = project_file
        self.files: list[Path] = []  # sources read, lowest first
        self.origins: dict[KeyPath, Origin] = {}  # where each value starts
        self.key_origins: dict[KeyPath, Origin] = {}  # where each key is written
        self.raw: dict[KeyPath, tuple[str, str]] = {}  # YAML 1.1 trap candidates
        # The merge of every source below lattice.local.yaml (None without one): what the shared files say,
        # so a check can tell a machine's own narrowing (local `models:`) from a mistake in lattice.yaml.
        self.shared: dict[str, Any] | None = None

    def local_file(self) -> str | None:
        """lattice.local.yaml as messages show it, when it is one of the sources."""
        return paths.display(self.files[-1]) if self.shared is not None and self.files else None

    def where(self, path: KeyPath, value: bool = False) -> Origin:
        """Where a message about `path` points: at its key when it is a mapping's key (`strategy:`
        in `strategy: lottery`, whatever is wrong with the value), at its own position when it is a
        list item (no key). A path that is not written anywhere (a missing key, a place inside a
        scalar) points at its nearest located ancestor, by the same rule. `value=True` gives where
        the value itself starts instead (what `lattice config --sources` lists)."""
        tables = (self.origins,) if value else (self.key_origins, self.origins)
        found = nearest(path, tables, None)  # the default only when needed: display() costs a getcwd
        return found if found is not None else Origin(paths.display(self.project_file), 1, 1)

    def leaves(self) -> Iterator[tuple[KeyPath, Any, Origin]]:
        """Every scalar (and every list item) with where its value starts, in document order of the
        merged data."""
        def walk(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any, Origin]]:
            if isinstance(value, dict) and value:
                for k, v in value.items():
                    yield from walk(v, (*path, k))
            elif isinstance(value, list) and value:
                for i, v in enumerate(value):
                    yield from walk(v, (*path, i))
            else:
                yield path, value, self.where(path, value=True)
        yield from walk(self.data, ())


# Keys of the global file that belong to the machine, not to any workflow: which binary caches it trusts
# (cache/config.py reads them). They never reach a workflow's configuration — so never its store name
# — and a project's own files may not set them: a stranger's workflow must not choose what runs here.
MACHINE_KEYS = ("caches", "trusted_public_keys")


def read_document(file: Path) -> Document:
    """Load one configuration file; a missing, unreadable, non-regular or oversized file is a one-line
    error."""
    shown = paths.display(file)
    return load_yaml(read_limited(file, MAX_CONFIG_BYTES, shown, "a configuration file"), shown,
                     slot=os.path.abspath(file))


def locate_project_file(file: Path | None = None, directory: Path | None = None) -> Path:
    """`--file` wins; otherwise the nearest lattice.yaml from `-C DIR` (or the working directory) up."""
    if file is not None:
        if not paths.is_config_file(file):
            raise LatticeError(f"{file}: no such file")
        return file.absolute()
    start = directory or Path.cwd()
    if directory is not None and not directory.is_dir():
        raise LatticeError(f"{directory}: no such directory")
    found = paths.find_project_file(start)
    if found is None:
        raise LatticeError(
            f"no {paths.PROJECT_FILE} in {start.absolute()} or any parent directory "
            f"(create one with `lattice init`)"
        )
    return found


def load_config(file: Path | None = None, directory: Path | None = None,
                use_global: bool = True) -> ResolvedConfig:
    """Read and merge every source. Collects the errors of all files before raising."""
    project = locate_project_file(file, directory)
    sources: list[Path] = []
    glob = paths.global_config_file()
    if use_global and paths.is_config_file(glob):
        sources.append(glob)
    sources.append(project)
    local = project.with_name(paths.LOCAL_FILE)
    if paths.is_config_file(local):
        sources.append(local)

    resolved = ResolvedConfig(data={}, root=project.parent, project_file=project)
    errors: list[Diagnostic] = []
    for source in sources:
        try:
            doc = read_document(source)
        except ConfigError as exc:
            errors.extend(exc.diagnostics)
            continue
        if doc.data is None:
            resolved.files.append(source)
            continue
        if not isinstance(doc.data, dict):
            m = doc.mark(())
            errors.append(Diagnostic(doc.file, m.line, m.col, "",
                                     "the top level must be a mapping of keys (name:, agents:, ...)"))
            continue
        if source == local:
            resolved.shared = copy.deepcopy(resolved.data)
        resolved.files.append(source)
        data = doc.data
        if any(key in data for key in MACHINE_KEYS):
            if source == glob:
                data = {k: v for k, v in data.items() if k not in MACHINE_KEYS}
            else:
                for key in (k for k in MACHINE_KEYS if k in data):
                    m = doc.where((key,))
                    errors.append(Diagnostic(doc.file, m.line, m.col, key, (
                        f"binary caches and their keys are trusted only from the global configuration "
                        f"({paths.display(glob)}), never from a project's file")))
                continue
        _overlay(resolved, resolved.data, data, doc, ())
    if errors:
        raise ConfigError(errors)
    resolved.origins[()] = Origin(paths.display(project), 1, 1)
    return resolved


def _origin(doc: Document, mark: Mark) -> Origin:
    return Origin(doc.file, mark.line, mark.col)


def _forget(resolved: ResolvedConfig, path: KeyPath) -> None:
    """Drop the origins of `path` and everything under it (it is being replaced)."""
    n = len(path)
    for table in (resolved.origins, resolved.key_origins, resolved.raw):
        for p in [p for p in table if p[:n] == path]:
            del table[p]


def _record(resolved: ResolvedConfig, doc: Document, path: KeyPath) -> None:
    """Copy the marks of `path` and everything under it from `doc`."""
    n = len(path)
    for p, m in doc.marks.items():
        if p[:n] == path:
            resolved.origins[p] = _origin(doc, m)
    for p, m in doc.key_marks.items():
        if p[:n] == path:
            resolved.key_origins[p] = _origin(doc, m)
    for p, r in doc.raw.items():
        if p[:n] == path:
            resolved.raw[p] = r


def _overlay(resolved: ResolvedConfig, dst: dict[str, Any], src: dict[str, Any], doc: Document,
             path: KeyPath) -> None:
    for key, value in src.items():
        p = (*path, key)
        if value is None and key in dst:
            del dst[key]
            _forget(resolved, p)
            continue
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            resolved.key_origins[p] = _origin(doc, doc.key_marks[p])
            _overlay(resolved, dst[key], value, doc, p)
            continue
        _forget(resolved, p)
        dst[key] = copy.deepcopy(value)
        _record(resolved, doc, p)
