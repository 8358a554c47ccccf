"""The store core against the real filesystem: names, add, read-only, verify, gc, why, optimise, crashes."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import store_child

from lattice_env.errors import LatticeError
from lattice_env.paths import data_root
from lattice_env.store.add import add as add_path
from lattice_env.store.gc import gc, why
from lattice_env.store.manifest import read_manifest
from lattice_env.store.names import FORMAT, base32, derivation, resolve, store_name, store_path
from lattice_env.store.names import paths as store_paths
from lattice_env.store.optimise import optimise
from lattice_env.store.roots import temp_root
from lattice_env.store.tree import canonical_json
from lattice_env.store.verify import verify

VECTORS = Path(__file__).parent.parent / "store" / "vectors.json"


def build_sample(d: Path) -> None:
    (d / "bin").mkdir()
    (d / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    os.chmod(d / "bin" / "tool", 0o750)
    (d / "share" / "é dir").mkdir(parents=True)
    (d / "share" / "é dir" / "data.json").write_text('{"a": 1}\n')
    (d / "shared.txt").write_text("same content in every path\n" * 100)
    os.symlink("bin/tool", d / "tool-link")


def snapshot(path: Path) -> dict[str, tuple]:
    """Everything observable about a tree: type, mode, mtime, content or target."""
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(dirpath) / name
            st = os.lstat(full)
            rel = str(full.relative_to(path))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full), st.st_mtime)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", stat.S_IMODE(st.st_mode), st.st_mtime)
            else:
                out[rel] = ("f", stat.S_IMODE(st.st_mode), st.st_mtime, full.read_bytes())
    return out


def test_vectors_pin_the_hash():
    data = json.loads(VECTORS.read_text())
    assert data["format"] == FORMAT
    for v in data["vectors"]:
        drv = derivation(v["name"], v["kind"], v["inputs"], v["references"])
        assert canonical_json(drv).decode() == v["canonical"]
        assert store_name(drv) == v["store_name"], v["name"]


def build_from_spec(d: Path, files: list[list]) -> None:
    for rel, kind, executable, content in files:
        path = d / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dir":
            path.mkdir(exist_ok=True)
        elif kind == "symlink":
            os.symlink(content, path)
        else:
            path.write_text(content, encoding="utf-8")
            os.chmod(path, 0o755 if executable else 0o644)


def test_vectors_pin_the_tree_hash_and_manifest_bytes(tmp_path):
    for v in json.loads(VECTORS.read_text())["trees"]:
        drv = derivation(v["name"], v["kind"], v["inputs"], v["references"])
        path = add_path(drv, lambda d, files=v["files"]: build_from_spec(d, files), tmp_path / "store")
        assert path.name == v["store_name"]
        assert read_manifest(path)["tree"] == v["tree"]
        assert hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest() == v["manifest_sha256"]


def test_base32_alphabet_and_bit_order():
    assert base32(bytes(20)) == "0" * 32
    assert base32(bytes(19) + b"\x01") == "0" * 31 + "1"
    assert base32(b"\xff" * 20) == "z" * 32
    assert base32(b"\xf8" + bytes(19)) == "z" + "0" * 31


def test_name_ignores_key_and_reference_order():
    a = derivation("x", "test", {"a": 1, "b": [1, 2]}, ["0" * 32 + "-b", "1" * 32 + "-a"])
    b = derivation("x", "test", {"b": [1, 2], "a": 1}, ["1" * 32 + "-a", "0" * 32 + "-b"])
    c = derivation("x", "test", {"b": [2, 1], "a": 1}, ["1" * 32 + "-a", "0" * 32 + "-b"])
    assert store_name(a) == store_name(b) != store_name(c)


@pytest.mark.parametrize("name", ["", ".hidden", "-x", "a/b", "a b", "x" * 201])
def test_bad_names_are_one_line_errors(name):
    with pytest.raises(LatticeError, match="invalid store path name"):
        derivation(name, "test", {})


def test_unhashable_inputs_are_errors():
    with pytest.raises(LatticeError, match="cannot be hashed"):
        derivation("x", "test", {"v": float("nan")})


def test_same_name_and_identical_tree_under_two_roots(tmp_path):
    drv = derivation("sample", "test", {"v": 1})
    a = add_path(drv, build_sample, root=tmp_path / "one" / "store")
    b = add_path(drv, build_sample, root=tmp_path / "two" / "deeper" / "store")
    assert a.name == b.name
    assert snapshot(a) == snapshot(b)
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()


def test_add_is_a_noop_when_present():
    drv = derivation("sample", "test", {"v": 1})
    calls = []
    first = add_path(drv, lambda d: (calls.append(1), build_sample(d)))
    second = add_path(drv, lambda d: calls.append(2))
    assert first == second == Path(data_root()) / "store" / store_name(drv)
    assert calls == [1]


def test_result_is_read_only_with_fixed_mtimes():
    path = add_path(derivation("sample", "test", {}), build_sample)
    snap = snapshot(path)
    assert snap["bin/tool"][1] == 0o555 and snap["shared.txt"][1] == 0o444
    assert snap["bin"][1] == 0o555 and stat.S_IMODE(path.stat().st_mode) == 0o555
    assert snap["manifest.json"][1] == 0o444
    assert {s[-2] if s[0] == "f" else s[2] for s in snap.values()} == {1}
    manifest = read_manifest(path)
    assert manifest["name"] == path.name and manifest["tree"].startswith("sha256:")
    assert [e[0] for e in manifest["entries"]] == sorted(e[0] for e in manifest["entries"])


def test_builder_failure_leaves_nothing_and_reraises():
    def broken(d: Path) -> None:
        (d / "half").write_text("x")
        os.chmod(d, 0o555)
        raise RuntimeError("builder broke")

    drv = derivation("broken", "test", {})
    with pytest.raises(RuntimeError, match="builder broke"):
        add_path(drv, broken)
    assert [p.name for p in (Path(data_root()) / "store").iterdir()] == [".locks"]


def test_builder_leaking_its_location_is_refused():
    drv = derivation("leaky", "test", {})
    with pytest.raises(LatticeError, match="store's own location"):
        add_path(drv, lambda d: (d / "activate").write_text(f"VIRTUAL_ENV={d}\n"))
    with pytest.raises(LatticeError, match="store's own location"):
        add_path(drv, lambda d: os.symlink(store_path(drv) / "x", d / "abs"))
    assert not store_path(drv).exists()


def test_missing_reference_is_refused():
    drv = derivation("needs", "test", {}, ["0" * 32 + "-gone"])
    with pytest.raises(LatticeError, match="does not exist"):
        add_path(drv, build_sample)


def test_verify_catches_modified_added_removed_and_modes():
    path = add_path(derivation("sample", "test", {}), build_sample)
    other = add_path(derivation("other", "test", {}), build_sample)
    assert verify() == []
    os.chmod(path, 0o755)
    (path / "shared.txt").chmod(0o644)
    (path / "shared.txt").write_text("tampered\n")
    (path / "extra").write_text("x")
    (path / "share" / "é dir").chmod(0o755)
    (path / "share" / "é dir" / "data.json").unlink()
    (path / "bin" / "tool").chmod(0o444)
    problems = [str(p) for p in verify()]
    n = path.name
    assert problems == [
        f"{n}: added: extra",
        f"{n}: mode: . is 0755, expected 0555",
        f"{n}: mode: bin/tool executable bit removed",
        f"{n}: mode: share/é dir is 0755, expected 0555",
        f"{n}: mode: shared.txt is 0644, expected 0444",
        f"{n}: modified: shared.txt",
        f"{n}: removed: share/é dir/data.json",
    ]
    assert verify([other]) == []
    assert verify([path.name]) and verify([str(path)])


def test_verify_catches_a_forged_manifest():
    path = add_path(derivation("sample", "test", {"v": 1}), build_sample)
    manifest = read_manifest(path)
    manifest["derivation"]["inputs"] = {"v": 2}
    os.chmod(path, 0o755)
    (path / "manifest.json").chmod(0o644)
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "manifest.json").chmod(0o444)
    os.chmod(path, 0o555)
    assert [str(p) for p in verify()] == [
        f"{path.name}: manifest: derivation does not hash to this path's name",
        f"{path.name}: time: manifest.json was changed after the path was sealed"]


def _chain(root: Path) -> tuple[Path, Path, Path]:
    base = add_path(derivation("base", "test", {}), build_sample, root)
    mid = add_path(derivation("mid", "test", {}, [base]), build_sample, root)
    top = add_path(derivation("top", "test", {}, [mid]), build_sample, root)
    return base, mid, top


def _profile(root: Path, name: str, generation: int, target: Path) -> Path:
    """A Nix-layout profile: profiles/NAME -> NAME-N-link -> store path."""
    profiles = root.parent / "profiles"
    profiles.mkdir(exist_ok=True)
    link = profiles / f"{name}-{generation}-link"
    os.symlink(target, link)
    current = profiles / name
    current.unlink(missing_ok=True)
    os.symlink(link.name, current)
    return link


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_gc_keeps_roots_and_their_references_and_removes_the_rest():
    root = Path(data_root()) / "store"
    base, mid, top = _chain(root)
    lone = add_path(derivation("lone", "test", {}), build_sample, root)
    held = add_path(derivation("held", "test", {}), build_sample, root)
    garbage = add_path(derivation("garbage", "test", {}), build_sample, root)
    link = _profile(root, "default", 1, top)
    stale_tmp = root / f".tmp-{garbage.name}-{_dead_pid()}-abcd1234"
    (stale_tmp / "d").mkdir(parents=True)
    (stale_tmp / "d" / "f").write_text("x" * 1000)
    os.chmod(stale_tmp / "d", 0o555)
    dead_root = root.parent / "roots" / f"{_dead_pid()}-00000000"
    dead_root.parent.mkdir()
    os.symlink(lone, dead_root)
    with temp_root(held) as temp:
        dry = gc(dry_run=True)
        assert dry.removed == sorted([lone.name, garbage.name])
        assert all(p.exists() for p in (lone, garbage, stale_tmp))
        assert why(base) == [[str(link), top.name, mid.name, base.name]]
        assert why(held) == [[str(temp), held.name]]
        result = gc()
    assert result.removed == dry.removed and result.bytes_freed == dry.bytes_freed > 1000
    assert result.stale == sorted([stale_tmp.name, dead_root.name])
    assert sorted(p.name for p in store_paths(root)) == sorted(p.name for p in (base, mid, top, held))
    assert not stale_tmp.exists() and not dead_root.exists() and not os.path.lexists(dead_root)
    assert not os.path.lexists(temp)
    assert why(held) == []
    assert [p.name for p in store_paths(root)] == [p.name for p in store_paths(root)]
    assert gc().removed == [held.name]
    assert verify() == []


def test_optimise_links_identical_files_only_and_keeps_contents():
    root = Path(data_root()) / "store"
    paths = [add_path(derivation(f"p{i}", "test", {}), build_sample, root) for i in range(3)]

    def mode_twin(d: Path) -> None:  # same bytes as bin/tool but not executable: must not be merged
        (d / "tool").write_text("#!/bin/sh\necho tool\n")

    twin = add_path(derivation("twin", "test", {}), mode_twin, root)
    before = {p: snapshot(p) for p in paths + [twin]}
    shared = len((paths[0] / "shared.txt").read_bytes())
    saved = optimise(root)
    assert saved >= 2 * shared
    assert {p: snapshot(p) for p in paths + [twin]} == before
    inodes = {os.lstat(p / "shared.txt").st_ino for p in paths}
    assert len(inodes) == 1
    assert os.lstat(twin / "tool").st_ino != os.lstat(paths[0] / "bin" / "tool").st_ino
    assert verify() == []
    assert optimise(root) == 0
    _profile(root, "keep", 1, paths[0])
    dry = gc(dry_run=True)
    result = gc()
    assert result.links > 0 and result.bytes_freed == dry.bytes_freed > 0
    assert verify() == [] and (paths[0] / "shared.txt").read_bytes() == before[paths[0]]["shared.txt"][3]


def _concurrent_add(root: str, log: str, barrier, results) -> None:
    def slow(d: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.3)
        build_sample(d)

    barrier.wait()
    results.put(str(add_path(derivation("shared", "test", {}), slow, Path(root))))


def test_concurrent_adds_from_four_processes_build_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    log = tmp_path / "builds.log"
    procs = [ctx.Process(target=_concurrent_add, args=(str(tmp_path / "store"), str(log), barrier, results))
             for _ in range(4)]
    for p in procs:
        p.start()
    paths = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len(set(paths)) == 1
    assert len(log.read_text().splitlines()) == 1
    assert verify(root=tmp_path / "store") == []


def _start_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, str(Path(__file__).parent / "store_child.py")],
                             stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"started\n"
    return child


def _kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


def test_sigkill_at_random_moments_never_leaves_a_broken_path():
    drv = store_child.DRV
    final = store_path(drv)
    rng = random.Random(1234)
    outcomes = {"killed": 0, "finished": 0}
    for _ in range(20):
        if final.exists():
            gc()  # no roots: collect it, so the next round builds again
        child = _start_child()
        time.sleep(rng.uniform(0, 0.15))  # the build takes ~0.1 s: before, during and after
        _kill(child)
        if final.exists():
            outcomes["finished"] += 1
            assert verify([final]) == []
        else:
            outcomes["killed"] += 1
    assert outcomes["killed"] >= 5, outcomes  # "finished" rounds depend on the machine's speed

    gc()
    child = _start_child()
    time.sleep(0.04)
    _kill(child)
    assert not final.exists()
    assert [p.name for p in final.parent.glob(".tmp-*")]  # the killed build's leftovers...
    assert add_path(drv, store_child.slow_builder) == final  # ...do not stop the next add, which sweeps them
    assert verify([final]) == []
    assert not list(final.parent.glob(".tmp-*"))


def test_resolve_accepts_full_path_and_basename(tmp_path):
    path = add_path(derivation("sample", "test", {}), build_sample)
    assert resolve(path) == resolve(path.name) == resolve(str(path) + "/") == path
    with pytest.raises(LatticeError, match="not a store path"):
        resolve(tmp_path)
    with pytest.raises(LatticeError, match="no store path"):
        resolve("0" * 32 + "-nothing")


def test_cli_store_commands(run):
    root = Path(data_root()) / "store"
    base, mid, top = _chain(root)
    lone = add_path(derivation("lone", "test", {}), build_sample, root)
    link = _profile(root, "default", 1, top)

    r = run("store", "ls", "--json")
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == sorted(p.name for p in (base, mid, top, lone))
    assert {row["name"]: row["references"] for row in rows}[top.name] == [mid.name]
    assert all(row["size"] > 0 and row["kind"] == "test" for row in rows)
    r = run("store", "ls")
    assert r.code == 0 and str(top) in r.stdout

    assert run("store", "verify").code == 0
    r = run("store", "why", base.name)
    assert r.code == 0 and r.stdout.strip() == f"{link} → {top.name} → {mid.name} → {base.name}"
    r = run("store", "why", str(lone))
    assert r.code == 1 and r.stderr.strip() == (
        f"lattice: error: {lone.name} is not reachable from any root; `lattice store gc` would remove it")
    r = run("store", "why", "/etc")
    assert r.code == 1 and len(r.stderr.splitlines()) == 1

    r = run("store", "gc", "--dry-run")
    assert r.code == 0 and f"would remove {lone.name}" in r.stdout and lone.exists()
    r = run("store", "gc")
    assert r.code == 0 and f"removed {lone.name}" in r.stdout and "freed" in r.stdout
    assert not lone.exists()

    r = run("store", "optimise")
    assert r.code == 0 and r.stdout.strip().endswith("saved") and not r.stdout.startswith("0 bytes")

    os.chmod(mid / "manifest.json", 0o644)  # not shared.txt: optimise made it one inode in every path
    r = run("store", "verify", str(mid), top.name)
    assert r.code == 1
    assert r.stdout.splitlines() == [f"{mid.name}: mode: manifest.json is 0644, expected 0444"]
