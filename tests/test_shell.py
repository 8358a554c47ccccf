"""`lattice shell` and `lattice print-env` in real bash, zsh and fish (driven with pexpect), under a
LATTICE_HOME full of special characters, with a real store path and profile links in the Nix layout."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_tool
from hypothesis import given
from hypothesis import strategies as st

from lattice_env.quoting import posix_quote
from lattice_env.store.add import add as add_path
from lattice_env.store.gc import gc
from lattice_env.store.names import derivation

pexpect = pytest.importorskip("pexpect")

SHELLS = ("bash", "zsh", "fish")
# Spaces, single quotes, `$`, backticks, a glob, shell operators and non-ASCII: what breaks naive quoting,
# in a data directory opencode can still read (paths.data_root refuses double quotes, backslashes and
# control characters, which opencode's {env:…} references cannot carry into its JSON).
SPECIAL_DATA = "sp ace 'sq' $HOME `x` *? ;&|<>(){}!# ü✓"
# The user's own directories have no such limit: both quotes, backslashes and a newline as well.
SPECIAL = SPECIAL_DATA + " \"dq\" \\back\\ \nline2"
WRAPPER_OUTPUT = "opencode-from-the-environment"
PY = sys.executable


shell_binary = require_tool  # skip here, fail in CI, when a shell is missing


def make_env(label: str) -> Path:
    """A real (cheap) workflow store path whose bin/opencode is a sh script."""
    def builder(out: Path) -> None:
        (out / "bin").mkdir()
        wrapper = out / "bin" / "opencode"
        wrapper.write_text(f"#!/bin/sh\necho {WRAPPER_OUTPUT}-{label}\n")
        wrapper.chmod(0o755)
    return add_path(derivation("wf", "workflow", {"label": label}), builder)


def make_profile(data: Path, name: str, path: Path, generation: int = 1) -> None:
    """profiles/NAME → NAME-N-link (relative) → store path (absolute), as profiles.py lays it out."""
    profiles = data / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    os.symlink(path, profiles / f"{name}-{generation}-link")
    os.symlink(f"{name}-{generation}-link", profiles / name)


@pytest.fixture
def data(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = isolated_home / f"data {SPECIAL_DATA}"
    monkeypatch.setenv("LATTICE_HOME", str(root))
    return root


@pytest.fixture
def env_path(data: Path) -> Path:
    path = make_env("default")
    make_profile(data, "default", path)
    return path


@pytest.fixture
def user_rc(isolated_home: Path) -> Path:
    """The user's own rc files: each sets a marker, a prompt, and prepends a bin/ with a decoy opencode
    (the environment's must still come first)."""
    decoy = isolated_home / "userbin"
    decoy.mkdir()
    (decoy / "opencode").write_text("#!/bin/sh\necho decoy\n")
    (decoy / "opencode").chmod(0o755)
    (isolated_home / ".bashrc").write_text(
        'export RC_MARKER=bashrc-read\nexport PATH="$HOME/userbin:$PATH"\nPS1="user-bash> "\n')
    (isolated_home / ".zshenv").write_text("export ZSHENV_MARKER=zshenv-read\n")
    (isolated_home / ".zshrc").write_text(
        'export RC_MARKER=zshrc-read\nexport PATH="$HOME/userbin:$PATH"\nPS1="user-zsh> "\n')
    fish = isolated_home / ".config" / "fish"
    fish.mkdir(parents=True)
    (fish / "config.fish").write_text(
        "set -gx RC_MARKER config-fish-read\nset -gx PATH $HOME/userbin $PATH\n"
        "function fish_prompt\n    printf 'user-fish> '\nend\n")
    return isolated_home


def child_env(shell: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """An explicit environment for the lattice process: nothing of the developer's leaks in."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = {"HOME": os.environ["HOME"], "LATTICE_HOME": os.environ["LATTICE_HOME"], "SHELL": shell,
           "PATH": os.environ["PATH"], "TERM": "dumb", "LANG": "C.UTF-8", "TMPDIR": str(tmpdir),
           "OUT": str(tmp_path / "out.txt"), "PY": PY,
           "PYTHONPATH": str(Path(__file__).parent.parent)}
    env.update(extra)
    return env


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    child = pexpect.spawn(PY, ["-m", "lattice_env", "shell", *args], env=env, encoding="utf-8",
                          timeout=20, dimensions=(40, 200))
    return child


def step(child: pexpect.spawn, command: str, n: int) -> None:
    """Send `command; echo DONE<n>`, written so that the echoed input never matches the marker."""
    child.sendline(f'{command}; echo DONE""{n}')
    child.expect_exact(f"DONE{n}")


@pytest.mark.parametrize("name", SHELLS)
def test_interactive_shell(name, env_path, user_rc, tmp_path):
    shell = shell_binary(name)
    env = child_env(shell, tmp_path)
    child = spawn(env)
    prompt = f"(lattice:default) user-{name}> "
    child.expect_exact(prompt)  # the marker, in front of the user's own prompt
    out = tmp_path / "out.txt"
    status = "$status" if name == "fish" else "$?"
    step(child, 'printf "%s\\n" "$RC_MARKER" "$LATTICE_ENV" "$LATTICE_PROFILE" "$LATTICE_SHELL" '
                '(command -v opencode) > "$OUT"' if name == "fish" else
         'printf "%s\\n" "$RC_MARKER" "$LATTICE_ENV" "$LATTICE_PROFILE" "$LATTICE_SHELL" '
         '"$(command -v opencode)" > "$OUT"', 1)
    lines = out.read_text().split("\n")
    rc_marker = {"bash": "bashrc-read", "zsh": "zshrc-read", "fish": "config-fish-read"}[name]
    assert lines[0] == rc_marker
    assert lines[1:5] == [str(env_path), "default", "default", str(env_path / "bin" / "opencode")]
    step(child, "opencode", 2)
    assert f"{WRAPPER_OUTPUT}-default" in child.before
    # nesting is refused with one line
    step(child, f'"$PY" -m lattice_env shell; echo "rc=" {status}', 3)
    assert "lattice: error: already inside a lattice shell (profile default); exit it first" in child.before
    assert "rc= 1" in child.before
    if name == "zsh":  # .zshenv read too, and ZDOTDIR given back to the user (unset here)
        step(child, 'printf "%s|%s\\n" "$ZSHENV_MARKER" "${ZDOTDIR-unset}" > "$OUT"', 4)
        assert out.read_text() == "zshenv-read|unset\n"
    child.expect_exact(prompt)
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    assert list((tmp_path / "tmp").glob("lattice-*")) == []  # the generated rc files removed themselves


@pytest.mark.parametrize("name", SHELLS)
def test_command_passes_exit_status_and_environment(name, env_path, user_rc, tmp_path):
    shell = shell_binary(name)
    env = child_env(shell, tmp_path)
    done = subprocess.run([PY, "-m", "lattice_env", "shell", "-c", "exit 7"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (7, "", "")
    done = subprocess.run([PY, "-m", "lattice_env", "shell", "-c", "opencode"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, f"{WRAPPER_OUTPUT}-default\n")
    assert list((tmp_path / "tmp").glob("lattice-*")) == []


def test_zsh_user_zdotdir_is_honoured(env_path, isolated_home, tmp_path):
    shell = shell_binary("zsh")
    zdot = isolated_home / f"zdot {SPECIAL}"
    zdot.mkdir()
    (zdot / ".zshenv").write_text("export ZSHENV_MARKER=zdot-zshenv\n")
    (zdot / ".zshrc").write_text('export RC_MARKER=zdot-zshrc\nPS1="zdot> "\n')
    child = spawn(child_env(shell, tmp_path, ZDOTDIR=str(zdot)))
    child.expect_exact("(lattice:default) zdot> ")
    step(child, 'printf "%s|%s|%s" "$ZSHENV_MARKER" "$RC_MARKER" "$ZDOTDIR" > "$OUT"', 1)
    assert (tmp_path / "out.txt").read_text() == f"zdot-zshenv|zdot-zshrc|{zdot}"
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_posix_sh_gets_env_file_and_marker(env_path, tmp_path):
    shell = shell_binary("dash")
    child = spawn(child_env(shell, tmp_path, PS1="dash$ "))
    child.expect_exact("(lattice:default) dash$ ")
    step(child, "opencode", 1)
    assert f"{WRAPPER_OUTPUT}-default" in child.before
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_gc_root_held_while_the_shell_runs(data, env_path, user_rc, tmp_path):
    shell = shell_binary("bash")
    child = spawn(child_env(shell, tmp_path))
    child.expect_exact("(lattice:default) user-bash> ")
    for link in (data / "profiles").iterdir():  # the profile forgets the path (delete-generations)
        link.unlink()
    assert gc().removed == []  # the running shell's temporary root keeps it
    assert env_path.is_dir()
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert gc().removed == [env_path.name]


def test_nesting_guard_is_one_line(run, env_path):
    r = run("shell", "-c", "true", env={"LATTICE_SHELL": "work"})
    assert (r.code, r.stdout) == (1, "")
    assert r.stderr == "lattice: error: already inside a lattice shell (profile work); exit it first\n"


def test_missing_generation_is_one_line(run, data):
    for args in (["print-env"], ["shell"], ["print-env", "--profile", "work"]):
        r = run(*args)
        name = args[-1] if "--profile" in args else "default"
        assert (r.code, r.stdout) == (1, "")
        assert r.stderr == f"lattice: error: profile {name} has no generation; run `lattice switch`\n"
    r = run("print-env", "--profile", "../x")
    assert r.code == 2 and r.stderr.startswith("lattice: error: invalid profile name '../x'")  # a usage error


def _eval_print_env(name: str, env: dict[str, str], args: str = "") -> list[str]:
    """Evaluate print-env's output in a real shell and read the variables back, NUL-separated."""
    lattice = f'"$PY" -m lattice_env print-env {args}'
    if name == "fish":
        script = (f"{lattice} --shell fish | source; or exit 9\n"
                  "printf '%s\\0' $LATTICE_ENV $LATTICE_PROFILE \"$PATH\" (command -v opencode | string collect)")
    else:
        script = (f'eval "$({lattice} --shell {name})" || exit 9\n'
                  'printf "%s\\0" "$LATTICE_ENV" "$LATTICE_PROFILE" "$PATH" "$(command -v opencode)"')
    done = subprocess.run([shell_binary(name), "-c", script], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split("\0")[:-1]


@pytest.mark.parametrize("name", SHELLS)
def test_print_env_round_trips(name, data, env_path, tmp_path):
    host_path = f"/usr/bin:/bin:{tmp_path}/odd $dir 'q' ü"
    env = child_env("/bin/sh", tmp_path, PATH=host_path)
    env["PATH"] = host_path
    env_var, profile, path, opencode = _eval_print_env(name, env)
    assert env_var == str(env_path)
    assert profile == "default"
    assert path == f"{env_path}/bin:{host_path}"
    assert opencode == f"{env_path}/bin/opencode"
    # evaluating it again, for another profile, replaces the environment rather than stacking it
    other = make_env("work")
    make_profile(data, "work", other)
    env.update(PATH=path, LATTICE_ENV=env_var)
    env_var, profile, path, _ = _eval_print_env(name, env, "--profile work")
    assert (env_var, profile, path) == (str(other), "work", f"{other}/bin:{host_path}")


def test_print_env_is_quiet(env_path, tmp_path):
    """Nothing on stderr (direnv and rc files run it on every prompt); what it must not import is in
    test_import_rule.py."""
    done = subprocess.run([PY, "-m", "lattice_env", "print-env"], env=child_env("/bin/sh", tmp_path),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("export PATH=")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
def test_posix_quote_is_shlex_quote(value):
    assert posix_quote(value) == shlex.quote(value)


def test_active_profile_link_is_followed(run, data, env_path):
    other = make_env("work")
    make_profile(data, "work", other)
    os.symlink("profiles/work", data / "profile")
    r = run("print-env")
    assert r.code == 0 and r.stderr == ""
    assert "export LATTICE_PROFILE=work;" in r.stdout.splitlines()


def test_fast_path_and_full_cli_agree(tmp_path):
    """`print-env` and `shell -c` skip click when their arguments are plain (cli/fast.py); the output and
    the errors must be exactly what the click commands give."""
    from conftest import Run

    from lattice_env.cli.fast import fast

    assert fast(["print-env", "--help"]) is None and fast(["print-env", "--shell", "tcsh"]) is None
    assert fast(["shell"]) is None and fast(["print-env", "--profile", "a", "--profile", "b"]) is None
    data = tmp_path / "da ta $x"
    path = add_path(derivation("wf", "workflow", {"k": 1}), lambda out: (out / "bin").mkdir(),
                     root=data / "store")
    (data / "profiles").mkdir()
    os.symlink(path, data / "profiles" / "default-1-link")
    os.symlink("default-1-link", data / "profiles" / "default")
    env = {**os.environ, "LATTICE_HOME": str(data)}
    for args in (["print-env"], ["print-env", "--shell", "fish"], ["print-env", "--shell=zsh"],
                 ["print-env", "--profile", "default"], ["print-env", "--profile", "nope"],
                 ["print-env", "--profile", "../x"]):
        fast_run = subprocess.run([PY, "-m", "lattice_env", *args], env=env, capture_output=True, text=True)
        full = Run(tmp_path)(*args, env={"LATTICE_HOME": str(data)}, click=True)
        assert (fast_run.returncode, fast_run.stdout, fast_run.stderr) == (full.code, full.stdout, full.stderr), args
