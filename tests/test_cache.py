"""Binary caches with real parts: real store paths (store.add), a real file:// cache directory, a real
web server over TLS on loopback, real ed25519 keys, real child processes killed with SIGKILL, and an
export imported inside a network namespace with no network. (The S3 transport and whole workflows with
npm and opencode: test_cache_s3.py.)"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from conftest import require_tool, unavailable
from static_server import StaticServer, self_signed

from lattice_env.cache import archive as archive_mod
from lattice_env.cache import writer as writer_mod
from lattice_env.cache.config import trust
from lattice_env.cache.gc import gc as cache_gc
from lattice_env.cache.info import PathInfo, Refused, info_key, parse_info
from lattice_env.cache.keys import PublicKey, keygen, secret_key
from lattice_env.cache.push import push
from lattice_env.cache.substitute import Substituter
from lattice_env.cache.url import open_cache
from lattice_env.config.load import load_workflow
from lattice_env.errors import ConfigError, LatticeError
from lattice_env.paths import store_root
from lattice_env.store.add import add
from lattice_env.store.gc import gc as store_gc
from lattice_env.store.manifest import MANIFEST
from lattice_env.store.names import derivation
from lattice_env.store.verify import verify

CHILD = Path(__file__).parent / "cache_child.py"


def build_lib(d: Path) -> None:
    (d / "bin").mkdir()
    (d / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    os.chmod(d / "bin" / "tool", 0o755)
    deep = d / "share" / "é dir" / ("x" * 60) / ("y" * 60)  # a name past ustar's 100 bytes
    deep.mkdir(parents=True)
    (deep / "data.json").write_text('{"a": 1}\n')
    (d / "empty").write_bytes(b"")
    os.symlink("bin/tool", d / "tool-link")
    os.symlink("../nowhere", d / "share" / "dangling")
    (d / "tool-copy").write_text("#!/bin/sh\necho tool\n")  # the same content as bin/tool…
    os.chmod(d / "tool-copy", 0o755)
    (d / "tool-text").write_text("#!/bin/sh\necho tool\n")  # …and again, but not executable


def build_app(d: Path) -> None:
    (d / "app.txt").write_text("the app\n")


def build_big(d: Path) -> None:
    """~24 MB of incompressible files: a pull long enough to be killed in the middle of."""
    rng = random.Random(7)
    for i in range(60):
        sub = d / f"d{i % 6}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i}").write_bytes(rng.randbytes(400_000))


class Machine:
    """One LATTICE_HOME and LATTICE_CONFIG_HOME: switch between machines with `use()`."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root, self.monkeypatch = root, monkeypatch
        self.data, self.config = root / "data", root / "config"

    def use(self) -> Machine:
        self.monkeypatch.setenv("LATTICE_HOME", str(self.data))
        self.monkeypatch.setenv("LATTICE_CONFIG_HOME", str(self.config))
        return self

    @property
    def store(self) -> Path:
        return self.data / "store"

    def trust(self, url: str, *keys: str, extra: tuple[str, ...] = ()) -> None:
        self.config.mkdir(parents=True, exist_ok=True)
        doc = {"caches": [{"url": url, "public_key": list(keys) if len(keys) > 1 else keys[0]}]}
        if extra:
            doc["trusted_public_keys"] = list(extra)
        (self.config / "lattice.yaml").write_text(json.dumps(doc))  # JSON is YAML


@pytest.fixture
def machines(tmp_path, monkeypatch):
    """Machine A with a signing key and two paths (app references lib); an empty machine B."""
    a, b = Machine(tmp_path / "a", monkeypatch), Machine(tmp_path / "b", monkeypatch)
    a.use()
    a.public = str(keygen("test-1"))
    a.lib = add(derivation("lib", "test", {"v": 1}), build_lib)
    a.app = add(derivation("app", "test", {"v": 1}, references=[a.lib]), build_app)
    a.cache_dir = tmp_path / "cache"
    a.url = a.cache_dir.as_uri()
    return a, b


def _lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def _tree(store: Path, name: str) -> bytes:
    return (store / name / MANIFEST).read_bytes()


def test_keygen_keeps_the_secret_key_private_and_never_overwrites(machines):
    a, _ = machines
    name, _, b64 = a.public.partition(":")
    assert name == "test-1" and len(PublicKey.parse(a.public).raw) == 32
    secret = a.config / "keys" / "test-1.secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert oct((a.config / "keys").stat().st_mode & 0o777) == "0o700"
    assert b64 not in secret.read_text()  # the file holds the secret seed, not the public key
    with pytest.raises(LatticeError, match="never overwritten"):
        keygen("test-1")
    key = secret_key()
    assert PublicKey.parse(a.public).verifies(key.sign(b"message"), b"message")
    assert not PublicKey.parse(a.public).verifies(key.sign(b"message"), b"massage")
    secret.chmod(0o644)
    with pytest.raises(LatticeError, match="readable by others"):
        secret_key("test-1")


def test_archive_is_deterministic_and_the_same_under_another_store_root(machines):
    a, b = machines
    first, second = io.BytesIO(), io.BytesIO()
    digest, size, tar_size = archive_mod.write_archive(a.lib, first)
    assert archive_mod.write_archive(a.lib, second) == (digest, size, tar_size)
    assert first.getvalue() == second.getvalue() and len(first.getvalue()) == size
    with tarfile.open(fileobj=io.BytesIO(__import__("zstandard").ZstdDecompressor().decompress(
            first.getvalue(), max_output_size=tar_size))) as tar:
        members = tar.getmembers()
    assert members[0].name == MANIFEST
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 1)}
    assert [m.name for m in members[1:]] == sorted(m.name for m in members[1:])
    push(open_cache(a.url), [a.app], secret_key())
    b.use().trust(a.url, a.public)
    assert Substituter.configured(progress=False).substitute(a.app.name) == a.url
    pulled = b.store / a.lib.name
    assert _tree(b.store, a.lib.name) == _tree(a.store, a.lib.name)  # byte-identical manifest: same tree
    third = io.BytesIO()
    assert archive_mod.write_archive(pulled, third)[0] == digest and third.getvalue() == first.getvalue()


def test_push_closure_then_pull_into_an_empty_store(machines, capsys):
    a, b = machines
    result = push(open_cache(a.url), [a.app], secret_key())
    assert result.pushed == [a.lib.name, a.app.name] and result.present == []  # references first
    again = push(open_cache(a.url), [a.app], secret_key())
    assert again.pushed == [] and again.present == [a.lib.name, a.app.name] and again.uploaded_bytes == 0
    b.use().trust(a.url, a.public)
    assert not b.store.exists()
    assert Substituter.configured(progress=False).substitute(a.app.name) == a.url  # pulls lib first
    assert sorted(p.name for p in b.store.iterdir() if not p.name.startswith(".")) == sorted(
        [a.lib.name, a.app.name])
    assert verify() == []
    assert os.readlink(b.store / a.lib.name / "tool-link") == "bin/tool"
    assert os.access(b.store / a.lib.name / "bin" / "tool", os.X_OK)
    assert not list(b.store.glob(".tmp-*"))
    # Identical files (content and executable bit) were written once and hard-linked.
    lib = b.store / a.lib.name
    assert os.lstat(lib / "tool-copy").st_ino == os.lstat(lib / "bin" / "tool").st_ino
    assert os.lstat(lib / "tool-text").st_ino != os.lstat(lib / "bin" / "tool").st_ino
    assert os.lstat(a.lib / "tool-copy").st_ino != os.lstat(a.lib / "bin" / "tool").st_ino
    assert _lines(capsys) == []


def _pushed(a: Machine) -> None:
    a.use()
    push(open_cache(a.url), [a.app], secret_key())


def _refused(b: Machine, name: str, capsys) -> str:
    b.use()
    assert Substituter.configured(progress=False).substitute(name) is None
    assert not (b.store / name).exists() and not list(b.store.glob(f".tmp-{name}-*"))
    lines = _lines(capsys)
    assert len(lines) == 1, lines
    return lines[0]


def test_a_tampered_archive_is_refused_naming_cache_and_path(machines, capsys):
    a, b = machines
    _pushed(a)
    info = parse_info((a.cache_dir / info_key(a.app.name)).read_bytes(), "test")
    archive = a.cache_dir / info.archive
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 1
    archive.write_bytes(bytes(data))
    b.use().trust(a.url, a.public)
    line = _refused(b, a.app.name, capsys)
    assert line == (f"lattice: cache {a.url}: {a.app.name}: refused: the archive's sha256 or size does not "
                    f"match its signed info; building locally")
    assert (b.store / a.lib.name).is_dir()  # its reference was fine, and stays


def test_a_tampered_info_is_refused(machines, capsys):
    a, b = machines
    _pushed(a)
    file = a.cache_dir / info_key(a.lib.name)
    doc = json.loads(file.read_text())
    doc["tree"] = "sha256:" + "0" * 64  # the signature no longer covers what the info says
    file.write_text(json.dumps(doc))
    b.use().trust(a.url, a.public)
    line = _refused(b, a.lib.name, capsys)
    assert line.startswith(f"lattice: cache {a.url}: {a.lib.name}: refused: no valid signature by a trusted key")
    doc["derivation"]["inputs"] = {"v": 2}  # a derivation that is not the name's
    file.write_text(json.dumps(doc))
    line = _refused(b, a.lib.name, capsys)
    assert line.endswith(f"{a.lib.name}: refused: its derivation does not hash to its name; building locally")


def test_an_untrusted_key_is_refused(machines, capsys):
    a, b = machines
    _pushed(a)
    b.use()
    other = str(keygen("other-1"))
    b.trust(a.url, other)
    line = _refused(b, a.lib.name, capsys)
    assert line == (f"lattice: cache {a.url}: {a.lib.name}: refused: no valid signature by a trusted key "
                    f"(signed by test-1; trusted: other-1); building locally")
    b.trust(a.url, other, a.public)  # a rotation: either key will do
    assert Substituter.configured(progress=False).substitute(a.lib.name) == a.url


def test_a_trusted_signature_over_other_files_is_refused_by_the_tree_hash(machines, capsys):
    """Defence in depth: even a validly signed info is refused when the archive unpacks to other files."""
    a, b = machines
    _pushed(a)
    lib = parse_info((a.cache_dir / info_key(a.lib.name)).read_bytes(), "test")
    app = parse_info((a.cache_dir / info_key(a.app.name)).read_bytes(), "test")
    forged = PathInfo(name=lib.name, derivation=lib.derivation, tree=lib.tree, references=lib.references,
                      archive_sha256=app.archive_sha256, archive_size=app.archive_size, size=app.size)
    a.use()
    (a.cache_dir / info_key(lib.name)).write_bytes(forged.signed(secret_key()).to_bytes())
    b.use().trust(a.url, a.public)
    line = _refused(b, lib.name, capsys)
    assert f"{lib.name}: refused: its files hash to sha256:" in line and f"not to the signed {lib.tree}" in line


def _signed_archive(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> tuple[Path, int]:
    import zstandard

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    path = tmp_path / "evil.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    return path, len(raw.getvalue())


def _entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", link: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, len(data) if kind == tarfile.REGTYPE else 0, link, 0o644
    return info, data


@pytest.mark.parametrize("members, why", [
    ([_entry("../escape")], "unsafe entry name '../escape'"),
    ([_entry("/tmp/absolute")], "unsafe entry name '/tmp/absolute'"),
    ([_entry("link", tarfile.SYMTYPE, link="/tmp"), _entry("link/planted")],
     "'link/planted' is not inside a directory the archive made"),
    ([_entry("hard", tarfile.LNKTYPE, link="/etc/passwd")], "'hard' is not a file, directory or symlink"),
    ([_entry("dev", tarfile.CHRTYPE)], "'dev' is not a file, directory or symlink"),
    ([_entry("twice"), _entry("twice")], "the archive has 'twice' twice"),
    ([_entry("big", data=b"y" * 100_000)], "unpacks to more than its signed size"),
])
def test_extract_refuses_what_a_store_path_cannot_hold(tmp_path, members, why):
    archive, size = _signed_archive(tmp_path, members)
    out = tmp_path / "out"
    out.mkdir()
    limit = 20_000 if "signed size" in why else size
    with open(archive, "rb") as f, pytest.raises(Refused, match=why.replace("(", r"\(")):
        archive_mod.extract(f, out, limit, "cache X: NAME")
    assert not (tmp_path / "escape").exists() and not Path("/tmp/planted").exists()


@pytest.mark.parametrize("chunk", [writer_mod.CHUNK, writer_mod.CHUNK + 3])
def test_large_files_are_streamed_whole_and_a_full_disk_fails_the_extraction(tmp_path, monkeypatch, chunk):
    """Files over the writer's SMALL size go to the writer thread chunk by chunk: they arrive byte for
    byte, in any mix with small ones, written with O_DIRECT where the disk takes it — and, with chunks
    that are not whole blocks (the kernel refuses direct writes at their offsets), through the page
    cache from the first refused chunk on. Every file is made sealed (store mode, mtime 1) and its
    sha256, hashed as written, is returned. When the disk fills mid-file the extraction ends with that
    error (it does not wait forever on a writer that stopped taking chunks)."""
    from test_ordinary_faults import tmpfs

    monkeypatch.setattr(writer_mod, "CHUNK", chunk)
    monkeypatch.setattr(archive_mod, "CHUNK", chunk)
    big = random.Random(1).randbytes(writer_mod.Writers.SMALL * 3 + 12345)
    files = {"d/small": b"s" * 10, "d/big": big, "d/after": b"a" * 100, "d/mid": big[:200_003],
             "big2": big[::-1]}
    members = [_entry("d", tarfile.DIRTYPE), *(_entry(rel, data=data) for rel, data in files.items())]
    archive, size = _signed_archive(tmp_path, members)
    out = tmp_path / "out"
    out.mkdir()
    with open(archive, "rb") as f:
        digests = archive_mod.extract(f, out, size, "cache X: NAME")
    assert digests == {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    for rel, data in files.items():
        st = os.lstat(out / rel)
        assert (out / rel).read_bytes() == data and st.st_size == len(data)
        assert (stat.S_IMODE(st.st_mode), st.st_mtime) == (0o444, 1)
    with tmpfs(tmp_path / "small-disk", 4 << 20) as disk, open(archive, "rb") as f:
        (disk / "out").mkdir()
        with pytest.raises(OSError) as failed:
            archive_mod.extract(f, disk / "out", size, "cache X: NAME")
        assert failed.value.errno == 28  # ENOSPC, from the writer thread


def test_a_filesystem_without_direct_io_gets_every_file_through_the_page_cache(tmp_path):
    """Where opening with O_DIRECT is refused (EINVAL: ramfs, some FUSE filesystems), large and
    middle-sized files are written the ordinary way, whole, sealed and hashed alike."""
    from test_ordinary_faults import ramfs

    big = random.Random(2).randbytes(writer_mod.Writers.SMALL + 4099)
    files = {"big": big, "mid": big[:writer_mod.Writers.DIRECT + 1], "small": b"x"}
    archive, size = _signed_archive(tmp_path, [_entry(rel, data=data) for rel, data in files.items()])
    with ramfs(tmp_path / "ram") as disk, open(archive, "rb") as f:
        with pytest.raises(OSError) as refused:
            os.open(disk / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
        assert refused.value.errno == 22  # the fallback is what this filesystem makes us take
        (disk / "out").mkdir()
        digests = archive_mod.extract(f, disk / "out", size, "cache X: NAME")
        assert digests == {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
        for rel, data in files.items():
            st = os.lstat(disk / "out" / rel)
            assert (disk / "out" / rel).read_bytes() == data
            assert (stat.S_IMODE(st.st_mode), st.st_mtime) == (0o444, 1)


def test_a_manifest_claiming_two_files_are_the_same_is_caught_by_the_tree_hash(tmp_path):
    """The hard links come from the archive's own manifest; a lie there makes the tree differ."""
    from lattice_env.store.add import TreeMismatch
    from lattice_env.store.tree import scan, tree_hash

    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "a").write_bytes(b"aaa")
    (truth / "b").write_bytes(b"bbb")
    real = tree_hash(scan(truth)[0])
    lie = {"entries": [["a", "file", False, "0" * 64], ["b", "file", False, "0" * 64]]}
    manifest = json.dumps(lie).encode()
    archive, size = _signed_archive(tmp_path, [_entry(MANIFEST, data=manifest), _entry("a", data=b"aaa"),
                                               _entry("b", data=b"bbb")])

    def unpack(out: Path) -> None:
        with open(archive, "rb") as f:
            archive_mod.extract(f, out, size, "cache X: lie")
        assert (out / "b").read_bytes() == b"aaa"  # linked, as the manifest claimed

    with pytest.raises(TreeMismatch, match="refused: its files hash to"):
        add(derivation("lie", "test", {}), unpack, tree=real)
    assert not list(Path(store_root()).glob("*-lie"))


def test_https_cache_served_by_a_static_server(machines, tmp_path, monkeypatch, capsys):
    a, b = machines
    _pushed(a)
    cert, key = self_signed(tmp_path)
    with StaticServer(a.cache_dir.parent, tls=(cert, key)) as server:
        url = f"{server.url}/{a.cache_dir.name}"
        b.use().trust(url, a.public)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nothing.pem"))  # the system CAs do not know it
        line = _refused(b, a.lib.name, capsys)
        assert line.startswith(f"lattice: warning: cache {url} is unreachable (") and "CERTIFICATE" in line
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert Substituter.configured(progress=False).substitute(a.app.name) == url
        assert verify() == []
        with pytest.raises(LatticeError, match="read-only"):
            push(open_cache(url), [b.store / a.app.name], _key(b))
    assert f"/{a.cache_dir.name}/{info_key(a.app.name)}" in server.requests


def _key(machine: Machine):
    machine.use()
    try:
        return secret_key("b-1")
    except LatticeError:
        keygen("b-1")
        return secret_key("b-1")


def test_an_unreachable_cache_is_asked_once_then_skipped(machines, capsys):
    a, b = machines
    b.use().trust("http://127.0.0.1:9/cache", a.public)
    subst = Substituter.configured(progress=False)
    assert subst.substitute(a.lib.name) is None and subst.substitute(a.app.name) is None
    lines = _lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("lattice: warning: cache http://127.0.0.1:9/cache is "
                                                   "unreachable (") and lines[0].endswith("; building locally")


def _pull_child(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, str(CHILD), name], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"started\n"
    return child


def test_two_concurrent_pulls_give_one_path_and_one_download(machines, tmp_path):
    a, b = machines
    a.use()
    big = add(derivation("big", "test", {}), build_big)
    push(open_cache(a.url), [big], secret_key())
    with StaticServer(a.cache_dir.parent) as server:
        url = f"{server.url}/{a.cache_dir.name}"
        b.use().trust(url, a.public)
        env = dict(os.environ)
        children = [_pull_child(env, big.name) for _ in range(2)]
        outs = [c.communicate(timeout=120) for c in children]
    assert [c.returncode for c in children] == [0, 0], outs
    assert [o[0].decode().split() for o in outs] == [[url], [url]]
    info = parse_info((a.cache_dir / info_key(big.name)).read_bytes(), "test")
    assert server.requests.count(f"/{a.cache_dir.name}/{info.archive}") == 1
    assert [p.name for p in b.store.iterdir() if not p.name.startswith(".")] == [big.name]
    assert verify() == [] and not list(b.store.glob(".tmp-*"))


def test_a_pull_killed_at_random_moments_never_leaves_a_broken_path(machines):
    a, b = machines
    a.use()
    big = add(derivation("big", "test", {}), build_big)
    push(open_cache(a.url), [big], secret_key())
    b.use().trust(a.url, a.public)
    env = dict(os.environ)
    final = b.store / big.name
    durations = []
    for _ in range(2):  # how long a pull takes once its child has started (the second one warm)
        if final.exists():
            store_gc()
        child = _pull_child(env, big.name)
        started = time.monotonic()
        child.communicate(timeout=120)
        durations.append(time.monotonic() - started)
        assert final.is_dir()
    duration = min(durations)
    rng = random.Random(int(os.environ.get("LATTICE_TEST_SEED", "14")))
    outcomes = {"killed": 0, "finished": 0}
    for _ in range(12):
        if final.exists():
            store_gc()  # nothing roots it: collected, so the next round pulls again
        child = _pull_child(env, big.name)
        time.sleep(rng.uniform(0, duration))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        if final.exists():
            outcomes["finished"] += 1
            assert verify([final]) == []
        else:
            outcomes["killed"] += 1
        assert [p.name for p in b.store.iterdir() if not p.name.startswith(".")] in ([], [big.name])
    assert outcomes["killed"] >= 3, outcomes
    if final.exists():
        store_gc()
    assert Substituter.configured(progress=False).substitute(big.name) == a.url
    assert verify() == [] and not list(b.store.glob(".tmp-*"))  # the next pull swept the killed ones'


def test_export_then_import_on_a_machine_without_a_network(machines, tmp_path):
    require_tool("unshare")
    if os.geteuid() != 0:
        unavailable("the offline proof needs root (a network namespace without a network)")
    a, b = machines
    a.use()
    stream = tmp_path / "closure.lattice"
    with open(stream, "wb") as f:
        done = subprocess.run([sys.executable, "-m", "lattice_env", "store", "export", str(a.app)], stdout=f,
                              stderr=subprocess.PIPE, text=False, env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr
    b.use().config.mkdir(parents=True)
    (b.config / "lattice.yaml").write_text(f"trusted_public_keys:\n  - \"{a.public}\"\n")
    env = dict(os.environ)

    def offline(*args: str, stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
        with open(stdin or os.devnull, "rb") as f:
            return subprocess.run(["unshare", "-n", sys.executable, "-m", "lattice_env", *args], stdin=f,
                                  capture_output=True, env=env, timeout=120, text=True)

    assert "127.0.0.1" not in offline("-c", "pass").stderr  # (a usage error, but the namespace works)
    done = offline("store", "import", stdin=stream)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "imported 2 store paths, 0 already present"
    assert sorted(p.name for p in b.store.iterdir() if not p.name.startswith(".")) == sorted(
        [a.lib.name, a.app.name])
    assert _tree(b.store, a.app.name) == _tree(a.store, a.app.name)
    assert offline("store", "verify").returncode == 0
    again = offline("store", "import", stdin=stream)
    assert again.stdout.strip() == "imported 0 store paths, 2 already present"

    # A stream signed by a key this machine does not trust is refused, naming the path.
    (b.config / "lattice.yaml").write_text(f"trusted_public_keys:\n  - \"{_other_public(tmp_path)}\"\n")
    store_gc()
    refused = offline("store", "import", stdin=stream)
    assert refused.returncode == 1 and not (b.store / a.lib.name).exists()
    assert refused.stderr.strip() == (f"lattice: error: import from stdin: {a.lib.name}: refused: no valid "
                                      f"signature by a trusted key (signed by test-1; trusted: other-1)")


def _other_public(tmp_path: Path) -> str:
    from lattice_env.cache.keys import SecretKey

    return str(SecretKey("other-1", b"\x01" * 32).public())


def test_caches_are_trusted_only_from_the_global_configuration(tmp_path, monkeypatch):
    config = tmp_path / "config"
    monkeypatch.setenv("LATTICE_CONFIG_HOME", str(config))
    project = tmp_path / "project"
    (project / "agents").mkdir(parents=True)
    (project / "agents" / "a.md").write_text("You are a.\n")
    body = "name: wf\nproviders:\n  anthropic:\nagents:\n  a:\n    routing: [anthropic/claude-sonnet-4-5]\n"
    (project / "lattice.yaml").write_text(body)
    plain = load_workflow(directory=project).config.data
    key = str(PublicKey("k-1", b"\x02" * 32))
    config.mkdir()
    (config / "lattice.yaml").write_text(f"caches:\n  - url: file:///srv/cache\n    public_key: \"{key}\"\n")
    # The machine's caches are not the workflow's: the configuration (and so every store name) is unchanged.
    assert load_workflow(directory=project).config.data == plain
    assert trust().caches[0].url == "file:///srv/cache"
    (project / "lattice.yaml").write_text(body + f"caches:\n  - url: file:///tmp/evil\n    public_key: \"{key}\"\n")
    with pytest.raises(ConfigError) as err:
        load_workflow(directory=project)
    assert [str(d) for d in err.value.diagnostics] == [
        f"{project / 'lattice.yaml'}:7:1: caches: binary caches and their keys are trusted only from the global "
        f"configuration ({config / 'lattice.yaml'}), never from a project's file"]


@pytest.mark.parametrize("entry, message", [
    ('[{url: "ftp://x", public_key: "k:AA=="}]', "caches.0.url: cache URL ftp://x: unknown scheme"),
    ('[{url: "s3://b?endpont=x", public_key: "k:AA=="}]', "caches.0.url: cache URL s3://b?endpont=x: expected"),
    ('[{url: "file:///c", public_key: "nokey"}]', "caches.0.public_key: a public key is NAME:BASE64"),
    ('[{url: "file:///c", public_key: "k:AAAA"}]', "caches.0.public_key: public key k is 3 bytes, expected 32"),
    ('[{url: "file:///c"}]', "caches.0: expected {url: URL, public_key: NAME:BASE64}"),
])
def test_a_bad_cache_entry_is_one_located_line(tmp_path, monkeypatch, entry, message):
    monkeypatch.setenv("LATTICE_CONFIG_HOME", str(tmp_path))
    (tmp_path / "lattice.yaml").write_text(f"# caches\ncaches: {entry}\n")
    with pytest.raises(ConfigError) as err:
        trust()
    (line,) = [str(d) for d in err.value.diagnostics]
    assert line.startswith(f"{tmp_path / 'lattice.yaml'}:2:") and message in line, line


def test_cache_gc_keeps_recent_closures_and_deletes_the_rest(machines):
    a, _ = machines
    a.use()
    old = add(derivation("old", "test", {}), build_app)
    transport = open_cache(a.url)
    push(transport, [a.app, old], secret_key())
    now = time.time()
    week = now - 8 * 86400
    for name in (a.lib.name, old.name):  # lib is old too, but the recent app references it
        os.utime(a.cache_dir / info_key(name), (week, week))
    for archive in (a.cache_dir / "archive").iterdir():
        os.utime(archive, (week, week))
    result = cache_gc(transport, 7, dry_run=True)
    assert result.removed == [old.name] and sorted(result.kept) == sorted([a.lib.name, a.app.name])
    assert (a.cache_dir / info_key(old.name)).exists()
    old_archive = parse_info((a.cache_dir / info_key(old.name)).read_bytes(), "t").archive
    lib_archive = parse_info((a.cache_dir / info_key(a.lib.name)).read_bytes(), "t").archive
    assert result.archives == [old_archive]
    cache_gc(transport, 7)
    assert not (a.cache_dir / info_key(old.name)).exists() and not (a.cache_dir / old_archive).exists()
    assert (a.cache_dir / lib_archive).exists() and (a.cache_dir / info_key(a.lib.name)).exists()
    cache_gc(transport, 0, now=now + 2 * 86400)  # nothing pushed in the last 0 days: everything goes
    assert sorted(p.name for p in a.cache_dir.iterdir()) == ["archive", "lattice-cache-info"]
    assert list((a.cache_dir / "archive").iterdir()) == []
    with pytest.raises(LatticeError, match="not a cache"):
        cache_gc(open_cache((a.root / "elsewhere").as_uri()), 7)


def test_cli_keygen_push_export_errors(machines, run):
    a, _ = machines
    r = run("cache", "keygen", "cli-1")
    assert r.code == 0 and r.stdout.startswith("cli-1:") and len(PublicKey.parse(r.stdout).raw) == 32
    r = run("cache", "push", a.url, str(a.app))
    assert r.code == 1 and r.stderr.strip() == "lattice: error: several signing keys (cli-1, test-1): " \
                                               "choose one with --key NAME"
    r = run("cache", "push", a.url, str(a.app), "--key", "test-1", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["pushed"] == [a.lib.name, a.app.name]
    r = run("cache", "push", "gopher://x", str(a.app), "--key", "test-1")
    assert r.code == 1 and "unknown scheme" in r.stderr and "Traceback" not in r.stderr
    r = run("cache", "gc", a.url, "--older-than", "30")
    assert r.code == 0 and r.stdout.strip() == "deleted 0 paths and 0 archives; kept 2"
    assert store_root() == str(a.store)


def test_a_pull_shows_progress_on_a_terminal_only(machines, capsys):
    pexpect = pytest.importorskip("pexpect")
    a, b = machines
    a.use()
    big = add(derivation("big", "test", {}), build_big)
    push(open_cache(a.url), [big], secret_key())
    b.use().trust(a.url, a.public)
    code = ("import sys; from lattice_env.cache.substitute import Substituter; "
            f"print('pulled from', Substituter.configured().substitute({big.name!r}))")
    child = pexpect.spawn(sys.executable, ["-c", code], env=dict(os.environ), timeout=120)
    child.expect(pexpect.EOF)
    screen = child.before.decode()
    assert f"lattice: fetching {big.name} from {a.url}: " in screen
    assert " MiB in " in screen and f"pulled from {a.url}" in screen
    store_gc()
    piped = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                           timeout=120)
    assert piped.stdout.strip() == f"pulled from {a.url}" and piped.stderr == ""
