"""Test isolation: nothing in the suite touches the real home, store or global configuration."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from lattice_env.cli.main import main, run_click

FIXTURES = Path(__file__).parent / "fixtures"
DESIGN = FIXTURES / "design"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME, data dir and config dir; the real ones are never read."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LATTICE_HOME", str(home / "lattice-data"))
    monkeypatch.setenv("LATTICE_CONFIG_HOME", str(home / "lattice-config"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.endswith("_API_KEY"):
            monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def design_project(tmp_path: Path) -> Path:
    """A writable copy of the design document's full example and its ten agents, trusted (the user wrote
    it: its MCP servers and hooks are theirs)."""
    target = tmp_path / "design"
    shutil.copytree(DESIGN, target)
    assert Run(target)("trust").code == 0
    shutil.rmtree(Path(os.environ["LATTICE_HOME"]) / "cache", ignore_errors=True)  # the caches start cold
    return target


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


class Run:
    """Runs `lattice ARGS…` in-process through the real entry point (`cli.main.main`, where errors become
    exit codes), from a given directory, with stdout and stderr captured separately. `click=True` skips
    the click-free fast path of the hot commands, to compare the two."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, env: dict[str, str | None] | None = None,
                 input: str | None = None, cwd: Path | None = None, click: bool = False) -> Outcome:
        runner = CliRunner()
        old = Path.cwd()
        os.chdir(cwd or self.cwd)
        try:
            with runner.isolation(input=input, env=env) as (out, err, _):
                code = (run_click if click else main)(list(args))
                return Outcome(code, out.getvalue().decode(), err.getvalue().decode())
        finally:
            os.chdir(old)


def write_project(root: Path, config: str, agents: dict[str, str] | None = None) -> Path:
    """A project at `root`: `config` as lattice.yaml and agents/<name>.md for each agent prompt."""
    (root / "agents").mkdir(parents=True, exist_ok=True)
    for name, prompt in (agents or {"a": "You are a.\n"}).items():
        (root / "agents" / f"{name}.md").write_text(prompt)
    (root / "lattice.yaml").write_text(config)
    return root


TINY = """\
name: tiny
version: "1.0.0"
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
agents:
  architect:
    path: architect.md
    triggers: [/architect]
    routing: [anthropic/claude-sonnet-4-5]
"""


def fake_lock() -> dict:
    """A lock that matches TINY (no plugins) with an opencode binary entry for every platform, in the
    shape lattice writes (build/lock_shape.py), stand-in integrity hashes included."""
    from lattice_env.build.lockfile import BRIDGE_PACKAGES, FORMAT
    from lattice_env.opencode.config import CONFIG_DIR_PACKAGES, OPENCODE_PACKAGE, OPENCODE_VERSION

    binaries = [f"opencode-{s}-{a}{v}" for s in ("linux", "darwin") for a in ("x64", "arm64")
                for v in ("", "-baseline", "-musl")]
    stand_in = "sha512-" + "x" * 86 + "=="
    packages = {f"node_modules/{n}": {"name": n, "version": v, "integrity": stand_in}
                for n, v in [(OPENCODE_PACKAGE, OPENCODE_VERSION), *BRIDGE_PACKAGES.items(), *CONFIG_DIR_PACKAGES.items(),
                             *((b, OPENCODE_VERSION) for b in binaries)]}
    packages[f"node_modules/{OPENCODE_PACKAGE}"]["optionalDependencies"] = {b: OPENCODE_VERSION for b in binaries}
    return {"format": FORMAT, "node": {"engine": "node 20", "npm": "10"},
            "roots": {OPENCODE_PACKAGE: OPENCODE_VERSION, **CONFIG_DIR_PACKAGES, **BRIDGE_PACKAGES},
            "packages": packages, "sources": {}, "unavailable": {}}


def stand_in_build(project: Path) -> Path:
    """What `lattice build` of a project without plugins (like TINY) leaves, without npm or nodeenv: a
    lattice.lock (fake_lock) and the three store paths under their real names, with stand-in contents,
    so a build there is a real no-op. Returns the workflow path."""
    import json

    from lattice_env.build.plan import plan
    from lattice_env.config.load import load_workflow
    from lattice_env.store.add import add as add_path

    (project / "lattice.lock").write_text(json.dumps(fake_lock()))
    p = plan(load_workflow(directory=project), fake_lock())
    for drv in (p.node, p.closure, p.env):
        path = add_path(drv, lambda out: (out / "stand-in").write_text("x"))
    return path


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def unavailable(reason: str) -> None:
    """A proof this machine cannot run: skipped here with the reason, a failure in CI (CI=true), where
    .ci/run installs everything the suite needs."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must provide it (.ci/run installs it)")
    pytest.skip(f"{reason}; the proof runs in CI")


def require_tool(name: str) -> str:
    """The path of `name` on PATH, or `unavailable`."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed here")
    return found  # type: ignore[return-value]


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every entry under `root` (symlinks not followed): relative path → (mode, content hash or link
    target). Equal snapshots mean nothing was created, changed, chmod'ed or deleted there."""
    out: dict[str, tuple[int, str]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(directory, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            else:
                what = ""
            out[os.path.relpath(full, root)] = (st.st_mode, what)
    return out


class Decoy:
    """A home directory full of things an attacker's lattice.yaml would like to read or change: an SSH
    key, shell rc files, an opencode config. `SECRET` is in each, so a test can look for it anywhere."""

    SECRET = b"decoy-secret-7f3a9c"

    def __init__(self, root: Path) -> None:
        self.root = root
        files = {".ssh/id_rsa": 0o600, ".bashrc": 0o644, ".config/opencode/opencode.json": 0o644,
                 "notes/todo.md": 0o644}
        for rel, mode in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"# " + self.SECRET + b" " + rel.encode() + b"\n")
            path.chmod(mode)
        os.symlink(".bashrc", root / ".profile")
        self.before = snapshot(root)

    def assert_untouched(self) -> None:
        assert snapshot(self.root) == self.before

    def leaked_into(self, *trees: Path) -> list[str]:
        """Files under `trees` that contain the decoy secret."""
        found = []
        for tree in trees:
            for directory, _dirs, files in os.walk(tree):
                for name in files:
                    full = os.path.join(directory, name)
                    if os.path.islink(full):
                        continue
                    try:
                        with open(full, "rb") as f:
                            if self.SECRET in f.read():
                                found.append(full)
                    except OSError:
                        continue
        return found


@pytest.fixture
def decoy(isolated_home: Path) -> Decoy:
    """A decoy home (inside the test's HOME): assert_untouched() at the end of an attack test proves
    nothing there was read into the project or store (leaked_into) or changed."""
    return Decoy(isolated_home / "decoy")
