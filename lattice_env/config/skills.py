"""Skills — lattice.yaml's `skills:`, a list of directories of the project. Each holds skill folders: a
folder with a SKILL.md (frontmatter `name` and `description`, the body its instructions) and whatever
scripts and references it brings, found as opencode 1.18.33 finds them in a skills directory
(`**/SKILL.md`, not inside dot-directories).

Why a key of its own rather than opencode's `skills.paths` in the pass-through: opencode resolves a
relative `skills.paths` entry against the directory it is started in, not the config file's
(1.18.33 Skill.discovery: `path.join(directory, entry)`), so in a store environment used in another
project it named that project's folder — the workflow's skills were missing and a stray `skills/` there
was loaded. A store environment carries its skills instead, as data: every file of each directory is
copied into its config directory (`skill/<n>/…`, n its place in the list), which opencode scans wherever
it runs, and every file's content is an input of the store name (build/plan.py).

The files are untrusted input, like agent files: each directory confined to the project; every file
opened relative to its parent without following a symlink (a symlink anywhere is an error, never
copied); only regular files; sizes and counts bounded before reading; SKILL.md UTF-8 with a
frontmatter opencode accepts, and no literal secret in it (it is sent to the model, and the store is
readable by every user)."""
from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import paths
from ..errors import ConfigError, LatticeError
from .confine import PathError, confine
from .diagnostics import Diagnostic
from .document import dotted, load_yaml
from .limits import MAX_AGENT_FILE_BYTES, MAX_DEPTH, MAX_SKILL_FILES, MAX_SKILLS_BYTES, too_large

if TYPE_CHECKING:
    from .sources import ResolvedConfig

SKILL_FILE = "SKILL.md"
STORE_DIR = "skill"  # inside an environment's opencode config dir: opencode scans {skill,skills}/**/SKILL.md


class SkillFile(NamedTuple):
    # Under the environment's skill/ folder: the entry's index in `skills:`, then the path inside that
    # directory. An index, not the directory's name: opencode's glob skips dot-folders (`.opencode/skills`).
    path: str
    executable: bool
    data: bytes


def skill_dirs(config: ResolvedConfig) -> list[str]:
    entries = config.data.get("skills")
    return [e for e in entries if isinstance(e, str) and e] if isinstance(entries, list) else []


def read_skills(config: ResolvedConfig) -> tuple[tuple[SkillFile, ...], list[Diagnostic]]:
    """Every file of every `skills:` directory, and the problems found (each located at its entry, or
    inside the SKILL.md at fault)."""
    files: list[SkillFile] = []
    diags: list[Diagnostic] = []
    budget = _Budget()
    names: dict[str, str] = {}  # skill name → the SKILL.md that named it first
    seen: list[tuple[int, str]] = []
    entries = config.data.get("skills")
    for i, rel in enumerate(entries if isinstance(entries, list) else ()):
        if not isinstance(rel, str) or not rel:
            continue  # the schema says so
        o = config.where(("skills", i))
        key = dotted(("skills", i))
        try:
            base = _directory(config, rel)
            norm = os.path.relpath(base, config.root).replace(os.sep, "/")
            for j, other in seen:
                if norm == other or norm.startswith(other + "/") or other.startswith(norm + "/"):
                    raise PathError(f"'{rel}' overlaps skills[{j}] ('{other}'); name each directory once")
            seen.append((i, norm))
            found = _read_tree(base, norm, budget)
        except (PathError, LatticeError) as exc:
            diags.append(Diagnostic(o.file, o.line, o.col, key, str(exc)))
            continue
        skills = [(inner, data) for inner, _, data in found if _is_skill(inner)]
        if not skills:
            diags.append(Diagnostic(o.file, o.line, o.col, key, f"'{rel}' holds no skill (no folder in it has a "
                                                                f"{SKILL_FILE})"))
        for inner, data in skills:
            shown = paths.display(config.root / norm / inner)
            try:
                name = _check_skill(data, shown, os.path.join(config.root, norm, inner))
            except ConfigError as exc:
                diags.extend(exc.diagnostics)
                continue
            if name in names:
                diags.append(Diagnostic(shown, 0, 0, "name", f"skill '{name}' is named by {names[name]} too; "
                                                             f"opencode would keep either one: rename one"))
            names.setdefault(name, shown)
        files += [SkillFile(f"{i}/{inner}", executable, data) for inner, executable, data in found]
    return tuple(sorted(files)), diags


class _Budget:
    """What one validation may read of all skills together (limits.py)."""

    def __init__(self) -> None:
        self.files = self.bytes = 0

    def take(self, size: int, shown: str) -> None:
        self.files += 1
        self.bytes += size
        if self.files > MAX_SKILL_FILES:
            raise PathError(f"{shown}: more than {MAX_SKILL_FILES} skill files together")
        if self.bytes > MAX_SKILLS_BYTES:
            raise PathError(f"{shown}: the skill files up to this one: "
                            + too_large(self.bytes, MAX_SKILLS_BYTES, "all skill files together"))


def _directory(config: ResolvedConfig, rel: str) -> Any:
    full = confine(config.root, rel, "the project directory")
    real = os.path.realpath(full)
    if real == os.path.realpath(config.root):
        raise PathError(f"'{rel}' is the project directory itself; name the directory that holds the skills")
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        raise PathError(f"'{rel}' does not exist") from None
    except OSError as exc:
        raise PathError(f"'{rel}' cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):  # inside the project (confine), but a link: name its target instead
        raise PathError(f"'{rel}' is a symlink; name the directory itself (Lattice follows no symlink into "
                        f"what it copies to the store)")
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"'{rel}' is not a directory (skills: lists directories that hold skill folders)")
    return full


Found = list[tuple[str, bool, bytes]]  # (path inside the directory, executable, content)


def _read_tree(base: Any, norm: str, budget: _Budget) -> Found:
    """Every regular file under `base`, each directory and file opened relative to its parent's
    descriptor with O_NOFOLLOW, so nothing swapped in after a check can lead out. Messages name a file
    by `norm` (the directory, relative to the project) and its path inside."""
    out: Found = []
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _read_dir(fd, norm, "", 0, budget, out)
    finally:
        os.close(fd)
    return out


def _read_dir(fd: int, norm: str, rel: str, depth: int, budget: _Budget, out: Found) -> None:
    if depth > MAX_DEPTH:
        raise PathError(f"{norm}/{rel}: folders nested deeper than {MAX_DEPTH}")
    for name in sorted(os.listdir(fd)):
        inner = f"{rel}/{name}" if rel else name
        here = f"{norm}/{inner}"
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise PathError(f"{here} is a symlink (Lattice copies none into the store: it could lead out "
                                f"of the project)")
            if stat.S_ISDIR(st.st_mode):
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                try:
                    _read_dir(sub, norm, inner, depth + 1, budget, out)
                finally:
                    os.close(sub)
                continue
            if not stat.S_ISREG(st.st_mode):
                raise PathError(f"{here} is not a regular file")
            limit = MAX_AGENT_FILE_BYTES if name == SKILL_FILE else MAX_SKILLS_BYTES
            if st.st_size > limit:
                raise PathError(f"{here}: {too_large(st.st_size, limit, 'a skill file')}")
            budget.take(st.st_size, here)
            out.append((inner, bool(st.st_mode & 0o111), _read_file(fd, name, here, limit)))
        except PathError:
            raise
        except OSError as exc:  # a name swapped for a link or a fifo meanwhile (ELOOP, ENOTDIR), EACCES
            raise PathError(f"{here} cannot be read: {exc.strerror or exc}") from None


def _read_file(fd: int, name: str, shown: str, limit: int) -> bytes:
    file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    try:
        if not stat.S_ISREG(os.fstat(file_fd).st_mode):
            raise PathError(f"{shown} is not a regular file")
        chunks, left = [], limit + 1
        while left > 0 and (chunk := os.read(file_fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise PathError(f"{shown}: grew while it was read: {too_large(limit + 1, limit, 'a skill file')}")
        return b"".join(chunks)
    finally:
        os.close(file_fd)


def _is_skill(inner: str) -> bool:
    """Whether a path inside a skills directory is a SKILL.md opencode finds (its glob skips dot-folders)."""
    parts = inner.split("/")
    return parts[-1] == SKILL_FILE and not any(p.startswith(".") for p in parts[:-1])


def _check_skill(data: bytes, shown: str, slot: str) -> str:
    """The skill's name, once its SKILL.md is one opencode loads: UTF-8, a frontmatter mapping with a
    `name` (text) and a `description` (text, if given), and no literal secret."""
    from .agent_files import split_frontmatter
    from .secrets import strings_of, text_secrets, token_kind

    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigError([Diagnostic(shown, 0, 0, "", f"not UTF-8 text (byte {exc.start})")]) from None
    front, body = split_frontmatter(text, shown)
    if front is None:
        raise ConfigError([Diagnostic(shown, 1, 1, "", "a skill starts with a frontmatter (---) naming it: "
                                                        "name and description")])
    doc = load_yaml(front, shown, line_offset=1, slot=slot)
    meta = doc.data
    if not isinstance(meta, dict):
        raise ConfigError([Diagnostic(shown, 2, 1, "", "frontmatter must be a mapping of keys")])
    errors = []
    if not isinstance(meta.get("name"), str) or not meta["name"].strip():
        errors.append(Diagnostic(shown, 2, 1, "name", "a skill needs a name (opencode loads none without one)"))
    if "description" in meta and not isinstance(meta["description"], str):
        m = doc.where(("description",))
        errors.append(Diagnostic(shown, m.line, m.col, "description", "must be text"))
    for path, value in strings_of(meta, ()):
        kind = token_kind(value)
        if kind:
            m = doc.where(path)
            errors.append(Diagnostic(shown, m.line, m.col, dotted(path), f"{kind} written in the skill: {SECRET}"))
    offset = text[:len(text) - len(body)].count("\n")
    errors += [Diagnostic(shown, offset + line, 0, "", f"{kind} written in the skill: {SECRET}")
               for line, kind in text_secrets(body)]
    if errors:
        raise ConfigError(errors)
    return str(meta["name"])


SECRET = ("lattice would copy it into the store, where every process you run can read it, and opencode "
          "sends it to the model; keep it out of the skill")
