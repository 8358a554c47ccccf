"""Reading an opencode setup as opencode 1.18.33 would: its layout, its JSONC configuration merged in
opencode's order, markdown agents and commands, plugin files, skills and AGENTS.md. Two layouts:

- a project: `opencode.json`/`opencode.jsonc` at its root, then the `.opencode/` config directory;
- a config directory (the global `~/.config/opencode`, or a repository that shares one): `config.json`,
  `opencode.json`, `opencode.jsonc`, `agent(s)/`, `command(s)/`, `plugin(s)/`, `skill(s)/` at its root.

In a config directory: agents are `agent/**/*.md` or `agents/**/*.md` (name = path without `.md`), the
body their prompt and the frontmatter their settings; commands likewise in `command(s)/` (`team/x.md`
is `/team/x`); `plugin(s)/*.js|ts` files are plugins. Everything is read inside the setup's own folder:
no symlink is followed out of it, and every file has a size limit."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

from ..config.agent_files import split_frontmatter
from ..config.limits import MAX_AGENT_FILE_BYTES, MAX_CONFIG_BYTES
from ..errors import ConfigError, LatticeError
from .files import File, read_file
from .jsonc import loads

CONFIG_FILES = ("config.json", "opencode.json", "opencode.jsonc")  # opencode's order: later wins
PROJECT_FILES = ("opencode.json", "opencode.jsonc")
DIRS = {"agent": ("agent", "agents"), "command": ("command", "commands"), "plugin": ("plugin", "plugins"),
        "skill": ("skill", "skills")}
MERGED_LISTS = ("plugin", "instructions")  # opencode joins these across files instead of replacing them


class Markdown(NamedTuple):
    rel: str  # relative to the setup's root, for messages
    frontmatter: dict[str, Any]
    body: str


class Setup(NamedTuple):
    root: Path
    layout: str  # "project" | "config-dir"
    config: dict[str, Any]  # the merged JSONC documents
    config_files: list[str]  # which were read, relative to root
    config_dirs: list[str]  # relative config directories ("." or ".opencode"), for resolving {file:} and paths
    agents: dict[str, Markdown]
    commands: dict[str, Markdown]
    plugin_files: dict[str, str]  # name → rel path of a plugin file
    skills: list[tuple[str, str]]  # (path inside its skill(s)/ folder, rel path of the folder holding SKILL.md)
    agents_md: str | None  # rel path of AGENTS.md


def is_setup(root: Path) -> bool:
    """Whether `root` holds an opencode setup of either layout."""
    if any(_is_file(root / n) for n in CONFIG_FILES) or _is_dir(root / ".opencode"):
        return True
    return any(_is_dir(root / d) for names in DIRS.values() for d in names)


def layout_of(root: Path) -> str:
    if _is_dir(root / ".opencode"):
        return "project"
    if _is_file(root / "config.json") or any(_is_dir(root / d) for names in DIRS.values() for d in names):
        return "config-dir"
    return "project"


def read_setup(root: Path) -> Setup:
    layout = layout_of(root)
    files = [n for n in (PROJECT_FILES if layout == "project" else CONFIG_FILES) if _is_file(root / n)]
    dirs = ["."] if layout == "config-dir" else []
    if layout == "project" and _is_dir(root / ".opencode"):
        dirs.append(".opencode")
        files += [f".opencode/{n}" for n in CONFIG_FILES if _is_file(root / ".opencode" / n)]
    config: dict[str, Any] = {}
    for rel in files:
        data = loads(read_text(root, rel, MAX_CONFIG_BYTES), rel)
        if not isinstance(data, dict):
            raise LatticeError(f"{rel}: the top level must be an object")
        config = merge(config, data)
    agents: dict[str, Markdown] = {}
    commands: dict[str, Markdown] = {}
    plugins: dict[str, str] = {}
    skills: list[tuple[str, str]] = []
    for base in dirs:
        for kind, names in DIRS.items():
            for name in names:
                folder = f"{base}/{name}" if base != "." else name
                if not _is_dir(root / folder):
                    continue
                if kind in ("agent", "command"):
                    found = agents if kind == "agent" else commands
                    for rel in _markdown_files(root, folder):
                        key = rel[len(folder) + 1:-len(".md")]
                        found[key] = read_markdown(root, rel)
                elif kind == "plugin":
                    for entry in sorted(os.listdir(root / folder)):
                        rel = f"{folder}/{entry}"
                        if entry.endswith((".js", ".ts", ".mjs")) and _is_file(root / rel):
                            plugins[entry.rsplit(".", 1)[0]] = rel
                else:
                    skills += skill_folders(root, folder)
    agents_md = "AGENTS.md" if _is_file(root / "AGENTS.md") else None
    return Setup(root, layout, config, files, dirs, agents, commands, plugins, skills, agents_md)


def merge(low: dict[str, Any], high: dict[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """opencode's merge of two config documents: mappings deep, `plugin` and `instructions` joined."""
    out = dict(low)
    for key, value in high.items():
        here = (*path, key)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, here)
        elif not path and key in MERGED_LISTS and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        else:
            out[key] = value
    return out


def read_markdown(root: Path, rel: str) -> Markdown:
    text = read_text(root, rel, MAX_AGENT_FILE_BYTES)
    try:
        front, body = split_frontmatter(text.removeprefix("\ufeff"), rel)
    except ConfigError as exc:
        raise LatticeError(str(exc.diagnostics[0])) from None
    meta: Any = {}
    if front is not None:
        import yaml

        try:
            meta = yaml.safe_load(front) or {}
        except yaml.YAMLError as exc:
            raise LatticeError(f"{rel}: its frontmatter is not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise LatticeError(f"{rel}: its frontmatter must be a mapping of keys")
    return Markdown(rel, {str(k): v for k, v in meta.items()}, body)


def read_text(root: Path, rel: str, limit: int) -> str:
    """The text of `root/rel`: a regular file inside `root` (no symlink on the way), at most `limit` bytes."""
    data = read_bytes(root, rel, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LatticeError(f"{rel}: not UTF-8 text (byte {exc.start})") from None


def read_bytes(root: Path, rel: str, limit: int) -> bytes:
    return read_setup_file(root, rel, limit).data


def read_setup_file(root: Path, rel: str, limit: int) -> File:
    """`root/rel` with its executable bit: a regular file inside `root` (no symlink on the way)."""
    if not inside(root, rel):
        raise LatticeError(f"{rel}: leads out of the setup's folder (a symlink or '..')")
    found = read_file(root / rel, limit)
    if found is None:
        raise LatticeError(f"{rel}: no such file")
    if not isinstance(found, File):
        raise LatticeError(f"{rel}: not a regular file of at most {limit} bytes")
    return found


def inside(root: Path, rel: str) -> bool:
    """Whether `root/rel` resolves inside `root` (symlinks and '..' judged on the resolved path)."""
    if rel.startswith(("/", "~")) or "\0" in rel:
        return False
    real_root = os.path.realpath(root)
    real = os.path.realpath(root / rel)
    return real == real_root or real.startswith(real_root + os.sep)


def _markdown_files(root: Path, folder: str) -> list[str]:
    out = []
    for directory, dirs, names in os.walk(root / folder):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(directory, d)))
        for name in sorted(names):
            full = os.path.join(directory, name)
            if name.endswith(".md") and stat.S_ISREG(os.lstat(full).st_mode):
                out.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return out


def skill_folders(root: Path, folder: str) -> list[tuple[str, str]]:
    """The folders under `folder` that hold a SKILL.md, as opencode 1.18.33 globs a config dir's
    `{skill,skills}/**/SKILL.md` (dot-folders skipped); symlinked folders are not followed out."""
    out = []
    for directory, dirs, names in os.walk(root / folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(directory, d)))
        if "SKILL.md" in names and _is_file(Path(directory) / "SKILL.md"):
            rel = os.path.relpath(directory, root).replace(os.sep, "/")
            out.append((rel[len(folder) + 1:], rel))
    return out


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
