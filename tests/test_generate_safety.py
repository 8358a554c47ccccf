"""`lattice generate` on a repository nobody on this machine wrote, and killed at any moment.

The generate manifest (`.opencode/lattice-generated.json`) and the `.opencode/` tree come with the
repository: a manifest entry naming a file outside the generated set (`../../.bashrc`, an absolute path,
lattice.yaml) is ignored with a located warning, never deleted; a symlink planted for a generated
directory, file or the lock is refused or replaced, never written through. A decoy home (conftest.Decoy)
is compared before and after. And a generate SIGKILLed at random moments, twenty times in a row, leaves
a project the next run completes without --force, exactly as if it had never been interrupted."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import DESIGN, Run, snapshot, write_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
MANIFEST = ".opencode/lattice-generated.json"
SMALL = "name: t\nproviders: {anthropic: {}}\nagents: {a: {path: a.md, routing: [anthropic/m], triggers: [/a]}}\n"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plant_manifest(project: Path, files: dict, previous: dict | None = None) -> None:
    """A manifest shaped as Lattice writes it, listing `files` (and `previous`)."""
    manifest = {"generated_by": "lattice 0.1.0", "files": files}
    if previous is not None:
        manifest["previous"] = previous
    (project / ".opencode").mkdir(exist_ok=True)
    (project / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def user_files(project: Path) -> dict[str, bytes]:
    return {rel: (project / rel).read_bytes() for rel in ("lattice.yaml", "agents/a.md")}


# ── the manifest names only files generate makes ──────────────────────────────

def _attacks(project: Path, decoy) -> dict[str, tuple[str, Path]]:
    """name → (manifest key, the file it really names)."""
    home = decoy.root
    return {
        "relative": (os.path.relpath(home / ".bashrc", project), home / ".bashrc"),
        "absolute": (str(home / ".ssh/id_rsa"), home / ".ssh/id_rsa"),
        "through a generated directory": (".opencode/agent/../../" + os.path.relpath(home / "notes/todo.md", project),
                                          home / "notes/todo.md"),
        "through a symlink in the decoy": (os.path.relpath(home / ".profile", project), home / ".bashrc"),
        "the project's own config": ("lattice.yaml", project / "lattice.yaml"),
        "an agent's prompt": ("agents/a.md", project / "agents/a.md"),
        "not normalised": (".opencode//agent/./gone.md", project / ".opencode/agent/gone.md"),
    }


@pytest.mark.parametrize("section", ["files", "previous"])
@pytest.mark.parametrize("attack", ["relative", "absolute", "through a generated directory",
                                    "through a symlink in the decoy", "the project's own config",
                                    "an agent's prompt", "not normalised"])
def test_manifest_entries_that_generate_does_not_make_are_ignored_never_deleted(attack, section, run, tmp_path,
                                                                                 decoy):
    project = write_project(tmp_path / "project", SMALL)
    (project / ".opencode/agent").mkdir(parents=True)
    (project / ".opencode/agent/gone.md").write_text("the user's own agent\n")
    key, target = _attacks(project, decoy)[attack]
    plant_manifest(project, {key: sha(target)} if section == "files" else {},
                   {key: sha(target)} if section == "previous" else None)
    before = user_files(project)
    r = run("generate", cwd=project)
    decoy.assert_untouched()  # first the harm the entry meant, then how it was reported
    assert target.read_bytes() and user_files(project) == before
    assert (project / ".opencode/agent/gone.md").read_text() == "the user's own agent\n"
    assert r.code == 0, r.stderr
    line = 3 if section == "files" else 5  # where plant_manifest's JSON puts the key
    assert r.stderr.splitlines() == [
        f".opencode/lattice-generated.json:{line}: warning: {section}[{json.dumps(key)}]: not a path lattice "
        f"generates; ignored (nothing is written or deleted there)"], r.stderr
    assert key not in json.loads((project / MANIFEST).read_text())["files"]  # the rewritten manifest drops it


def test_a_manifest_that_is_not_json_or_a_symlink_is_ignored_with_a_warning(run, tmp_path, decoy):
    project = write_project(tmp_path / "project", SMALL)
    (project / ".opencode").mkdir()
    (project / MANIFEST).write_text('{"files": {"opencode.json": ')
    r = run("generate", cwd=project)
    assert r.code == 0 and r.stderr.startswith(
        ".opencode/lattice-generated.json:1: warning: not valid JSON (Expecting value: line 1 column 29 (char 28)); "
        "ignored, so no existing file counts as generated by lattice\n"), r.stderr
    (project / MANIFEST).unlink()
    os.symlink(decoy.root / ".bashrc", project / MANIFEST)
    r = run("generate", "--force", cwd=project)
    assert r.code == 0 and "lattice-generated.json: warning: not a regular file" in r.stderr, r.stderr
    assert not (project / MANIFEST).is_symlink()
    decoy.assert_untouched()


# ── symlinks planted in the project ────────────────────────────────────────────

@pytest.mark.parametrize("planted,points_to", [
    (".opencode", ".config/opencode"),
    (".opencode/agent", "notes"),
    (".opencode/command", "notes"),
])
@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_a_symlinked_generated_directory_is_refused_and_nothing_is_written_through_it(planted, points_to, relative,
                                                                                      run, tmp_path, decoy):
    project = write_project(tmp_path / "project", SMALL)
    link = project / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    target = decoy.root / points_to
    os.symlink(os.path.relpath(target, link.parent) if relative else target, link)
    # a stale entry whose hash matches a decoy file, reachable through the link
    plant = ".opencode/agent/todo.md" if planted != ".opencode/command" else ".opencode/command/todo.md"
    if planted != ".opencode":
        plant_manifest(project, {plant: sha(decoy.root / "notes/todo.md")})
    before = snapshot(project)
    for args in (("generate",), ("generate", "--force")):
        r = run(*args, cwd=project)
        decoy.assert_untouched()
        assert snapshot(project) == before
        assert r.code == 1, r.stderr
        assert r.stderr == (f"lattice: error: {planted} is a symbolic link (to {os.readlink(link)}); lattice writes "
                            f"generated files only into real directories inside the project: remove it\n")


def test_with_out_a_symlinked_agent_directory_is_refused_too(run, tmp_path, decoy):
    project = write_project(tmp_path / "project", SMALL)
    (project / "out").mkdir()
    os.symlink(decoy.root / "notes", project / "out/agent")
    r = run("generate", "--out", "out", cwd=project)
    decoy.assert_untouched()
    assert (r.code, r.stderr) == (1, f"lattice: error: out/agent is a symbolic link (to {decoy.root / 'notes'}); "
                                     f"lattice writes generated files only into real directories inside the "
                                     f"project: remove it\n")
    assert sorted(os.listdir(project / "out")) == ["agent"]


def test_a_symlinked_lock_file_is_refused_never_created_through(run, tmp_path, decoy):
    project = write_project(tmp_path / "project", SMALL)
    (project / ".opencode").mkdir()
    os.symlink(decoy.root / "planted", project / ".opencode/.lattice-generate.lock")  # dangling: O_CREAT would make it
    r = run("generate", cwd=project)
    decoy.assert_untouched()
    assert r.code == 1
    assert r.stderr == (f"lattice: error: cannot lock {project / '.opencode/.lattice-generate.lock'}: it is a "
                        f"symbolic link (remove it; lattice makes its own)\n")


def test_a_generated_file_that_is_a_symlink_is_not_lattices_and_force_replaces_the_link(run, tmp_path, decoy):
    """opencode.json → the decoy's opencode config, listed with the decoy's own hash: never read as ours
    (that would read a file outside the project), refused; --force replaces the link, not its target."""
    project = write_project(tmp_path / "project", SMALL)
    theirs = decoy.root / ".config/opencode/opencode.json"
    os.symlink(theirs, project / "opencode.json")
    plant_manifest(project, {"opencode.json": sha(theirs)})
    r = run("generate", cwd=project)
    assert r.code == 1 and "opencode.json: not generated by lattice (or edited since)" in r.stderr, r.stderr
    assert run("generate", "--force", cwd=project).code == 0
    assert not (project / "opencode.json").is_symlink()
    assert json.loads((project / "opencode.json").read_text())["$schema"]
    decoy.assert_untouched()


# ── fuzz: whatever the manifest and the tree say ──────────────────────────────

FUZZ = settings(max_examples=int(os.environ.get("LATTICE_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KEYS = ["opencode.json", ".opencode/agent/a.md", ".opencode/command/a.md", ".opencode/agent/gone.md",
        ".opencode/oh-my-opencode.json", "lattice.yaml", "agents/a.md", ".opencode/lattice-generated.json",
        ".opencode/agent/../../lattice.yaml", ".opencode/agent", "", ".", "..", "/", "\x00", ".opencode/agent/.md",
        "HOME/.bashrc", "HOME/.ssh/id_rsa", "REL/.bashrc", "REL/notes/todo.md", ".opencode/agent/REL/.bashrc"]
DIGESTS = ["lattice.yaml", "agents/a.md", "HOME/.bashrc", "HOME/.ssh/id_rsa", "HOME/notes/todo.md"]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
entries = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12),
                          st.sampled_from(DIGESTS) | json_values, max_size=8)
manifests = st.one_of(
    st.fixed_dictionaries({"files": entries}, optional={"previous": entries, "generated_by": json_values}),
    json_values, st.binary(max_size=64))
PLANTS = {"agent dir": (".opencode/agent", "HOME/notes"), "config file": ("opencode.json", "HOME/.bashrc"),
          "command file": (".opencode/command/a.md", "HOME/.ssh/id_rsa"), "manifest": (MANIFEST, "HOME/.bashrc")}


@FUZZ
@given(manifest=manifests, plants=st.sets(st.sampled_from(sorted(PLANTS))), force=st.booleans())
def test_no_manifest_or_planted_tree_makes_generate_crash_or_touch_anything_outside(manifest, plants, force, decoy):
    root = Path(tempfile.mkdtemp(prefix="lattice-fuzz-generate-"))
    try:
        project = write_project(root / "project", SMALL)
        (root / "beside").write_text("a file next to the project\n")
        rel = os.path.relpath(decoy.root, project)

        def expand(text: str) -> str:
            return text.replace("HOME", str(decoy.root)).replace("REL", rel) if isinstance(text, str) else text

        def value(v):
            if isinstance(v, str) and v in DIGESTS:
                path = Path(expand(v)) if v.startswith("HOME") else project / v
                return sha(path)
            return v

        (project / ".opencode").mkdir()
        if isinstance(manifest, bytes):
            (project / MANIFEST).write_bytes(manifest)
        else:
            if isinstance(manifest, dict):
                manifest = {section: ({expand(k): value(v) for k, v in entries.items()}
                                      if isinstance(entries, dict) else entries)
                            for section, entries in manifest.items()}
            (project / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8", errors="surrogatepass")
        for name in plants:
            where, target = PLANTS[name]
            (project / where).parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(project / where):
                os.unlink(project / where)
            os.symlink(expand(target), project / where)
        before, beside = user_files(project), (root / "beside").read_bytes()
        r = Run(project)("generate", *(["--force"] if force else []))
        assert r.code in (0, 1), (r.code, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        decoy.assert_untouched()
        assert user_files(project) == before and (root / "beside").read_bytes() == beside
        assert sorted(os.listdir(root)) == ["beside", "project"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ── killed at random moments ──────────────────────────────────────────────────

def _variants(tmp_path: Path) -> dict[str, Path]:
    """Two inputs that differ in nearly every generated file: A is the design without its `refactor`
    agent; B also changes a model and every prompt."""
    out = {}
    text = (DESIGN / "lattice.yaml").read_text()
    start = text.index("  refactor:\n")
    without = text[:start] + text[text.index("# ─", start):]
    for name in "AB":
        v = tmp_path / f"variant-{name}"
        shutil.copytree(DESIGN / "agents", v / "agents")
        (v / "lattice.yaml").write_text(without if name == "A" else without.replace("claude-sonnet-4-5", "claude-sonnet-9"))
        if name == "B":
            for prompt in (v / "agents").glob("*.md"):
                prompt.write_text(prompt.read_text() + "\nBe brief.\n")
        out[name] = v
    return out


def _use(project: Path, variant: Path) -> None:
    """Switch the project's input to `variant` (as a `git checkout` would)."""
    shutil.copy(variant / "lattice.yaml", project / "lattice.yaml")
    shutil.rmtree(project / "agents")
    shutil.copytree(variant / "agents", project / "agents")


def _child(project: Path) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, str(HERE / "generate_child.py")], cwd=project,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None and child.stdout.readline() == b"started\n"
    return child


@pytest.mark.slow
def test_generate_killed_at_random_moments_always_completes_next_time_without_force(tmp_path):
    variants = _variants(tmp_path)
    project = tmp_path / "project"
    shutil.copytree(DESIGN, project)
    assert Run(project)("generate", "--trust").code == 0  # with `refactor`: its files go stale below
    edited = project / ".opencode/agent/refactor.md"
    edited.write_text(edited.read_text() + "my notes, which no generate may lose\n")
    (project / ".opencode/agent/mine.md").write_text("an agent the user wrote\n")
    (project / ".opencode/command/mine.md").write_text("a command the user wrote\n")
    mine = {p: p.read_bytes() for p in (edited, project / ".opencode/agent/mine.md",
                                        project / ".opencode/command/mine.md")}

    complete = {}  # variant → the tree an uninterrupted generate leaves
    for name, variant in variants.items():
        ref = tmp_path / f"reference-{name}"
        shutil.copytree(project, ref, symlinks=True)
        _use(ref, variant)
        assert Run(ref)("generate", "--trust").code == 0
        complete[name] = snapshot(ref)

    # how long a run's writes last: the manifest is replaced as they begin (listing what each changing
    # file holds now) and again when they end. Each kill below waits for the writes to begin, then a
    # random part of that span, so it lands among them however fast this machine validates (a kill before
    # or after them proves nothing).
    starts, ends = [], []
    for i in range(3):
        timing = tmp_path / f"timing-{i}"
        shutil.copytree(tmp_path / "reference-A", timing, symlinks=True)
        _use(timing, variants["B"])
        manifest = timing / MANIFEST
        seen = os.stat(manifest).st_ino
        child = _child(timing)
        t0 = time.perf_counter()
        changes = []
        while child.poll() is None:
            time.sleep(0.0005)  # not a busy loop: the child must run as fast as when it is killed
            try:
                ino = os.stat(manifest).st_ino
            except FileNotFoundError:
                continue
            if ino != seen:
                changes.append(time.perf_counter() - t0)
                seen = ino
        assert child.wait(timeout=60) == 0 and changes, changes
        starts.append(changes[0])
        ends.append(changes[-1])
        assert child.stdout is not None
        child.stdout.close()
    span = max(e - s for s, e in zip(starts, ends))
    durations = [span]

    rng = random.Random(20240610)
    interrupted = 0
    for round_ in range(20):
        name, other = ("A", "B") if round_ % 2 == 0 else ("B", "A")
        _use(project, variants[name])
        before = snapshot(project)
        child = _child(project)
        seen = os.stat(project / MANIFEST).st_ino if (project / MANIFEST).exists() else None
        while child.poll() is None:  # the writes begin: the manifest is replaced
            time.sleep(0.0002)
            try:
                if os.stat(project / MANIFEST).st_ino != seen:
                    break
            except FileNotFoundError:
                continue
        time.sleep(rng.uniform(0, span))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
        state = snapshot(project)
        interrupted += state not in (before, complete[name])
        assert {p: p.read_bytes() for p in mine} == mine  # nothing the user edited or wrote is lost
        # whatever the moment, the next run — with either input — completes without --force, and leaves
        # exactly what an uninterrupted run leaves
        for follow in (other, name):
            scratch = tmp_path / f"scratch-{round_}-{follow}"
            shutil.copytree(project, scratch, symlinks=True)
            _use(scratch, variants[follow])
            r = Run(scratch)("generate", "--trust")
            assert r.code == 0, (round_, follow, r.stderr)
            assert snapshot(scratch) == complete[follow], (round_, follow)
            shutil.rmtree(scratch)
    assert interrupted >= 5, (interrupted, durations)  # kills landed mid-run, not only before or after it

    _use(project, variants["A"])
    r = Run(project)("generate")
    assert r.code == 0, r.stderr
    assert snapshot(project) == complete["A"]
