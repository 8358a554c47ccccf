"""Agent files: markdown whose whole text is the system prompt, with optional YAML frontmatter.

    ---
    temperature: 0.3
    mode: subagent
    ---
    You are a senior software architect...

Paths are confined to `agents_dir`: no absolute path, no `..` escape, no symlink that leads out."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from .. import paths
from ..errors import ConfigError
from .diagnostics import Diagnostic
from .document import load_yaml

FENCE = "---"


class AgentFile(NamedTuple):
    path: Path
    prompt: str
    frontmatter: dict[str, Any]


class AgentPathError(ValueError):
    """An agent path that is not acceptable; message is one line."""


def resolve_agent_path(agents_dir: Path, relpath: str) -> Path:
    """Where `relpath` points inside `agents_dir`, refusing anything that would leave it."""
    candidate = Path(relpath)
    if candidate.is_absolute() or relpath.startswith("~"):
        raise AgentPathError(f"'{relpath}' must be relative to agents_dir, not absolute")
    if ".." in candidate.parts:
        raise AgentPathError(f"'{relpath}' leaves agents_dir ('..' is not allowed)")
    full = agents_dir / candidate
    if not full.exists() and not full.is_symlink():
        raise AgentPathError(f"agent file {paths.display(full)} does not exist")
    real_dir = Path(os.path.realpath(agents_dir))
    real = Path(os.path.realpath(full))
    if real != real_dir and real_dir not in real.parents:
        raise AgentPathError(f"'{relpath}' is a symlink that leads out of agents_dir (to {real})")
    if not real.exists():
        raise AgentPathError(f"agent file {paths.display(full)} is a broken symlink")
    if not real.is_file():
        raise AgentPathError(f"agent file {paths.display(full)} is not a regular file")
    return full


def read_agent_file(path: Path) -> AgentFile:
    """Read an agent file. Frontmatter errors are located inside the .md file."""
    shown = paths.display(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Diagnostic(shown, 0, 0, "", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Diagnostic(shown, 0, 0, "", f"not UTF-8 text (byte {exc.start})")]) from None
    text = text.removeprefix("\ufeff")
    front, body = split_frontmatter(text, shown)
    meta: dict[str, Any] = {}
    if front is not None:
        doc = load_yaml(front, shown, line_offset=1, slot=os.path.abspath(path))
        if doc.data is None:
            meta = {}
        elif not isinstance(doc.data, dict):
            raise ConfigError([Diagnostic(shown, 2, 1, "", "frontmatter must be a mapping of keys")])
        else:
            meta = doc.data
            _check_frontmatter(doc, shown)
    return AgentFile(path=path, prompt=body, frontmatter=meta)


def split_frontmatter(text: str, shown: str) -> tuple[str | None, str]:
    """(frontmatter text or None, body). The body keeps everything after the closing fence."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != FENCE:
        return None, text
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n").rstrip() == FENCE:
            body = "".join(lines[i + 1:])
            return "".join(lines[1:i]), body.lstrip("\r\n")
    raise ConfigError([Diagnostic(shown, 1, 1, "", "frontmatter opened with '---' is never closed")])


def _check_frontmatter(doc: Any, shown: str) -> None:
    from .schema import FRONTMATTER, validate_mapping

    class _Where:
        def __init__(self, path: tuple[Any, ...]) -> None:
            m = doc.where(path)
            self.file, self.line, self.col = shown, m.line, m.col

    errors = []
    if "model" in doc.data:
        m = doc.key_marks[("model",)]
        errors.append(Diagnostic(shown, m.line, m.col, "model",
                                 "the model is chosen by routing in lattice.yaml; use model_preference "
                                 "for a hint"))
    data = {k: v for k, v in doc.data.items() if k != "model"}
    errors += validate_mapping(data, FRONTMATTER, _Where, doc.raw)
    if errors:
        raise ConfigError(errors)
