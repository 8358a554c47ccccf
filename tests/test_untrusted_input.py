"""Input nobody on this machine wrote: what it costs to refuse, and where Lattice's own writes go.

- Cost before the checks (config/limits.py): an oversized lattice.yaml is refused before it is read, a
  document of too many nodes while it is parsed, too many agents before validation, an oversized agent
  file before it is read; each with a one-line error naming the file, the line and the key.
- A data directory whose path opencode cannot read back (a newline, a quote, a backslash) is refused
  by every command before anything is written (paths.data_root).
- Writes never follow a planted symlink: state.json and its temp files, lock files, the crash log and
  bridge.log (the decoy home must come out unchanged).
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_project

from lattice_env.config import limits

AGENT = "  a:\n    routing: [anthropic/claude-sonnet-4-5]\n"
VALID = ("name: p\nproviders:\n  anthropic:\n    env: ANTHROPIC_API_KEY\n"
         "agents:\n  a:\n    triggers: [/a]\n    routing: [anthropic/x]\n")
HEAD = "name: big\nproviders:\n  anthropic:\n    env: ANTHROPIC_API_KEY\nagents:\n" + AGENT


def one_line_agents(count: int) -> str:
    """`count` one-line agents after HEAD (agent `a` on line 6; agent i on line 8 + i)."""
    return HEAD + "".join(f"  agent{i:07d}: {{description: d}}\n" for i in range(count))


def assert_refused(r, *lines: str) -> None:
    """Exit 1, nothing on stdout, exactly `lines` (then the count line, for located diagnostics)."""
    located = all(line.startswith("lattice.yaml:") for line in lines)
    tail = [f"{len(lines)} error{'s' if len(lines) != 1 else ''}"] if located else []
    assert (r.code, r.stdout, r.stderr.splitlines()) == (1, "", [*lines, *tail])


# ── cost before the checks ────────────────────────────────────────────────────

def test_an_oversized_lattice_yaml_is_refused_before_it_is_read(run, tmp_path):
    """The issue's 31 MB file of one-line agents took 78 s and 2.9 GB to refuse; just over the limit
    is enough to show the size is checked first (the message names it, not what parsing found)."""
    text = one_line_agents(limits.MAX_CONFIG_BYTES // 32 + 1000)
    assert len(text) > limits.MAX_CONFIG_BYTES
    write_project(tmp_path, text)
    assert_refused(run("validate", "--offline"),
                   f"lattice: error: lattice.yaml: {len(text) / limits.MIB:.1f} MiB is more than a "
                   f"configuration file may hold (4 MiB)")


def test_a_local_override_is_bounded_as_well(run, tmp_path):
    write_project(tmp_path, HEAD)
    with open(tmp_path / "lattice.local.yaml", "wb") as f:
        f.truncate(limits.MAX_CONFIG_BYTES + 1)  # sparse: nothing is written, and nothing must be read
    assert_refused(run("validate", "--offline"),
                   "lattice: error: lattice.local.yaml: 4194305 bytes is more than a configuration file may "
                   "hold (4 MiB)")


def test_a_document_of_too_many_nodes_is_refused_while_it_is_parsed(run, tmp_path):
    """Under the size limit but over the node limit: refused at the first node too many, found on the
    parser's events (before, the whole graph was composed first and the walk then stopped at some
    value of the 100,000th agent)."""
    agents = limits.MAX_NODES // 3 + 100  # key, mapping, key and value: the agents take four nodes each
    text = one_line_agents(agents)
    assert len(text) < limits.MAX_CONFIG_BYTES
    write_project(tmp_path, text)
    # HEAD holds 16 nodes (the document's mapping first); each later line four
    first_over = limits.MAX_NODES + 1 - 16
    line, within = 8 + (first_over - 1) // 4, (first_over - 1) % 4
    col = {0: 3, 1: 17, 2: 18, 3: 31}[within]
    assert_refused(run("validate", "--offline"),
                   f"lattice.yaml:{line}:{col}: document has more than {limits.MAX_NODES} nodes (keys, values "
                   f"and list items); refusing to load it")


def test_too_many_agents_are_refused_before_they_are_validated_or_read(run, tmp_path):
    """One located error, not one per agent (none of their files exists: none was looked for)."""
    write_project(tmp_path, one_line_agents(limits.MAX_AGENTS))
    assert_refused(run("validate", "--offline"),
                   f"lattice.yaml:5:1: agents: {limits.MAX_AGENTS + 1} agents are more than a workflow may "
                   f"have ({limits.MAX_AGENTS})")


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


def test_an_oversized_agent_file_is_refused_before_it_is_read(run, tmp_path):
    write_project(tmp_path, HEAD)
    _sparse(tmp_path / "agents" / "a.md", limits.MAX_AGENT_FILE_BYTES + 1)
    assert_refused(run("validate", "--offline"),
                   "lattice.yaml:6:3: agents.a: agent file agents/a.md: 1048577 bytes is more than an agent "
                   "file may hold (1 MiB)")
    assert not list(tmp_path.glob(".opencode")) and run("generate").code == 1


def test_agent_files_together_are_bounded(run, tmp_path):
    """Each under its own limit, together over theirs: the agent that crosses it is named."""
    count = limits.MAX_AGENT_FILES_BYTES // limits.MAX_AGENT_FILE_BYTES + 1
    config = HEAD + "".join(f"  a{i}:\n    routing: [anthropic/claude-sonnet-4-5]\n" for i in range(count))
    write_project(tmp_path, config)
    for i in range(count):
        _sparse(tmp_path / "agents" / f"a{i}.md", limits.MAX_AGENT_FILE_BYTES)
    over = count - 2  # agent `a` (HEAD's) holds a few bytes too
    assert_refused(run("validate", "--offline"),
                   f"lattice.yaml:{8 + 2 * over}:3: agents.a{over}: the agent files up to this one: "
                   f"{limits.MAX_AGENT_FILES_BYTES + 11} bytes is more than all agent files together may hold "
                   f"(16 MiB)")


# ── a data directory opencode could not read back ─────────────────────────────

BAD_DATA_DIRS = {"newline": "lat\ntice", "quote": 'lat"tice', "backslash": "lat\\tice",
                 "undecodable": "lat\udcfftice"}


@pytest.mark.parametrize("name", BAD_DATA_DIRS)
@pytest.mark.parametrize("args", [
    ("validate", "--offline"), ("build", "--offline"), ("generations",), ("rollback",), ("print-env",),
    ("switch", "--generation", "1"), ("route", "/a", "x"), ("status", "--json"), ("store", "gc"),
], ids=lambda args: args[0])
def test_a_data_directory_opencode_cannot_read_is_refused_first(run, tmp_path, name, args):
    """One line, exit 1, and nothing created: not the data directory, not a lock file or a lock."""
    write_project(tmp_path / "p", VALID)
    data = str(tmp_path / BAD_DATA_DIRS[name])
    before = sorted(os.listdir(tmp_path / "p"))
    r = run(*args, env={"LATTICE_HOME": data}, cwd=tmp_path / "p")
    assert r.code == 1, r.stderr
    if "--json" in args:  # --json always prints JSON: the same error, on stdout
        assert json.loads(r.stdout)["error"] == r.stderr.removeprefix("lattice: error: ").rstrip("\n")
    else:
        assert r.stdout == ""
    assert r.stderr.startswith(f"lattice: error: the data directory {data!r} contains ")
    assert r.stderr.endswith(", which opencode cannot read in its configuration; set LATTICE_HOME to a plain "
                             "path\n") and r.stderr.count("\n") == 1
    assert not os.path.lexists(data.encode("utf-8", "surrogateescape"))
    assert sorted(os.listdir(tmp_path / "p")) == before


def test_the_bridge_and_shell_refuse_it_too(tmp_path):
    """The hot paths that run as their own processes (the bridge answers in JSON)."""
    data = str(tmp_path / "lat\ntice")
    env = {**os.environ, "LATTICE_HOME": data, "LATTICE_ENV": str(tmp_path)}
    (tmp_path / "manifest.json").write_text(json.dumps({"derivation": {"inputs": {"config": {
        "providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"}},
        "agents": {"a": {"routing": ["anthropic/x"]}}}}}}))
    done = subprocess.run([sys.executable, "-m", "lattice_env.routing.bridge", "route",
                           json.dumps({"agent": "a", "prompt": "x", "commit": True})],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"].startswith(f"the data directory {data!r} contains '\\n'")
    done = subprocess.run([sys.executable, "-m", "lattice_env", "shell", "-c", "echo ran"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"lattice: error: the data directory {data!r} contains '\\n'")
    assert not os.path.lexists(data)


# ── writes never follow a planted symlink ─────────────────────────────────────

CONFIG = {"providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"}},
          "agents": {"impl": {"routing": ["anthropic/claude-sonnet-4-5"]}}}
KEYS = {"ANTHROPIC_API_KEY": "k"}


def commit(state: Path, n: int = 3) -> list[list[str]]:
    """`n` committed routing decisions against `state`; the warnings of each."""
    from lattice_env.routing.decide import route

    return [route(CONFIG, "impl", commit=True, environ=KEYS, path=state).warnings for _ in range(n)]


def count(state: Path) -> int:
    return json.loads(state.read_bytes())["routing_state"]["impl"]["call_count"]


@pytest.fixture
def outside(tmp_path):
    """A JSON file outside the data dir that a state.json symlink could name: valid JSON, so that
    reading through the link would succeed and the next commits would rewrite it."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "settings.json").write_text('{"theme": "dark"}\n')
    from conftest import snapshot

    before = snapshot(directory)
    yield directory / "settings.json"
    assert snapshot(directory) == before


@pytest.mark.parametrize("target", ["json-outside", "decoy-file", "dangling-into-decoy"])
def test_a_symlinked_state_json_is_moved_aside_never_followed(tmp_path, decoy, outside, target):
    data = tmp_path / "data"
    data.mkdir()
    state = data / "state.json"
    link = {"json-outside": outside, "decoy-file": decoy.root / ".bashrc",
            "dangling-into-decoy": decoy.root / "created-by-lattice.json"}[target]
    os.symlink(link, state)
    warnings = commit(state)
    assert warnings[1:] == [[], []] and len(warnings[0]) == 1
    assert warnings[0][0].startswith(f"{state} was corrupt (a symlink, which is never followed); moved it "
                                     f"to state.json.corrupt-")
    assert not state.is_symlink() and count(state) == 3
    (aside,) = data.glob("state.json.corrupt-*")
    assert os.readlink(aside) == str(link)  # the link itself is kept, as a hand-edit would be
    assert not any(p.is_symlink() for p in data.iterdir() if p != aside)
    decoy.assert_untouched()


@pytest.mark.parametrize("name", [".state.json.tmp", ".state.durable.json.tmp"])
@pytest.mark.parametrize("kind", ["symlink", "dangling-symlink", "hard-link"])
def test_a_planted_temp_file_is_replaced_never_written_through(tmp_path, decoy, name, kind):
    """The recycled temp inode and the checkpoint's temp file: a symlink or a hard link planted at their
    names (before the first commit, or between two) is replaced, the decoy file keeps its bytes."""
    data = tmp_path / "data"
    data.mkdir()
    state = data / "state.json"
    commit(state, 2)
    planted = data / name
    if planted.exists():
        planted.unlink()
    if kind == "symlink":
        os.symlink(decoy.root / ".bashrc", planted)
    elif kind == "dangling-symlink":
        os.symlink(decoy.root / "created-by-lattice", planted)
    else:
        os.link(decoy.root / ".bashrc", planted)
    os.utime(data / "state.durable.json", (0, 0))  # the next commit checkpoints, through its temp file
    assert commit(state, 3) == [[], [], []]
    assert count(state) == 5 and count(data / "state.durable.json") >= 3
    assert not any(p.is_symlink() for p in data.iterdir())
    decoy.assert_untouched()


def test_a_fifo_planted_as_the_temp_file_does_not_hang_a_commit(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / ".state.json.tmp")  # an open for writing would wait for a reader forever
    done = subprocess.run([sys.executable, "-c", "import sys, json; from pathlib import Path; "
                           "from lattice_env.routing.decide import route; "
                           "print(route(json.loads(sys.argv[1]), 'impl', commit=True, environ={'ANTHROPIC_API_KEY': "
                           "'k'}, path=Path(sys.argv[2])).model)", json.dumps(CONFIG), str(data / "state.json")],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "anthropic/claude-sonnet-4-5\n"), done.stderr
    assert count(data / "state.json") == 1
    assert not any(stat.S_ISFIFO(os.lstat(p).st_mode) for p in data.iterdir())


def test_a_symlinked_lock_file_is_refused_not_created_through(run, tmp_path, decoy):
    """`.lattice-generate.lock` in a cloned project, `state.lock` in the data dir: opening one for the
    lock would create (or open) the file it names."""
    project = write_project(tmp_path / "p", VALID)
    lock = project / ".opencode" / ".lattice-generate.lock"
    lock.parent.mkdir()
    os.symlink(decoy.root / "created-by-lattice", lock)
    r = run("generate", cwd=project)
    assert (r.code, r.stdout, r.stderr) == (1, "", f"lattice: error: cannot lock {lock}: it is a symbolic link "
                                                   f"(remove it; lattice makes its own)\n")
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(decoy.root / "state-lock", data / "state.lock")
    from lattice_env.errors import LatticeError

    with pytest.raises(LatticeError, match=r"cannot lock .*state\.lock: it is a symbolic link"):
        commit(data / "state.json", 1)
    assert not (data / "state.json").exists()
    decoy.assert_untouched()


@pytest.fixture
def explode():
    """A real failing command, registered for one test (as tests/test_cli.py does)."""
    import click

    from lattice_env.cli.app import cli

    @click.command("explode")
    @click.argument("words", nargs=-1)
    def command(words):
        raise RuntimeError("simulated bug")

    cli.add_command(command)
    yield
    del cli.commands["explode"]


def test_the_crash_log_is_private_and_never_written_through_a_symlink(run, tmp_path, decoy, explode):
    data = Path(os.environ["LATTICE_HOME"])
    r = run("explode", "the", "prompt")
    log = data / "crash.log"
    assert r.code == 3 and f"Details in {log}" in r.stderr
    assert (log.stat().st_mode & 0o777, "'the', 'prompt'" in log.read_text()) == (0o600, True)
    log.unlink()
    os.symlink(decoy.root / ".bashrc", log)
    r = run("explode", "secret", "prompt")
    assert r.code == 3
    assert r.stderr.startswith("lattice: internal error (RuntimeError: simulated bug); this is a bug. The crash "
                               "log could not be written; the traceback follows\nTraceback (most recent call")
    decoy.assert_untouched()


def test_no_crash_log_in_a_shared_directory_when_the_data_dir_is_unwritable(run, tmp_path, decoy, explode,
                                                                             monkeypatch):
    """The old fallback was the predictable `$TMPDIR/crash.log`: anyone on the machine could plant a
    symlink there and collect the argv (prompt text) of every crash appended to its target."""
    import tempfile

    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    os.symlink(decoy.root / "notes" / "todo.md", shared / "crash.log")
    monkeypatch.setenv("TMPDIR", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    (tmp_path / "a-file").write_text("")
    r = run("explode", "the", "prompt", env={"LATTICE_HOME": str(tmp_path / "a-file" / "data")})
    assert r.code == 3 and "The crash log could not be written; the traceback follows" in r.stderr
    assert "RuntimeError: simulated bug" in r.stderr.splitlines()[-1]
    assert sorted(os.listdir(shared)) == ["crash.log"]
    decoy.assert_untouched()


def test_bridge_log_is_never_written_through_a_symlink(tmp_path, decoy, monkeypatch, capsys):
    """A notice (here: a corrupt state.json) goes to stderr and bridge.log; a planted bridge.log symlink
    gets nothing."""
    from lattice_env.routing import bridge

    env = tmp_path / "env"
    env.mkdir()
    (env / "manifest.json").write_text(json.dumps({"derivation": {"inputs": {"config": CONFIG}}}))
    data = Path(os.environ["LATTICE_HOME"])
    data.mkdir(parents=True, exist_ok=True)
    (data / "state.json").write_text("garbage")
    os.symlink(decoy.root / ".bashrc", data / "bridge.log")
    monkeypatch.setenv("LATTICE_ENV", str(env))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert bridge.main(["route", json.dumps({"agent": "impl", "prompt": "x", "commit": True})]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["model"] == "anthropic/claude-sonnet-4-5" and "was corrupt" in answer["warnings"][0]
    decoy.assert_untouched()
    (data / "bridge.log").unlink()
    (data / "state.json").write_text("garbage")
    assert bridge.main(["route", json.dumps({"agent": "impl", "prompt": "x", "commit": True})]) == 0
    assert "state.json was unreadable (not valid JSON" in (data / "bridge.log").read_text()
    assert (data / "bridge.log").stat().st_mode & 0o777 == 0o600


# ── the generate manifest and the lock are input too ─────────────────────────

def test_a_manifest_naming_files_outside_or_not_generated_deletes_nothing(run, tmp_path, decoy):
    """lattice-generated.json lists what the last run wrote, with hashes; a file is deleted as stale
    when its hash matches. Entries naming other files — out of the project, absolutely or by a chain of
    `..`, or files of the project Lattice never generates — with their true hashes delete nothing."""
    import hashlib

    project = write_project(tmp_path / "p", VALID)
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[core]\n\tbare = false\n")  # a fresh clone's: predictable
    targets = [decoy.root / ".bashrc", project / ".git" / "config", project / "agents" / "a.md"]
    names = [str(decoy.root / ".bashrc"), os.path.relpath(decoy.root / ".bashrc", project),
             ".opencode/../" + os.path.relpath(decoy.root / ".bashrc", project), ".git/config", "agents/a.md",
             ".opencode/agent/../../agents/a.md"]
    (project / ".opencode" / "agent").mkdir(parents=True)
    files = {name: hashlib.sha256((project / name).read_bytes()).hexdigest() for name in names}
    (project / ".opencode" / "lattice-generated.json").write_text(json.dumps({"files": files}))
    before = {t: t.read_bytes() for t in targets}
    r = run("generate", cwd=project)
    assert r.code == 0, r.stderr
    assert "  removed " not in r.stdout  # no file was removed (the summary says "removed 0")
    assert {t: t.read_bytes() for t in targets} == before
    decoy.assert_untouched()


@pytest.mark.parametrize(("change", "key"), [
    ({"packages": [1, 2]}, "packages"),
    ({"packages": None}, "packages"),
    ({"node": "node 20"}, "node"),
    ({"node": {"engine": "node 20"}}, "node"),
    ({"roots": {"opencode-ai": 1}}, "roots"),
    ({"unavailable": ["x"]}, "unavailable"),
    ({"sources": {"file:./plug": "x"}}, "sources"),
    ({"sources": {"github:o/r@v1": {"commit": 7}}}, "sources"),
    ({"packages": {"node_modules/../../../x": {}}}, "packages"),
    ({"packages": {"/abs/node_modules/x": {}}}, "packages"),
], ids=lambda v: "" if isinstance(v, str) else "-".join(v))
@pytest.mark.parametrize("command", [("status", "--json"), ("lock", "--offline"), ("plugins", "--offline")],
                         ids=lambda c: c[0])
def test_a_lock_of_the_wrong_shape_is_one_line_never_a_traceback(run, tmp_path, change, key, command):
    """A lock is refused key by key, each a located line (build/lock_shape.py); `status` names the refusal
    as the profile's drift instead of failing."""
    from lattice_env.build.lockfile import FORMAT, npm_roots

    project = write_project(tmp_path / "p", VALID)
    lock = {"format": FORMAT, "node": {"engine": "node 20", "npm": "11"}, "roots": npm_roots(()),
            "packages": {"node_modules/opencode-ai": {"name": "opencode-ai", "version": "1.0.0"}},
            "unavailable": {}, "sources": {}, **change}
    (project / "lattice.lock").write_text(json.dumps(lock))
    r = run(*command, cwd=project)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    if command[0] == "status":
        drift = json.loads(r.stdout)["profile"]["drift"]
        assert (r.code, drift["state"]) == (0, "lock-invalid") and drift["message"].startswith("lattice.lock:")
        return
    lines = r.stderr.splitlines()
    assert (r.code, r.stdout) == (1, "")
    assert lines[0].startswith("lattice.lock: not a lock lattice wrote") and re.fullmatch(r"\d+ errors?", lines[-1])
    assert all(re.match(r"lattice\.lock:\d+: ", line) for line in lines[1:-1]), lines
    assert any(line.split(": ", 2)[1].startswith(key) for line in lines[1:-1]), (key, lines)
