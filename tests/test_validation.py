"""`lattice validate`: every invalid configuration gets exact, located, one-line messages.

Each case writes a small project (lattice.yaml, agents/, sometimes lattice.local.yaml), runs the real
command in-process and compares stderr line for line: `file:line:col: key.path: message`, sorted, then
the count line. Nothing goes to stdout and no traceback ever appears.
"""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import DESIGN

# 12 lines: anything appended starts at line 13.
BASE = """\
name: demo
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
  ollama:
    models: [llama3.1:8b]
agents:
  a:
    path: a.md
    triggers: [/a]
    routing:
      - anthropic/claude-sonnet-4-5
"""
ROUTING = "    routing:\n      - anthropic/claude-sonnet-4-5\n"


def cfg(extra: str = "", routing: str | None = None, sub: dict[str, str] | None = None,
        agents: str = "") -> str:
    """BASE plus `agents` (more agents, as written) and `extra` (dedented) from line 13. `routing`
    replaces agent a's routing block (its first line is line 12, under `routing:` on line 11); `sub`
    replaces other text of BASE."""
    text = BASE
    if routing is not None:
        text = text.replace(ROUTING, "    routing:\n" + textwrap.indent(textwrap.dedent(routing), "      "))
    for old, new in (sub or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + agents + textwrap.dedent(extra)


def project(root: Path, config: str | bytes, local: str | None = None,
            files: dict[str, str] | None = None) -> Path:
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "agents" / "a.md").write_text("You are agent a.\n")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if isinstance(config, bytes):
        (root / "lattice.yaml").write_bytes(config)
    else:
        (root / "lattice.yaml").write_text(config)
    if local is not None:
        (root / "lattice.local.yaml").write_text(local)
    return root


def assert_invalid(r: Any, *lines: str) -> None:
    n = len(lines)
    expected = "\n".join(lines) + f"\n{n} error{'s' if n != 1 else ''}\n"
    assert (r.code, r.stdout, r.stderr) == (1, "", expected)


def case(id: str, config: str | bytes, *lines: str, local: str | None = None,
         files: dict[str, str] | None = None) -> Any:
    return pytest.param(config, lines, local, files, id=id)


CASES = [
    # ── YAML syntax ───────────────────────────────────────────────────────────
    case("yaml-unclosed-flow-sequence", "name: demo\nplugins: [a@1.0.0, b@1.0.0\n",
         "lattice.yaml:3:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
         "(while parsing a flow sequence started at line 2, column 10)"),
    case("yaml-unterminated-quote", "name: 'demo\n",
         "lattice.yaml:2:1: invalid YAML: found unexpected end of stream "
         "(while scanning a quoted scalar started at line 1, column 7)"),
    case("yaml-tab-indentation", "name: demo\nvcs:\n\tpreset: none\n",
         "lattice.yaml:3:1: invalid YAML: found character '\\t' that cannot start any token "
         "(while scanning for the next token)"),
    case("yaml-bad-indentation", "name: demo\nvcs:\n  preset: none\n   config: {}\n",
         "lattice.yaml:4:10: invalid YAML: mapping values are not allowed here"),
    case("yaml-block-then-sequence", "name: demo\n- agents\n",
         "lattice.yaml:2:1: invalid YAML: expected <block end>, but found '-' "
         "(while parsing a block mapping started at line 1, column 1)"),
    case("yaml-control-character", "name: demo\ndescription: café bell\x07\n",
         "lattice.yaml:2:23: invalid YAML: character #x0007 is not allowed "
         "(control characters must be escaped in a double-quoted string)"),
    case("yaml-undefined-alias", "name: demo\ndefaults:\n  routing: *models\n",
         "lattice.yaml:3:12: invalid YAML: found undefined alias 'models'"),
    case("yaml-bad-escape", 'name: demo\ndescription: "C:\\work"\n',
         "lattice.yaml:2:18: invalid YAML: found unknown escape character 'w' "
         "(while scanning a double-quoted scalar started at line 2, column 14)"),
    case("yaml-not-utf8", b"name: caf\xe9\n",
         "lattice.yaml: not UTF-8 text (byte 9)"),
    case("yaml-two-documents", "name: demo\n---\nname: other\n",
         "lattice.yaml:2:1: invalid YAML: expected a single document in the stream, but found another document"),
    case("yaml-top-level-list", "- name: demo\n",
         "lattice.yaml:1:1: the top level must be a mapping of keys (name:, agents:, ...)"),
    case("yaml-python-tag", "name: !!python/object/apply:os.system ['true']\n",
         "lattice.yaml:1:1: name: cannot load value: could not determine a constructor for the tag "
         "'tag:yaml.org,2002:python/object/apply:os.system'"),
    case("yaml-python-tag-scalar", "name: !!python/name:os.system ''\n",
         "lattice.yaml:1:1: name: cannot load value: could not determine a constructor for the tag "
         "'tag:yaml.org,2002:python/name:os.system'"),
    case("yaml-bad-explicit-int", "name: demo\nproviders:\n  openai:\n    local_budget: !!int lots\n",
         "lattice.yaml:4:5: providers.openai.local_budget: cannot load value: 'lots' is not a valid !!int"),
    case("yaml-binary", "name: demo\ndescription: !!binary aGVsbG8=\n",
         "lattice.yaml:2:1: description: binary data (!!binary) is not supported; write text"),
    case("yaml-nan", cfg(routing="""\
         strategy: weighted
         weights:
           anthropic/claude-sonnet-4-5: .nan
         """),
         "lattice.yaml:14:9: agents.a.routing.weights.anthropic/claude-sonnet-4-5: '.nan' is not a "
         "usable number (NaN and infinity are not allowed)"),
    case("yaml-recursive-alias", "name: demo\nplugin_config:\n  x: &loop\n    self: *loop\n",
         "lattice.yaml:4:5: plugin_config.x.self: recursive alias"),
    case("yaml-key-is-a-list", "name: demo\n[a, b]: c\n",
         "lattice.yaml:2:1: mapping keys must be plain text, not a list or mapping"),
    case("yaml-too-deep", "name: demo\nplugin_config:\n  x: " + "[" * 70 + "]" * 70 + "\n",
         "lattice.yaml:3:69: plugin_config.x[0]...: nested more than 64 levels deep"),

    # ── duplicate keys name both lines ────────────────────────────────────────
    case("duplicate-top-level-key", cfg("name: other\n"),
         "lattice.yaml:13:1: name: duplicate key (first defined at line 1)"),
    case("duplicate-nested-key", cfg(sub={"path: a.md": "path: a.md\n    path: b.md"}),
         "lattice.yaml:10:5: agents.a.path: duplicate key (first defined at line 9)"),
    case("duplicate-agent", cfg(agents="  a:\n    routing: [anthropic/x]\n"),
         "lattice.yaml:13:3: agents.a: duplicate key (first defined at line 8)"),

    # ── YAML 1.1 traps ────────────────────────────────────────────────────────
    case("trap-version-float", cfg(sub={"name: demo": "name: demo\nversion: 1.0"}),
         'lattice.yaml:2:1: version: must be text, not the number 1.0; YAML reads the unquoted 1.0 '
         'as a number, write "1.0" if you mean the text'),
    case("trap-version-int", cfg(sub={"name: demo": "name: demo\nversion: 2"}),
         'lattice.yaml:2:1: version: must be text, not the number 2; YAML reads the unquoted 2 '
         'as a number, write "2" if you mean the text'),
    case("trap-no-as-boolean", cfg(sub={"name: demo": "name: demo\ndescription: no"}),
         'lattice.yaml:2:1: description: must be text, not a boolean; YAML reads the unquoted no '
         'as a boolean, write "no" if you mean the text'),
    case("trap-on-in-message", cfg("hooks:\n  on_error:\n    - action: log.error\n      message: on\n"),
         'lattice.yaml:16:7: hooks.on_error[0].message: must be text, not a boolean; YAML reads '
         'the unquoted on as a boolean, write "on" if you mean the text'),
    case("trap-yes-in-list", cfg("plugins: [yes]\n"),
         'lattice.yaml:13:11: plugins[0]: must be text, not a boolean; YAML reads the unquoted yes '
         'as a boolean, write "yes" if you mean the text'),
    case("trap-name-null", cfg(sub={"name: demo": "name: null"}),
         "lattice.yaml:1:1: name: must not be empty"),
    case("trap-date-where-number", cfg(routing="""\
         strategy: burst
         iterate: ollama/llama3.1:8b
         final: anthropic/claude-opus-4-5
         burst_size: 2024-01-01
         """),
         "lattice.yaml:15:7: agents.a.routing.burst_size: must be a whole number, not a date (2024-01-01)"),
    case("trap-colon-makes-mapping", cfg("plugins:\n  - file:\n"),
         "lattice.yaml:14:5: plugins[0]: must be text, not a mapping; YAML reads 'file:' as a key "
         "because of the ': ' or trailing ':', put the whole text in quotes"),

    # ── unknown keys, with did-you-mean, at every level ───────────────────────
    case("unknown-top-level", cfg("agnets: {}\nbogus: 1\n"),
         "lattice.yaml:13:1: agnets: unknown key 'agnets' (did you mean 'agents'?)",
         "lattice.yaml:14:1: bogus: unknown key 'bogus'"),
    case("unknown-vcs", cfg("vcs:\n  presett: none\n"),
         "lattice.yaml:14:3: vcs.presett: unknown key 'presett' (did you mean 'preset'?)"),
    case("unknown-vcs-config", cfg("vcs:\n  preset: jj-workspace\n  config:\n    workspace: .ws\n"),
         "lattice.yaml:16:5: vcs.config.workspace: unknown key 'workspace' (did you mean 'workspace_dir'?)"),
    case("unknown-provider-key", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    tire: pro"}),
         "lattice.yaml:5:5: providers.anthropic.tire: unknown key 'tire' (did you mean 'tier'?)"),
    case("unknown-defaults-key", cfg("defaults:\n  agent_dir: prompts\n"),
         "lattice.yaml:14:3: defaults.agent_dir: unknown key 'agent_dir' (did you mean 'agents_dir'?)"),
    case("unknown-agent-key", cfg(sub={"triggers": "triggres"}),
         "lattice.yaml:10:5: agents.a.triggres: unknown key 'triggres' (did you mean 'triggers'?)"),
    case("unknown-agent-key-model", cfg(sub={"    path: a.md\n": "    path: a.md\n    model: anthropic/x\n"}),
         "lattice.yaml:10:5: agents.a.model: unknown key 'model' (an agent's models are its routing: "
         "write routing: [provider/model])"),
    case("unknown-routing-map-key", cfg(routing="strategy: fallback\nmodels: [anthropic/x]\nmodles: []\n"),
         "lattice.yaml:14:7: agents.a.routing.modles: unknown key 'modles' (did you mean 'models'?)"),
    case("unknown-mcp-key", cfg("mcp:\n  context7:\n    enabeld: true\n"),
         "lattice.yaml:15:5: mcp.context7.enabeld: unknown key 'enabeld' (did you mean 'enabled'?)"),
    case("unknown-hook-event", cfg("hooks:\n  post_agnet: []\n"),
         "lattice.yaml:14:3: hooks.post_agnet: unknown key 'post_agnet' (did you mean 'post_agent'?)"),
    case("unknown-hook-entry-key", cfg("hooks:\n  pre_agent:\n    - action: vcs.checkpoint\n      whn: always\n"),
         "lattice.yaml:16:7: hooks.pre_agent[0].whn: unknown key 'whn' (did you mean 'when'?)"),
    case("unknown-command-key", cfg("commands:\n  ship:\n    action: vcs.push\n    descripton: Push\n"),
         "lattice.yaml:16:5: commands.ship.descripton: unknown key 'descripton' (did you mean 'description'?)"),

    # ── wrong types ───────────────────────────────────────────────────────────
    case("type-agents-list", "name: demo\nagents:\n  - a\n",
         "lattice.yaml:2:1: agents: must be a mapping, not a list"),
    case("type-triggers-text", cfg(sub={"triggers: [/a]": "triggers: /a"}),
         "lattice.yaml:10:5: agents.a.triggers: must be a list, not the text '/a'"),
    case("type-routing-number", cfg(routing="42\n"),
         "lattice.yaml:11:5: agents.a.routing: must be a list or a mapping, not the number 42"),
    case("type-plugins-mapping", cfg("plugins:\n  foo: 1.0.0\n"),
         "lattice.yaml:13:1: plugins: must be a list, not a mapping"),
    case("type-mcp-enabled", cfg("mcp:\n  context7:\n    enabled: sometimes\n"),
         "lattice.yaml:15:5: mcp.context7.enabled: must be true or false, not the text 'sometimes'"),
    case("type-burst-size-fraction", cfg(routing="""\
         strategy: burst
         iterate: ollama/llama3.1:8b
         final: anthropic/claude-opus-4-5
         burst_size: 2.5
         """),
         "lattice.yaml:15:7: agents.a.routing.burst_size: must be a whole number, not the number 2.5"),
    case("type-burst-size-boolean", cfg(routing="""\
         strategy: burst
         iterate: ollama/llama3.1:8b
         final: anthropic/claude-opus-4-5
         burst_size: true
         """),
         "lattice.yaml:15:7: agents.a.routing.burst_size: must be a whole number, not a boolean"),
    case("type-weight-text", cfg(routing="strategy: weighted\nweights:\n  anthropic/x: lots\n"),
         "lattice.yaml:14:9: agents.a.routing.weights.anthropic/x: must be a number, not the text 'lots'"),
    case("type-hook-entry-text", cfg("hooks:\n  pre_agent:\n    - vcs.checkpoint\n"),
         "lattice.yaml:15:7: hooks.pre_agent[0]: must be a mapping, not the text 'vcs.checkpoint'"),
    case("type-hooks-event-mapping", cfg("hooks:\n  on_error: {action: log.error}\n"),
         "lattice.yaml:14:3: hooks.on_error: must be a list, not a mapping"),
    case("type-local-budget-list", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: [5]"}),
         "lattice.yaml:5:5: providers.anthropic.local_budget: must be a number or 'unlimited', not a list"),
    case("type-agent-empty", "name: demo\nagents:\n  a:\n",
         "lattice.yaml:3:3: agents.a: must not be empty"),
    case("name-missing", BASE.replace("name: demo\n", "description: x\n"),
         "lattice.yaml:1:1: missing required key 'name' (the workflow's name)"),
    case("name-invalid", cfg(sub={"name: demo": "name: my workflow"}),
         "lattice.yaml:1:1: name: 'my workflow' is not letters, digits, '.', '_' or '-'"),
    case("agent-name-invalid", cfg(agents="  'a b':\n    routing: [anthropic/x]\n"),
         "lattice.yaml:13:3: agents.a b: 'a b' is not a valid name (letters, digits, '.', '_' or '-', "
         "starting with a letter or digit)", files={"agents/a b.md": "x"}),
    # cerberus' `$` matches before a final newline: names must end where the text ends (\\Z), and the
    # newline is shown escaped, so the message stays one line
    case("agent-name-trailing-newline", cfg(agents='  "b\\n":\n    routing: [anthropic/x]\n'),
         "lattice.yaml:13:3: agents.b\\n: 'b\\n' is not a valid name (letters, digits, '.', '_' or '-', "
         "starting with a letter or digit)", files={"agents/b\n.md": "x"}),
    case("name-trailing-newline", cfg(sub={"name: demo": 'name: "demo\\n"'}),
         "lattice.yaml:1:1: name: 'demo\\n' is not letters, digits, '.', '_' or '-'"),
    case("provider-name-trailing-newline",
         cfg(sub={"  ollama:\n": '  "local\\n":\n    base_url: http://127.0.0.1:1/v1\n  ollama:\n'}),
         "lattice.yaml:5:3: providers.local\\n: 'local\\n' is not a valid name (letters, digits, '.', '_' "
         "or '-', starting with a letter or digit)"),
    case("command-name-trailing-newline", cfg('commands:\n  "ship\\n":\n    action: vcs.push\n'),
         "lattice.yaml:14:3: commands.ship\\n: 'ship\\n' is not a valid name (letters, digits, '.', '_' or "
         "'-', starting with a letter or digit; '/' between folder names)"),

    # ── unknown strategy, preset, on_unavailable ──────────────────────────────
    case("unknown-strategy", cfg(routing="strategy: lottery\nmodels: [anthropic/x]\n"),
         "lattice.yaml:12:7: agents.a.routing.strategy: unknown strategy 'lottery' "
         "(expected fallback, pattern, weighted, round_robin, burst)"),
    case("unknown-strategy-case", cfg(routing="strategy: Pattern\npattern: [anthropic/x]\n"),
         "lattice.yaml:12:7: agents.a.routing.strategy: unknown strategy 'Pattern' "
         "(expected fallback, pattern, weighted, round_robin, burst) (did you mean 'pattern'?)"),
    case("unknown-preset", cfg("vcs:\n  preset: jj-workspaces\n"),
         "lattice.yaml:14:3: vcs.preset: unknown preset 'jj-workspaces' "
         "(expected jj-workspace, jj-checkpoint, git-stash, none) (did you mean 'jj-workspace'?)"),
    case("unknown-on-unavailable", cfg(routing="strategy: pattern\npattern: [anthropic/x]\non_unavailable: skip\n"),
         "lattice.yaml:14:7: agents.a.routing.on_unavailable: unknown on_unavailable mode 'skip' "
         "(expected next, retry, fallback)"),

    # ── per-strategy key rules ────────────────────────────────────────────────
    case("pattern-empty", cfg(routing="strategy: pattern\npattern: []\n"),
         "lattice.yaml:13:7: agents.a.routing.pattern: needs at least one model"),
    case("routing-list-empty", cfg(routing="[]\n"),
         "lattice.yaml:11:5: agents.a.routing: needs at least one model"),
    case("weights-not-positive", cfg(routing="strategy: weighted\nweights:\n  anthropic/x: 0\n  anthropic/y: -1\n"),
         "lattice.yaml:14:9: agents.a.routing.weights.anthropic/x: weight must be positive, not 0",
         "lattice.yaml:15:9: agents.a.routing.weights.anthropic/y: weight must be positive, not -1"),
    case("burst-missing-final", cfg(routing="strategy: burst\niterate: ollama/llama3.1:8b\nburst_size: 3\n"),
         "lattice.yaml:11:5: agents.a.routing: strategy burst needs 'final'"),
    case("burst-size-zero", cfg(routing="""\
         strategy: burst
         iterate: ollama/llama3.1:8b
         final: anthropic/claude-opus-4-5
         burst_size: 0
         """),
         "lattice.yaml:15:7: agents.a.routing.burst_size: must be at least 1, not 0"),
    case("weights-under-pattern", cfg(routing="strategy: pattern\npattern: [anthropic/x]\nweights: {anthropic/x: 1}\n"),
         "lattice.yaml:14:7: agents.a.routing.weights: 'weights' does not apply to strategy pattern "
         "(it belongs to weighted)"),
    case("track-under-fallback", cfg(routing="strategy: fallback\nmodels: [anthropic/x]\ntrack: true\n"),
         "lattice.yaml:14:7: agents.a.routing.track: 'track' does not apply to strategy fallback "
         "(it belongs to weighted)"),
    case("routing-map-without-strategy", cfg(routing="models: [anthropic/x]\n"),
         "lattice.yaml:11:5: agents.a.routing: missing key 'strategy' "
         "(one of fallback, pattern, weighted, round_robin, burst)"),
    case("routing-strategy-typo", cfg(routing="stratgy: pattern\npattern: [anthropic/x]\n"),
         "lattice.yaml:12:7: agents.a.routing.stratgy: unknown key 'stratgy' (did you mean 'strategy'?)"),
    case("round-robin-without-models", cfg(routing="strategy: round_robin\n"),
         "lattice.yaml:11:5: agents.a.routing: strategy round_robin needs 'models'"),
    case("on-unavailable-fallback-without-models",
         cfg(routing="strategy: pattern\npattern: [anthropic/x]\non_unavailable: fallback\n"),
         "lattice.yaml:14:7: agents.a.routing.on_unavailable: on_unavailable: fallback needs 'fallback_models'"),
    case("fallback-models-without-mode",
         cfg(routing="strategy: pattern\npattern: [anthropic/x]\nfallback_models: [ollama/llama3.1:8b]\n"),
         "lattice.yaml:14:7: agents.a.routing.fallback_models: fallback_models is only used with "
         "on_unavailable: fallback"),
    case("agent-without-any-routing", cfg(agents="  b:\n    triggers: [/b]\n"),
         "lattice.yaml:13:3: agents.b: no routing: give the agent `routing:` or set defaults.routing",
         files={"agents/b.md": "b"}),

    # ── model references ──────────────────────────────────────────────────────
    case("model-undeclared-provider", cfg(routing="- anthropc/claude-opus-4-5\n"),
         "lattice.yaml:12:9: agents.a.routing[0]: 'anthropc/claude-opus-4-5': provider 'anthropc' is "
         "not declared in providers (declared: anthropic, ollama) (did you mean 'anthropic'?)"),
    case("model-not-listed", cfg(routing="- ollama/llama3.1:70b\n"),
         "lattice.yaml:12:9: agents.a.routing[0]: 'ollama/llama3.1:70b': model 'llama3.1:70b' is not in "
         "providers.ollama.models (llama3.1:8b) (did you mean 'llama3.1:8b'?)"),
    case("model-without-provider", cfg(routing="- claude-opus\n"),
         "lattice.yaml:12:9: agents.a.routing[0]: 'claude-opus' is not provider/model"),
    case("model-in-weights-undeclared", cfg(routing="strategy: weighted\nweights:\n  openai/gpt-4o: 1\n"),
         "lattice.yaml:14:9: agents.a.routing.weights.openai/gpt-4o: 'openai/gpt-4o': provider 'openai' "
         "is not declared in providers (declared: anthropic, ollama)"),
    case("model-burst-final-undeclared", cfg(routing="""\
         strategy: burst
         iterate: ollama/llama3.1:8b
         final: openai/o3
         burst_size: 3
         """),
         "lattice.yaml:14:7: agents.a.routing.final: 'openai/o3': provider 'openai' is not declared in "
         "providers (declared: anthropic, ollama)"),
    case("model-default-routing", cfg("defaults:\n  routing: [google/gemini-2.5-flash]\n"),
         "lattice.yaml:14:13: defaults.routing[0]: 'google/gemini-2.5-flash': provider 'google' is not "
         "declared in providers (declared: anthropic, ollama)"),

    # ── triggers ──────────────────────────────────────────────────────────────
    case("trigger-without-slash", cfg(sub={"triggers: [/a]": "triggers: [a, '/b c', /]"}),
         "lattice.yaml:10:16: agents.a.triggers[0]: trigger 'a' must start with '/' followed by a name (like /a)",
         "lattice.yaml:10:19: agents.a.triggers[1]: trigger '/b c' must start with '/' followed by a name (like /b)",
         "lattice.yaml:10:27: agents.a.triggers[2]: trigger '/' must start with '/' followed by a name (like /plan)"),
    case("trigger-odd-characters", cfg(sub={"triggers: [/a]": 'triggers: ["\\t", "/é", "//x"]'}),
         "lattice.yaml:10:16: agents.a.triggers[0]: trigger '\\t' must start with '/' followed by a name (like /plan)",
         "lattice.yaml:10:22: agents.a.triggers[1]: trigger '/é' must start with '/' followed by a name (like /plan)",
         "lattice.yaml:10:28: agents.a.triggers[2]: trigger '//x' must start with '/' followed by a name (like /x)"),
    case("trigger-duplicate-across-agents",
         cfg(agents="  b:\n    triggers: [/b, /a]\n    routing: [anthropic/x]\n"),
         "lattice.yaml:14:20: agents.b.triggers[1]: trigger '/a' is already used by agent 'a'",
         files={"agents/b.md": "b"}),
    case("trigger-is-command-name", cfg("commands:\n  a:\n    action: vcs.push\n"),
         "lattice.yaml:10:16: agents.a.triggers[0]: trigger '/a' is also the name of command 'a'"),

    # ── hooks and commands ────────────────────────────────────────────────────
    case("hook-unknown-action", cfg("hooks:\n  pre_agent:\n    - action: vcs.chekpoint\n"),
         "lattice.yaml:15:7: hooks.pre_agent[0].action: unknown action 'vcs.chekpoint' (expected "
         "vcs.checkpoint, vcs.commit, vcs.push, vcs.undo, route.fallback, route.skip_provider, "
         "notify.terminal, notify.slack, log.info, log.warning, log.error) (did you mean 'vcs.checkpoint'?)"),
    case("hook-missing-action", cfg("hooks:\n  pre_agent:\n    - when: always\n"),
         "lattice.yaml:15:7: hooks.pre_agent[0]: missing required key 'action'"),
    case("hook-channel-not-slack", cfg("hooks:\n  post_agent:\n    - action: notify.terminal\n      channel: '#x'\n"),
         "lattice.yaml:16:7: hooks.post_agent[0].channel: channel only applies to action notify.slack"),
    case("command-unknown-action", cfg("commands:\n  ship:\n    action: git.push\n"),
         "lattice.yaml:15:5: commands.ship.action: unknown action 'git.push' (expected vcs.push, "
         "vcs.undo, vcs.status, vcs.checkpoint, vcs.commit, providers.status, agents.status, "
         "routing.status, routing.reset, status) (did you mean 'vcs.push'?)"),
    case("command-missing-action", cfg("commands:\n  ship:\n    description: Push\n"),
         "lattice.yaml:14:3: commands.ship: give one of action (a built-in action), template (a prompt "
         "template) or path (a markdown file holding one)"),
    case("when-conditions", cfg("""\
         hooks:
           post_agent:
             - action: log.info
               when: agent = "x"
             - action: log.info
               when: error_count > three
             - action: log.info
               when: files_changed and
             - action: log.info
               when: (always
             - action: log.info
               when: agent == x
             - action: log.info
               when: __import__('os').system('x')
             - action: log.info
               when: agent == "x" and not files_changed
             - action: log.info
               when: error_count > 3
             - action: log.info
               when: (provider == "openai" or always) and not never
         """),
         "lattice.yaml:16:7: hooks.post_agent[0].when: invalid condition: unexpected character '=' at "
         "column 7 (compare with ==)",
         "lattice.yaml:18:7: hooks.post_agent[1].when: invalid condition: expected a whole number at "
         "column 15, found 'three'",
         "lattice.yaml:20:7: hooks.post_agent[2].when: invalid condition: condition ends too early",
         "lattice.yaml:22:7: hooks.post_agent[3].when: invalid condition: the '(' at column 1 is never closed",
         "lattice.yaml:24:7: hooks.post_agent[4].when: invalid condition: expected a quoted name after "
         "agent == at column 10, found 'x'",
         "lattice.yaml:26:7: hooks.post_agent[5].when: invalid condition: unknown name '__import__' at "
         "column 1 (expected one of agent, always, error_count, files_changed, model, never, provider)"),

    # ── environment variable names ────────────────────────────────────────────
    case("provider-env-invalid", cfg(sub={"env: ANTHROPIC_API_KEY": "env: 1BAD"}),
         "lattice.yaml:4:5: providers.anthropic.env: '1BAD' is not a valid environment variable name"),
    case("mcp-env-reference-invalid", cfg("mcp:\n  mine:\n    command: node x.js\n    env:\n      TOKEN: ${bad-name}\n"),
         "lattice.yaml:17:7: mcp.mine.env.TOKEN: '${bad-name}' is not a valid environment variable name"),
    case("mcp-env-name-invalid", cfg("mcp:\n  mine:\n    command: node x.js\n    env:\n      1BAD: x\n"),
         "lattice.yaml:17:7: mcp.mine.env.1BAD: '1BAD' is not a valid environment variable name"),
    case("provider-env-trailing-newline", cfg(sub={"env: ANTHROPIC_API_KEY": 'env: "ANTHROPIC_API_KEY\\n"'}),
         "lattice.yaml:4:5: providers.anthropic.env: 'ANTHROPIC_API_KEY\\n' is not a valid environment "
         "variable name"),
    case("mcp-env-name-trailing-newline", cfg('mcp:\n  mine:\n    command: node x.js\n    env:\n      "MODE\\n": x\n'),
         "lattice.yaml:17:7: mcp.mine.env.MODE\\n: 'MODE\\n' is not a valid environment variable name"),

    # ── plugin specs ──────────────────────────────────────────────────────────
    case("plugins", cfg("""\
         plugins:
           - foo
           - foo@^1.2
           - github:o/r
           - Not A Plugin!
           - bar@1.0.0
           - bar@1.0.1
           - file:../nowhere
           - 'file:'
           - '@scope/ok@1.0.0'
           - baz@latest
         """),
         "lattice.yaml:14:5: plugins[0]: 'foo' is not pinned: write foo@VERSION",
         "lattice.yaml:15:5: plugins[1]: 'foo@^1.2': '^1.2' is not an exact version (pin one, like foo@1.2.3)",
         "lattice.yaml:16:5: plugins[2]: 'github:o/r' is not pinned: add @REF (a tag or commit)",
         "lattice.yaml:17:5: plugins[3]: 'Not A Plugin!' is not a plugin spec (expected name@1.2.3, "
         "@scope/name@1.2.3, github:owner/repo@ref or file:path)",
         "lattice.yaml:19:5: plugins[5]: plugin 'bar' is listed twice (also plugins[4])",
         "lattice.yaml:20:5: plugins[6]: 'file:../nowhere': ../nowhere does not exist",
         "lattice.yaml:21:5: plugins[7]: file: plugin needs a path (file:../my-plugin)",
         "lattice.yaml:23:5: plugins[9]: 'baz@latest': 'latest' is not an exact version (pin one, like baz@1.2.3)"),

    # ── MCP servers ───────────────────────────────────────────────────────────
    case("mcp-unknown-server", cfg("mcp:\n  contex7:\n    enabled: true\n"),
         "lattice.yaml:14:3: mcp.contex7: unknown MCP server 'contex7' (known: context7, websearch_exa, "
         "grep_app, filesystem, memory); give command for a local server or url for a remote one "
         "(did you mean 'context7'?)"),
    case("mcp-command-and-url", cfg("mcp:\n  mine:\n    command: node x.js\n    url: https://example.com/mcp\n"),
         "lattice.yaml:14:3: mcp.mine: give either command (a local server) or url (a remote one), not both"),
    case("mcp-args-without-command", cfg("mcp:\n  memory:\n    args: [--verbose]\n"),
         "lattice.yaml:15:5: mcp.memory.args: 'args' needs 'command'"),
    case("mcp-unbalanced-quotes", cfg("mcp:\n  mine:\n    command: node 'my server.js\n"),
         "lattice.yaml:15:5: mcp.mine.command: cannot split command into words: No closing quotation"),
    case("mcp-command-empty", cfg("mcp:\n  mine:\n    command: []\n  blank:\n    command: '  '\n"),
         "lattice.yaml:15:5: mcp.mine.command: needs at least the program to run",
         "lattice.yaml:17:5: mcp.blank.command: needs at least the program to run"),
    case("mcp-url-not-http", cfg("mcp:\n  mine:\n    url: ftp://example.com\n"),
         "lattice.yaml:15:5: mcp.mine.url: 'ftp://example.com' is not an http(s) URL"),

    # ── vcs ───────────────────────────────────────────────────────────────────
    case("vcs-key-not-for-preset", cfg("vcs:\n  preset: git-stash\n  config:\n    workspace_dir: .ws\n"),
         "lattice.yaml:16:5: vcs.config.workspace_dir: 'workspace_dir' only applies to preset "
         "jj-workspace, not git-stash"),
    case("vcs-config-with-preset-none", cfg("vcs:\n  preset: none\n  config:\n    commit_message: 'ai: {summary}'\n"),
         "lattice.yaml:16:5: vcs.config.commit_message: 'commit_message' does not apply to preset none "
         "(no VCS integration)"),
    case("vcs-config-without-preset", cfg("vcs:\n  config:\n    gate_enforcement: true\n"),
         "lattice.yaml:15:5: vcs.config.gate_enforcement: 'gate_enforcement' does not apply without "
         "vcs.preset (set one of jj-workspace, jj-checkpoint, git-stash)"),
    case("vcs-unknown-placeholder", cfg("vcs:\n  preset: jj-checkpoint\n  config:\n    checkpoint_message: 'before {agnt}'\n"),
         "lattice.yaml:16:5: vcs.config.checkpoint_message: unknown placeholder '{agnt}' (expected "
         "{agent}, {date}, {model}, {provider}, {summary}) (did you mean '{agent}'?)"),
    case("vcs-unbalanced-brace", cfg("vcs:\n  preset: jj-checkpoint\n  config:\n    commit_message: 'ai({agent): x'\n"),
         "lattice.yaml:16:5: vcs.config.commit_message: unbalanced '{' or '}' (write {{ or }} for a "
         "literal brace)"),

    # ── providers ─────────────────────────────────────────────────────────────
    case("local-budget-word", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: unlimted"}),
         "lattice.yaml:5:5: providers.anthropic.local_budget: must be a number (dollars) or 'unlimited', "
         "not 'unlimted' (did you mean 'unlimited'?)"),
    case("local-budget-negative", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: -5"}),
         "lattice.yaml:5:5: providers.anthropic.local_budget: must not be negative, not -5"),
    case("local-budget-boolean", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: no"}),
         "lattice.yaml:5:5: providers.anthropic.local_budget: must be a number or 'unlimited', not a boolean"),
    case("budget-period-unknown", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: 50\n    budget_period: monht"}),
         "lattice.yaml:6:5: providers.anthropic.budget_period: unknown budget_period 'monht' (expected month, day) "
         "(did you mean 'month'?)"),
    case("budget-period-key-typo", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: 50\n    budget_perod: day"}),
         "lattice.yaml:6:5: providers.anthropic.budget_perod: unknown key 'budget_perod' (did you mean 'budget_period'?)"),
    case("budget-period-number", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    local_budget: 50\n    budget_period: 30"}),
         "lattice.yaml:6:5: providers.anthropic.budget_period: must be 'month' or 'day', not the number 30"),
    case("provider-env-and-auth", cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    auth: antigravity"}),
         "lattice.yaml:5:5: providers.anthropic.auth: give either env or auth, not both"),
    case("provider-base-url", cfg(sub={"models:": "base_url: localhost:11434\n    models:"}),
         "lattice.yaml:6:5: providers.ollama.base_url: 'localhost:11434' is not an http(s) URL"),
    case("provider-base-url-trailing-newline", cfg(sub={"models:": 'base_url: "http://127.0.0.1:1/v1\\n"\n    models:'}),
         "lattice.yaml:6:5: providers.ollama.base_url: 'http://127.0.0.1:1/v1\\n' is not an http(s) URL"),
    case("provider-named-like-the-bridge", cfg(sub={"  ollama:\n": "  lattice:\n    base_url: http://127.0.0.1:1/v1\n  ollama:\n"}),
         "lattice.yaml:5:3: providers.lattice: the name 'lattice' is taken by Lattice's routing bridge in a "
         "built environment; name the provider differently"),

    # ── failover settings ─────────────────────────────────────────────────────
    case("first-byte-timeout-zero", cfg("defaults:\n  first_byte_timeout: 0\n"),
         "lattice.yaml:14:3: defaults.first_byte_timeout: must be more than 0 seconds, not 0"),
    case("first-byte-timeout-text", cfg(sub={"models:": "first_byte_timeout: soon\n    models:"}),
         "lattice.yaml:6:5: providers.ollama.first_byte_timeout: must be a number of seconds, not the text 'soon'"),
    case("first-byte-timeout-negative", cfg(sub={"models:": "first_byte_timeout: -3\n    models:"}),
         "lattice.yaml:6:5: providers.ollama.first_byte_timeout: must be more than 0 seconds, not -3"),
    case("failure-cooldown-negative", cfg("defaults:\n  failure_cooldown: -1\n"),
         "lattice.yaml:14:3: defaults.failure_cooldown: must not be negative, not -1"),
    case("failover-on-client-error-word", cfg("defaults:\n  failover_on_client_error: sometimes\n"),
         "lattice.yaml:14:3: defaults.failover_on_client_error: must be true or false, not the text 'sometimes'"),
    case("failover-key-typo", cfg("defaults:\n  first_byte_timout: 5\n"),
         "lattice.yaml:14:3: defaults.first_byte_timout: unknown key 'first_byte_timout' (did you mean "
         "'first_byte_timeout'?)"),
    case("agent-named-defaults", cfg(agents="  defaults:\n    path: a.md\n    routing: [anthropic/claude-sonnet-4-5]\n"),
         "lattice.yaml:13:3: agents.defaults: the name 'defaults' is reserved: inside an environment, "
         "lattice/defaults routes opencode's own agents (build, plan, general) by defaults.routing; rename the agent"),

    # ── lattice.local.yaml errors name that file ──────────────────────────────
    case("local-unknown-key", BASE,
         "lattice.local.yaml:3:5: agents.a.trigger: unknown key 'trigger' (did you mean 'triggers'?)",
         local="agents:\n  a:\n    trigger: [/b]\n"),
    case("local-bad-budget", BASE,
         "lattice.local.yaml:3:5: providers.anthropic.local_budget: must be a number (dollars) or "
         "'unlimited', not 'many'",
         local="providers:\n  anthropic:\n    local_budget: many\n"),
    case("local-undeclared-provider", BASE,
         "lattice.local.yaml:3:15: agents.a.routing[0]: 'openai/o3': provider 'openai' is not declared in "
         "providers (declared: anthropic, ollama)",
         local="agents:\n  a:\n    routing: [openai/o3]\n"),
    case("local-removes-needed-provider", BASE,
         "lattice.yaml:12:9: agents.a.routing[0]: 'anthropic/claude-sonnet-4-5': provider 'anthropic' "
         "is not declared in providers (declared: ollama)",
         local="providers:\n  anthropic: null\n"),
    case("local-syntax-error", BASE,
         "lattice.local.yaml:2:1: invalid YAML: expected the node content, but found '<stream end>' "
         "(while parsing a flow node)",
         local="agents: [\n"),
    case("local-top-level-list", BASE,
         "lattice.local.yaml:1:1: the top level must be a mapping of keys (name:, agents:, ...)",
         local="- a\n"),
    case("local-duplicate-key", BASE,
         "lattice.local.yaml:2:1: name: duplicate key (first defined at line 1)",
         local="name: x\nname: y\n"),
]


@pytest.mark.parametrize(("config", "lines", "local", "files"), CASES)
def test_invalid_configuration(run, tmp_path, config, lines, local, files):
    project(tmp_path, config, local=local, files=files)
    assert_invalid(run("validate", "--offline"), *lines)


def test_issue_example_points_at_the_key(run, tmp_path):
    """The issue's own example, literally: `strategy: lottery` on line 12, the key indented 6 spaces,
    so the error is at 12:7 (the key), not 12:17 (the value)."""
    config = (
        "name: demo\n"                      # 1
        "providers:\n"                      # 2
        "  anthropic:\n"                    # 3
        "    env: ANTHROPIC_API_KEY\n"      # 4
        "agents:\n"                         # 5
        "  a:\n"                            # 6
        "    path: a.md\n"                  # 7
        "    triggers: [/a]\n"              # 8
        "    description: The example\n"    # 9
        "    routing:\n"                    # 10
        "      models: [anthropic/x]\n"     # 11
        "      strategy: lottery\n"         # 12
    )
    assert config.splitlines()[11].index("strategy:") + 1 == 7
    project(tmp_path, config)
    r = run("validate", "--offline")
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr.splitlines() == [
        "lattice.yaml:12:7: agents.a.routing.strategy: unknown strategy 'lottery' (expected fallback, "
        "pattern, weighted, round_robin, burst)",
        "1 error"]

def test_there_are_enough_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


# ── agent paths ───────────────────────────────────────────────────────────────

@pytest.mark.parametrize(("path", "message"), [
    ("/etc/passwd", "'/etc/passwd' must be relative to agents_dir, not absolute"),
    ("~/prompts/a.md", "'~/prompts/a.md' must be relative to agents_dir, not absolute"),
    ("../lattice.yaml", "'../lattice.yaml' leaves agents_dir ('..' is not allowed)"),
    ("sub/../../a.md", "'sub/../../a.md' leaves agents_dir ('..' is not allowed)"),
    ("missing.md", "agent file agents/missing.md does not exist"),
    ("sub", "agent file agents/sub is not a regular file"),
])
def test_agent_path_rejected(run, tmp_path, path, message):
    project(tmp_path, cfg(sub={"path: a.md": f"path: '{path}'"}))
    (tmp_path / "agents" / "sub").mkdir()
    assert_invalid(run("validate", "--offline"), f"lattice.yaml:9:5: agents.a.path: {message}")


def test_agent_default_path_missing(run, tmp_path):
    """Without `path`, the agent's file is `<name>.md`; the error points at the agent."""
    project(tmp_path, cfg(agents="  b:\n    routing: [anthropic/x]\n"))
    assert_invalid(run("validate", "--offline"),
                   "lattice.yaml:13:3: agents.b: agent file agents/b.md does not exist")


def test_agents_dir_is_honoured(run, tmp_path):
    project(tmp_path, cfg("defaults:\n  agents_dir: prompts\n"))
    assert_invalid(run("validate", "--offline"),
                   "lattice.yaml:9:5: agents.a.path: agent file prompts/a.md does not exist")


def test_agent_symlink_out_of_agents_dir(run, tmp_path):
    project(tmp_path, cfg(sub={"path: a.md": "path: link.md"}))
    outside = tmp_path / "secret.md"
    outside.write_text("not an agent")
    (tmp_path / "agents" / "link.md").symlink_to(outside)
    assert_invalid(run("validate", "--offline"),
                   f"lattice.yaml:9:5: agents.a.path: 'link.md' is a symlink that leads out of "
                   f"agents_dir (to {os.path.realpath(outside)})")


def test_agent_broken_symlink(run, tmp_path):
    project(tmp_path, cfg(sub={"path: a.md": "path: link.md"}))
    (tmp_path / "agents" / "link.md").symlink_to("gone.md")
    assert_invalid(run("validate", "--offline"),
                   "lattice.yaml:9:5: agents.a.path: agent file agents/link.md is a broken symlink")


def test_agent_symlink_inside_agents_dir_is_fine(run, tmp_path):
    project(tmp_path, cfg(sub={"path: a.md": "path: alias.md"}))
    (tmp_path / "agents" / "alias.md").symlink_to("a.md")
    r = run("validate", "--offline")
    assert r.code == 0, r.stderr


# ── agent frontmatter: located inside the .md file ────────────────────────────

@pytest.mark.parametrize(("front", "lines"), [
    ("---\ntemperature: 3\n---\nYou are a.\n",
     ["agents/a.md:2:1: temperature: must be at most 2, not 3"]),
    ("---\ntemperature: hot\n---\nYou are a.\n",
     ["agents/a.md:2:1: temperature: must be a number, not the text 'hot'"]),
    ("---\ntemprature: 0.3\n---\nYou are a.\n",
     ["agents/a.md:2:1: temprature: unknown key 'temprature' (did you mean 'temperature'?)"]),
    ("---\nmodel: anthropic/claude-opus-4-5\n---\nYou are a.\n",
     ["agents/a.md:2:1: model: the model is chosen by routing in lattice.yaml; use model_preference "
      "for a hint"]),
    ("---\ntemperature: 0.3\nYou are a.\n",
     ["agents/a.md:1:1: frontmatter opened with '---' is never closed"]),
    ("---\ntools: {write: false\n---\nYou are a.\n",
     ["agents/a.md:3:1: invalid YAML: expected ',' or '}', but got '<stream end>' "
      "(while parsing a flow mapping started at line 2, column 8)"]),
    ("---\n- subagent\n---\nYou are a.\n",
     ["agents/a.md:2:1: frontmatter must be a mapping of keys"]),
    ("---\nmode: sub\ntools:\n  write: maybe\nmax_tokens: yes\n---\nYou are a.\n",
     ["agents/a.md:2:1: mode: unknown mode 'sub' (expected primary, subagent, all)",
      "agents/a.md:4:3: tools.write: must be true or false, not the text 'maybe'",
      "agents/a.md:5:1: max_tokens: must be a whole number, not a boolean"]),
    ("---\ntemperature: 0.2\ntemperature: 0.4\n---\nYou are a.\n",
     ["agents/a.md:3:1: temperature: duplicate key (first defined at line 2)"]),
    ("\ufeff---\r\nmax_tokens: 0\r\n---\r\nYou are a.\r\n",
     ["agents/a.md:2:1: max_tokens: must be at least 1, not 0"]),    ("---\noptions: seed\n---\nYou are a.\n",
     ["agents/a.md:2:1: options: must be a mapping, not the text 'seed'"]),
])
def test_agent_frontmatter(run, tmp_path, front, lines):
    project(tmp_path, BASE)
    (tmp_path / "agents" / "a.md").write_text(front, newline="")
    assert_invalid(run("validate", "--offline"), *lines)


def test_agent_frontmatter_valid_keys(run, tmp_path):
    project(tmp_path, BASE)
    (tmp_path / "agents" / "a.md").write_text(
        "---\nmodel_preference: claude-opus\ntemperature: 0.7\nmax_tokens: 4000\nmode: subagent\n"
        "tools:\n  write: false\noptions:\n  seed: 7\n---\n\nYou are a.\n")
    r = run("validate", "--offline")
    assert r.code == 0, r.stderr


# ── many errors at once ───────────────────────────────────────────────────────

def test_every_error_is_reported_sorted_with_a_count(run, tmp_path):
    config = cfg("""\
        agnets: {}
        vcs:
          preset: jj-workspac
        plugins: [foo]
        """, routing="strategy: lottery\nmodels: [anthropic/x]\n", sub={"name: demo": "name: demo\nversion: 1.0"})
    project(tmp_path, config, local="providers:\n  ollama:\n    modles: []\n")
    (tmp_path / "agents" / "a.md").write_text("---\ntemperature: 5\n---\nYou are a.\n")
    r = run("validate", "--offline")
    assert_invalid(
        r,
        "agents/a.md:2:1: temperature: must be at most 2, not 5",
        "lattice.local.yaml:3:5: providers.ollama.modles: unknown key 'modles' (did you mean 'models'?)",
        'lattice.yaml:2:1: version: must be text, not the number 1.0; YAML reads the unquoted 1.0 as a '
        'number, write "1.0" if you mean the text',
        "lattice.yaml:13:7: agents.a.routing.strategy: unknown strategy 'lottery' "
        "(expected fallback, pattern, weighted, round_robin, burst)",
        "lattice.yaml:15:1: agnets: unknown key 'agnets' (did you mean 'agents'?)",
        "lattice.yaml:17:3: vcs.preset: unknown preset 'jj-workspac' (expected jj-workspace, "
        "jj-checkpoint, git-stash, none) (did you mean 'jj-workspace'?)",
        "lattice.yaml:18:11: plugins[0]: 'foo' is not pinned: write foo@VERSION",
    )
    assert "Traceback" not in r.stderr


def test_syntax_errors_in_several_files_are_all_reported(run, tmp_path):
    project(tmp_path, "name: [\n", local="a: b: c\n")
    assert_invalid(run("validate", "--offline"),
                   "lattice.local.yaml:1:5: invalid YAML: mapping values are not allowed here",
                   "lattice.yaml:2:1: invalid YAML: expected the node content, but found '<stream end>' "
                   "(while parsing a flow node)")


def test_warnings_are_listed_with_errors_but_not_counted(run, tmp_path):
    project(tmp_path, cfg("plugin_config:\n  oh-my-opencode: {}\nbogus: 1\n"))
    r = run("validate", "--offline")
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr == (
        "lattice.yaml:14:3: warning: plugin_config.oh-my-opencode: plugin 'oh-my-opencode' is not in "
        "plugins; this configuration is unused\n"
        "lattice.yaml:15:1: bogus: unknown key 'bogus'\n"
        "1 error\n")


# ── valid input, warnings, --strict, usage errors, --json ─────────────────────

def test_design_example_is_valid(run):
    r = run("validate", "--offline", cwd=DESIGN)
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("dpshade-workflow: valid (10 agents, 4 providers, 4 plugins")
    assert "Traceback" not in r.stderr


def test_valid_with_every_routing_strategy_and_hook(run, tmp_path):
    project(tmp_path, """\
name: strategies
version: "1.0"
vcs:
  preset: jj-workspace
  config: {workspace_dir: .ws, commit_message: "ai({agent}): {summary}"}
providers:
  anthropic: {env: ANTHROPIC_API_KEY, local_budget: unlimited}
  openai: {env: OPENAI_API_KEY, local_budget: 12.5}
  ollama: {models: [llama3.1:8b, llama3.1:70b]}
agents:
  a:
    routing: {strategy: fallback, models: [anthropic/claude-opus-4-5, openai/gpt-5.2]}
  b:
    routing:
      strategy: pattern
      pattern: [anthropic/claude-sonnet-4-5, anthropic/claude-sonnet-4-5, openai/gpt-4o]
      on_unavailable: fallback
      fallback_models: [ollama/llama3.1:70b]
  c:
    routing: {strategy: weighted, weights: {anthropic/claude-sonnet-4-5: 75, openai/gpt-4o: 25}, track: true}
  d:
    routing: {strategy: round_robin, models: [anthropic/x, openai/y], on_unavailable: retry}
  e:
    routing:
      strategy: burst
      iterate: ollama/llama3.1:8b
      final: anthropic/claude-opus-4-5
      burst_size: 5
      final_trigger: finalize
mcp:
  context7: {enabled: true}
  mine: {command: "node './my server.js'", args: [--port, "3000"], env: {API_KEY: "${MY_API_KEY}"}}
  remote: {url: "https://example.com/mcp", headers: {Authorization: "Bearer ${TOKEN}"}}
commands:
  ship: {description: Push, action: vcs.push}
hooks:
  post_agent:
    - action: notify.slack
      when: agent == "a" and not files_changed
      channel: "#designs"
    - action: log.warning
      when: error_count > 3
      message: "Budget exceeded for {provider}"
""", files={f"agents/{n}.md": f"You are {n}.\n" for n in "bcde"})
    r = run("validate", "--offline")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("strategies: valid (5 agents, 3 providers, 0 plugins")


def test_yaml_1_1_words_as_keys_stay_text(run, tmp_path):
    """Keys are kept as written: a command called `no` is not the boolean false."""
    project(tmp_path, cfg("commands:\n  no: {action: vcs.undo}\n  on: {action: vcs.status}\n"))
    r = run("config", "--json")
    assert r.code == 0, r.stderr
    assert sorted(json.loads(r.stdout)["commands"]) == ["no", "on"]
    assert run("validate", "--offline").code == 0


def test_dates_are_kept_as_text(run, tmp_path):
    project(tmp_path, cfg(sub={"name: demo": "name: demo\nversion: 2024-01-01"}))
    r = run("config", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "2024-01-01"
    assert run("validate", "--offline").code == 0


def test_unset_env_var_is_a_warning_not_an_error(run, tmp_path):
    project(tmp_path, BASE)
    r = run("validate", "--offline")
    assert r.code == 0
    assert r.stdout.startswith("demo: valid (")
    assert r.stderr == ("lattice.yaml:4:5: warning: providers.anthropic.env: ANTHROPIC_API_KEY is not "
                        "set in this environment\n")


def test_budget_period_without_a_local_budget_is_a_warning(run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    project(tmp_path, cfg(sub={"env: ANTHROPIC_API_KEY": "env: ANTHROPIC_API_KEY\n    budget_period: day"}))
    r = run("validate", "--offline")
    assert r.code == 0 and r.stdout.startswith("demo: valid (")
    assert r.stderr == ("lattice.yaml:5:5: warning: providers.anthropic.budget_period: has no effect without "
                        "a local_budget (dollars) to count against\n")


def test_failover_settings_are_valid_and_reach_the_workflow(run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    project(tmp_path, cfg("defaults:\n  first_byte_timeout: 2.5\n  failure_cooldown: 0\n"
                          "  failover_on_client_error: true\n",
                          sub={"models:": "first_byte_timeout: 300\n    models:"}))
    r = run("validate", "--offline")
    assert (r.code, r.stderr) == (0, ""), r.stderr
    from lattice_env.config.load import load_workflow

    workflow = load_workflow(directory=tmp_path).workflow
    assert tuple(workflow.failover) == (2.5, 0.0, True)
    assert workflow.providers["ollama"].first_byte_timeout == 300
    assert workflow.providers["anthropic"].first_byte_timeout is None  # the defaults' applies


def test_an_auth_that_names_no_plugin_is_a_warning(run, tmp_path):
    project(tmp_path, cfg(sub={"env: ANTHROPIC_API_KEY": "auth: antigravity"}))
    r = run("validate", "--offline")
    assert r.code == 0 and r.stdout.startswith("demo: valid (")
    assert r.stderr == ("lattice.yaml:4:5: warning: providers.anthropic.auth: no plugin in plugins is named "
                        "'antigravity' or has it in its name (plugins: none): calls routed to anthropic would "
                        "get no credentials from a plugin\n")
    (tmp_path / "lattice.yaml").write_text(cfg("plugins:\n  - opencode-antigravity-auth@1.1.2\n",
                                              sub={"env: ANTHROPIC_API_KEY": "auth: antigravity"}))
    r = run("validate", "--offline")
    assert (r.code, r.stderr) == (0, "")
    (tmp_path / "lattice.yaml").write_text(cfg("plugins:\n  - opencode-antigravity-auth@1.1.2\n  - antigravity-extra@1.0.0\n",
                                              sub={"env: ANTHROPIC_API_KEY": "auth: antigravity"}))
    r = run("validate", "--offline")
    assert r.code == 1 and r.stderr == (
        "lattice.yaml:4:5: providers.anthropic.auth: 'antigravity' matches several plugins "
        "(opencode-antigravity-auth, antigravity-extra); give the plugin's full name\n1 error\n")


def test_strict_turns_warnings_into_failure(run, tmp_path):
    project(tmp_path, BASE)
    r = run("validate", "--offline", "--strict")
    assert r.code == 1
    assert "warning: providers.anthropic.env: ANTHROPIC_API_KEY is not set" in r.stderr
    assert "invalid (--strict" in r.stdout


def test_strict_passes_when_env_var_is_set(run, tmp_path):
    project(tmp_path, BASE)
    r = run("validate", "--offline", "--strict", env={"ANTHROPIC_API_KEY": "sk-test"})
    assert (r.code, r.stderr) == (0, "")
    assert r.stdout.startswith("demo: valid (") and "0 warnings" in r.stdout


@pytest.mark.parametrize("args", [
    ("validate", "--bogus"),
    ("validate", "extra-argument"),
    ("--no-such-global-option", "validate"),
    ("no-such-command",),
])
def test_usage_errors_exit_2(run, tmp_path, args):
    project(tmp_path, BASE)
    r = run(*args)
    assert r.code == 2
    assert r.stdout == ""
    assert "Error:" in r.stderr and "Traceback" not in r.stderr


def test_json_output_valid(run, tmp_path):
    project(tmp_path, BASE)
    r = run("validate", "--offline", "--json")
    assert r.code == 0
    data = json.loads(r.stdout)
    assert data["valid"] is True
    assert (data["workflow"], data["agents"], data["providers"], data["plugins"]) == ("demo", 1, 2, 0)
    assert data["files"] == [str(tmp_path / "lattice.yaml")]
    assert data["diagnostics"] == [{
        "file": "lattice.yaml", "line": 4, "col": 5, "key": "providers.anthropic.env",
        "message": "ANTHROPIC_API_KEY is not set in this environment", "severity": "warning",
        "text": "lattice.yaml:4:5: warning: providers.anthropic.env: ANTHROPIC_API_KEY is not set in "
                "this environment"}]


def test_json_output_strict_with_warnings(run, tmp_path):
    project(tmp_path, BASE)
    r = run("validate", "--offline", "--json", "--strict")
    assert r.code == 1
    assert json.loads(r.stdout)["valid"] is False


def test_json_output_invalid(run, tmp_path):
    project(tmp_path, cfg("bogus: 1\n", routing="strategy: lottery\nmodels: [anthropic/x]\n"))
    r = run("validate", "--offline", "--json")
    assert r.code == 1
    data = json.loads(r.stdout)
    assert data == {"valid": False, "diagnostics": [
        {"file": "lattice.yaml", "line": 12, "col": 7, "key": "agents.a.routing.strategy",
         "message": "unknown strategy 'lottery' (expected fallback, pattern, weighted, round_robin, burst)",
         "severity": "error",
         "text": "lattice.yaml:12:7: agents.a.routing.strategy: unknown strategy 'lottery' "
                 "(expected fallback, pattern, weighted, round_robin, burst)"},
        {"file": "lattice.yaml", "line": 14, "col": 1, "key": "bogus", "message": "unknown key 'bogus'",
         "severity": "error", "text": "lattice.yaml:14:1: bogus: unknown key 'bogus'"},
    ]}
