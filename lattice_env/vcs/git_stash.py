"""Preset `git-stash` (the design's table: checkpoint before each agent, commit on a temp branch, undo).

- A checkpoint is a commit shaped like git's own stash entry — its tree the whole working state
  (tracked, deleted and untracked files, not ignored ones), its parents HEAD and a commit of the index —
  kept under `refs/lattice/checkpoints/<time>`. It is made in a temporary index (vcs/git.py snapshot): no
  byte of the user's files or index changes. The ref is written last, by `git update-ref` (a lock file
  renamed into place): a checkpoint killed half-way leaves unreferenced objects for git gc, never a ref.
- `vcs.commit` commits the working state as it is after the turn, with the checkpoint as its parent (so
  the commit shows exactly what the agent changed), on `<branch_prefix><branch>` (default
  `lattice/<branch>`): the user's branch does not move unless `vcs.config.move_branch: true`, where
  the commit goes on the user's branch and the index follows it. A turn that changed nothing commits
  nothing. Each commit is also kept under `refs/lattice/commits/<time>` for `vcs log`.
- `undo` puts the working files, the index and HEAD back as they were at the last checkpoint (files
  created since are removed; ignored files are left alone), then drops that checkpoint, as `git stash
  pop` does, so a second undo goes one turn further back. What it undid is kept first under
  `refs/lattice/undone/<time>`: an undo loses nothing either.
- `push` pushes the current branch to its upstream (else `origin`, else the only remote), and the
  agent's temp branch beside it (forced: it is Lattice's own, rewritten each turn)."""
from __future__ import annotations

import os
import time

from .base import DEFAULT_CHECKPOINT_MESSAGE, DEFAULT_COMMIT_MESSAGE, Preset, VcsError
from .git import Git

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

NAMESPACE = "refs/lattice"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
DEFAULT_PREFIX = "lattice/"


class GitStash(Preset):
    name = "git-stash"
    tool = "git"

    def _git(self) -> tuple[Git, str]:
        """git in the repository's top directory, and the repository's git directory."""
        git = Git(self.cwd, self.environ, self.remaining)
        top = git.top()
        git.cwd = top
        return git, git.out("rev-parse", "--absolute-git-dir")

    @staticmethod
    def _stamp() -> str:
        return f"{time.time_ns():020d}"

    def _keep(self, git: Git, kind: str, commit: str, why: str) -> str:
        """Point a new `refs/lattice/<kind>/<time>` at `commit` (never over an existing ref)."""
        for _ in range(5):
            ref = f"{NAMESPACE}/{kind}/{self._stamp()}"
            done = git("update-ref", "-m", why, ref, commit, "", check=False)
            if done.returncode == 0:
                return ref
        raise VcsError(f"cannot record {kind} ref under {NAMESPACE}/{kind}: {done.stderr.strip()}")

    def _refs(self, git: Git, kind: str) -> list[tuple[str, str, str]]:
        """(ref, commit, subject) under refs/lattice/<kind>, oldest first."""
        out = git.out("for-each-ref", "--format=%(refname)%00%(objectname)%00%(contents:subject)",
                      f"{NAMESPACE}/{kind}/")
        rows = [tuple(line.split("\0", 2)) for line in out.splitlines() if line]
        return sorted(rows, key=lambda r: r[0])  # type: ignore[return-value]

    def _head(self, git: Git) -> str | None:
        return git.maybe("rev-parse", "-q", "--verify", "HEAD^{commit}")

    def _branch(self, git: Git) -> str | None:
        return git.maybe("symbolic-ref", "-q", "--short", "HEAD")

    def checkpoint(self, agent: str = "") -> dict[str, Any]:
        git, git_dir = self._git()
        head, branch = self._head(git), self._branch(git)
        unmerged = git.out("ls-files", "--unmerged")
        if unmerged:
            raise VcsError("cannot checkpoint during a merge with unresolved conflicts (resolve them first)")
        index_tree = git.index_tree(git_dir)
        work_tree = git.snapshot(git_dir)
        subject = self.message("checkpoint_message", DEFAULT_CHECKPOINT_MESSAGE, agent=agent)
        on = branch or (f"detached {head[:12]}" if head else "no commit yet")
        index_commit = git.commit_tree(index_tree, [head] if head else [], f"index on {on}")
        body = f"{subject}\n\nLattice-Agent: {agent}\nLattice-Branch: {on}"
        commit = git.commit_tree(work_tree, ([head] if head else []) + [index_commit], body)
        ref = self._keep(git, "checkpoints", commit, subject)
        return {"preset": self.name, "done": True, "ref": ref, "commit": commit,
                "message": f"checkpoint {commit[:12]} ({ref}): {subject}"}

    def _base(self, git: Git) -> tuple[str | None, str]:
        """The last checkpoint (None without one) and the tree the agent's changes are measured from."""
        refs = self._refs(git, "checkpoints")
        if refs:
            return refs[-1][1], git.out("rev-parse", refs[-1][1] + "^{tree}")
        head = self._head(git)
        return None, git.out("rev-parse", head + "^{tree}") if head else EMPTY_TREE

    def changed(self) -> bool | None:
        git, git_dir = self._git()
        return git.snapshot(git_dir) != self._base(git)[1]

    def commit(self, agent: str = "", summary: str = "", **fields: Any) -> dict[str, Any]:
        git, git_dir = self._git()
        checkpoint, base_tree = self._base(git)
        tree = git.snapshot(git_dir)
        if tree == base_tree:
            return {"preset": self.name, "done": False,
                    "message": "nothing to commit: no file changed since the last checkpoint"}
        subject = self.message("commit_message", DEFAULT_COMMIT_MESSAGE, agent=agent, summary=summary, **fields)
        head, branch = self._head(git), self._branch(git)
        if self.config.get("move_branch"):
            commit = git.commit_tree(tree, [head] if head else [], subject)
            git("update-ref", "-m", f"lattice: {subject}", "HEAD", commit)
            git("read-tree", tree)  # the index follows the branch: everything is committed
            target = branch or "HEAD"
        else:
            target = f"{self.config.get('branch_prefix') or DEFAULT_PREFIX}{branch or 'detached'}"
            parent = checkpoint or head
            commit = git.commit_tree(tree, [parent] if parent else [], subject)
            git("update-ref", "-m", f"lattice: {subject}", f"refs/heads/{target}", commit)
        self._keep(git, "commits", commit, subject)
        return {"preset": self.name, "done": True, "commit": commit, "branch": target,
                "message": f"committed {commit[:12]} on {target}: {subject}"}

    def undo(self) -> dict[str, Any]:
        git, git_dir = self._git()
        refs = self._refs(git, "checkpoints")
        if not refs:
            raise VcsError("nothing to undo: there is no checkpoint (one is made before each agent turn by "
                           "hooks.pre_agent: vcs.checkpoint, or by `lattice vcs checkpoint`)")
        ref, checkpoint, subject = refs[-1]
        parents = git.out("rev-list", "--parents", "-n", "1", checkpoint).split()[1:]
        then_head = parents[0] if len(parents) == 2 else None
        work_tree = git.out("rev-parse", checkpoint + "^{tree}")
        index_tree = git.out("rev-parse", parents[-1] + "^{tree}")
        now_head = self._head(git)
        current = git.snapshot(git_dir)
        kept = git.commit_tree(current, [now_head] if now_head else [], f"undone by `lattice vcs undo` (back to {subject})")
        self._keep(git, "undone", kept, "lattice vcs undo")
        git.restore_worktree(git_dir, work_tree)
        if then_head != now_head:
            if then_head:
                git("update-ref", "-m", f"lattice vcs undo: back to {subject}", "HEAD", then_head)
            else:
                git("update-ref", "-d", git.out("symbolic-ref", "HEAD"))
        git("read-tree", index_tree)
        git("update-index", "-q", "--refresh", check=False)  # what `git status` would do: stat info back
        git("update-ref", "-d", ref, checkpoint)
        return {"preset": self.name, "done": True, "checkpoint": checkpoint, "kept": kept,
                "message": f"restored the working tree and the index to checkpoint {checkpoint[:12]} ({subject}); "
                           f"what was undone is kept as {kept[:12]}"}

    def status(self) -> dict[str, Any]:
        git, _ = self._git()
        text = git("status", "--short", "--branch").stdout.rstrip("\n")
        checkpoints = self._refs(git, "checkpoints")
        lines = [text, f"checkpoints: {len(checkpoints)}"]
        lines += [f"  {c[:12]}  {_when(r)}  {s}" for r, c, s in reversed(checkpoints[-5:])]
        return {"preset": self.name, "status": text, "message": "\n".join(lines),
                "checkpoints": [{"ref": r, "commit": c, "subject": s} for r, c, s in checkpoints]}

    def log(self) -> dict[str, Any]:
        git, _ = self._git()
        rows = [{"kind": kind.rstrip("s"), "ref": r, "commit": c, "subject": s, "time": _time(r)}
                for kind in ("checkpoints", "commits") for r, c, s in self._refs(git, kind)]
        rows.sort(key=lambda row: row["ref"].rsplit("/", 1)[-1], reverse=True)
        lines = [f"{row['commit'][:12]}  {_when(row['ref'])}  {row['kind']:<10}  {row['subject']}" for row in rows]
        return {"preset": self.name, "entries": rows,
                "message": "\n".join(lines) if lines else "no checkpoints or agent commits yet"}

    def push(self) -> dict[str, Any]:
        git, _ = self._git()
        branch, head = self._branch(git), self._head(git)
        if not branch or not head:
            raise VcsError("nothing to push: " + ("HEAD is detached" if head else "the branch has no commit yet"))
        remotes = git.out("remote").split()
        remote = git.maybe("config", f"branch.{branch}.remote") or \
            ("origin" if "origin" in remotes else remotes[0] if len(remotes) == 1 else None)
        if not remote:
            raise VcsError("nothing to push to: the repository has no remote (`git remote add origin URL`)")
        merge = git.maybe("config", f"branch.{branch}.merge") or f"refs/heads/{branch}"
        specs = [f"refs/heads/{branch}:{merge}"]
        agent = f"refs/heads/{self.config.get('branch_prefix') or DEFAULT_PREFIX}{branch}"
        if git.maybe("rev-parse", "-q", "--verify", agent):
            specs.append(f"+{agent}:{agent}")
        git("push", "--porcelain", remote, *specs)
        pushed = ", ".join(s.lstrip("+").split(":")[0].removeprefix("refs/heads/") for s in specs)
        return {"preset": self.name, "done": True, "remote": remote, "refs": specs,
                "message": f"pushed {pushed} to {remote}"}

    def summary(self) -> dict[str, Any]:
        return {"preset": self.name, **checkpoint_files(self.cwd)}


def _time(ref: str) -> float:
    stamp = ref.rsplit("/", 1)[-1]
    return int(stamp) / 1e9 if stamp.isdigit() else 0.0


def _when(ref: str) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_time(ref)))


def checkpoint_files(cwd: str) -> dict[str, Any]:
    """The checkpoints of the repository holding `cwd`, read from its ref files without running git
    (`lattice status` runs no child): how many, and the time of the last; {} outside a repository."""
    found = _find_git_dir(cwd)
    if found is None:
        return {"repository": None}
    top, git_dir = found
    branch = None
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8", errors="replace") as f:
            head = f.read(4096).strip()
        branch = head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else "detached HEAD"
    except OSError:
        pass
    try:  # a worktree's refs live in the common git directory
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            git_dir = os.path.normpath(os.path.join(git_dir, f.read(4096).strip()))
    except OSError:
        pass
    stamps = set()
    loose = os.path.join(git_dir, "refs", "lattice", "checkpoints")
    try:
        stamps.update(name for name in os.listdir(loose) if name.isdigit())
    except OSError:
        pass
    prefix = f"{NAMESPACE}/checkpoints/"
    try:
        with open(os.path.join(git_dir, "packed-refs"), encoding="utf-8", errors="replace") as packed:
            for line in packed:
                name = line.rstrip("\n").partition(" ")[2]
                if name.startswith(prefix) and name[len(prefix):].isdigit():
                    stamps.add(name[len(prefix):])
    except OSError:
        pass
    return {"repository": top, "branch": branch, "checkpoints": len(stamps),
            "last_checkpoint": int(max(stamps, key=int)) / 1e9 if stamps else None}


def _find_git_dir(cwd: str) -> tuple[str, str] | None:
    """(the working tree's top, its git directory) for the repository holding `cwd`."""
    here = os.path.abspath(cwd)
    while True:
        dot = os.path.join(here, ".git")
        if os.path.isdir(dot):
            return here, dot
        if os.path.isfile(dot):  # a worktree or submodule: `gitdir: PATH`
            try:
                with open(dot, encoding="utf-8") as f:
                    target = f.read().strip().removeprefix("gitdir:").strip()
            except OSError:
                return None
            return here, os.path.join(here, target)  # join keeps an absolute target as it is
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
