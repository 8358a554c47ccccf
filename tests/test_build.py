"""`lattice build` with real npm, real nodeenv and the real opencode: a workflow with current plugins
from the registry and a `file:` plugin of our own becomes three store paths, and the environment's
opencode, through `bin/opencode`, sees exactly the workflow — offline, with a poisoned home."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Run, require_tool, unavailable
from fake_llm import FakeLLM
from opencode_support import hermetic_env, new_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

SECRET = "sk-lattice-test-secret-0123456789abcdef"
PLUGINS = ["opencode-antigravity-auth@1.6.0", "opencode-openai-codex-auth@4.4.0"]
MARKER_PLUGIN = {  # npm packs package.json, index.js and lib/helper.js of it (its `files`, lib/.npmignore)
    "package.json": '{"name": "marker-plugin", "version": "1.0.0", "type": "module", "main": "index.js", '
                    '"files": ["index.js", "lib"]}\n',
    "lib/helper.js": "export const helper = 1;\n",
    "lib/helper.test.js": "not packed\n",
    "lib/.npmignore": "*.test.js\n",
    "notes.txt": "not in files\n",
    "index.js": (
        'import { writeFileSync } from "node:fs";\n'
        "export const MarkerPlugin = async (input, options) => {\n"
        "  if (process.env.LATTICE_TEST_MARKER)\n"
        "    writeFileSync(process.env.LATTICE_TEST_MARKER, JSON.stringify({ options: options ?? null }));\n"
        "  return {};\n"
        "};\n"),
}


def _needs_unshare() -> None:
    require_tool("unshare")
    if os.geteuid() != 0:
        unavailable("offline proofs need root (a network namespace without a network)")


def write_project(root: Path, base_url: str) -> None:
    (root / "agents").mkdir(parents=True)
    (root / "agents/architect.md").write_text("You are ARCHITECT-PROMPT: design before you build.\n")
    (root / "agents/quick.md").write_text("---\ntemperature: 0.3\n---\nYou are QUICK-PROMPT.\n")
    plugin = root.parent / "marker-plugin"
    plugin.mkdir()
    for name, text in MARKER_PLUGIN.items():
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (plugin / name).write_text(text)
    plugins = "\n".join(f"  - {p}" for p in PLUGINS)
    (root / "lattice.yaml").write_text(f"""\
name: built-workflow
version: "1.0.0"
plugins:
{plugins}
  - file:../marker-plugin
providers:
  local:
    base_url: {base_url}
    env: LOCAL_KEY
  anthropic:
    env: ANTHROPIC_API_KEY
agents:
  architect:
    path: architect.md
    triggers: [/architect]
    routing: [local/m1, anthropic/claude-sonnet-4-5]
  quick:
    path: quick.md
    triggers: [/q]
    routing: [local/m2]
plugin_config:
  marker-plugin:
    greeting: hello
mcp:
  context7:
    enabled: true
  tools:
    command: ["python3", "-c", "pass"]
    env: {{TOKEN: "${{TOOLS_TOKEN}}"}}
commands:
  budget:
    action: providers.status
""")


class Built:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.data = root / "data"
        self.project = root / "project"
        self.fake = FakeLLM()
        self.env: dict[str, str | None] = {
            "HOME": str(self.home), "LATTICE_HOME": str(self.data), "LATTICE_CONFIG_HOME": str(root / "cfg"),
            "LOCAL_KEY": SECRET, "ANTHROPIC_API_KEY": SECRET}

    def lattice(self, *args: str, data: Path | None = None, cwd: Path | None = None) -> object:
        env = dict(self.env)
        if data is not None:  # another machine: the user trusts the project there too
            env["LATTICE_HOME"] = str(data)
            Run(self.project)("trust", env=env)
        return Run(cwd or self.project)(*args, env=env)

    def store(self, data: Path | None = None) -> Path:
        return (data or self.data) / "store"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    b = Built(tmp_path_factory.mktemp("built"))
    b.home.mkdir()
    new_data_dir(b.data)
    with b.fake:
        write_project(b.project, b.fake.url)
        assert b.lattice("trust").code == 0  # its MCP server and file: plugin run: the user trusts them
        r = b.lattice("build", "--json")
        assert r.code == 0, r.stderr
        b.result = json.loads(r.stdout)
        b.path = Path(b.result["path"])
        yield b


def test_build_makes_three_paths_and_no_op_second_time(built):
    assert len(built.result["built"]) == 3
    names = sorted(p.name for p in built.store().iterdir() if not p.name.startswith("."))
    assert sorted(n.split("-", 1)[1] for n in names) == sorted(
        ["built-workflow", "node-" + subprocess.run(["node", "--version"], capture_output=True,
                                                     text=True).stdout.strip().lstrip("v"),
         "opencode-ai-1.18.33-closure"])
    r = built.lattice("build")
    assert r.code == 0
    assert r.stdout.strip().splitlines()[-1] == str(built.path)
    again = json.loads(built.lattice("build", "--json").stdout)
    assert again["built"] == [] and again["path"] == str(built.path)


def test_store_paths_are_read_only_and_verify(built):
    for path in built.store().iterdir():
        if path.name.startswith("."):
            continue
        for entry in [path, *path.rglob("*")]:
            if entry.is_symlink():
                continue
            assert not entry.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), entry
    r = built.lattice("store", "verify")
    assert r.code == 0, r.stdout + r.stderr


def test_no_secret_byte_in_the_store(built):
    needle = SECRET.encode()
    for entry in built.store().rglob("*"):
        if entry.is_file() and not entry.is_symlink():
            assert needle not in entry.read_bytes(), entry
    config = json.loads((built.path / "config/opencode/opencode.json").read_text())
    assert config["provider"]["local"]["options"]["apiKey"] == "{env:LOCAL_KEY}"


def _poison(home: Path, project: Path) -> None:
    cfg = home / ".config/opencode"
    (cfg / "agent").mkdir(parents=True, exist_ok=True)
    (cfg / "opencode.json").write_text(json.dumps({
        "$schema": "https://opencode.ai/config.json", "plugin": ["poison-plugin@1.0.0"],
        "agent": {"poisoned": {"description": "p", "prompt": "POISON-PROMPT"}},
        "mcp": {"poison": {"type": "remote", "url": "http://127.0.0.1:9/mcp"}}}))
    (cfg / "agent/poisoned-md.md").write_text("---\ndescription: p\n---\nPOISON-MD\n")
    (home / ".opencode/agent").mkdir(parents=True, exist_ok=True)
    (home / ".opencode/agent/dot-poison.md").write_text("---\ndescription: p\n---\nPOISON-DOT\n")
    (project / ".opencode/agent").mkdir(parents=True, exist_ok=True)
    (project / "opencode.json").write_text('{"agent": {"stray": {"description": "s", "prompt": "STRAY"}}}')
    (project / ".opencode/agent/stray-md.md").write_text("---\ndescription: s\n---\nSTRAY-MD\n")
    (project / "AGENTS.md").write_text("Repository rule: AGENTS-MD-MARKER.\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)


def test_environment_opencode_reads_only_the_workflow_offline(built, tmp_path):
    _needs_unshare()
    home, project = tmp_path / "home", tmp_path / "some repo"
    project.mkdir()
    _poison(home, project)
    marker = tmp_path / "marker.json"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LATTICE_TEST_MARKER": str(marker),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share")}
    done = subprocess.run(["unshare", "-n", str(built.path / "bin/opencode"), "debug", "config"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    cfg = json.loads(done.stdout)
    assert set(cfg["agent"]) == {"architect", "quick"}
    assert cfg["agent"]["architect"]["prompt"] == "You are ARCHITECT-PROMPT: design before you build."
    assert cfg["agent"]["quick"]["temperature"] == 0.3
    assert set(cfg["mcp"]) == {"context7", "tools"}
    assert {"architect", "q", "budget"} <= set(cfg["command"])
    closure = next(p for p in built.store().iterdir() if p.name.endswith("-closure"))
    plugins = [(p if isinstance(p, str) else p[0]).removeprefix("file://") for p in cfg["plugin"]]
    for name in ("opencode-antigravity-auth", "opencode-openai-codex-auth"):
        assert f"{closure}/node_modules/{name}" in plugins
    assert f"{built.path}/plugins/marker-plugin" in plugins
    assert "POISON" not in done.stdout and "STRAY" not in done.stdout
    # The file: plugin was loaded from the store, with its plugin_config as options, with no network.
    assert json.loads(marker.read_text()) == {"options": {"greeting": "hello"}}


def test_the_closure_keeps_one_opencode_binary(built):
    """npm installs every opencode binary whose os and cpu match (two on x64 Linux, 177 MB each); the
    closure keeps the one the environment runs, the platform its name was made with."""
    closure = next(p for p in built.store().iterdir() if p.name.endswith("-closure"))
    lock = json.loads((built.project / "lattice.lock").read_text())
    variants = lock["packages"]["node_modules/opencode-ai"]["optionalDependencies"]
    locked_here = [n for n in variants if f"node_modules/{n}" in lock["packages"]]
    platform = json.loads((closure / "manifest.json").read_text())["derivation"]["inputs"]["platform"]
    assert platform in locked_here
    assert [n for n in variants if (closure / "node_modules" / n).exists()] == [platform]
    assert f"/node_modules/{platform}/bin/opencode\"" in (built.path / "bin/opencode").read_text()


def test_the_closure_bundles_each_bridge_sdk_and_the_bridge_loads_them(built, tmp_path):
    """Each protocol's SDK is one file of the closure, which the environment's own Bun loads and whose
    provider factory builds a model; the bridge reads nothing else (its sdk() takes only the bundle)."""
    from lattice_env.build.bridge_sdks import BUNDLE_DIR, FACTORIES, SDKS
    from lattice_env.build.lockfile import BRIDGE_PACKAGES

    closure = next(p for p in built.store().iterdir() if p.name.endswith("-closure"))
    assert sorted(f.name for f in (closure / BUNDLE_DIR).iterdir()) == sorted(f"{k}.mjs" for k in SDKS)
    assert set(FACTORIES) == set(SDKS) and set(SDKS.values()) == set(BRIDGE_PACKAGES)
    script = tmp_path / "load.mjs"
    script.write_text(
        "const out = {};\n"
        f"for (const [kind, name] of Object.entries({json.dumps(FACTORIES)})) {{\n"
        f"  const m = await import(`{closure}/{BUNDLE_DIR}/${{kind}}.mjs`);\n"
        "  const model = m[name]({ name: 'x', baseURL: 'http://127.0.0.1:9', apiKey: 'k' }).languageModel('m');\n"
        "  out[kind] = model.specificationVersion;\n"
        "}\n"
        "console.log(JSON.stringify(out));\n")
    bun = next(closure.glob("node_modules/opencode-*/bin/opencode"))
    done = subprocess.run([str(bun), str(script)], env={"PATH": os.environ["PATH"], "BUN_BE_BUN": "1",
                          "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {kind: "v3" for kind in SDKS}


def test_run_reaches_the_model_with_agents_md_and_runtime_key(built, tmp_path):
    home, project = tmp_path / "home", tmp_path / "repo"
    project.mkdir()
    _poison(home, project)
    env = hermetic_env(home, LOCAL_KEY=SECRET)
    for var in ("XDG_CONFIG_HOME", "OPENCODE_TEST_HOME", "OPENCODE_DISABLE_MODELS_FETCH"):
        env.pop(var)  # the wrapper must do this itself
    with built.fake:
        done = subprocess.run([str(built.path / "bin/opencode"), "run", "--agent", "architect", "hi"],
                              cwd=project, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        chats = built.fake.chats()
    assert "hello from the fake model" in done.stdout
    assert chats and chats[-1]["model"] == "m1"
    system = chats[-1]["system"]
    assert "ARCHITECT-PROMPT" in system
    assert "AGENTS-MD-MARKER" in system  # the repository's own instructions still reach the agent
    assert "POISON" not in system and "STRAY" not in system
    assert chats[-1]["authorization"] == f"Bearer {SECRET}"  # the key comes from the environment


def test_same_inputs_same_names_and_trees_under_another_root(built, tmp_path):
    other = new_data_dir(tmp_path / "other data")
    r = built.lattice("build", "--json", data=other)
    assert r.code == 0, r.stderr
    ours = {p.name: (p / "manifest.json").read_bytes() for p in built.store().iterdir() if not p.name.startswith(".")}
    theirs = {p.name: (p / "manifest.json").read_bytes() for p in (other / "store").iterdir()
              if not p.name.startswith(".")}
    assert ours == theirs  # manifests hold the tree hash and every entry's hash and mode
    assert built.lattice("store", "verify", data=other).code == 0


def test_config_change_rebuilds_only_the_workflow_path(built):
    prompt = built.project / "agents/quick.md"
    old = prompt.read_text()
    try:
        prompt.write_text(old + "One more rule.\n")
        r = built.lattice("build", "--json")
        result = json.loads(r.stdout)
        assert [n.split("-", 1)[1] for n in result["built"]] == ["built-workflow"]
        assert result["path"] != str(built.path)
    finally:
        prompt.write_text(old)


def test_file_plugin_in_the_store_is_what_npm_packs(built):
    """The store holds exactly the files real `npm pack --dry-run` lists for the plugin, byte for byte —
    not its notes, tests or .npmignore."""
    plugin = built.project.parent / "marker-plugin"
    done = subprocess.run(["npm", "pack", "--dry-run", "--json", "--ignore-scripts", "--offline"], cwd=plugin,
                          env={"PATH": os.environ["PATH"], "HOME": str(built.home)}, capture_output=True,
                          text=True, check=True, timeout=120)
    packed = sorted(f["path"] for f in json.loads(done.stdout)[0]["files"])
    assert packed == ["index.js", "lib/helper.js", "package.json"]
    copy = built.path / "plugins" / "marker-plugin"
    stored = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if not p.is_dir())
    assert stored == packed
    assert all((copy / rel).read_bytes() == (plugin / rel).read_bytes() for rel in packed)


def test_file_plugin_edit_relocks_and_rebuilds(built):
    index = built.project.parent / "marker-plugin/index.js"
    old = index.read_text()
    try:
        index.write_text(old + "// edited\n")  # the plugin's code changed: the user reviews it again
        result = json.loads(built.lattice("build", "--json", "--trust").stdout)
        assert result["relocked"] is True
        assert [n.split("-", 1)[1] for n in result["built"]] == ["built-workflow"]
    finally:
        index.write_text(old)
        assert built.lattice("build", "--trust").code == 0


def test_offline_rebuild_from_npm_cache(built, tmp_path):
    _needs_unshare()
    data = new_data_dir(tmp_path / "data")  # an empty store; only npm's cache is there
    env = {**{k: v for k, v in built.env.items() if v is not None}, "PATH": os.environ["PATH"],
           "LATTICE_HOME": str(data)}
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "lattice_env", "build", "--trust"], cwd=built.project,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Path(done.stdout.strip().splitlines()[-1]).name == built.path.name


def _fresh_home(built: Built, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty data dir that shares the first build's npm cache (npm's cache is safe to share)."""
    data = new_data_dir(tmp_path / "data")
    env = {**{k: v for k, v in built.env.items() if v is not None}, "PATH": os.environ["PATH"],
           "LATTICE_HOME": str(data)}
    assert Run(built.project)("trust", env=env).code == 0  # trust lives in the data dir: this is a new one
    return data, env


def _lattice(args: list[str], env: dict[str, str], cwd: Path, **kw: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lattice_env", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_two_concurrent_builds_give_one_path_and_both_succeed(built, tmp_path):
    data, env = _fresh_home(built, tmp_path)
    procs = [_lattice(["build"], env, built.project) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1000:] for o in outs]
    paths = {o[0].strip().splitlines()[-1] for o in outs}
    assert paths == {str(data / "store" / built.path.name)}
    assert all("lattice: installing" not in err for _, err in outs)  # piped: no progress lines
    assert Run(built.project)("store", "verify", env={**env}).code == 0


def test_sigkill_at_random_moments_never_leaves_a_broken_path(built, tmp_path):
    import random
    import signal
    import time

    from lattice_env.store.verify import verify

    data, env = _fresh_home(built, tmp_path)
    rng = random.Random(20261125)
    for _ in range(20):
        proc = _lattice(["build"], env, built.project, start_new_session=True)
        time.sleep(rng.uniform(0.0, 8.0))
        os.killpg(proc.pid, signal.SIGKILL)  # the whole build, npm included, dies at once
        proc.communicate()
        finals = [p for p in (data / "store").iterdir() if not p.name.startswith(".")]
        problems = verify(finals, root=data / "store") if finals else []
        assert problems == [], problems
    proc = _lattice(["build"], env, built.project)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1] == str(data / "store" / built.path.name)
    assert verify(root=data / "store") == []


def test_progress_shows_on_a_terminal(built, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    data, env = _fresh_home(built, tmp_path)
    child = pexpect.spawn(sys.executable, ["-m", "lattice_env", "build"], cwd=str(built.project), env=env,
                          encoding="utf-8", timeout=600)
    child.expect(r"lattice: installing \d+ npm packages from lattice.lock…")
    child.expect(r"done in [0-9.]+ s")
    child.expect(str(data / "store" / built.path.name))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_plugins_lists_the_built_versions(built, tmp_path):
    rows = {r["name"]: r for r in json.loads(built.lattice("plugins", "--json", "--offline").stdout)}
    for spec in PLUGINS:
        name, version = spec.rsplit("@", 1)
        assert rows[name]["pinned"] == rows[name]["locked"] == rows[name]["built"] == version
    data, _ = _fresh_home(built, tmp_path)  # an empty store: nothing built there yet
    rows = json.loads(built.lattice("plugins", "--json", "--offline", data=data).stdout)
    assert all(r["built"] is None for r in rows)


def test_switch_builds_links_and_outlives_a_concurrent_gc(built):
    """`lattice switch` loads lattice.yaml, builds and links what it built, while `lattice store gc` runs
    beside it the whole time: the path is rooted from the build to the link (profiles/switch.py), so no
    switch ever links a collected path."""
    import threading

    keep = json.loads(built.lattice("switch", "--profile", "keep", "--json").stdout)  # roots what others use
    assert keep["store_path"] == str(built.path) and keep["generation"] == 1
    assert built.lattice("switch", "--profile", "keep").stdout == "profile keep is already at generation 1\n"
    env = {**{k: v for k, v in built.env.items() if v is not None}, "PATH": os.environ["PATH"]}
    stop, collections = threading.Event(), []

    def collect() -> None:
        while not stop.is_set():
            done = subprocess.run([sys.executable, "-m", "lattice_env", "store", "gc"], env=env,
                                  capture_output=True, text=True, timeout=120)
            collections.append(done.returncode)

    prompt = built.project / "agents/quick.md"
    old = prompt.read_text()
    gc = threading.Thread(target=collect)
    gc.start()
    try:
        for i in range(4):
            prompt.write_text(old + f"Rule {i}.\n")  # a new workflow path each time
            r = built.lattice("switch", "--profile", "race", "--json")
            assert r.code == 0, r.stderr
            result = json.loads(r.stdout)
            assert result["generation"] == i + 1 and result["created"] is True
            assert Path(result["store_path"]).is_dir()
    finally:
        stop.set()
        gc.join()
        prompt.write_text(old)
    assert collections and set(collections) == {0}
    store = built.store()
    from lattice_env.store.verify import verify

    for link in (built.data / "profiles").glob("race-*-link"):
        assert verify([os.readlink(link)], root=store) == []
    assert built.path.is_dir()  # kept by profile keep
