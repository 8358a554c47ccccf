"""Ordinary faults are one-line errors, never "internal error … this is a bug" (exit 3): a full disk, a
read-only data directory, a `when:` nested too deep to parse, names too long to be file names, a gc root
removed while gc reads it. Each leaves nothing half-written.

The faults are real: a full disk is a small tmpfs (`mount -t tmpfs -o size=…`), a read-only data
directory is a read-only bind mount of it (as root, who ignores file modes) or mode 0555 (anyone else).
Both need mount privileges or a non-root user; elsewhere the proofs are skipped (CI must run them)."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DESIGN, snapshot, unavailable, write_project

from lattice_env.paths import data_root
from lattice_env.profiles.generations import switch_to
from lattice_env.store.add import add as add_path
from lattice_env.store.gc import gc_roots
from lattice_env.store.names import derivation

PAGE = os.sysconf("SC_PAGE_SIZE")


def _mount(*args: str) -> None:
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        unavailable(f"mount {' '.join(args)} is not permitted here ({r.stderr.strip()})")


@contextlib.contextmanager
def tmpfs(path: Path, size: int) -> Iterator[Path]:
    """A real filesystem of `size` bytes at `path`, full when it is full."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@contextlib.contextmanager
def ramfs(path: Path) -> Iterator[Path]:
    """A real filesystem at `path` that refuses O_DIRECT (ramfs has no direct I/O)."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "ramfs", "-o", "mode=0755", "ramfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def resize(path: Path, size: int) -> None:
    _mount("-o", f"remount,size={size}", str(path))


def used(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` and everything under it cannot be changed: a read-only bind mount as root (EROFS), or
    every directory at mode 0555 for anyone else (EACCES)."""
    if os.geteuid() != 0:
        dirs = [Path(d) for d, _, _ in os.walk(path)]
        for d in dirs:
            d.chmod(0o555)
        try:
            yield
        finally:
            for d in dirs:
                d.chmod(0o755)
        return
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def assert_one_line_error(r, *fragments: str) -> None:
    assert r.code == 1, (r.code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattice: error: "), r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# ── a read-only data directory ─────────────────────────────────────────────────

ROUTED = {"name": "t", "providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"}},
          "agents": {"impl": {"triggers": ["/impl"], "routing": ["anthropic/m1", "anthropic/m2"]}}}


def _environment(tag: str) -> str:
    """A real store path whose manifest carries a routable config (what `route` reads)."""
    drv = derivation("t", "workflow", {"config": ROUTED, "tag": tag})
    return str(add_path(drv, lambda out: (out / "bin").mkdir()))


READ_ONLY_COMMANDS = [
    ["route", "--commit", "/impl", "x"],
    ["routing", "reset"],
    ["store", "gc"],
    ["store", "optimise"],
    ["switch", "--generation", "1"],  # the click-free fast path
    ["switch", "--generation=1", "--json"],  # the click path
    ["rollback"],
    ["rollback", "--json"],
    ["delete-generations", "1"],
    ["lock"],
]


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS, ids=" ".join)
def test_a_read_only_data_directory_is_a_one_line_error(args, run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    for tag in "ab":
        switch_to(_environment(tag))
    add_path(derivation("garbage", "test", {}), lambda out: (out / "f").write_text("x"))  # for gc
    assert run("route", "--commit", "/impl", "x").code == 0  # state.json and its lock exist
    write_project(tmp_path / "project", "name: p\nproviders: {anthropic: {}}\n"
                                        "agents: {a: {path: a.md, routing: [anthropic/m]}}\n")
    data = Path(data_root())
    before = snapshot(data)
    with read_only(data):
        r = run(*args, cwd=tmp_path / "project")
    assert_one_line_error(r, str(data), "ead-only file system" if os.geteuid() == 0 else "ermission denied")
    assert snapshot(data) == before


PAST_THE_LOCK = {  # the lock stays writable (a bind mount over it), so the command gets to its writes
    "store gc": ("store/.locks", "store"),
    "switch --generation 1": ("profiles/.default.lock", "profiles/default"),
    "rollback": ("profiles/.default.lock", "profiles/default"),
    "route --commit /impl x": ("state.lock", "state.json"),
}


@pytest.mark.parametrize("command", PAST_THE_LOCK)
def test_a_read_only_data_directory_past_its_lock_is_a_one_line_error(command, run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    for tag in "ab":
        switch_to(_environment(tag))
    add_path(derivation("garbage", "test", {}), lambda out: (out / "f").write_text("x"))
    assert run("route", "--commit", "/impl", "x").code == 0
    data = Path(data_root())
    lock, named = PAST_THE_LOCK[command]
    spare = tmp_path / "spare"
    shutil.copytree(data / lock, spare) if (data / lock).is_dir() else shutil.copy(data / lock, spare)
    before = snapshot(data)
    with read_only(data):
        if os.geteuid() != 0:
            pytest.skip("a writable lock inside a read-only directory needs a bind mount")
        _mount("--bind", str(spare), str(data / lock))
        try:
            r = run(*command.split())
        finally:
            subprocess.run(["umount", "-l", str(data / lock)], check=True)
    assert_one_line_error(r, str(data / named), "Read-only file system")
    assert snapshot(data) == before


# ── a full disk ────────────────────────────────────────────────────────────────

def test_init_on_a_full_disk_leaves_nothing(run, tmp_path):
    """Whatever file the disk fills at, init fails in one line and leaves no file, and no directory it
    created (before: an empty `agents/` or project directory)."""
    seen = set()
    for pages in range(1, 9):
        with tmpfs(tmp_path / "disk", pages * PAGE) as disk:
            r = run("init", str(disk / "new"), "--name", "x")
            if r.code == 0:
                seen.add("complete")
                assert sorted(p.name for p in (disk / "new").iterdir()) == ["agents", "lattice.yaml"]
                continue
            seen.add("full")
            assert_one_line_error(r, "No space left on device", str(disk / "new"))
            assert list(disk.iterdir()) == []
    assert seen == {"complete", "full"}


def test_generate_on_a_full_disk_changes_nothing_and_the_next_run_completes(run, tmp_path):
    """The disk fills at every possible moment of a generate that replaces the previous generation's
    files: each time a one-line error, the project exactly as before; with room again, it completes
    without --force."""
    with tmpfs(tmp_path / "disk", 16 << 20) as disk:
        project = disk / "design"
        shutil.copytree(DESIGN, project)
        assert run("generate", "--trust", cwd=project).code == 0
        config = project / "lattice.yaml"
        config.write_text(config.read_text().replace("claude-sonnet-4-5", "claude-sonnet-9"))
        for prompt in (project / "agents").glob("*.md"):  # every agent file changes too
            prompt.write_text(prompt.read_text() + "\nBe brief.\n")
        before = snapshot(project)
        base = used(disk)
        outcomes = []
        for pages in range(200):
            resize(disk, base + pages * PAGE)
            r = run("generate", cwd=project)
            outcomes.append(r.code)
            if r.code == 0:
                break
            assert_one_line_error(r, "No space left on device")
            assert snapshot(project) == before
        assert outcomes[:10] == [1] * 10 and outcomes[-1] == 0, outcomes
        assert "claude-sonnet-9" in (project / "opencode.json").read_text()


# ── a `when:` nested deeper than the parser goes ───────────────────────────────

HOOKED = ("name: t\nproviders: {anthropic: {}}\nagents: {a: {path: a.md, routing: [anthropic/m]}}\n"
          "hooks:\n  post_agent:\n    - action: log.info\n      when: \"%s\"\n")


@pytest.mark.parametrize("when,column", [("(" * 900 + "always" + ")" * 900, 65),
                                         ("not " * 5000 + "always", 257),
                                         ("(not " * 40 + "always" + ")" * 40, 161)],
                         ids=["parentheses", "nots", "both"])
def test_a_deeply_nested_condition_is_a_located_validation_error(when, column, run, tmp_path):
    write_project(tmp_path, HOOKED % when)
    r = run("validate", "--offline")
    assert r.code == 1, r.stderr
    assert r.stderr.splitlines() == [
        f"lattice.yaml:7:7: hooks.post_agent[0].when: invalid condition: nested deeper than 64 levels "
        f"at column {column}", "1 error"]


def test_a_long_flat_condition_validates_and_evaluates_without_recursion(run, tmp_path):
    """20,000 `or`s nest nothing: valid, and evaluated in a loop (routing evaluates `when:` per call)."""
    from lattice_env.hooks.conditions import evaluate, parse

    when = " or ".join(["never"] * 20000 + ['agent == "a"'])
    write_project(tmp_path, HOOKED % when.replace('"', '\\"'))
    assert run("validate", "--offline").code == 0
    assert evaluate(parse(when), {"agent": "a"}) is True
    assert evaluate(parse(" and ".join(["always"] * 20000 + ["never"])), {}) is False


# ── names that cannot be file names ────────────────────────────────────────────

LONG = "a" * 201  # agent/<name>.md, command/<name>.md and the store path <hash>-<name> hold 200 at most
NAMED = {
    "agent": (f"agents: {{{LONG}: {{path: a.md, routing: [anthropic/m]}}}}\n", f"agents.{LONG}"),
    "trigger": (f"agents: {{a: {{path: a.md, routing: [anthropic/m], triggers: [/{LONG}]}}}}\n",
                "agents.a.triggers[0]"),
    "command": (f"agents: {{a: {{path: a.md, routing: [anthropic/m]}}}}\ncommands: {{{LONG}: {{action: status}}}}\n",
                f"commands.{LONG}"),
    "mcp": (f"agents: {{a: {{path: a.md, routing: [anthropic/m]}}}}\nmcp: {{{LONG}: {{command: x}}}}\n",
            f"mcp.{LONG}"),
    "provider": (f"agents: {{a: {{path: a.md, routing: [{LONG}/m]}}}}\nproviders: {{{LONG}: {{base_url: http://h}}}}\n",
                 f"providers.{LONG}"),
}


@pytest.mark.parametrize("kind", NAMED)
def test_names_too_long_for_a_file_name_fail_validation_and_generate_writes_nothing(kind, run, tmp_path):
    body, key = NAMED[kind]
    providers = "" if kind == "provider" else "providers: {anthropic: {}}\n"
    write_project(tmp_path, "name: t\n" + providers + body)
    before = snapshot(tmp_path)
    for args in (("validate", "--offline"), ("generate",)):
        r = run(*args)
        assert r.code == 1, (args, r.stderr)
        assert f": {key}: is 201 characters long; at most 200 (" in r.stderr, r.stderr
        assert "internal error" not in r.stderr
    assert snapshot(tmp_path) == before


def test_names_of_200_characters_generate(run, tmp_path):
    name = "b" * 200
    write_project(tmp_path, f"name: {name}\nproviders: {{anthropic: {{}}}}\n"
                            f"agents: {{{name}: {{path: a.md, routing: [anthropic/m], triggers: [/{name}]}}}}\n")
    r = run("generate")
    assert r.code == 0, r.stderr
    assert (tmp_path / ".opencode" / "agent" / f"{name}.md").is_file()
    assert (tmp_path / ".opencode" / "command" / f"{name}.md").is_file()
    write_project(tmp_path, f"name: {name}x\n")
    assert "name: is 201 characters long; at most 200" in run("validate", "--offline").stderr


# ── a gc root removed while gc reads the roots ────────────────────────────────

def _churn(store: str, target: str, stop) -> None:
    """Roots come and go as shells start and exit: made under the gc lock, removed without it."""
    from lattice_env.store.roots import temp_root

    while not stop.is_set():
        with temp_root(target, root=store):
            pass


def test_gc_tolerates_roots_vanishing_while_it_reads_them(tmp_path):
    keep = add_path(derivation("kept", "test", {}), lambda out: (out / "f").write_text("x"))
    switch_to(keep)  # rooted for good, by a profile; the churners root it for moments
    store = str(keep.parent)
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    churners = [ctx.Process(target=_churn, args=(store, str(keep), stop)) for _ in range(3)]
    for p in churners:
        p.start()
    try:
        from lattice_env.store.gc import gc

        for _ in range(300):
            gc_roots()
            assert gc().removed == []
    finally:
        stop.set()
        for p in churners:
            p.join(timeout=30)
    assert keep.is_dir()
