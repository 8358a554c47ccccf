"""Where `lattice init --from` takes a workflow from: the source forms the design lists, parsed into
what git is asked for.

    owner/repo                       GitHub (https://github.com/owner/repo.git)
    github:owner/repo                GitHub
    gitlab:group/sub/repo            GitLab (https://gitlab.com/…)
    https://… http://… ssh://… git://… file://… user@host:path    any git URL
    ./dir  ../dir  /abs/dir  ~/dir   a local directory: a git repository (its committed HEAD), or
                                     a plain directory copied as it is

each optionally followed by `@REF` (a branch, a tag or a commit) and `//SUBDIR` (the workflow's folder
inside the repository), as `owner/repo@v1.2//workflows/web`; `--ref` gives the ref too. Shorthands
become https URLs, so git's own configuration applies to them as to any URL (`url.<base>.insteadOf`,
credential helpers, proxies)."""
from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..errors import UsageError

HOSTS = {"github": "https://github.com/", "gitlab": "https://gitlab.com/"}
_SEGMENT = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
_OWNER_REPO = re.compile(rf"{_SEGMENT}/{_SEGMENT}")
_GITLAB_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})+")
_URL = re.compile(r"(?:https?|ssh|git|file)://\S+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:\S+")
_REF = re.compile(r"[A-Za-z0-9_./+-]+")


class Source(NamedTuple):
    spec: str  # as the user wrote it (recorded in the origin file, shown in messages)
    kind: str  # "git" (fetched with git) | "directory" (a plain local directory, copied)
    url: str  # what git fetches, or the directory
    ref: str | None
    subdir: str | None  # "/"-separated, relative, no ".."
    name: str  # the default directory to clone into: the repository's (or directory's) name

    @property
    def shown(self) -> str:
        return self.spec


def parse_source(spec: str, ref: str | None = None) -> Source:
    """`spec` (and `--ref`) as a Source; a UsageError (one line) for anything that is none of the forms."""
    text = spec.strip()
    if not text:
        raise UsageError("--from needs a source (owner/repo, github:…, gitlab:…, a git URL or a directory)")
    local = text.startswith(("/", "./", "../", "~")) or text in (".", "..")
    base, subdir = _split_subdir(text, local)
    base, at_ref = _split_ref(base, local)
    if ref is not None and at_ref is not None and ref != at_ref:
        raise UsageError(f"{spec}: names ref {at_ref} and --ref {ref}; give one")
    ref = ref if ref is not None else at_ref
    if ref is not None and (not _REF.fullmatch(ref) or ref.startswith("-") or ".." in ref):
        raise UsageError(f"{spec}: '{ref}' is not a branch, tag or commit name")
    if subdir is not None:
        parts = [p for p in subdir.split("/") if p not in ("", ".")]
        if subdir.startswith("/") or ".." in parts or not parts:
            raise UsageError(f"{spec}: '//{subdir}' must be a folder inside the repository")
        subdir = "/".join(parts)
    if local:
        path = os.path.abspath(os.path.expanduser(base))
        name = os.path.basename(path.rstrip("/")) or "workflow"
        return Source(spec, "directory", path, ref, subdir, _clean_name(name))
    for prefix, host in HOSTS.items():
        if base.startswith(prefix + ":"):
            path = base[len(prefix) + 1:].removesuffix(".git")
            pattern = _OWNER_REPO if prefix == "github" else _GITLAB_PATH
            if not pattern.fullmatch(path):
                shape = "owner/repo" if prefix == "github" else "group/repo"
                raise UsageError(f"{spec}: expected {prefix}:{shape}")
            return Source(spec, "git", f"{host}{path}.git", ref, subdir, _clean_name(path.rsplit("/", 1)[-1]))
    if _URL.fullmatch(base):
        tail = re.split(r"[/:]", base.rstrip("/"))[-1].removesuffix(".git")
        return Source(spec, "git", base, ref, subdir, _clean_name(tail))
    if _OWNER_REPO.fullmatch(base.removesuffix(".git")):
        path = base.removesuffix(".git")
        return Source(spec, "git", f"{HOSTS['github']}{path}.git", ref, subdir, _clean_name(path.split("/")[1]))
    raise UsageError(f"{spec}: not a source lattice knows (owner/repo, github:owner/repo, gitlab:group/repo, "
                     f"a git URL, or a directory: ./dir, /abs/dir, ~/dir)")


def _split_subdir(text: str, local: bool) -> tuple[str, str | None]:
    """`repo//sub/dir` → (`repo`, `sub/dir`); the `//` of a URL's scheme is not a separator."""
    start = text.index("://") + 3 if "://" in text and not local else 0
    at = text.find("//", start)
    if at < 0:
        return text, None
    base, subdir = text[:at], text[at + 2:]
    if "@" in subdir and "@" not in base.rsplit("/", 1)[-1]:  # `repo//sub@v1`: the ref written last
        subdir, _, ref = subdir.rpartition("@")
        base = f"{base}@{ref}"
    return base, subdir


def _split_ref(base: str, local: bool) -> tuple[str, str | None]:
    """`repo@v1.2` → (`repo`, `v1.2`): an `@` in the last path segment (not the `user@` of an ssh URL)."""
    head, sep, last = base.rpartition("/")
    if "@" not in last or (not sep and _URL.fullmatch(base) and last.index("@") < last.find(":")):
        return base, None
    if local and os.path.exists(os.path.expanduser(base)):
        return base, None  # a directory whose name has an @
    name, _, ref = last.rpartition("@")
    if not name:
        return base, None
    return f"{head}{sep}{name}", ref


def _clean_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "workflow"
    return cleaned
