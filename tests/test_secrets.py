"""Secrets stay out of the store, and a store path publishes only what shapes it.

A literal credential in lattice.yaml, lattice.local.yaml or an agent file is refused at its file, line
and key (the message never repeats it) instead of being rendered into 0444 files; manifest.json records
the configuration without the keys that shape nothing (notes, where files were read from); the data
directory is created private, and doctor says how to make an older one private."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from conftest import Run, write_project
from opencode_support import new_data_dir

from lattice_env.paths import data_root, store_root
from lattice_env.profiles.generations import switch_to
from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation

TOKEN = "sk-proj-" + "Zq7" * 12  # an OpenAI-shaped key, made up
CONFIG = """\
name: shared-workflow
providers:
  local:
    base_url: http://127.0.0.1:9/v1
    env: LOCAL_KEY
agents:
  a:
    triggers: [/a]
    routing: [local/m1]
mcp:
  srv:
    command: ["python3", "-c", "pass"]
"""


def test_a_literal_key_in_the_local_file_is_refused_and_lands_nowhere(tmp_path, run, isolated_home, decoy):
    """The issue's case: `mcp.srv.env.API_TOKEN: sk-…` in lattice.local.yaml used to warn, then land in
    the store's opencode.json and manifest.json (0444)."""
    new_data_dir(isolated_home / "lattice-data")
    project = write_project(tmp_path / "p", CONFIG)
    (project / "lattice.local.yaml").write_text(f"mcp:\n  srv:\n    env:\n      API_TOKEN: {TOKEN}\n")
    for args in (["build"], ["switch"], ["generate"], ["validate"]):
        r = run(*args, cwd=project)
        assert r.code == 1, (args, r.stdout, r.stderr)
        assert r.stderr.splitlines()[0] == (
            "lattice.local.yaml:4:7: mcp.srv.env.API_TOKEN: an sk-… API key written in plain text: lattice would "
            "copy it into the store and opencode.json, where every process you run can read it; reference an "
            'environment variable instead ("${API_TOKEN}")')
        assert TOKEN not in r.stdout + r.stderr
    assert not (project / "opencode.json").exists() and not (project / ".opencode").exists()
    assert not Path(store_root()).exists()
    decoy.assert_untouched()
    # What only sounds secret (a setting, a reference, a prompt that mentions the shape) stays a warning.
    (project / "lattice.local.yaml").write_text('mcp:\n  srv:\n    env:\n      AUTH_MODE: oauth\n'
                                                '      API_KEY_FILE: "${KEY_FILE}"\n')
    (project / "agents" / "a.md").write_text("Keys look like sk-… ; never print one.\n")
    r = run("validate", cwd=project)
    assert r.code == 0, r.stderr
    assert "lattice.local.yaml:4:7: warning: mcp.srv.env.AUTH_MODE: looks like a secret written in plain text" \
        in r.stderr


GH = "ghp_" + "a1B2" * 9
SECRETS = {  # where a secret is written → (files, the start of the error line, the secret)
    "header": ({"lattice.yaml": CONFIG.replace('    command: ["python3", "-c", "pass"]\n',
                                               "    url: https://mcp.example.invalid/mcp\n    headers:\n"
                                               f"      Authorization: Bearer {TOKEN}\n")},
               "lattice.yaml:14:7: mcp.srv.headers.Authorization: an sk-… API key", TOKEN),
    "credential-by-name": ({"lattice.local.yaml": "mcp:\n  srv:\n    env:\n      DB_PASSWORD: hunter2hunter2\n"},
                           "lattice.local.yaml:4:7: mcp.srv.env.DB_PASSWORD: a credential written in plain text",
                           "hunter2hunter2"),
    "token-under-any-name": ({"lattice.local.yaml": f"mcp:\n  srv:\n    env:\n      GH: {GH}\n"},
                             "lattice.local.yaml:4:7: mcp.srv.env.GH: a GitHub token", GH),
    "plugin-option": ({"lattice.yaml": CONFIG + "plugins: [file:./plug]\nplugin_config:\n  plug:\n"
                                                "    apiKey: AKIAABCDEFGHIJKLMNOP\n"},
                      'lattice.yaml:16:5: plugin_config.plug.apiKey: an AWS access key written in plain text: lattice '
                      'would copy it into the store and opencode.json, where every process you run can read it; '
                      'write "{env:APIKEY}" instead', "AKIAABCDEFGHIJKLMNOP"),
    "password-in-url": ({"lattice.local.yaml": "providers:\n  local:\n    base_url: http://me:pa55word@10.0.0.2/v1\n"},
                        "lattice.local.yaml:3:5: providers.local.base_url: a URL with a password", "pa55word"),
    "key-in-url": ({"lattice.local.yaml": "mcp:\n  web:\n    url: https://mcp.example.invalid/x?api_key=a8f0c2d9e1\n"},
                   "lattice.local.yaml:3:5: mcp.web.url: a URL with a credential parameter", "a8f0c2d9e1"),
    "frontmatter": ({"agents/a.md": f"---\npermission:\n  note: {TOKEN}\n---\nYou are a.\n"},
                    "agents/a.md:3:3: permission.note: an sk-… API key", TOKEN),
    "prompt": ({"agents/a.md": "You are a.\n\nUse the key xoxb-1234567890-abcdefghij when you post.\n"},
               "agents/a.md:3: a Slack token written in the prompt", "xoxb-1234567890-abcdefghij"),
}


@pytest.mark.parametrize("case", list(SECRETS))
def test_every_kind_of_literal_secret_is_refused_where_it_is(case, tmp_path, run):
    files, expected, secret = SECRETS[case]
    project = write_project(tmp_path / "p", CONFIG)
    (project / "plug").mkdir()
    (project / "plug" / "index.js").write_text("export const P = async () => ({});\n")
    for rel, text in files.items():
        (project / rel).write_text(text)
    r = run("validate", cwd=project)
    assert r.code == 1, r.stdout + r.stderr
    assert any(line.startswith(expected) for line in r.stderr.splitlines()), r.stderr
    assert secret not in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


LOCAL_NOTES = """\
description: alice-laptop-notes
author: alice-private-author
defaults:
  agents_dir: ./alice-private-agents
providers:
  local:
    tier: alice-private-tier
mcp:
  srv:
    description: alice-private-mcp-note
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("notes")
    project = write_project(root / "project", CONFIG)
    os.rename(project / "agents", project / "alice-private-agents")
    (project / "lattice.local.yaml").write_text(LOCAL_NOTES)
    env = {"HOME": str(root / "home"), "LATTICE_HOME": str(new_data_dir(root / "data")),
           "LATTICE_CONFIG_HOME": str(root / "cfg"), "LOCAL_KEY": "x"}
    r = Run(project)("switch", "--trust", env=env)  # its MCP server runs: trusted once
    assert r.code == 0, r.stderr
    path = Path(r.stdout.split("(")[-1].rstrip(")\n"))
    return project, env, path


@pytest.mark.slow
def test_the_manifest_leaves_out_what_shapes_nothing(built, tmp_path):
    project, env, path = built
    manifest = (path / "manifest.json").read_text()
    for note in ("alice-laptop-notes", "alice-private-author", "alice-private-agents", "alice-private-tier",
                 "alice-private-mcp-note"):
        assert note not in manifest
        for directory, _dirs, files in os.walk(path):
            for name in files:
                assert note.encode() not in Path(directory, name).read_bytes(), (note, name)
    config = json.loads(manifest)["derivation"]["inputs"]["config"]
    assert config["providers"] == {"local": {"base_url": "http://127.0.0.1:9/v1", "env": "LOCAL_KEY"}}
    # What it keeps is what `lattice route`, `run` and status read back outside the project.
    r = Run(tmp_path)("route", "/a", "hello", "--json", env=env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["model"] == "local/m1"
    r = Run(tmp_path)("status", env=env)
    assert r.code == 0 and f"  {path}" in r.stdout and "local (LOCAL_KEY set)" in r.stdout
    # Notes shape nothing: changing them is the same environment, not a rebuild.
    (project / "lattice.local.yaml").write_text(LOCAL_NOTES.replace("alice", "bob"))
    os.rename(project / "alice-private-agents", project / "bob-private-agents")
    try:
        r = Run(project)("build", "--json", env=env)
        assert r.code == 0, r.stderr
        assert json.loads(r.stdout) == {"path": str(path), "built": [], "substituted": [], "relocked": False}
    finally:
        (project / "lattice.local.yaml").write_text(LOCAL_NOTES)
        os.rename(project / "bob-private-agents", project / "alice-private-agents")


def test_the_data_directory_is_created_private(run):
    def builder(out: Path) -> None:
        (out / "bin").mkdir()
    switch_to(add_path(derivation("private", "workflow", {}), builder))
    for directory in (data_root(), store_root(), os.path.join(data_root(), "profiles")):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory
    r = run("doctor", "--json")
    finding = next(f for f in json.loads(r.stdout)["findings"] if f["check"] == "data directory")
    assert finding["ok"] is True


def test_doctor_says_how_to_make_an_older_data_directory_private(run):
    os.makedirs(data_root(), mode=0o755)
    os.chmod(data_root(), 0o755)
    r = run("doctor")
    assert f"FAIL  data directory: {data_root()} is 0755: other users can read your environments, routing " \
           f"state and logs\n      fix: chmod 700 {data_root()}" in r.stdout
    os.chmod(data_root(), 0o700)  # what the fix says
    assert "ok    data directory: " in run("doctor").stdout
