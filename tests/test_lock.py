"""lattice.lock against the real npm and the real registry: the whole closure of opencode and the
plugins, portable (no address, no absolute path), deterministic, and pins that fail in one clear line.

npm runs few times: one module-wide lock, re-locks that npm can answer from the seeded closure, and
failures that stop at the first missing package. The npm cache is shared with the other real-npm tests
(tests/opencode_support.CACHE), so a second run of this file is mostly local."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from opencode_support import CACHE

from lattice_env.build.file_plugins import content_hash, packed_files
from lattice_env.build.lock_shape import find_installed
from lattice_env.build.lockfile import BRIDGE_PACKAGES, read_lock
from lattice_env.build.resolve import nearest
from lattice_env.config.load import load_workflow
from lattice_env.opencode.config import OPENCODE_PACKAGE, OPENCODE_VERSION

# Versions that exist in the registry (checked with `npm view NAME versions`).
OMO = "oh-my-opencode@4.19.4"
ANTIGRAVITY = "opencode-antigravity-auth@1.6.0"
ANTIGRAVITY_OLD = "opencode-antigravity-auth@1.4.3"
CODEX = "opencode-openai-codex-auth@4.4.0"

PROJECT = f"""\
name: locktest   # a workflow for the lock tests
# Plugins, pinned exactly. Comments and quoting here must survive `plugins update --apply`.
plugins:
  - {OMO}   # the big one
  - "{ANTIGRAVITY}"
  - file:plugins/marker
"""


def share_npm_cache(data_dir: Path) -> None:
    """Point the data dir's npm cache at the suite's shared one (tarballs and metadata stay warm)."""
    shared = CACHE / "npm-cache"
    shared.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    link = data_dir / "npm-cache"
    if not link.exists():
        link.symlink_to(shared, target_is_directory=True)


def write_project(root: Path, text: str = PROJECT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lattice.yaml").write_text(text)
    marker = root / "plugins" / "marker"
    marker.mkdir(parents=True, exist_ok=True)
    (marker / "package.json").write_text('{"name": "marker", "version": "0.0.1", "main": "index.js"}\n')
    (marker / "index.js").write_text("export const Marker = async () => ({});\n")
    return root


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project locked once for the whole module (read-only for the tests: copy it to change it)."""
    home = tmp_path_factory.mktemp("lock-home")
    root = write_project(tmp_path_factory.mktemp("locked") / "project")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("LATTICE_HOME", str(home / "lattice-data"))
        mp.setenv("LATTICE_CONFIG_HOME", str(home / "lattice-config"))
        share_npm_cache(home / "lattice-data")
        from lattice_env.build.lockfile import lock_workflow

        result = lock_workflow(load_workflow(directory=root))
    assert result.changed and result.resolved
    return root


@pytest.fixture
def project(locked: Path, tmp_path: Path, isolated_home: Path) -> Path:
    """A writable copy of the locked project, with this test's data dir sharing the npm cache."""
    share_npm_cache(isolated_home / "lattice-data")
    return Path(shutil.copytree(locked, tmp_path / "project"))


def lock_of(root: Path) -> dict:
    return json.loads((root / "lattice.lock").read_text())


def test_lock_holds_opencode_and_every_plugin_closure(locked):
    lock = lock_of(locked)
    assert lock["format"] == 1
    assert re.fullmatch(r"node \d+", lock["node"]["engine"]) and re.fullmatch(r"\d+", lock["node"]["npm"])
    assert lock["roots"] == {OPENCODE_PACKAGE: OPENCODE_VERSION, **BRIDGE_PACKAGES,
                             "@opencode-ai/plugin": OPENCODE_VERSION,
                             "oh-my-opencode": "4.19.4", "opencode-antigravity-auth": "1.6.0"}
    packages = lock["packages"]
    opencode = packages[f"node_modules/{OPENCODE_PACKAGE}"]
    assert (opencode["name"], opencode["version"]) == (OPENCODE_PACKAGE, OPENCODE_VERSION)
    for where, entry in packages.items():
        assert entry["name"], where
        assert re.fullmatch(r"\d+\.\d+\.\d+\S*", entry["version"]), where
        assert entry.get("inBundle") or entry["integrity"].startswith("sha512-"), where
    assert packages["node_modules/oh-my-opencode"]["version"] == "4.19.4"
    assert packages["node_modules/opencode-antigravity-auth"]["version"] == "1.6.0"
    # The routing bridge's SDK of every protocol, hoisted where the bridge imports it from, at the
    # exact version opencode bundles.
    assert set(BRIDGE_PACKAGES) == {"@ai-sdk/openai-compatible", "@ai-sdk/openai", "@ai-sdk/anthropic",
                                    "@ai-sdk/google"}
    for name, version in BRIDGE_PACKAGES.items():
        assert packages[f"node_modules/{name}"]["version"] == version, name
    # What opencode installs into its config dir at launch otherwise, at opencode's own version.
    assert packages["node_modules/@opencode-ai/plugin"]["version"] == OPENCODE_VERSION
    assert len(packages) > 100  # the whole closure, not just the roots


def test_lock_includes_platform_packages_of_other_systems(locked):
    """Every platform package opencode-ai declares is either locked or listed as unavailable (this
    registry mirror lacks some), and packages for Linux *and* macOS are locked, so a lock made here
    installs on another platform."""
    lock = lock_of(locked)
    packages = lock["packages"]
    declared = packages[f"node_modules/{OPENCODE_PACKAGE}"]["optionalDependencies"]
    assert "opencode-linux-x64" in declared and "opencode-darwin-arm64" in declared
    for name, version in declared.items():
        entry = packages.get(f"node_modules/{name}")
        if entry is None:
            assert f"{name}@{version}" in lock["unavailable"], name
        else:
            assert entry["version"] == version and entry["optional"] is True
    assert packages["node_modules/opencode-linux-x64"]["os"] == ["linux"]
    systems = {tuple(e["os"]) for e in packages.values() if e.get("optional") and "os" in e}
    assert {("linux",), ("darwin",), ("win32",)} <= systems


def test_lock_is_portable(locked):
    text = (locked / "lattice.lock").read_text()
    assert '"resolved"' not in text and "://" not in text
    assert str(locked) not in text and os.path.expanduser("~") not in text
    assert not re.search(r'"/', text)  # no value starts with a path root
    assert text.endswith("}\n") and json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n" == text


def test_relock_is_deterministic_and_up_to_date_lock_needs_no_npm(project, run):
    before = (project / "lattice.lock").read_bytes()
    r = run("lock", "--json", cwd=project)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["resolved"] is False and json.loads(r.stdout)["changed"] is False
    r = run("lock", "--refresh", cwd=project)  # npm resolves everything again, from scratch
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("up to date: lattice.lock (")
    assert (project / "lattice.lock").read_bytes() == before
    # npm's cache in the data dir holds all it needs: the same lock again with npm --offline (npm keys
    # its cache by registry address, so the registry itself cannot be swapped out for this check)
    r = run("lock", "--refresh", "--offline", cwd=project)
    assert r.code == 0, r.stderr
    assert (project / "lattice.lock").read_bytes() == before


def test_file_plugin_content_is_hashed(project, run):
    lock = lock_of(project)
    source = lock["sources"]["file:plugins/marker"]
    assert source["kind"] == "file" and source["files"] == 2 and re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    assert "node_modules/marker" not in lock["packages"]
    (project / "plugins" / "marker" / "index.js").write_text("export const Marker = async () => ({ x: 1 });\n")
    r = run("lock", "--json", cwd=project)
    assert r.code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["changed"] is True and out["resolved"] is False  # only the hash moved; npm not needed
    after = lock_of(project)
    assert after["sources"]["file:plugins/marker"]["sha256"] != source["sha256"]
    assert after["packages"] == lock["packages"]


def test_file_plugin_hash_sees_packed_content_names_and_modes(tmp_path):
    """The hash covers what npm would pack: content, names and the executable bit of packed files, and
    nothing else (dependencies installed in place, files npm leaves out)."""
    root = write_project(tmp_path / "project")
    marker = root / "plugins" / "marker"
    loaded = load_workflow(directory=root)
    index = next(i for i, p in enumerate(loaded.workflow.plugins) if p.kind == "file")

    def digest() -> tuple[str, int]:
        return content_hash(packed_files(loaded, index))

    first = digest()
    (marker / "node_modules" / "dep").mkdir(parents=True)
    (marker / "node_modules" / "dep" / "junk.js").write_text("x")
    (marker / ".npmignore").write_text("notes.txt\n")
    (marker / "notes.txt").write_text("not packed")
    assert digest() == first  # npm packs neither of them (nor .npmignore itself)
    (marker / "index.js").chmod(0o755)
    assert digest() != first
    (marker / "index.js").chmod(0o644)
    (marker / "index.js").rename(marker / "main.js")
    assert digest()[0] != first[0]


def test_missing_plugin_and_missing_pin_are_one_line_errors(design_project, run, isolated_home):
    share_npm_cache(isolated_home / "lattice-data")
    r = run("lock", cwd=design_project)
    assert r.code == 1
    assert r.stderr.splitlines() == [
        "lattice: error: lattice.yaml:28:5: plugins[0]: jj-opencode@1.0.0 does not exist "
        "(no package named jj-opencode in the registry)"]
    assert not (design_project / "lattice.lock").exists()
    text = (design_project / "lattice.yaml").read_text().replace("  - jj-opencode@1.0.0\n", "")
    (design_project / "lattice.yaml").write_text(text)
    r = run("lock", cwd=design_project)
    assert r.code == 1
    errors = [line for line in r.stderr.splitlines() if "error" in line and "warning" not in line]
    assert len(errors) == 1, r.stderr
    assert re.fullmatch(r"lattice: error: lattice\.yaml:28:5: plugins\[0\]: oh-my-opencode@2\.2\.0 does not exist "
                        r"\(nearest: \d+\.\d+\.\d+(, \d+\.\d+\.\d+)?; latest \d+\.\d+\.\d+\)", errors[0]), errors[0]


def test_nearest_versions():
    versions = ("0.1.30", "2.14.0", "3.0.0-beta.11", "3.1.3", "4.19.4")
    assert nearest("2.2.0", versions) == ["2.14.0", "0.1.30"]
    assert nearest("3.1.0", versions) == ["3.1.3", "2.14.0"]
    assert nearest("9.0.0", versions) == ["4.19.4"]
    assert nearest("0.0.1", versions) == ["0.1.30"]


def test_unreachable_registry_is_one_line(tmp_path, run, isolated_home):
    root = write_project(tmp_path / "p")
    r = run("lock", cwd=root, env={"npm_config_registry": "http://127.0.0.1:9/"})  # nothing listens there
    assert r.code == 1
    assert r.stderr.splitlines() == [
        "lattice: error: the npm registry is unreachable (ECONNREFUSED); check the network and proxy settings"]


def test_unreachable_github_plugin_is_one_line(tmp_path, run):
    root = write_project(tmp_path / "p", "name: gh\nplugins:\n  - github:lattice-tests/no-such-plugin@v1.0.0\n")
    r = run("lock", cwd=root, env={"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert r.code == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("lattice: error: lattice.yaml:3:5: plugins[0]: "
                               "github:lattice-tests/no-such-plugin@v1.0.0: cannot reach the repository through git (")


def test_plugins_lists_pinned_locked_latest(project, run):
    r = run("plugins", "--json", cwd=project)
    assert r.code == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["oh-my-opencode"]["pinned"] == rows["oh-my-opencode"]["locked"] == "4.19.4"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", rows["oh-my-opencode"]["latest"])
    assert rows["plugins/marker"]["kind"] == "file" and len(rows["plugins/marker"]["locked"]) == 12
    r = run("plugins", "--offline", cwd=project)
    assert r.code == 0 and "opencode-antigravity-auth" in r.stdout


def test_plugins_update_apply_keeps_comments_and_relocks(project, run):
    yaml_file = project / "lattice.yaml"
    old_text = PROJECT.replace(ANTIGRAVITY, ANTIGRAVITY_OLD)
    yaml_file.write_text(old_text)
    r = run("plugins", "update", "opencode-antigravity-auth", cwd=project)
    assert r.code == 0, r.stderr
    assert "opencode-antigravity-auth: 1.4.3 -> " in r.stdout
    assert yaml_file.read_text() == old_text  # without --apply nothing changes
    latest = r.stdout.split("1.4.3 -> ")[1].split()[0]
    r = run("plugins", "update", "opencode-antigravity-auth", "--apply", cwd=project)
    assert r.code == 0, r.stderr
    assert yaml_file.read_text() == old_text.replace(ANTIGRAVITY_OLD, f"opencode-antigravity-auth@{latest}")
    assert lock_of(project)["roots"]["opencode-antigravity-auth"] == latest


def test_plugins_add_appends_in_place_and_relocks(project, run):
    yaml_file = project / "lattice.yaml"
    r = run("plugins", "add", "opencode-openai-codex-auth@0.0.1", cwd=project)
    assert r.code == 1
    assert r.stderr.startswith("lattice: error: opencode-openai-codex-auth@0.0.1 does not exist (nearest: ")
    assert yaml_file.read_text() == PROJECT
    r = run("plugins", "add", CODEX, cwd=project)
    assert r.code == 0, r.stderr
    assert yaml_file.read_text() == PROJECT + f"  - {CODEX}\n"
    lock = lock_of(project)
    assert lock["roots"]["opencode-openai-codex-auth"] == "4.4.0"
    assert "node_modules/opencode-openai-codex-auth" in lock["packages"]
    assert read_lock(project / "lattice.lock") == lock


def test_append_pin_handles_flow_empty_and_missing_lists(tmp_path):
    from lattice_env.build.pins import append_pin, set_pins
    from lattice_env.config.sources import load_config

    cases = {
        "name: a\nplugins: [x@1.0.0, 'y@2.0.0']  # flow\n": "name: a\nplugins: [x@1.0.0, 'y@2.0.0', z@3.0.0]  # flow\n",
        "name: a\nplugins: []\nother: 1\n": "name: a\nplugins:\n  - z@3.0.0\nother: 1\n",
        "name: a  # no list yet\n": "name: a  # no list yet\nplugins:\n  - z@3.0.0\n",
    }
    for before, after in cases.items():
        (tmp_path / "lattice.yaml").write_text(before)
        append_pin(load_config(directory=tmp_path), "z@3.0.0")
        assert (tmp_path / "lattice.yaml").read_text() == after
    (tmp_path / "lattice.yaml").write_text("plugins:\n- 'x@1.0.0' # q\n- \"y@2.0.0\"\n")
    set_pins(load_config(directory=tmp_path), {0: "x@1.1.0", 1: "y@2.1.0"})
    assert (tmp_path / "lattice.yaml").read_text() == "plugins:\n- 'x@1.1.0' # q\n- \"y@2.1.0\"\n"


def test_find_installed_walks_up_like_node():
    packages = {"node_modules/a": {}, "node_modules/a/node_modules/b": {}, "node_modules/c": {}}
    assert find_installed(packages, "node_modules/a/node_modules/b", "c") == "node_modules/c"
    assert find_installed(packages, "node_modules/a", "b") == "node_modules/a/node_modules/b"
    assert find_installed(packages, "node_modules/c", "b") is None
