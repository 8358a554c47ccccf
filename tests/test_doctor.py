"""`lattice doctor`: every check passes on a sane setup, and each kind of breakage is reported with the
command that fixes it (exit 1)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from lattice_env.opencode.config import OPENCODE_VERSION
from lattice_env.paths import store_root
from lattice_env.profiles.generations import switch_to
from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation


def _environment(config: dict, version: str = OPENCODE_VERSION) -> Path:
    """A real (small) workflow store path: a wrapper that answers --version, and its configuration."""
    def builder(out: Path) -> None:
        (out / "bin").mkdir()
        wrapper = out / "bin" / "opencode"
        wrapper.write_text(f"#!/bin/sh\necho {version}\n")
        wrapper.chmod(0o755)
    return add_path(derivation("doctor-wf", "workflow", {"config": config, "v": version}), builder)


@pytest.fixture
def server():
    with FakeLLM() as fake:
        yield fake


def _config(url: str) -> dict:
    return {"name": "doctor-wf", "providers": {"cloud": {"env": "CLOUD_KEY"}, "local": {"base_url": url}}}


def test_all_good(run, server):
    switch_to(_environment(_config(server.url)))
    r = run("doctor", env={"CLOUD_KEY": "x"})
    assert r.code == 0, r.stdout
    assert "FAIL" not in r.stdout
    assert "ok    opencode (default): bin/opencode runs opencode 1.18.33" in r.stdout
    data = json.loads(run("doctor", "--json", env={"CLOUD_KEY": "x"}).stdout)
    assert data["ok"] is True and {f["check"] for f in data["findings"]} >= {
        "node and npm", "profile default", "store", "opencode (default)", "provider cloud", "store temp dirs"}


def test_each_problem_comes_with_its_fix(run, server, tmp_path):
    path = _environment(_config("http://127.0.0.1:9/v1"))
    switch_to(path)
    switch_to(_environment(_config(server.url), version="0.0.1"), "old")  # sealed, but another opencode
    tampered = path / "bin" / "opencode"
    os.chmod(path / "bin", 0o755)
    os.chmod(tampered, 0o755)
    ran = tmp_path / "tampered-wrapper-ran"
    tampered.write_text(f"#!/bin/sh\ntouch {ran}\necho {OPENCODE_VERSION}\n")
    stale = Path(store_root(), ".tmp-gone-999999999-abcd")
    stale.mkdir()
    r = run("doctor")
    assert r.code == 1
    out = r.stdout
    assert "FAIL  provider cloud: CLOUD_KEY is not set\n      fix: export CLOUD_KEY=" in out
    assert "FAIL  provider local: model server does not answer at http://127.0.0.1:9/v1" in out
    assert f"FAIL  store: 1 damaged path(s), first: {path.name}: mode: bin is 0755, expected 0555\n" \
           f"      fix: lattice store repair {path.name}\n" in out
    # What doctor has just found changed, it does not run.
    assert "FAIL  opencode (default): not run: its store path is damaged (see store above)\n" \
           f"      fix: lattice store repair {path.name}\n" in out
    assert not ran.exists()
    assert "FAIL  opencode (old): bin/opencode runs opencode 0.0.1\n      fix: lattice switch --profile old" in out
    assert "FAIL  store temp dirs: 1 left by interrupted builds\n      fix: lattice store gc" in out


def test_no_generation_yet(run):
    r = run("doctor")
    assert r.code == 1
    assert "FAIL  profile default: no generation yet\n      fix: lattice switch" in r.stdout


def test_status_shows_provider_key_names_never_values(run, tmp_path, server):
    """`lattice status` outside a project describes the active generation's providers."""
    switch_to(_environment(_config(server.url)))
    secret = "sk-status-secret-42"
    r = run("status", env={"CLOUD_KEY": secret}, cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert f"providers: cloud (CLOUD_KEY set), local (no key, {server.url})" in r.stdout
    data = json.loads(run("status", "--json", env={"CLOUD_KEY": secret}, cwd=tmp_path).stdout)
    assert {p["name"]: p["set"] for p in data["providers"]} == {"cloud": True, "local": None}
    unset = run("status", cwd=tmp_path)
    assert "cloud (CLOUD_KEY NOT SET)" in unset.stdout
    assert secret not in r.stdout + json.dumps(data)
