"""git, as the presets run it: through proc.run, in the repository that holds `cwd`, with the user's own
git configuration (inside opencode XDG_CONFIG_HOME points at the environment; the wrapper kept the
user's value in LATTICE_USER_XDG_CONFIG_HOME), never a GIT_DIR/GIT_INDEX_FILE that leaked in from a git
hook, and within the caller's deadline."""
from __future__ import annotations

import os

from ..proc import ProcessError, run
from ..store.roots import pid_alive
from .base import VcsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    import subprocess
    from typing import Callable, Mapping

# Variables a git hook or a wrapper may have set that would point git at another repository or index.
LEAKS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
         "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")
TEMP_INDEX = "lattice-index-"  # <git dir>/lattice-index-<pid>-<random>: a snapshot's temporary index
# Who checkpoints are by when the user has no git identity (git refuses to make a commit without one).
FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "Lattice", "GIT_AUTHOR_EMAIL": "lattice@localhost",
                     "GIT_COMMITTER_NAME": "Lattice", "GIT_COMMITTER_EMAIL": "lattice@localhost"}


def tool_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a VCS tool runs with: the caller's, with the user's XDG_CONFIG_HOME back."""
    env = {k: v for k, v in environ.items() if k not in LEAKS}
    if "LATTICE_USER_XDG_CONFIG_HOME" in env:
        user = env.pop("LATTICE_USER_XDG_CONFIG_HOME")
        if user:
            env["XDG_CONFIG_HOME"] = user
        else:
            env.pop("XDG_CONFIG_HOME", None)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a push that needs a password fails instead of waiting for one
    return env


class Git:
    """`git ARGS…` in one repository; `remaining` gives the seconds left (the hook's deadline)."""

    def __init__(self, cwd: str, environ: Mapping[str, str], remaining: Callable[[], float | None]) -> None:
        self.cwd = cwd
        self.env = tool_env(environ)
        self.remaining = remaining
        self._identity: dict[str, str] | None = None

    def __call__(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True,
                 input: str | None = None) -> subprocess.CompletedProcess[str]:
        full = {**self.env, **(env or {})}
        try:
            return run(["git", *args], env=full, cwd=self.cwd, check=check, timeout=self.remaining(), input=input)
        except ProcessError as exc:
            detail = (exc.stderr.strip() or exc.stdout.strip()).splitlines()
            raise VcsError(f"git {args[0]} failed: {detail[-1] if detail else f'exit status {exc.returncode}'}") from None

    def out(self, *args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> str:
        return self(*args, env=env, input=input).stdout.strip()

    def maybe(self, *args: str) -> str | None:
        """The output of a query that may find nothing (exit status non-zero → None)."""
        done = self(*args, check=False)
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    def top(self) -> str:
        done = self("rev-parse", "--show-toplevel", check=False)
        if done.returncode != 0:
            raise VcsError(f"{self.cwd} is not in a git repository (vcs.preset git-stash needs one: `git init`)")
        return done.stdout.strip()

    def identity(self) -> dict[str, str]:
        """FALLBACK_IDENTITY's variables the user's configuration does not provide (none when it does)."""
        if self._identity is None:
            self._identity = {}
            for role in ("AUTHOR", "COMMITTER"):
                if self(*("var", f"GIT_{role}_IDENT"), check=False).returncode != 0:
                    self._identity.update({k: v for k, v in FALLBACK_IDENTITY.items() if role in k})
        return self._identity

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        argv = ["commit-tree", tree]
        for parent in parents:
            argv += ["-p", parent]
        return self.out(*argv, env=self.identity(), input=message + "\n")

    def _temp_index(self, git_dir: str) -> str:
        """A copy of the user's index (or none, in a new repository) to work in, beside it. One left by a
        process that was killed (its pid is gone) is removed first."""
        _remove_stale(git_dir)
        tmp = os.path.join(git_dir, f"{TEMP_INDEX}{os.getpid()}-{os.urandom(4).hex()}")
        index = os.path.join(git_dir, "index")
        if os.path.exists(index):
            with open(index, "rb") as src, open(tmp, "wb") as dst:
                dst.write(src.read())
        return tmp

    def _in_temp_index(self, git_dir: str, *commands: tuple[str, ...], add: bool = True) -> str:
        """Run `git add --all` (unless not `add`) then each of `commands` in a temporary index; the last
        one's output."""
        tmp = self._temp_index(git_dir)
        try:
            env = {"GIT_INDEX_FILE": tmp}
            if add:
                self("add", "--all", "--", ":/", env=env)
            out = ""
            for command in commands:
                out = self.out(*command, env=env)
            return out
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def index_tree(self, git_dir: str) -> str:
        """The tree of the user's index, written from a copy of it (`git write-tree` would store its
        cache tree back into the index itself)."""
        return self._in_temp_index(git_dir, ("write-tree",), add=False)

    def snapshot(self, git_dir: str) -> str:
        """The tree of the whole working state — tracked files as they are on disk, deletions, untracked
        files that are not ignored — made in a temporary index, so neither the user's index nor any of
        their files is touched (what `git stash -u` records, without the stash's reset)."""
        return self._in_temp_index(git_dir, ("write-tree",))

    def restore_worktree(self, git_dir: str, tree: str) -> None:
        """Make the working files exactly `tree`: changed files rewritten, files it lacks removed, ignored
        files left alone. Done in a temporary index that first records the working state as it is (so git
        knows which files to remove), never in the user's index."""
        self._in_temp_index(git_dir, ("read-tree", "--reset", "-u", tree))


def _remove_stale(git_dir: str) -> None:
    try:
        names = [n for n in os.listdir(git_dir) if n.startswith(TEMP_INDEX)]
    except OSError:
        return
    for name in names:
        pid = name[len(TEMP_INDEX):].split("-", 1)[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(git_dir, name))
        except OSError:
            pass

