"""`lattice init --from SOURCE`: a shared workflow — a lattice.yaml with its files, or an opencode setup
converted (importer.py) — fetched through the real git (git.py) into a temporary directory, checked,
and only then written into the target in one staged step (fsutil.Staged), with its origin file
(origin.py). Any failure before that writes nothing; a file that exists is never replaced without
`force`. Nothing of the workflow runs here unless it is trusted (trust/): the build is its first step
that could, and it goes through the same gate as `lattice build`."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any, Callable, NamedTuple

from .. import paths
from ..config.limits import MAX_SOURCE_BYTES, MAX_SOURCE_FILES
from ..errors import FilesystemError, LatticeError
from .files import File, read_file
from .origin import ORIGIN_FILE, Origin
from .sources import Source, parse_source

# Never taken from a source: its history, the user's machine-local overrides, what a build or a
# `generate` makes on each machine, and a previous origin (this clone writes its own).
SKIPPED_DIRS = {".git", "node_modules", ".lattice", ".opencode"}
SKIPPED_FILES = {"lattice.local.yaml", ORIGIN_FILE, "opencode.json", "opencode.jsonc", "oh-my-opencode.json"}


class Taken(NamedTuple):
    """A workflow read out of a fetched source, not yet written anywhere."""
    files: dict[str, File]  # relative path → content and executable bit
    kind: str  # "lattice" | "opencode"
    agents: int
    not_carried: list[str]
    warnings: list[str]


class Cloned(NamedTuple):
    directory: Path
    origin: Origin
    taken: Taken
    written: list[str]


def workflow_files(tree: Path, shown: str) -> dict[str, File]:
    """Every regular file of the workflow folder `tree` with its executable bit (symlinks and git's own
    files left out), within the limits of config/limits.py: what a lattice workflow is made of."""
    out: dict[str, File] = {}
    total = 0
    for directory, dirs, names in os.walk(tree):
        top = directory == os.fspath(tree)
        dirs[:] = sorted(d for d in dirs if not (top and d in SKIPPED_DIRS) and d != ".git" and not os.path.islink(os.path.join(directory, d)))
        for name in sorted(names):
            full = os.path.join(directory, name)
            rel = os.path.relpath(full, tree).replace(os.sep, "/")
            if (top and rel in SKIPPED_FILES) or not stat.S_ISREG(os.lstat(full).st_mode):
                continue
            total += os.lstat(full).st_size
            if len(out) >= MAX_SOURCE_FILES or total > MAX_SOURCE_BYTES:
                raise LatticeError(f"{shown}: more than {MAX_SOURCE_FILES} files or {MAX_SOURCE_BYTES >> 20} MiB; "
                                   f"a workflow is a lattice.yaml and its agent files (point at its folder with //DIR)")
            found = read_file(full, MAX_SOURCE_BYTES)
            if isinstance(found, File):  # else it was swapped for a symlink or the like since the lstat
                out[rel] = found
    return out


def take(tree: Path, source: Source, name: str) -> Taken:
    """The workflow in `tree`: a lattice workflow as it is, or an opencode setup converted."""
    from .importer import import_setup
    from .opencode_setup import is_setup, read_setup

    if os.path.isfile(tree / paths.PROJECT_FILE) and not os.path.islink(tree / paths.PROJECT_FILE):
        files = workflow_files(tree, source.shown)
        agents = sum(1 for rel in files if rel.startswith("agents/") and rel.endswith(".md"))
        return Taken(files, "lattice", agents, [], [])
    if is_setup(tree):
        try:
            imported = import_setup(read_setup(tree), name)
        except LatticeError as exc:
            raise LatticeError(f"{source.shown}: {exc}") from None
        return Taken(imported.files, "opencode", imported.agents, imported.not_carried, imported.warnings)
    where = f"//{source.subdir}" if source.subdir else "its top folder"
    raise LatticeError(f"{source.shown}: no workflow found in {where} (no lattice.yaml, opencode.json, "
                       f"opencode.jsonc or .opencode/)")


def fetch_source(source: Source, scratch: Path, notes: list[str]) -> tuple[Path, str | None]:
    """`source` checked out (or copied) under `scratch`; the workflow folder in it, and its commit.
    Warnings are added to `notes`."""
    from .git import fetch, local_repository

    if source.kind == "directory":
        if not os.path.isdir(source.url):
            raise LatticeError(f"{source.shown}: no such directory")
        if source.ref is None and (local_repository(Path(source.url)) is None or _dirty(Path(source.url))):
            # a plain directory, or one with uncommitted changes (as copier does: what the user sees is
            # what is taken), read where it is; nothing of it runs
            if local_repository(Path(source.url)) is not None:
                notes.append(f"{source.shown} has uncommitted changes: they were taken as they are, and the "
                             f"origin records no commit (`lattice update` merges only from a commit)")
            return subdir_of(Path(source.url), source), None
    fetched = fetch(source, scratch / "checkout")
    return subdir_of(fetched.tree, source), fetched.commit


def _dirty(directory: Path) -> bool:
    from .git import git

    return bool(git(["status", "--porcelain", "--", "."], cwd=directory).strip())


def subdir_of(tree: Path, source: Source) -> Path:
    if not source.subdir:
        return tree
    found = tree / source.subdir
    real, top = os.path.realpath(found), os.path.realpath(tree)
    if not real.startswith(top + os.sep) or not os.path.isdir(found):
        raise LatticeError(f"{source.shown}: no folder {source.subdir} in it")
    return found


def target_of(source: Source, directory: Path | None) -> Path:
    return (directory if directory is not None else Path(source.name)).absolute()


def clone(spec: str, directory: Path | None = None, ref: str | None = None, force: bool = False,
          say: Callable[[str], None] = lambda _: None) -> Cloned:
    """Fetch `spec` and write its workflow into `directory` (default: the repository's name), with the
    origin file. All or nothing: a LatticeError — one line naming the source — writes nothing."""
    import tempfile

    source = parse_source(spec, ref)
    target = target_of(source, directory)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise LatticeError(f"{paths.display(target)} exists and is not a directory; nothing was written")
    say(f"Cloning {source.shown}...")
    scratch = Path(tempfile.mkdtemp(prefix="lattice-clone-"))
    try:
        notes: list[str] = []
        tree, commit = fetch_source(source, scratch, notes)
        name = _workflow_name(target)
        taken = take(tree, source, name)
        taken = taken._replace(warnings=[*notes, *taken.warnings])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    origin = Origin(_recorded_src(source), source.ref, commit, source.subdir, taken.kind)
    files = {**taken.files, ORIGIN_FILE: File(origin.encoded())}
    written = write_files(target, files, force)
    return Cloned(target, origin, taken, written)


def _recorded_src(source: Source) -> str:
    """The source as the origin records it: the git URL the shorthand stood for (git's configuration
    still applies to it), a local path made absolute, so `update` finds it from anywhere; the ref and
    subdirectory have keys of their own."""
    return source.url


def _workflow_name(target: Path) -> str:
    from .init import default_name

    return default_name(target)


def write_files(target: Path, files: dict[str, File], force: bool) -> list[str]:
    """Write `files` under `target`, each 0755 or 0644 (File.mode), all at once (Staged: temp files, then
    renames); refuse, writing nothing, when any exists and not `force`, or when one would be written
    through a symlink."""
    from ..fsutil import Staged

    existing = sorted(rel for rel in files if os.path.lexists(target / rel))
    if existing and not force:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise LatticeError(f"{paths.display(target)}: {shown} already exist{'s' if len(existing) == 1 else ''}; "
                           f"nothing was written (use --force to overwrite)")
    for rel in files:
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in rel:
            raise LatticeError(f"{rel}: not a path inside the workflow; nothing was written")
        check_no_link(target, rel)
    with Staged() as staged:
        try:
            for rel, file in files.items():
                staged.write(target / rel, file.data, file.mode)
        except FilesystemError as exc:
            raise FilesystemError(f"{exc}; nothing was written") from exc
        staged.commit()
    return list(files)


def check_no_link(target: Path, rel: str) -> None:
    """Every folder on the way to `target/rel`, and the file itself, is no symlink (a --force must not
    write outside the project through one)."""
    here = target
    for part in rel.split("/"):
        here = here / part
        if os.path.islink(here):
            raise LatticeError(f"{paths.display(here)} is a symbolic link; lattice writes a cloned workflow only "
                               f"into real directories: nothing was written")


def summary(cloned: Cloned) -> dict[str, Any]:
    """What `init --from --json` prints about the files."""
    taken = cloned.taken
    return {"directory": str(cloned.directory), "source": cloned.origin.src, "ref": cloned.origin.ref,
            "commit": cloned.origin.commit, "subdirectory": cloned.origin.subdirectory, "kind": taken.kind,
            "files": cloned.written, "agents": taken.agents, "not_carried": taken.not_carried,
            "warnings": taken.warnings}
