"""The clone flow's progress, as a person and a script see it: the real `lattice init --from` of a local
workflow — a real build (npm closure, a `file:` plugin), providers checked, configs generated — run once
on a real terminal (a pty: stdout and stderr are a tty, as in a shell) and once piped. On the terminal the
design's transcript is shown step by step; piped, stdout is the one closing line and no step is printed
anywhere. Either half fails if the terminal test were wrong (always shown, never shown, or inverted)."""
from __future__ import annotations

import errno
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opencode_support import new_data_dir

pytestmark = [pytest.mark.slow]

CONFIG = """\
name: progress-shown
version: "1.0.0"
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
  openai:
    env: OPENAI_API_KEY
plugins:
  - file:./hello-plugin
agents:
  architect:
    path: architect.md
    routing: [anthropic/claude-sonnet-4-5]
"""
PLUGIN = {"package.json": '{"name": "hello-plugin", "version": "1.0.0", "type": "module", "main": "index.js"}\n',
          "index.js": "export const HelloPlugin = async () => ({});\n"}
# Each step of the transcript, in the order it must appear on a terminal.
STEPS = ["Cloning {source}...", "  ✓ Downloaded lattice.yaml", "  ✓ Downloaded 1 agent file", "Installing plugins...",
         "lattice: installing ", "  ✓ file:./hello-plugin", "Checking providers...", "  ✓ ANTHROPIC_API_KEY found",
         "  ✗ OPENAI_API_KEY not set", "Generating configs...", "  ✓ opencode.json",
         "Ready! Run `cd {target} && lattice status` to see your setup."]


def _source(root: Path) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "agents" / "architect.md").write_text("You design.\n")
    (root / "lattice.yaml").write_text(CONFIG)
    for name, text in PLUGIN.items():
        (root / "hello-plugin" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "hello-plugin" / name).write_text(text)
    return root


def _on_a_terminal(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> tuple[int, str]:
    """Run `argv` with stdin, stdout and stderr on a new pty (as a shell would): exit code and everything
    it wrote to the terminal, newlines as the terminal gives them (\\r\\n) turned back into \\n."""
    leader, follower = os.openpty()
    try:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=follower,
                                 start_new_session=True)
    finally:
        os.close(follower)  # the child holds it now; EOF (EIO) reaches us once it exits
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                child.kill()
                raise AssertionError(f"no end after {timeout} s: {b''.join(chunks).decode(errors='replace')}")
            try:
                chunk = os.read(leader, 65536)
            except OSError as exc:
                if exc.errno != errno.EIO:  # Linux's end of a pty whose other side closed
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    code = child.wait(timeout=60)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def test_init_from_shows_its_steps_on_a_terminal_and_only_the_result_when_piped(tmp_path):
    source = _source(tmp_path / "upstream")
    (tmp_path / "home").mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "TERM": "xterm",
           "LATTICE_HOME": str(new_data_dir(tmp_path / "data")), "LATTICE_CONFIG_HOME": str(tmp_path / "cfg"),
           "ANTHROPIC_API_KEY": "k"}
    lattice = [sys.executable, "-m", "lattice_env", "init", "--from", str(source)]

    started = time.monotonic()
    code, shown = _on_a_terminal([*lattice, "mine", "--trust"], tmp_path, env)
    built = time.monotonic() - started
    assert code == 0, shown
    lines = shown.splitlines()
    at = 0
    for step in STEPS:
        step = step.format(source=source, target="mine")
        found = next((i for i in range(at, len(lines)) if lines[i].startswith(step)), None)
        assert found is not None, f"{step!r} is not shown after line {at} of:\n{shown}"
        at = found + 1
    assert (tmp_path / "mine" / "opencode.json").is_file()  # what the transcript says was done, was

    # Piped: the same flow (the store already holds what it builds), the one closing line on stdout and
    # none of the steps, neither there nor on stderr (which is piped too).
    started = time.monotonic()
    done = subprocess.run([*lattice, "theirs", "--trust"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)
    piped = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Ready! Run `cd theirs && lattice status` to see your setup.\n"
    for step in STEPS[:-1]:
        marker = step.format(source=source, target="theirs").strip()
        assert marker not in done.stdout and marker not in done.stderr, (marker, done.stderr)
    assert (tmp_path / "theirs" / "opencode.json").is_file()
    print(f"terminal run (real build) {built:.1f} s, piped run {piped:.1f} s")
