"""A committed lattice.lock is a stranger's input: it may name packages, never where they come from.

Attacks as a shared repository would try them, against the real npm: a package (opencode's own binary
included) redirected to a tarball of the attacker's with that tarball's own integrity, `link: true`, a git
URL as version, a tarball URL among dependencies, a package nothing needs, an install path that climbs out
of node_modules. Each is refused with its file, line and key before npm runs; nothing is installed, the
lock is left as it was, and `lattice lock --refresh` resolves a clean one."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from conftest import Run, write_project
from opencode_support import new_data_dir

from lattice_env.build.closure import check_closure
from lattice_env.build.plan import platform_package
from lattice_env.errors import LatticeError

pytestmark = [pytest.mark.slow]

CONFIG = """\
name: shared-workflow
providers:
  local:
    base_url: http://127.0.0.1:9/v1
agents:
  a:
    routing: [local/m1]
"""


@pytest.fixture(scope="module")
def clean_lock(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """lattice.lock as lattice writes it for CONFIG (real npm, the suite's shared npm cache)."""
    root = tmp_path_factory.mktemp("locked")
    project = write_project(root / "project", CONFIG)
    home = root / "home"
    env = {"HOME": str(home), "LATTICE_HOME": str(new_data_dir(root / "data")),
           "LATTICE_CONFIG_HOME": str(root / "cfg")}
    r = Run(project)("lock", env=env)
    assert r.code == 0, r.stderr
    return (project / "lattice.lock").read_bytes()


@pytest.fixture
def project(tmp_path: Path, clean_lock: bytes, isolated_home: Path) -> Path:
    new_data_dir(isolated_home / "lattice-data")
    root = write_project(tmp_path / "project", CONFIG)
    (root / "lattice.lock").write_bytes(clean_lock)
    return root


@pytest.fixture
def run(project: Path) -> Run:
    return Run(project)


def tarball(files: dict[str, str]) -> bytes:
    """An npm package tarball (everything under `package/`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tamper(project: Path, change) -> bytes:
    """Apply `change(lock)` and write the lock back the way lattice lays it out; return its bytes."""
    lock = json.loads((project / "lattice.lock").read_text())
    change(lock)
    data = (json.dumps(lock, indent=2, sort_keys=True) + "\n").encode()
    (project / "lattice.lock").write_bytes(data)
    return data


def line_of(data: bytes, needle: str) -> int:
    return next(i for i, line in enumerate(data.decode().splitlines(), 1) if line.strip().startswith(needle))


def store_paths(home: Path) -> list[Path]:
    store = home / "lattice-data" / "store"
    return [p for p in store.iterdir() if not p.name.startswith(".")] if store.is_dir() else []


def test_a_package_redirected_to_the_attackers_tarball_is_refused(project, run, isolated_home, decoy, tmp_path):
    """opencode's own binary package, pointed at a local tarball whose integrity is its own: npm would
    install it and `store verify` would pass. The build refuses the lock before npm runs."""
    lock = json.loads((project / "lattice.lock").read_text())
    binary = platform_package(lock)
    marker = tmp_path / "evil-ran"
    evil = tmp_path / "evil.tgz"
    evil.write_bytes(tarball({
        "package.json": json.dumps({"name": binary, "version": "1.18.33", "bin": {"opencode": "bin/opencode"}}),
        "bin/opencode": f"#!/bin/sh\ntouch {marker}\n"}))

    def redirect(lock: dict) -> None:
        entry = lock["packages"][f"node_modules/{binary}"]
        entry.update(resolved=f"file:{evil}", integrity=integrity(evil.read_bytes()))

    data = tamper(project, redirect)
    r = run("build")
    assert r.code == 1, r.stdout + r.stderr
    line = line_of(data, '"resolved"')
    assert f'lattice.lock:{line}: packages["node_modules/{binary}"].resolved: not allowed: a locked package is ' \
           f"its name, exact version and integrity" in r.stderr
    assert "Traceback" not in r.stderr
    assert (project / "lattice.lock").read_bytes() == data  # left as it was, for the user to see
    for path in store_paths(isolated_home):
        assert not path.name.endswith("-closure"), "npm ran"
    assert not marker.exists()
    decoy.assert_untouched()


def test_lattice_lock_does_not_keep_a_redirect_and_refresh_replaces_it(project, run, clean_lock, tmp_path):
    def redirect(lock: dict) -> None:
        lock["packages"]["node_modules/@ai-sdk/openai-compatible"]["resolved"] = "https://attacker.invalid/x.tgz"

    data = tamper(project, redirect)
    r = run("lock")
    assert r.code == 1
    assert f'lattice.lock:{line_of(data, chr(34) + "resolved")}: packages["node_modules/@ai-sdk/openai-compatible"]' \
           f".resolved: not allowed" in r.stderr
    assert "`lattice lock --refresh` resolves it again from lattice.yaml" in r.stderr
    assert (project / "lattice.lock").read_bytes() == data
    r = run("status")  # the profile part still shows; the lock is named as refused
    assert r.code == 0 and 'packages["node_modules/@ai-sdk/openai-compatible"].resolved: not allowed' in r.stdout
    r = run("lock", "--refresh")
    assert r.code == 0, r.stderr
    assert (project / "lattice.lock").read_bytes() == clean_lock


def _set(where: str, **values):
    def change(lock: dict) -> None:
        lock["packages"][where].update(values)
    return change


def _add_package(lock: dict) -> None:
    entry = dict(lock["packages"]["node_modules/@ai-sdk/openai-compatible"], name="left-pad", version="1.3.0")
    lock["packages"]["node_modules/left-pad"] = entry


def _climb(lock: dict) -> None:
    lock["packages"]["node_modules/../../../home/x"] = lock["packages"].pop("node_modules/@ai-sdk/openai")


def _rename(lock: dict) -> None:
    lock["packages"]["node_modules/@ai-sdk/openai"]["name"] = "evil-openai"


def _root(lock: dict) -> None:
    lock["roots"]["opencode-ai"] = "file:../opencode"


def _top(lock: dict) -> None:
    lock["overrides"] = {"opencode-ai": "file:../opencode"}


def _downgrade(lock: dict) -> None:
    binary = platform_package(lock)
    lock["packages"][f"node_modules/{binary}"]["version"] = "1.0.0"


OPENAI = 'packages["node_modules/@ai-sdk/openai"]'
VARIANTS = {
    "link": (_set("node_modules/@ai-sdk/openai", link=True), '"link"', f"{OPENAI}.link: not allowed"),
    "git-version": (_set("node_modules/@ai-sdk/openai", version="git+ssh://git@example.invalid/x.git"),
                    None, f'{OPENAI}.version: must be an exact version (1.2.3), not "git+ssh://'),
    "tarball-dependency": (_set("node_modules/@ai-sdk/openai", dependencies={"x": "https://example.invalid/x.tgz"}),
                           '"x"', f"{OPENAI}.dependencies.x: must be a version range that npm resolves in the "
                                  f'registry, not "https://example.invalid/x.tgz"'),
    "file-dependency": (_set("node_modules/@ai-sdk/openai", dependencies={"x": "file:/tmp/x"}),
                        '"x"', f"{OPENAI}.dependencies.x: must be a version range"),
    "github-dependency": (_set("node_modules/@ai-sdk/openai", dependencies={"x": "attacker/repo"}),
                          '"x"', f"{OPENAI}.dependencies.x: must be a version range"),
    "extra-package": (_add_package, '"node_modules/left-pad"',
                      'packages["node_modules/left-pad"]: no root depends on it'),
    "climbing-path": (_climb, '"node_modules/../../../home/x"',
                      'packages["node_modules/../../../home/x"]: is not an install path'),
    "other-name": (_rename, None, f"{OPENAI}.name: evil-openai is installed as @ai-sdk/openai, and no locked "
                                  f"package depends on it under that alias"),
    "root-location": (_root, None, 'roots["opencode-ai"]: must be an exact version (1.2.3), not "file:../opencode"'),
    "top-level-key": (_top, '"overrides"', "overrides: not allowed"),
    "downgraded-binary": (_downgrade, None, '.version: "1.0.0", but node_modules/opencode-ai depends on exactly 1.18.33'),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_location_or_stowaway_is_refused_with_its_key(variant, project, run, isolated_home):
    change, needle, message = VARIANTS[variant]
    data = tamper(project, change)
    r = run("build")
    assert r.code == 1, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    located = [line for line in r.stderr.splitlines() if message in line]
    assert len(located) == 1 and located[0].startswith("lattice.lock:"), r.stderr
    if needle is not None:
        assert located[0].startswith(f"lattice.lock:{line_of(data, needle)}: "), (located, line_of(data, needle))
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert (project / "lattice.lock").read_bytes() == data
    assert not any(p.name.endswith("-closure") for p in store_paths(isolated_home))
    r = run("lock")
    assert r.code == 1 and message in r.stderr
    assert (project / "lattice.lock").read_bytes() == data


def test_closure_check_refuses_packages_the_lock_does_not_list(tmp_path):
    """After npm: every installed package must be one the lock names (npm must not have added any)."""
    for name, version in (("a", "1.0.0"), ("@s/b", "2.0.0"), ("a/node_modules/c", "3.0.0")):
        (tmp_path / "node_modules" / name).mkdir(parents=True)
        (tmp_path / "node_modules" / name / "package.json").write_text(json.dumps({"version": version}))
    lock = {"packages": {"node_modules/a": {"version": "1.0.0"}, "node_modules/@s/b": {"version": "2.0.0"}}}
    with pytest.raises(LatticeError, match=r"node_modules/a/node_modules/c is installed but not locked"):
        check_closure(tmp_path, lock)
    lock["packages"]["node_modules/a/node_modules/c"] = {"version": "3.0.0"}
    check_closure(tmp_path, lock)
