"""Property tests: no input of any kind makes `lattice validate` crash.

Whatever lattice.yaml (and lattice.local.yaml, and an agent's frontmatter) contains, the command ends
with exit code 0 (valid), 1 (invalid) or 2 (usage), and never prints a traceback or the one-line
"internal error" of a bug. Sources of input: (a) arbitrary YAML documents and arbitrary text or
bytes, (b) the design's full example with random deletions, replacements, retypings and insertions,
(c) small edits that still validate, run through later commands, and (d) hostile inputs of every kind a
shared workflow brings — lattice.yaml naming paths outside the project and keys full of control
characters, agent frontmatter, lattice.lock, the generate manifest — after which nothing outside the
project and the data dir has changed and every error is one line.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DESIGN, Decoy, Run, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# LATTICE_FUZZ_EXAMPLES=5000 for a longer bug hunt than the suite's default.
SETTINGS = settings(max_examples=int(os.environ.get("LATTICE_FUZZ_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

DESIGN_DATA: dict[str, Any] = yaml.safe_load((DESIGN / "lattice.yaml").read_text())

# Every key the schema knows, so random documents reach deep into validation instead of stopping at
# the first unknown top-level key.
KEYS = [
    "name", "description", "version", "author", "vcs", "preset", "config", "workspace_dir",
    "gate_enforcement", "auto_cleanup", "checkpoint_message", "commit_message", "branch_prefix",
    "plugins", "providers", "anthropic", "openai", "ollama", "env", "auth", "tier", "local_budget",
    "models", "base_url", "defaults", "agents_dir", "routing", "agents", "a", "path", "triggers",
    "strategy", "pattern", "weights", "track", "iterate", "final", "burst_size", "final_trigger",
    "on_unavailable", "fallback_models", "plugin_config", "mcp", "context7", "command", "args", "url",
    "headers", "enabled", "timeout", "commands", "action", "hooks", "pre_agent", "post_agent",
    "on_rate_limit", "on_budget_exceeded", "on_error", "when", "notify", "message", "channel",
]
WORDS = [
    "fallback", "pattern", "weighted", "round_robin", "burst", "next", "retry", "unlimited",
    "jj-workspace", "none", "anthropic/claude-sonnet-4-5", "ollama/llama3.1:8b", "openai/o3", "/x",
    "vcs.push", "log.info", "always", "files_changed", 'agent == "x"', "error_count > 3", "a.md",
    "../x.md", "/etc/passwd", "foo@1.0.0", "github:o/r@v1", "file:.", "${X}", "${bad-name}", "{agent}",
    "{nope", "on", "no", "yes", "1.0", "2024-01-01", "~", "", " ", "\t", "\x00", "\u2028", "é",
]

text = st.text(max_size=20)  # any code point, control characters and surrogates included
keys = st.one_of(st.sampled_from(KEYS), text)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.sampled_from(WORDS), text, st.dates(), st.binary(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)

FRAGMENTS = [
    "name: x\n", "agents:\n", "  a:\n", "    routing:\n", "      - ", "anthropic/x", "\n", "  ", "\t",
    "- ", ": ", "? ", "&a ", "*a", "*b", "<<: *a\n", "!!python/object:os.system ", "!!binary ",
    "!!str ", "!!int ", "!!float ", "!!timestamp ", "!!set ", "!custom ", "{", "}", "[", "]", ",",
    "'", '"', "\\", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "# c\n", "|\n", ">-\n",
    "\x00", "\x07", "\x1b", "\ufeff", "\u2028", "\r\n", "on", "yes", "1.0", ".nan", ".inf", "0x1F",
    "2024-01-01", "1e400", "name: a\nname: b\n", "x: &a [*a]\n",
]
yamlish = st.lists(st.sampled_from(FRAGMENTS) | text, max_size=40).map("".join)


def _project(config: str | bytes, local: str | bytes | None = None,
             agent: str | None = None) -> Path:
    """A fresh project dir holding a copy of the design's agents and the given files."""
    root = Path(tempfile.mkdtemp(prefix="lattice-fuzz-"))
    shutil.copytree(DESIGN / "agents", root / "agents")
    write = (lambda p, d: p.write_bytes(d)) if isinstance(config, bytes) else (
        lambda p, d: p.write_text(d, encoding="utf-8", errors="surrogatepass"))
    write(root / "lattice.yaml", config)
    if local is not None:
        (root / "lattice.local.yaml").write_bytes(
            local if isinstance(local, bytes) else local.encode("utf-8", "surrogatepass"))
    if agent is not None:
        (root / "agents" / "quick.md").write_bytes(agent.encode("utf-8", "surrogatepass"))
    return root


def _check(root: Path, *args: str) -> None:
    try:
        r = Run(root)(*(args or ("validate", "--offline")))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert r.code in (0, 1, 2), (r.code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert "internal error" not in r.stderr + r.stdout, r.stderr
    if r.code == 1:
        assert r.stderr.strip(), "an invalid configuration must say why"


def _dump(value: Any) -> str | None:
    try:
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeError, ValueError):
        return None


# ── (a) arbitrary documents ────────────────────────────────────────────────────

@SETTINGS
@given(values)
def test_arbitrary_yaml_documents(value: Any) -> None:
    dumped = _dump(value)
    if dumped is None:
        return
    _check(_project(dumped))


@SETTINGS
@given(st.one_of(yamlish, text, st.binary(max_size=200)))
def test_arbitrary_text_and_bytes(data: str | bytes) -> None:
    _check(_project(data))


@SETTINGS
@given(st.one_of(yamlish, text))
def test_arbitrary_text_in_local_file_and_frontmatter(data: str) -> None:
    base = (DESIGN / "lattice.yaml").read_text()
    _check(_project(base, local=data))
    _check(_project(base, agent="---\n" + data + "\n---\nYou are quick.\n"))


@SETTINGS
@given(yamlish)
def test_arbitrary_text_config_command(data: str) -> None:
    _check(_project(data), "config", "--json")


# ── (b) mutated valid configurations ───────────────────────────────────────────

def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _retype(value: Any) -> Any:
    if isinstance(value, dict):
        return [list(kv) for kv in value.items()]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, str):
        return [value]
    if value is None:
        return {}
    return str(value)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], values: st.SearchStrategy[Any] = values,
            keys: st.SearchStrategy[Any] = keys) -> dict[str, Any]:
    """`base` after one to six random deletions, replacements, retypings, nullings and insertions."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        paths = _paths(data)
        if len(paths) < 2:
            break
        path = draw(st.sampled_from(paths[1:]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["delete", "replace", "retype", "insert", "null"]))
        if op == "delete":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(values)
        elif op == "retype":
            parent[last] = _retype(parent[last])
        elif op == "null":
            parent[last] = None
        elif isinstance(parent[last], dict):
            parent[last][draw(keys)] = draw(values)
        elif isinstance(parent[last], list):
            parent[last].insert(draw(st.integers(0, len(parent[last]))), draw(values))
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
    return data


def mutated_design() -> st.SearchStrategy[dict[str, Any]]:
    return mutated(DESIGN_DATA)


@SETTINGS
@given(mutated_design())
def test_mutated_design_configs(data: dict[str, Any]) -> None:
    dumped = _dump(data)
    if dumped is None:
        return
    _check(_project(dumped))


@SETTINGS
@given(mutated_design(), st.booleans())
def test_mutated_design_as_local_override(data: dict[str, Any], null_out: bool) -> None:
    """The same mutations arriving through lattice.local.yaml, merged over the valid design."""
    if null_out:  # `null` removes what the project set
        data = {k: None for k in data}
    dumped = _dump(data)
    if dumped is None:
        return
    _check(_project((DESIGN / "lattice.yaml").read_text(), local=dumped))


# ── (c) what validates can be used ─────────────────────────────────────────────

SMALL = st.one_of(
    st.sampled_from(WORDS), st.none(), st.booleans(), st.integers(-2, 5), st.just([]), st.just({}),
    st.lists(st.sampled_from(WORDS), max_size=3),
    st.dictionaries(st.sampled_from(KEYS + WORDS), st.sampled_from(WORDS), max_size=2),
)


@st.composite
def nearly_valid_design(draw: st.DrawFn) -> dict[str, Any]:
    """One or two small, plausible edits: about half of these still validate."""
    data = copy.deepcopy(DESIGN_DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        op = draw(st.sampled_from(["delete", "replace", "insert"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(SMALL)
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.sampled_from(KEYS))] = draw(SMALL)
    return data


@settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 3))  # four commands per example
@given(nearly_valid_design())
def test_a_valid_configuration_never_crashes_later_commands(data: dict[str, Any]) -> None:
    """Validation is the gate: whatever it accepts, generate and status must handle."""
    dumped = _dump(data)
    if dumped is None:
        return
    root = _project(dumped)
    try:
        if Run(root)("validate", "--offline").code != 0:
            return
        for args in (("generate", "--out", str(root / "out")), ("status", "agents", "--json"),
                     ("config", "--sources", "--json")):
            r = Run(root)(*args)
            assert (r.code, "Traceback" in r.stderr, "internal error" in r.stderr) == (0, False, False), \
                (args, r.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ── (c) lattice.lock: a committed file like any other ──────────────────────────

TINY = "name: tiny\nproviders:\n  anthropic:\n    env: K\nagents:\n  a:\n    routing: [anthropic/m]\n"
LOCK_KEYS = ["format", "node", "engine", "npm", "roots", "packages", "unavailable", "sources", "wanted_by",
             "name", "version", "integrity", "resolved", "link", "dependencies", "optionalDependencies",
             "peerDependencies", "bin", "os", "cpu", "inBundle", "optional", "node_modules/opencode-ai",
             "node_modules/../x", "opencode-ai", "file:p", "kind", "sha256", "commit"]
LOCK_VALUES = ["1.18.33", "1.0.0", "^1", "file:/tmp/evil.tgz", "https://example.invalid/x.tgz", "git+ssh://x",
              "npm:x@1", "sha512-" + "A" * 86 + "==", "sha1-x", "linux", "!win32", "node 20", "20", "",
              "node_modules/opencode-ai", "../../x"]
LOCK_SMALL = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(LOCK_VALUES), text,
                       st.lists(st.sampled_from(LOCK_VALUES), max_size=3),
                       st.dictionaries(st.sampled_from(LOCK_KEYS), st.sampled_from(LOCK_VALUES), max_size=3))


def _tiny_lock() -> dict[str, Any]:
    """A lock of the shape lattice writes, for TINY, with stand-in integrity hashes (nothing installs it)."""
    from lattice_env.build.lockfile import BRIDGE_PACKAGES, FORMAT
    from lattice_env.opencode.config import OPENCODE_PACKAGE, OPENCODE_VERSION

    binaries = [f"opencode-linux-{a}{v}" for a in ("x64", "arm64") for v in ("", "-baseline", "-musl")] + \
               [f"opencode-darwin-{a}" for a in ("x64", "arm64")]
    digest = "sha512-" + "x" * 86 + "=="
    packages = {f"node_modules/{n}": {"name": n, "version": v, "integrity": digest}
                for n, v in [(OPENCODE_PACKAGE, OPENCODE_VERSION), *BRIDGE_PACKAGES.items(),
                             *((b, OPENCODE_VERSION) for b in binaries)]}
    packages[f"node_modules/{OPENCODE_PACKAGE}"]["optionalDependencies"] = {b: OPENCODE_VERSION for b in binaries}
    return {"format": FORMAT, "node": {"engine": "node 20", "npm": "10"},
            "roots": {OPENCODE_PACKAGE: OPENCODE_VERSION, **BRIDGE_PACKAGES},
            "packages": packages, "sources": {}, "unavailable": {}}


@st.composite
def mutated_lock(draw: st.DrawFn) -> dict[str, Any]:
    lock = _tiny_lock()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        parent, key = None, None
        node: Any = lock
        while isinstance(node, dict) and node and draw(st.booleans()):
            parent, key = node, draw(st.sampled_from(sorted(node)))
            node = node[key]
        target = parent if parent is not None else lock
        op = draw(st.sampled_from(["delete", "replace", "insert"]))
        if op == "delete" and key is not None:
            del target[key]
        elif op == "replace" and key is not None:
            target[key] = draw(LOCK_SMALL)
        elif isinstance(node, dict):
            node[draw(st.sampled_from(LOCK_KEYS))] = draw(LOCK_SMALL)
    return lock


@SETTINGS
@given(mutated_lock())
def test_any_lock_is_refused_or_used_never_a_crash(lock: dict[str, Any]) -> None:
    """`lattice status` reads the lock to tell drift (no npm): a lock lattice would not write is named
    as refused, in one located line; nothing crashes."""
    import json

    root = Path(tempfile.mkdtemp(prefix="lattice-fuzz-lock-"))
    (root / "agents").mkdir()
    (root / "agents" / "a.md").write_text("You are a.\n")
    (root / "lattice.yaml").write_text(TINY)
    (root / "lattice.lock").write_text(json.dumps(lock, indent=2, sort_keys=True))
    try:
        r = Run(root)("status", "--json")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert (r.code, "Traceback" in r.stderr, "internal error" in r.stderr + r.stdout) == (0, False, False), \
        (r.code, r.stderr)
    drift = json.loads(r.stdout)["profile"]["drift"]
    if drift["state"] == "lock-invalid":
        assert drift["message"].startswith("lattice.lock:"), drift


# ── (d) nothing outside the project, the data dir and the store ────────────────
# Hostile inputs of each kind a shared workflow brings: lattice.yaml naming paths outside the project,
# agent frontmatter, lattice.lock and the generate manifest (both committed beside lattice.yaml). After
# every command: no traceback, and the test's HOME (with the decoy home in it) unchanged but for the
# data dir, and nothing created beside the project.

OUT_WORDS = ["@DECOY@/.bashrc", "@DECOY@/.ssh/id_rsa", "@DECOY@", "@UP@/.bashrc", "@UP@/notes/todo.md",
             "@UP@/.profile", "~/.bashrc", "file:@UP@", "file:@DECOY@", "../../../../../../../../etc/passwd",
             "todo.md", "notes", ".bashrc", "/dev/zero", "/proc/self/environ", "cat @DECOY@/.ssh/id_rsa",
             "${HOME}", "{env:HOME}", "{file:@DECOY@/.ssh/id_rsa}"]
out_values = st.one_of(st.sampled_from(OUT_WORDS), values)
# Keys too, with the control characters that would split a message over lines (or clear a terminal).
out_keys = st.one_of(st.sampled_from(["agents_dir", "path", "plugins", "command", "args", "env", "url",
                                      "workspace_dir", "base_url", "auth", "lattice", "a\n", "b\r\nfake: 1",
                                      "c\x1b[2J", "d\u2028e", "f\x1e"]), keys)


# A line of a failing command's stderr: a located diagnostic (`file[:line[:col]]: …`), `lattice: …`, or the count.
ONE_LINE = re.compile(r"(lattice\.yaml|lattice\.local\.yaml|lattice\.lock|agents/[^:]+|/[^:]+)(:\d+(:\d+)?)?: |lattice: |\d+ errors?$")


class Confined:
    """One test's world for the examples of (d): projects are made under `base`; `check` fails when
    anything in HOME outside the data dir changed, or anything but the project appeared in `base`."""

    def __init__(self, home: Path, decoy: Decoy, base: Path) -> None:
        self.home, self.decoy, self.base = home, decoy, base
        self.data = os.path.relpath(os.environ["LATTICE_HOME"], home)
        base.mkdir(exist_ok=True)
        self.before = self.outside()

    def outside(self) -> dict[str, Any]:
        return {k: v for k, v in snapshot(self.home).items()
                if k != self.data and not k.startswith(self.data + os.sep)}

    def text(self, value: str, root: Path) -> str:
        """Inputs name the decoy home absolutely (@DECOY@) or by a relative chain from the agents dir."""
        up = os.path.relpath(self.decoy.root, root / "agents")
        return value.replace("@DECOY@", str(self.decoy.root)).replace("@UP@", up)

    def project(self, config: str, agent: str | None = None) -> Path:
        root = Path(tempfile.mkdtemp(prefix="p-", dir=self.base))
        shutil.copytree(DESIGN / "agents", root / "agents")
        (root / "plug").mkdir()
        (root / "plug" / "index.js").write_text("export default {}\n")
        (root / "plug" / "package.json").write_text('{"name": "plug", "version": "1.0.0", "main": "index.js"}\n')
        (root / "lattice.yaml").write_text(self.text(config, root), encoding="utf-8", errors="surrogatepass")
        if agent is not None:
            (root / "agents" / "quick.md").write_bytes(self.text(agent, root).encode("utf-8", "surrogatepass"))
        return root

    def run(self, root: Path, *args: str) -> int:
        r = Run(root)(*args)
        assert r.code in (0, 1, 2), (args, r.code, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr + r.stdout, (args, r.stderr)
        if r.code == 1:  # each problem is one line: a located diagnostic, or one `lattice: error:` line
            for line in r.stderr.splitlines():
                assert ONE_LINE.match(line), (args, line, r.stderr)
        assert self.outside() == self.before, (args, "changed outside the project and the data dir")
        assert os.listdir(self.base) == [root.name], (args, os.listdir(self.base))
        return r.code

    def done(self, root: Path) -> None:
        shutil.rmtree(root)


@pytest.fixture
def confined(isolated_home: Path, decoy: Decoy, tmp_path: Path) -> Confined:
    return Confined(isolated_home, decoy, tmp_path / "projects")


def _commands(world: Confined, root: Path) -> None:
    """Validate; what validates is generated (into the project) and shown."""
    if world.run(root, "validate", "--offline") != 0:
        return
    for args in (("generate",), ("config", "--sources", "--json"), ("status", "--json")):
        world.run(root, *args)


@st.composite
def hostile_design(draw: st.DrawFn) -> dict[str, Any]:
    """The design's example mutated with hostile values and keys, one of them always inserted."""
    data = draw(mutated(DESIGN_DATA, out_values, out_keys))
    mappings = [p for p in _paths(data) if isinstance(_at(data, p), dict)]
    _at(data, draw(st.sampled_from(mappings)))[draw(out_keys)] = draw(out_values)
    return data


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 5))
@given(hostile_design())
def test_hostile_paths_in_lattice_yaml_change_nothing_outside(confined: Confined, data: dict[str, Any]) -> None:
    dumped = _dump(data)
    if dumped is None:
        return
    root = confined.project(dumped)
    try:
        _commands(confined, root)
    finally:
        confined.done(root)


FRONT_KEYS = ["model_preference", "temperature", "top_p", "max_tokens", "description", "mode", "tools",
              "permission", "color", "steps", "disable", "hidden", "model", "prompt"]


@settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 5))
@given(st.dictionaries(st.one_of(st.sampled_from(FRONT_KEYS), keys), out_values, max_size=6), st.sampled_from(
    ["You are quick.\n", "", "---\n", "@DECOY@/.bashrc\n", "{file:@DECOY@/.ssh/id_rsa}\n"]))
def test_hostile_frontmatter_changes_nothing_outside(confined: Confined, front: dict[str, Any], body: str) -> None:
    dumped = _dump(front)
    if dumped is None:
        return
    root = confined.project(SMALL_PROJECT, agent=f"---\n{dumped}---\n{body}")
    try:
        _commands(confined, root)
    finally:
        confined.done(root)


# A small workflow (one agent, one command: few files to generate) with a `file:` plugin (a lock source).
SMALL_PROJECT = """\
name: small
plugins: ["file:./plug"]
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
agents:
  quick:
    triggers: [/quick]
    routing: [anthropic/claude-sonnet-4-5]
commands:
  ship:
    action: vcs.push
"""


_PLUG_HASH: list[tuple[str, int]] = []


def _plug_hash(root: Path) -> tuple[str, int]:
    """The lock's content hash of the project's `file:./plug` (the same plugin in every project: npm
    packs it once per run)."""
    if not _PLUG_HASH:
        from lattice_env.build.file_plugins import content_hash, packed_files
        from lattice_env.config.load import load_workflow

        _PLUG_HASH.append(content_hash(packed_files(load_workflow(directory=root), 0)))
    return _PLUG_HASH[0]


def _valid_lock(root: Path) -> dict[str, Any]:
    """A lock lattice.yaml above would accept as up to date (its roots, this toolchain, the plugin's
    hash), with made-up packages: reading it needs no npm, and nothing here installs it."""
    from lattice_env.build.lockfile import FORMAT, npm_roots
    from lattice_env.build.npm import node_identity
    from lattice_env.config.plugin_specs import parse_plugin
    from lattice_env.opencode.config import OPENCODE_VERSION

    digest, count = _plug_hash(root)
    platform = {"name": "opencode-linux-x64", "version": OPENCODE_VERSION, "integrity": "sha512-AA==", "os": ["linux"]}
    return {"format": FORMAT, "node": node_identity(), "roots": npm_roots((parse_plugin("file:./plug"),)),
            "packages": {"node_modules/opencode-ai": {"name": "opencode-ai", "version": OPENCODE_VERSION,
                                                      "integrity": "sha512-AA=="},
                         "node_modules/opencode-linux-x64": platform,
                         "node_modules/opencode-linux-arm64": {**platform, "name": "opencode-linux-arm64"}},
            "unavailable": {}, "sources": {"file:./plug": {"kind": "file", "sha256": digest, "files": count}}}


LOCK_WORDS = ["node_modules/../../x", "node_modules/opencode-linux-x64", "node_modules/@s/../../../x",
              "../@DECOY@", "@DECOY@/.bashrc", "/etc/passwd", "http://127.0.0.1:1/x", "sha512-AA==", "1.0.0",
              "file:./plug", "github:o/r@v1", "kind", "sha256", "commit", "engine", "npm", "roots", "packages",
              "node", "sources", "unavailable", "format"]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 2**40), st.floats(allow_nan=False, allow_infinity=False),
              st.sampled_from(LOCK_WORDS), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.sampled_from(LOCK_WORDS), st.text(max_size=8)), inner,
                                            max_size=3)),
    max_leaves=10)

@settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 4))
@given(st.data())
def test_hostile_lock_changes_nothing_outside(confined: Confined, data: st.DataObject) -> None:
    """lattice.lock as read by `status`, `plugins` and `lock` (which reuses a lock whose roots and
    toolchain still match, and rewrites it, without npm)."""
    root = confined.project(SMALL_PROJECT)
    try:
        valid = _valid_lock(root)
        lock = data.draw(st.one_of(mutated(valid, json_values, st.sampled_from(LOCK_WORDS)),
                                   st.just(valid)), label="lock")
        raw = data.draw(st.one_of(st.just(json.dumps(lock)), st.text(max_size=40), json_values.map(json.dumps)),
                        label="lattice.lock")
        (root / "lattice.lock").write_text(confined.text(raw, root), encoding="utf-8", errors="surrogatepass")
        for args in (("status", "--json"), ("plugins", "--offline", "--json")):
            confined.run(root, *args)
        parsed = _json_or_none(raw)
        if isinstance(parsed, dict) and parsed.get("roots") == valid["roots"] and parsed.get("node") == valid["node"]:
            confined.run(root, "lock", "--offline")
    finally:
        confined.done(root)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 4))
@given(st.data())
def test_hostile_generate_manifest_changes_nothing_outside(confined: Confined, data: st.DataObject) -> None:
    """lattice-generated.json names the files a previous run wrote, with their hashes: entries naming
    files outside the project (with their true hashes, as an attacker who knows a dotfile would write
    them) or other files of the project must never be replaced or deleted."""
    root = confined.project(SMALL_PROJECT)
    try:
        (root / ".git").mkdir()
        (root / ".git" / "config").write_text("[core]\n")
        (root / "notes.md").write_text("mine\n")
        names = [".opencode/agent/quick.md", ".opencode/agent/gone.md", "opencode.json", ".git/config",
                 "notes.md", "agents/quick.md", ".opencode/agent/../../notes.md", "@DECOY@/.bashrc",
                 "@UP@/.bashrc", "../" + os.path.relpath(confined.decoy.root / ".bashrc", root.parent),
                 ".opencode/agent/x\x00.md", ".opencode/command/x.md", ""]
        files = data.draw(st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=12)),
                                          st.one_of(st.just("TRUE"), st.text(max_size=8), json_values),
                                          max_size=6), label="files")
        entries = {}
        for name, digest in files.items():
            name = confined.text(name, root)
            if digest == "TRUE":  # the current content's hash: Lattice would take the file for its own
                target = (root / name) if not os.path.isabs(name) else Path(name)
                try:
                    digest = hashlib.sha256(target.read_bytes()).hexdigest()
                except (OSError, ValueError):
                    digest = "0" * 64
            entries[name] = digest
        manifest = data.draw(st.one_of(st.just({"generated_by": "lattice", "files": entries}), json_values),
                             label="manifest")
        (root / ".opencode").mkdir()
        (root / ".opencode" / "lattice-generated.json").write_text(json.dumps(manifest))
        before = {p: p.read_bytes() for p in (root / ".git" / "config", root / "notes.md", root / "agents" / "quick.md")}
        confined.run(root, "generate")
        confined.run(root, "generate", "--force")
        assert {p: p.read_bytes() for p in before} == before
    finally:
        confined.done(root)
