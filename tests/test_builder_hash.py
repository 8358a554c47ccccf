"""The builder hash (build/builder_hash.py) remembers each file's content hash by its stat stamp: it must
come out exactly as hashing every file afresh would, whatever happened to the files or the cache."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from lattice_env.build.builder_hash import builder_files, builder_hash, hash_files
from lattice_env.paths import data_root
from lattice_env.stamps import SETTLE


def afresh(files: list[tuple[str, str]]) -> str:
    """The definition, with no cache: sha256 over name, NUL and the sha256 of the content, in order."""
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def tree(root: Path, contents: dict[str, str]) -> list[tuple[str, str]]:
    for rel, text in contents.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return sorted((f"pkg/{rel}", str(root / rel)) for rel in contents)


def remembered(cache: Path) -> dict[str, list]:
    return json.loads(cache.read_text()) if cache.exists() else {}


def settle() -> None:
    time.sleep(SETTLE + 0.1)


def test_the_builder_hash_is_every_package_file_and_template_hashed_afresh():
    files = builder_files()
    names = [name for name, _ in files]
    assert "lattice_env/build/builder_hash.py" in names and "templates/env/opencode.sh.j2" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert builder_hash() == afresh(files)
    caches = list((Path(data_root()) / "cache").glob("builder-*.json"))
    assert len(caches) == 1
    assert builder_hash() == afresh(files)  # now from the remembered hashes of the settled files
    assert remembered(caches[0])  # the installed files are older than the settling window


def test_every_edit_gives_the_hash_of_the_new_content(tmp_path):
    cache = tmp_path / "cache.json"
    files = tree(tmp_path / "pkg", {"a.py": "print('a')\n", "sub/b.j2": "{{ b }}\n"})
    assert hash_files(files, str(cache)) == afresh(files)
    settle()
    assert hash_files(files, str(cache)) == afresh(files)
    assert sorted(remembered(cache)) == sorted(path for _, path in files)
    a = Path(files[0][1])
    a.write_text("print('a, longer')\n")  # another size
    assert hash_files(files, str(cache)) == afresh(files)
    settle()
    hash_files(files, str(cache))
    before = os.stat(a)
    a.write_text("print('A, longer')\n")  # same size, and the old mtime put back (as `cp -p` would)
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(a).st_size == before.st_size and os.stat(a).st_mtime_ns == before.st_mtime_ns
    assert hash_files(files, str(cache)) == afresh(files)
    Path(files[1][1]).unlink()
    Path(files[1][1]).write_text("{{ B }}\n")  # a new inode with the same size
    assert hash_files(files, str(cache)) == afresh(files)


def test_two_edits_within_one_timestamp_tick_are_both_seen(tmp_path):
    """Two same-size writes in one clock tick leave the same stamp: a file that has just changed is not
    remembered, so the second write is read, not taken for the first."""
    cache = tmp_path / "cache.json"
    files = tree(tmp_path / "pkg", {"a.py": "one\n"})
    path = files[0][1]
    first = hash_files(files, str(cache))
    assert path not in remembered(cache)
    stamp = os.stat(path)
    with open(path, "r+") as f:  # the same inode, size and (put back) mtime: only content differs
        f.write("two\n")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert hash_files(files, str(cache)) == afresh(files) != first


def test_a_renamed_file_changes_the_hash(tmp_path):
    files = tree(tmp_path / "pkg", {"a.py": "x\n"})
    renamed = [("pkg/b.py", files[0][1])]
    assert hash_files(files, str(tmp_path / "c.json")) != hash_files(renamed, str(tmp_path / "c.json"))
    assert hash_files(renamed, str(tmp_path / "c.json")) == afresh(renamed)


def test_a_malformed_or_unwritable_cache_is_ignored(tmp_path):
    files = tree(tmp_path / "pkg", {"a.py": "x\n", "b.py": "y\n"})
    settle()
    cache = tmp_path / "cache.json"
    for junk in (b"\xff not json", b"[1, 2]", json.dumps({files[0][1]: [1, 2, 3, 4, "zz" * 32],
                                                          files[1][1]: "not a list"}).encode()):
        cache.write_bytes(junk)
        assert hash_files(files, str(cache)) == afresh(files)
        assert sorted(remembered(cache)) == sorted(path for _, path in files)  # rewritten whole
    (tmp_path / "file").write_text("")
    assert hash_files(files, str(tmp_path / "file" / "cache.json")) == afresh(files)  # cannot be written
