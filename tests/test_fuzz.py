"""Property tests: no input of any kind makes `lattice validate` crash.

Whatever lattice.yaml (and lattice.local.yaml, and an agent's frontmatter) contains, the command ends
with exit code 0 (valid), 1 (invalid) or 2 (usage), and never prints a traceback or the one-line
"internal error" of a bug. Two sources of input: (a) arbitrary YAML documents and arbitrary text or
bytes, (b) the design's full example with random deletions, replacements, retypings and insertions.
"""
from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from conftest import DESIGN, Run
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
def mutated_design(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(DESIGN_DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        paths = _paths(data)
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
LOCK_WORDS = ["1.18.33", "1.0.0", "^1", "file:/tmp/evil.tgz", "https://example.invalid/x.tgz", "git+ssh://x",
              "npm:x@1", "sha512-" + "A" * 86 + "==", "sha1-x", "linux", "!win32", "node 20", "20", "",
              "node_modules/opencode-ai", "../../x"]
LOCK_SMALL = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(LOCK_WORDS), text,
                       st.lists(st.sampled_from(LOCK_WORDS), max_size=3),
                       st.dictionaries(st.sampled_from(LOCK_KEYS), st.sampled_from(LOCK_WORDS), max_size=3))


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
