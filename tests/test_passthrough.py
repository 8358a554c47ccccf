"""Prompt-template commands (`template:` inline or `path:` to a markdown file) and the `opencode:` pass-
through section: validated with located messages (the section against opencode's own shipped schema),
generated into what opencode reads, recorded in the store path's derivation."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import write_project

from lattice_env.build.plan import command_inputs
from lattice_env.config.load import load_workflow, workflow_from_data
from lattice_env.opencode.config import opencode_document

BASE = """\
name: p
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
agents:
  a:
    routing: [anthropic/claude-sonnet-4-5]
"""


def project(tmp_path: Path, extra: str, files: dict[str, str] | None = None) -> Path:
    root = write_project(tmp_path / "p", BASE + extra)
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_template_and_path_commands_become_opencode_commands(run, tmp_path):
    root = project(tmp_path, """\
commands:
  hello:
    template: "Greet $1 warmly"
    agent: a
    subtask: true
  review:
    path: commands/review.md
    model: anthropic/claude-sonnet-4-5
""", {"commands/review.md": "---\ndescription: Review the diff\nagent: a\n---\nReview this: !`git diff` $ARGUMENTS\n"})
    r = run("generate", "--trust", cwd=root)
    assert r.code == 0, r.stderr
    hello = (root / ".opencode/command/hello.md").read_text()
    assert 'agent: "a"' in hello and "subtask: true" in hello and hello.endswith("---\nGreet $1 warmly\n")
    review = (root / ".opencode/command/review.md").read_text()
    assert 'description: "Review the diff"' in review and 'model: "anthropic/claude-sonnet-4-5"' in review
    assert review.endswith("---\nReview this: !`git diff` $ARGUMENTS\n")


def test_a_path_commands_text_is_an_input_of_the_store_path(tmp_path):
    root = project(tmp_path, "commands:\n  review:\n    path: commands/review.md\n",
                   {"commands/review.md": "---\nagent: a\n---\nReview $ARGUMENTS\n"})
    loaded = load_workflow(directory=root)
    inputs = command_inputs(loaded)
    assert inputs == {"review": {"template": "Review $ARGUMENTS\n", "frontmatter": {"agent": "a"}}}
    # what `store repair` rebuilds from: the same command, without the file
    again = workflow_from_data(loaded.config.data, {"a": {"prompt": "You are a.\n", "frontmatter": {}}},
                               tmp_path / "elsewhere", inputs)
    assert again.commands == loaded.workflow.commands
    (root / "commands/review.md").write_text("---\nagent: a\n---\nReview it all\n")
    assert command_inputs(load_workflow(directory=root)) != inputs


def test_command_mistakes_are_located(run, tmp_path):
    root = project(tmp_path, """\
commands:
  both:
    action: vcs.push
    template: "x"
  away:
    path: ../outside.md
  who:
    template: "x"
    agent: nobody
    model: openai/gpt-4o
""")
    (tmp_path / "outside.md").write_text("secret plans\n")
    r = run("validate", "--offline", cwd=root)
    assert r.code == 1
    lines = r.stderr.splitlines()
    assert ("lattice.yaml:9:3: commands.both: give one of action (a built-in action), template (a prompt "
            "template) or path (a markdown file holding one), not action and template") in lines
    assert "lattice.yaml:13:5: commands.away.path: '../outside.md' leaves the project directory ('..' is not allowed)" in lines
    assert any(line.startswith("lattice.yaml:17:5: commands.who.model: 'openai/gpt-4o': provider 'openai' is not "
                               "declared") for line in lines)
    assert any(line.startswith("lattice.yaml:16:5: warning: commands.who.agent: no agent 'nobody'") for line in lines)


def test_the_passthrough_section_is_checked_against_opencodes_schema(run, tmp_path):
    root = project(tmp_path, """\
opencode:
  permission:
    bash: sometimes
  instructions: CONTRIBUTING.md
  shar: manual
  compaction:
    tail_turns: -1
  agent:
    build: {permission: {bash: ask}}
    a: {temperature: 0.2}
  provider:
    anthropic:
      options:
        timeout: 0
""")
    r = run("validate", "--offline", cwd=root)
    assert r.code == 1
    assert r.stderr.splitlines()[:-1] == [
        "lattice.yaml:10:5: opencode.permission.bash: must be one of \"ask\", \"allow\", \"deny\"",
        "lattice.yaml:11:3: opencode.instructions: must be a list, not text",
        "lattice.yaml:12:3: opencode.shar: unknown key 'shar' (opencode 1.18.33 has no such setting here) "
        "(did you mean 'share'?)",
        "lattice.yaml:14:5: opencode.compaction.tail_turns: must be at least 0",
        "lattice.yaml:17:5: opencode.agent.a: lattice writes opencode's agents from agents: and the agent files; "
        "only opencode's own agents (build, plan, general, explore, title, summary, compaction) may be set here",
        "lattice.yaml:21:9: opencode.provider.anthropic.options.timeout: must be more than 0",
    ]


def test_the_passthrough_may_name_variables_but_never_files_or_literal_secrets(run, tmp_path):
    root = project(tmp_path, """\
opencode:
  provider:
    anthropic:
      options:
        headers:
          X-Org: "{env:ORG_ID}"
          X-Key: "{file:~/.ssh/id_rsa}"
          X-Sneaky: "{fi{env:UNSET}le:~/.ssh/id_rsa}"
          X-Literal: "sk-ant-abcdefghijklmnopqrstuvwxyz0123"
""")
    r = run("validate", "--offline", cwd=root)
    assert r.code == 1
    assert "opencode.provider.anthropic.options.headers.X-Org" not in r.stderr
    assert "lattice.yaml:14:11: opencode.provider.anthropic.options.headers.X-Key: '{file:~/.ssh/id_rsa}' would " \
           "make opencode read a file here" in r.stderr
    assert "lattice.yaml:15:11: opencode.provider.anthropic.options.headers.X-Sneaky:" in r.stderr
    assert "lattice.yaml:16:11: opencode.provider.anthropic.options.headers.X-Literal: an sk-… API key written " \
           "in plain text" in r.stderr
    assert "abcdefghijklmnop" not in r.stderr


def test_the_passthrough_merges_into_opencode_json_and_lattice_keeps_its_own(tmp_path):
    root = project(tmp_path, """\
opencode:
  permission: {edit: ask}
  instructions: [CONTRIBUTING.md, docs/*.md]
  provider:
    anthropic:
      options: {timeout: 600000, apiKey: "{env:SOMETHING_ELSE}"}
""")
    wf = load_workflow(directory=root).workflow
    project_doc = opencode_document(wf)
    assert project_doc["permission"] == {"edit": "ask"}
    assert project_doc["instructions"] == ["CONTRIBUTING.md", "docs/*.md"]
    assert project_doc["provider"]["anthropic"]["options"] == {"apiKey": "{env:ANTHROPIC_API_KEY}", "timeout": 600000}
    store_doc = opencode_document(wf, plugin_entries=[], instructions=["{env:LATTICE_PROJECT_INSTRUCTIONS}"],
                                  bridge=True)
    assert store_doc["instructions"] == ["{env:LATTICE_PROJECT_INSTRUCTIONS}", "CONTRIBUTING.md", "docs/*.md"]
    json.dumps(store_doc)
