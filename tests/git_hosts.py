"""GitHub and GitLab as local bare repositories: a private GIT_CONFIG_GLOBAL (never the real
~/.gitconfig) whose `url.<base>.insteadOf` sends https://github.com/ and https://gitlab.com/ to folders
of the test, so `owner/repo`, `github:` and `gitlab:` go through lattice's real shorthand code and the
real git, without the internet."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(*args: str, cwd: Path | None = None) -> str:
    """The real git, as a test sets up repositories (not lattice's code under test)."""
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


class Hosts:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.github = root / "github"
        self.gitlab = root / "gitlab"

    def repository(self, host: str, path: str, work: Path) -> Path:
        """The committed history of the work tree `work` pushed to the bare `host`/`path`.git."""
        bare = (self.github if host == "github" else self.gitlab) / f"{path}.git"
        if not bare.exists():
            bare.parent.mkdir(parents=True, exist_ok=True)
            git("init", "-q", "--bare", "--initial-branch=main", str(bare))
        git("push", "-q", "--tags", str(bare), "HEAD:refs/heads/main", cwd=work)
        return bare


def commit_all(work: Path, message: str, tag: str | None = None) -> str:
    """Commit everything in `work` (a repository made if needed); the commit's hash."""
    if not (work / ".git").exists():
        git("init", "-q", "--initial-branch=main", str(work))
    git("add", "-A", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=work)
    if tag:
        git("tag", tag, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


@pytest.fixture
def hosts(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Hosts:
    root = tmp_path_factory.mktemp("hosts")
    config = root / "gitconfig"
    h = Hosts(root)
    h.github.mkdir()
    h.gitlab.mkdir()
    config.write_text(f'[url "{h.github.as_uri()}/"]\n\tinsteadOf = https://github.com/\n'
                      f'[url "{h.gitlab.as_uri()}/"]\n\tinsteadOf = https://gitlab.com/\n'
                      f"[user]\n\tname = T\n\temail = t@example.invalid\n"
                      f"[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return h
