"""Configuration sources: the global file, the project's lattice.yaml and lattice.local.yaml beside it.

Maps merge key by key, lists and scalars are replaced whole, `null` removes a key a lower source set;
`lattice config --sources` tells, for every leaf, the file and line it came from.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

GLOBAL = """\
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
    tier: pro
    local_budget: 10
  openai:
    env: OPENAI_API_KEY
  google:
    auth: antigravity
defaults:
  routing:
    - anthropic/claude-sonnet-4-5
    - openai/gpt-4o
plugins:
  - global-antigravity-auth@1.0.0
"""

PROJECT = """\
name: trio
providers:
  anthropic:
    local_budget: 50
  ollama:
    models: [llama3.1:8b, llama3.1:70b]
agents:
  a:
    triggers: [/a]
    description: from the project
"""

LOCAL = """\
providers:
  anthropic:
    tier: null
    local_budget: unlimited
  google: null
  ollama:
    models: [llama3.1:8b]
agents:
  a:
    triggers: [/b, /c]
"""


@pytest.fixture
def global_file() -> Path:
    directory = Path(os.environ["LATTICE_CONFIG_HOME"])  # set per test by conftest.isolated_home
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "lattice.yaml"


@pytest.fixture
def trio(tmp_path: Path, global_file: Path) -> Path:
    global_file.write_text(GLOBAL)
    (tmp_path / "lattice.yaml").write_text(PROJECT)
    (tmp_path / "lattice.local.yaml").write_text(LOCAL)
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.md").write_text("You are a.\n")
    return tmp_path


def sources(r) -> dict[str, tuple[object, str]]:
    assert r.code == 0, r.stderr
    return {row["key"]: (row["value"], row["source"]) for row in json.loads(r.stdout)}


def test_merge_rules(run, trio):
    r = run("config", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "providers": {
            # maps merge key by key: env from global, budget from local; `tier: null` removed it
            "anthropic": {"env": "ANTHROPIC_API_KEY", "local_budget": "unlimited"},
            "openai": {"env": "OPENAI_API_KEY"},
            # lists are replaced, not appended
            "ollama": {"models": ["llama3.1:8b"]},
            # `google: null` in the local file removed the whole provider
        },
        "defaults": {"routing": ["anthropic/claude-sonnet-4-5", "openai/gpt-4o"]},
        "plugins": ["global-antigravity-auth@1.0.0"],
        "name": "trio",
        "agents": {"a": {"triggers": ["/b", "/c"], "description": "from the project"}},
    }


def test_sources_show_the_file_and_line_of_each_leaf(run, trio, global_file):
    g = str(global_file)
    assert sources(run("config", "--sources", "--json")) == {
        "providers.anthropic.env": ("ANTHROPIC_API_KEY", f"{g}:3:10"),
        "providers.anthropic.local_budget": ("unlimited", "lattice.local.yaml:4:19"),
        "providers.ollama.models[0]": ("llama3.1:8b", "lattice.local.yaml:7:14"),
        "providers.openai.env": ("OPENAI_API_KEY", f"{g}:7:10"),
        "defaults.routing[0]": ("anthropic/claude-sonnet-4-5", f"{g}:12:7"),
        "defaults.routing[1]": ("openai/gpt-4o", f"{g}:13:7"),
        "plugins[0]": ("global-antigravity-auth@1.0.0", f"{g}:15:5"),
        "name": ("trio", "lattice.yaml:1:7"),
        "agents.a.triggers[0]": ("/b", "lattice.local.yaml:10:16"),
        "agents.a.triggers[1]": ("/c", "lattice.local.yaml:10:20"),
        "agents.a.description": ("from the project", "lattice.yaml:10:18"),
    }


def test_sources_text_output(run, trio):
    r = run("config", "--sources")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert 'providers.anthropic.local_budget = "unlimited"  # lattice.local.yaml:4:19' in lines
    assert 'name = "trio"  # lattice.yaml:1:7' in lines
    assert 'agents.a.description = "from the project"  # lattice.yaml:10:18' in lines
    assert not any(line.startswith(("providers.google", "providers.anthropic.tier")) for line in lines)


def test_project_overrides_global_without_local(run, trio):
    (trio / "lattice.local.yaml").unlink()
    got = sources(run("config", "--sources", "--json"))
    assert got["providers.anthropic.local_budget"] == (50, "lattice.yaml:4:19")
    assert got["providers.anthropic.tier"][0] == "pro"
    assert got["providers.ollama.models[1]"] == ("llama3.1:70b", "lattice.yaml:6:27")
    assert got["providers.google.auth"] == ("antigravity", f"{os.environ['LATTICE_CONFIG_HOME']}/lattice.yaml:9:11")


def test_yaml_output_round_trips(run, trio):
    r = run("config")
    assert r.code == 0, r.stderr
    assert yaml.safe_load(r.stdout) == json.loads(run("config", "--json").stdout)


def test_null_for_a_key_no_lower_source_set_stays_empty(run, tmp_path):
    """`ollama:` with nothing under it still declares the provider."""
    (tmp_path / "lattice.yaml").write_text("name: x\nproviders:\n  ollama:\n")
    r = run("config", "--json")
    assert json.loads(r.stdout) == {"name": "x", "providers": {"ollama": None}}


def test_the_merged_result_is_what_gets_validated(run, trio):
    r = run("validate", "--offline")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("trio: valid (")
    (trio / "lattice.local.yaml").write_text("agents:\n  a:\n    routing: [mistral/large]\n")
    r = run("validate", "--offline")
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr == ("lattice.local.yaml:3:15: agents.a.routing[0]: 'mistral/large': provider 'mistral' "
                        "is not declared in providers (declared: anthropic, google, ollama, openai)\n1 error\n")


def test_errors_in_the_global_file_name_it(run, trio, global_file):
    global_file.write_text(GLOBAL.replace("tier: pro", "tire: pro"))
    (trio / "lattice.local.yaml").unlink()
    r = run("validate", "--offline")
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr == (f"{global_file}:4:5: providers.anthropic.tire: unknown key 'tire' "
                        f"(did you mean 'tier'?)\n1 error\n")


def test_global_file_is_optional(run, tmp_path):
    (tmp_path / "lattice.yaml").write_text("name: solo\n")
    r = run("config", "--json")
    assert (r.code, json.loads(r.stdout)) == (0, {"name": "solo"})


# ── where the project file is found ───────────────────────────────────────────

def test_nearest_ancestor_from_a_subdirectory(run, trio):
    deep = trio / "src" / "pkg"
    deep.mkdir(parents=True)
    r = run("config", "--sources", "--json", cwd=deep)
    got = sources(r)
    assert got["name"] == ("trio", f"{trio / 'lattice.yaml'}:1:7")
    assert got["agents.a.triggers[0]"] == ("/b", f"{trio / 'lattice.local.yaml'}:10:16")


def test_nearest_ancestor_wins_over_a_farther_one(run, trio):
    inner = trio / "inner"
    inner.mkdir()
    (inner / "lattice.yaml").write_text("name: inner\n")
    r = run("config", "--json", cwd=inner / ".")
    assert json.loads(r.stdout)["name"] == "inner"
    # the outer lattice.local.yaml is not beside the inner project file: it does not apply
    assert json.loads(r.stdout)["providers"]["anthropic"]["tier"] == "pro"


def test_dash_C_runs_as_if_started_there(run, trio, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    r = run("-C", str(trio), "config", "--json", cwd=elsewhere)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "trio"
    r = run("-C", str(trio / "agents"), "validate", "--offline", cwd=elsewhere)
    assert r.code == 0, r.stderr


def test_dash_dash_file_names_the_project_file(run, trio, tmp_path_factory):
    other = trio / "other.yaml"
    other.write_text("name: other\n")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    r = run("--file", str(other), "config", "--json", cwd=elsewhere)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["name"] == "other"
    assert data["agents"]["a"]["triggers"] == ["/b", "/c"]  # lattice.local.yaml beside it applies
    assert data["providers"]["anthropic"]["env"] == "ANTHROPIC_API_KEY"  # and the global one


def test_missing_project_file_is_one_line(run, tmp_path):
    r = run("validate", "--offline")
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr == (f"lattice: error: no lattice.yaml in {tmp_path} or any parent directory "
                        f"(create one with `lattice init`)\n")


def test_missing_file_option_is_one_line(run, tmp_path):
    r = run("--file", "nope.yaml", "config")
    assert (r.code, r.stdout, r.stderr) == (1, "", "lattice: error: nope.yaml: no such file\n")


def test_missing_dash_C_directory_is_one_line(run, tmp_path):
    r = run("-C", "nowhere", "config")
    assert (r.code, r.stdout, r.stderr) == (1, "", "lattice: error: nowhere: no such directory\n")


def test_unreadable_project_file_is_one_line(run, tmp_path):
    project = tmp_path / "lattice.yaml"
    project.write_text("name: x\n")
    project.chmod(0)
    try:
        if os.access(project, os.R_OK):
            pytest.skip("running as a user who can read anything")
        r = run("config")
        assert (r.code, r.stdout) == (1, "")
        assert r.stderr == "lattice: error: lattice.yaml: cannot read: Permission denied\n"
    finally:
        project.chmod(0o644)


# ── a configuration file that is there but is no file ─────────────────────────

def _not_a_file(path: Path, kind: str) -> str:
    """Put `kind` at `path`; the words the error uses for it."""
    if kind == "directory":
        path.mkdir()
        return "is a directory"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
        return "is a FIFO"
    os.symlink("gone.yaml", path)
    return "is a broken symlink (to gone.yaml)"


KINDS = ["directory", "fifo", "dangling-symlink"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_project_file_that_is_no_file_stops_the_search(run, trio, kind):
    """Never "no lattice.yaml in any parent", and never the parent's lattice.yaml instead."""
    inner = trio / "inner"
    inner.mkdir()
    words = _not_a_file(inner / "lattice.yaml", kind)
    r = run("config", cwd=inner)
    assert (r.code, r.stdout, r.stderr) == (1, "", f"lattice: error: lattice.yaml: {words}, not a file\n")
    r = run("config", "--json", cwd=trio)  # the parent's own project is unaffected
    assert r.code == 0 and json.loads(r.stdout)["name"] == "trio"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", ["local", "global"])
def test_a_local_or_global_file_that_is_no_file_is_an_error(run, trio, global_file, kind, which):
    target = trio / "lattice.local.yaml" if which == "local" else global_file
    target.unlink()
    words = _not_a_file(target, kind)
    shown = "lattice.local.yaml" if which == "local" else str(global_file)
    r = run("validate", "--offline")
    assert (r.code, r.stdout, r.stderr) == (1, "", f"lattice: error: {shown}: {words}, not a file\n")


def test_dash_dash_file_naming_a_directory_says_so(run, trio):
    r = run("--file", "agents", "config")
    assert (r.code, r.stdout, r.stderr) == (1, "", "lattice: error: agents: is a directory, not a file\n")


# The design document's own lattice.local.yaml, as printed there ("Machine-specific overrides").
DESIGN_LOCAL = """\
# lattice.local.yaml
providers:
  ollama:
    models:
      - llama3.1:8b       # Only have 8B on this machine

agents:
  experimental:
    path: experimental.md
    triggers: [/exp]
    routing:
      - ollama/llama3.1:8b
"""


def _narrowed(line: int, col: int, key: str, ref: str) -> str:
    return (f"lattice.yaml:{line}:{col}: warning: {key}: '{ref}': unavailable on this machine (lattice.local.yaml "
            f"lists only llama3.1:8b in providers.ollama.models); routing skips it")


def test_the_designs_machine_specific_example_is_valid(run, design_project, monkeypatch):
    """Issue 11, point 8: the design's workflow with the design's lattice.local.yaml failed validation with
    5 errors. A local override narrowing a provider's models makes routes to the dropped models unavailable
    on this machine: located warnings, skipped by routing, shown by status."""
    (design_project / "lattice.local.yaml").write_text(DESIGN_LOCAL)
    (design_project / "agents/experimental.md").write_text("You try things out.\n")
    r = run("validate", "--offline", cwd=design_project)
    assert r.code == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if "this machine" in line] == [
        _narrowed(67, 7, "defaults.routing[2]", "ollama/llama3.1:70b"),
        _narrowed(102, 9, "agents.implementer.routing[2]", "ollama/deepseek-coder:33b"),
        _narrowed(137, 9, "agents.reviewer.routing[0]", "ollama/llama3.1:70b"),
        _narrowed(148, 9, "agents.quick.routing[1]", "ollama/qwen2.5-coder:32b"),
        _narrowed(165, 9, "agents.refactor.routing[1]", "ollama/deepseek-coder:33b")]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    r = run("route", "--json", "/review", "x", cwd=design_project)
    decision = json.loads(r.stdout)
    assert decision["model"] == "anthropic/claude-sonnet-4-5"
    assert decision["skipped"] == [{"model": "ollama/llama3.1:70b",
                                    "reason": "ollama does not list llama3.1:70b in its models"}]
    assert json.loads(run("route", "--json", "/exp", "x", cwd=design_project).stdout)["model"] == "ollama/llama3.1:8b"
    r = run("status", "agents", cwd=design_project)
    assert "  unavailable on this machine: ollama/llama3.1:70b (not in providers.ollama.models)" in r.stdout
    rows = {row["name"]: row for row in json.loads(run("status", "agents", "--json", cwd=design_project).stdout)}
    assert rows["quick"]["unavailable"] == ["ollama/qwen2.5-coder:32b"] and rows["explore"]["unavailable"] == []


def test_a_narrowing_does_not_excuse_a_route_no_file_allows(run, design_project):
    """Still errors: a route in lattice.yaml to a model its own `models:` never listed, and a route written
    in lattice.local.yaml to a model lattice.local.yaml itself leaves out."""
    text = (design_project / "lattice.yaml").read_text()
    (design_project / "lattice.yaml").write_text(text.replace("      - ollama/qwen2.5-coder:32b\n",
                                                              "      - ollama/qwen9:1b\n"))
    (design_project / "lattice.local.yaml").write_text(DESIGN_LOCAL.replace(
        "    routing:\n      - ollama/llama3.1:8b\n", "    routing:\n      - ollama/llama3.1:70b\n"))
    (design_project / "agents/experimental.md").write_text("You try things out.\n")
    r = run("validate", "--offline", cwd=design_project)
    assert r.code == 1
    errors = [line for line in r.stderr.splitlines() if ": warning: " not in line]
    assert errors == [
        "lattice.local.yaml:12:9: agents.experimental.routing[0]: 'ollama/llama3.1:70b': model 'llama3.1:70b' is "
        "not in providers.ollama.models (llama3.1:8b) (did you mean 'llama3.1:8b'?)",
        "lattice.yaml:148:9: agents.quick.routing[1]: 'ollama/qwen9:1b': model 'qwen9:1b' is not in "
        "providers.ollama.models (llama3.1:8b)", "2 errors"]
