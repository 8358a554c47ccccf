"""Agent files: markdown whose whole text is the system prompt, with optional YAML frontmatter.

    ---
    temperature: 0.3
    mode: subagent
    ---
    You are a senior software architect...

Paths are confined to `agents_dir` (config/confine.py), itself confined to the project directory."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

from .. import paths
from ..errors import ConfigError, LatticeError
from .confine import PathError, confine, stat_of
from .diagnostics import Diagnostic
from .document import dotted, load_yaml
from .limits import MAX_AGENT_FILE_BYTES, read_limited, too_large
from .references import describe, opencode_references

FENCE = "---"


class AgentFile(NamedTuple):
    path: Path
    prompt: str
    frontmatter: dict[str, Any]


def resolve_agent_path(agents_dir: Path, relpath: str, base_name: str = "agents_dir",
                       what: str = "agent file") -> tuple[Path, int]:
    """Where `relpath` points inside `agents_dir` and its size, refusing (PathError) anything that would
    leave it and a file larger than an agent file may be, before it is read. (A command's `path` is
    resolved the same way, inside the project directory.)"""
    full = confine(agents_dir, relpath, base_name)
    shown = f"{what} {paths.display(full)}"
    st = stat_of(full, shown)
    if st is None:
        raise PathError(f"{shown} is a broken symlink" if os.path.islink(full) else f"{shown} does not exist")
    if not stat.S_ISREG(st.st_mode):
        raise PathError(f"{shown} is not a regular file")
    if st.st_size > MAX_AGENT_FILE_BYTES:
        raise PathError(f"{shown}: {too_large(st.st_size, MAX_AGENT_FILE_BYTES, 'an agent file')}")
    return full, st.st_size


def read_agent_file(path: Path, frontmatter: dict[str, Any] | None = None) -> AgentFile:
    """Read an agent file (or, with `frontmatter` naming another schema, a command's markdown file:
    its body is the template). Frontmatter errors are located inside the .md file."""
    shown = paths.display(path)
    try:
        data = read_limited(path, MAX_AGENT_FILE_BYTES, shown, "an agent file")
    except LatticeError as exc:  # cannot read, or replaced since resolve_agent_path looked at it
        raise ConfigError([Diagnostic(shown, 0, 0, "", str(exc).removeprefix(f"{shown}: "))]) from None
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
            _check_frontmatter(doc, shown, frontmatter)
    _check_body(body, text[:len(text) - len(body)].count("\n"), shown)
    return AgentFile(path=path, prompt=body, frontmatter=meta)


def _check_body(body: str, offset: int, shown: str) -> None:
    """The prompt is copied into the store as it is: a token in it is refused like one in lattice.yaml."""
    from .secrets import text_secrets

    found = [Diagnostic(shown, offset + line, 0, "", f"{kind} written in the prompt: lattice would copy it into "
                        f"the store, where every process you run can read it; keep it out of the agent file")
             for line, kind in text_secrets(body)]
    if found:
        raise ConfigError(found)


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


def _check_frontmatter(doc: Any, shown: str, schema: dict[str, Any] | None) -> None:
    from .schema import FRONTMATTER, validate_mapping

    class _Where:
        def __init__(self, path: tuple[Any, ...]) -> None:
            m = doc.where(path)
            self.file, self.line, self.col = shown, m.line, m.col

    errors = []
    data = doc.data
    if schema is None:  # an agent's: its model is its routing
        schema = FRONTMATTER
        if "model" in doc.data:
            m = doc.key_marks[("model",)]
            errors.append(Diagnostic(shown, m.line, m.col, "model",
                                     "the model is chosen by routing in lattice.yaml; use model_preference "
                                     "for a hint"))
        data = {k: v for k, v in doc.data.items() if k != "model"}
    errors += validate_mapping(data, schema, _Where, doc.raw)
    for path, value, reference in opencode_references(doc.data):  # the prompt is text; these are values
        m = doc.where(path)
        errors.append(Diagnostic(shown, m.line, m.col, dotted(path), describe(value, reference)))
    from .secrets import message, strings_of, token_kind

    for path, text in strings_of(doc.data, ()):
        kind = token_kind(text)
        if kind:
            m = doc.where(path)
            errors.append(Diagnostic(shown, m.line, m.col, dotted(path), message(kind, path)))
    if errors:
        raise ConfigError(errors)
