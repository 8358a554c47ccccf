"""The real git, for sharing: fetching a source at a ref (shallow where the server allows it), and the
commits and pushes of `lattice publish`. Through proc.run, with the user's own git configuration —
`url.<base>.insteadOf`, credential helpers, proxies, ssh agents — but never a prompt (a fetch that needs
a password the helpers do not have fails in one line instead of waiting)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from ..errors import LatticeError
from ..proc import ProcessError, clean_env, run
from .sources import Source

# What git needs from the user's environment to find their configuration and credentials.
PASSTHROUGH = ("HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM",
               "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "SSH_AUTH_SOCK", "GIT_ASKPASS", "SSH_ASKPASS",
               "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL",
               "GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY",
               "GIT_PROXY_COMMAND", "ALL_PROXY", "all_proxy")
TIMEOUT = 600  # seconds: a large repository over a slow link, but never forever


def git_env() -> dict[str, str]:
    env = clean_env(GIT_TERMINAL_PROMPT="0", GCM_INTERACTIVE="never", LC_ALL="C")
    env.update({k: v for k, v in os.environ.items() if k in PASSTHROUGH})
    return env


def git(args: list[str], cwd: Path | None = None, check: bool = True) -> str:
    """`git ARGS…` in `cwd`; its stdout. ProcessError when it fails; LatticeError when git is missing.
    `ext::` URLs (which run a command of the URL's choosing) are refused whatever the configuration says:
    a source, and the origin file `update` reads it from, are a stranger's input."""
    return run(["git", "-c", "protocol.ext.allow=never", *args], env=git_env(), cwd=cwd, check=check,
               timeout=TIMEOUT).stdout


def reason(exc: ProcessError, source: Source) -> str:
    """What a failed git command means, for someone who named `source`."""
    text = exc.stderr or exc.stdout
    lines = [re.sub(r"^(fatal|error|warning): ", "", line.strip()) for line in text.splitlines() if line.strip()]
    joined = " ".join(lines)
    if re.search(r"couldn't find remote ref|Remote branch .* not found|not our ref|unadvertised object|"
                 r"not a valid (object|commit)|unknown revision|bad revision", joined):
        return f"no branch, tag or commit named {source.ref or 'HEAD'}"
    if re.search(r"does not appear to be a git repository|Repository not found|repository '.*' not found|"
                 r"not found|No such file or directory|does not exist", joined, re.I):
        return "no such repository"
    if re.search(r"Could not resolve host|Connection refused|Failed to connect|Network is unreachable|"
                 r"timed out|unable to access|Could not read from remote", joined, re.I):
        found = next((line for line in lines if re.search(r"resolve|refused|connect|unreachable|timed out|"
                                                          r"unable to access", line, re.I)), lines[-1])
        return "cannot reach it: " + re.sub(r"unable to access '[^']*': ", "", found)
    if re.search(r"Authentication failed|terminal prompts disabled|Permission denied", joined, re.I):
        return "git has no credentials for it (set up a credential helper or an ssh key)"
    return lines[-1] if lines else f"git failed with exit status {exc.returncode}"


class Fetched(NamedTuple):
    root: Path  # the checked-out repository (removed by the caller)
    tree: Path  # where in it the source points (a local directory inside a repository: that folder)
    commit: str


def fetch(source: Source, into: Path, ref: str | None = None) -> Fetched:
    """`source` at `ref` (default: its own ref, else the default branch) checked out into the new
    directory `into`. A LatticeError — `<source>: <why>` — when git cannot; `into` is then removed."""
    ref = ref if ref is not None else source.ref
    try:
        return _fetch(source, into, ref)
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise


def _fetch(source: Source, into: Path, ref: str | None) -> Fetched:
    url, inside = source.url, "."
    if source.kind == "directory":
        top = local_repository(Path(url))
        if top is None:
            raise LatticeError(f"{source.shown}: not a git repository, so it has no ref {ref}")
        inside = os.path.relpath(os.path.realpath(url), os.path.realpath(top))
        url = top.as_uri()
    into.mkdir(parents=True)
    try:
        git(["init", "-q", "--initial-branch=lattice-fetch", str(into)])
        try:  # one commit's worth of history: what a shallow clone of that ref gets
            git(["fetch", "-q", "--depth", "1", "--no-tags", url, ref or default_branch(url)], cwd=into)
            commit = "FETCH_HEAD"
        except ProcessError as exc:
            if ref is None or not re.fullmatch(r"[0-9a-f]{4,40}", ref):
                raise LatticeError(f"{source.shown}: {reason(exc, source._replace(ref=ref))}") from None
            # an abbreviated commit (or a server that refuses unadvertised objects): all of it, then look
            git(["fetch", "-q", "--tags", url, "+refs/heads/*:refs/remotes/source/*"], cwd=into)
            commit = git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=into, check=False).strip()
            if not commit:
                raise LatticeError(f"{source.shown}: no branch, tag or commit named {ref}") from None
        git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit], cwd=into)
        head = git(["rev-parse", "HEAD"], cwd=into).strip()
    except ProcessError as exc:
        raise LatticeError(f"{source.shown}: {reason(exc, source._replace(ref=ref))}") from None
    except LatticeError as exc:
        if str(exc).startswith(source.shown):
            raise
        raise LatticeError(f"{source.shown}: {exc}") from None
    return Fetched(into, into / inside, head)


def default_branch(url: str) -> str:
    """What `HEAD` names at `url`; when it names no branch there (a bare repository made with another
    default than the branch pushed to it), its only branch, or `main`/`master`."""
    out = git(["ls-remote", "--symref", url, "HEAD", "refs/heads/*"])
    heads = [line.split("\t")[1] for line in out.splitlines() if "\t" in line and not line.startswith("ref:")]
    if "HEAD" in heads:
        return "HEAD"
    branches = [h for h in heads if h.startswith("refs/heads/")]
    for name in ("refs/heads/main", "refs/heads/master"):
        if name in branches:
            return name
    return branches[0] if len(branches) == 1 else "HEAD"


def local_repository(path: Path) -> Path | None:
    """The top of the git work tree the directory `path` is in (None: not in one, or git is missing)."""
    if not path.is_dir():
        return None
    try:
        out = git(["rev-parse", "--show-toplevel"], cwd=path, check=False)
    except LatticeError:
        return None
    top = out.strip()
    return Path(top) if top else None


def temporary_dir(near: Path | None = None, prefix: str = ".lattice-fetch-") -> Path:
    """A fresh directory name (not yet made) for a fetch: beside `near` when given, else in the temp dir."""
    parent = near if near is not None and near.is_dir() else Path(tempfile.gettempdir())
    made = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    made.rmdir()
    return made
