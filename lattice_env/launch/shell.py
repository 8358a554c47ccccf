"""`lattice shell`: the user's own shell ($SHELL) with an environment active.

The shell replaces the lattice process (os.execve), so it owns the terminal, job control and signals
exactly as if the user had started it, and its exit status is the command's. The temporary gc root is
named by our pid, which exec keeps: it stays live exactly as long as the shell runs, and gc drops it once
that pid is gone (store/gc.py gc_roots).

Interactive shells read the user's own rc files first, then activate (so the environment's bin/ stays
first on PATH whatever the rc files prepend), through files rendered from `templates/shell/`:
- bash: `--rcfile` a generated file that sources ~/.bashrc, then activates;
- zsh: ZDOTDIR points at a temporary directory whose .zshenv and .zshrc source the user's (from their
  own ZDOTDIR or ~), restore ZDOTDIR, then activate;
- fish: `--init-command`, which fish runs after config.fish;
- other POSIX shells (sh, dash, ksh): `ENV` names a generated file that sources the user's $ENV first.
The temporary directory removes itself once read. With `-c`, the command runs non-interactively with the
variables in its environment (fish also gets the PATH line as init command, since config.fish runs
even for `fish -c`).
`shell -c` is a hot command (docs/architecture.md): jinja2, pathlib and tempfile load for interactive
shells only."""
from __future__ import annotations

import os
import sys

from ..errors import LatticeError
from ..quoting import fish_quote
from .activation import SHELLS, Activation, resolve

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import NoReturn

POSIX_SHELLS = ("sh", "dash", "ash", "ksh", "mksh", "oksh", "yash", "posh")


class ShellInvocation:
    """Everything needed to start the shell: exec `argv[0]` with `argv` and exactly `env`; `tmpdir` holds
    generated rc files, `notes` are said on stderr first."""

    __slots__ = ("argv", "env", "tmpdir", "notes")

    def __init__(self, argv: list[str], env: dict[str, str], tmpdir: Path | None = None,
                 notes: list[str] | None = None) -> None:
        self.argv, self.env, self.tmpdir, self.notes = argv, env, tmpdir, notes or []


def user_shell(env: dict[str, str]) -> str:
    """$SHELL, else the login shell from the password database, else /bin/sh."""
    shell = env.get("SHELL")
    if not shell:
        import pwd

        try:
            shell = pwd.getpwuid(os.getuid()).pw_shell
        except KeyError:
            shell = ""
    shell = shell or "/bin/sh"
    if os.sep in shell:
        found: str | None = shell
    else:
        import shutil

        found = shutil.which(shell, path=env.get("PATH"))
    if not found or not os.access(found, os.X_OK):
        raise LatticeError(f"your shell {shell} is not an executable file; set SHELL to one")
    return found


def shell_kind(shell: str) -> str:
    name = os.path.basename(shell).lstrip("-")
    for kind in SHELLS:
        if name == kind or name.startswith(kind + "-") or name.startswith(kind + "5"):
            return kind
    return "posix" if name in POSIX_SHELLS else "other"


def check_not_nested(env: dict[str, str]) -> None:
    inside = env.get("LATTICE_SHELL")
    if inside:
        raise LatticeError(f"already inside a lattice shell (profile {inside}); exit it first")


def prepare(activation: Activation, command: str | None, host: dict[str, str]) -> ShellInvocation:
    """The argv, environment and rc files for entering `activation` from the environment `host`."""
    check_not_nested(host)
    shell = user_shell(host)
    kind = shell_kind(shell)
    env = dict(host)  # the user's own shell keeps the user's environment, plus ours
    env.update(activation.variables(host.get("PATH", "")))
    env["LATTICE_SHELL"] = activation.profile
    if kind == "other" or (command is not None and kind != "fish"):
        notes = [] if command is not None else [
            f"{os.path.basename(shell)} is not bash, zsh, fish or a POSIX sh: the environment is active "
            "but the prompt has no marker"]
        return ShellInvocation([shell] + (["-c", command] if command is not None else []), env, notes=notes)
    env["PATH"] = host.get("PATH", "")  # bin/ is prepended after the user's rc files (config.fish) ran
    if command is not None:  # fish reads config.fish even for -c
        return ShellInvocation([shell, "--init-command", _fish_path_line(activation), "-c", command], env)
    if kind == "fish":
        from ..render import render

        return ShellInvocation([shell, "--init-command", render("shell/activate.fish.j2", **_context(activation))], env)
    import tempfile
    from pathlib import Path

    tmpdir = Path(tempfile.mkdtemp(prefix="lattice-shell-"))
    try:
        return _rc_launch(activation, shell, kind, env, tmpdir)
    except BaseException:
        _remove(tmpdir)
        raise


def _remove(tmpdir: Path) -> None:
    import shutil

    shutil.rmtree(tmpdir, ignore_errors=True)


def _context(activation: Activation, tmpdir: Path | None = None) -> dict[str, object]:
    return {"profile": activation.profile, "env": str(activation.path), "bin": activation.bin,
            "marker": activation.marker, "tmpdir": str(tmpdir) if tmpdir else ""}


def _fish_path_line(activation: Activation) -> str:
    return f"set -gx PATH {fish_quote(activation.bin)} $PATH"


def _rc_launch(activation: Activation, shell: str, kind: str, env: dict[str, str], tmpdir: Path) -> ShellInvocation:
    from ..render import render

    context = _context(activation, tmpdir)
    if kind == "bash":
        rc = tmpdir / "bashrc"
        rc.write_bytes(render("shell/bashrc.j2", **context).encode("utf-8", "surrogateescape"))
        return ShellInvocation([shell, "--rcfile", str(rc), "-i"], env, tmpdir)
    if kind == "zsh":
        user = env.get("ZDOTDIR")
        for name in ("zshenv", "zshrc"):
            text = render(f"shell/{name}.j2", user_zdotdir=user, **context)
            (tmpdir / f".{name}").write_bytes(text.encode("utf-8", "surrogateescape"))
        env["ZDOTDIR"] = str(tmpdir)
        return ShellInvocation([shell, "-i"], env, tmpdir)
    rc = tmpdir / "shrc"
    rc.write_bytes(render("shell/shrc.j2", user_env=env.get("ENV"), **context).encode("utf-8", "surrogateescape"))
    env["ENV"] = str(rc)
    return ShellInvocation([shell, "-i"], env, tmpdir)


def enter(profile: str | None, command: str | None, trust: bool = False) -> NoReturn:
    """Replace this process with the user's shell, `profile`'s environment active (the trust its workflow
    was built under must still stand: trust/state.py)."""
    from ..trust.state import check_environment

    host = dict(os.environ)
    check_not_nested(host)  # before anything else: the one-line answer inside a lattice shell
    activation = resolve(profile)
    if trust:
        from ..trust.check import trust_environment

        trust_environment(activation.path)
    check_environment(activation.path, "`lattice shell`")
    launch = prepare(activation, command, host)

    for note in launch.notes:
        print(f"lattice: {note}", file=sys.stderr)
    from ..store.roots import temp_root

    try:
        with temp_root(activation.path):
            sys.stdout.flush()
            sys.stderr.flush()
            os.execve(launch.argv[0], launch.argv, launch.env)
    except OSError as exc:
        if launch.tmpdir:
            _remove(launch.tmpdir)
        raise LatticeError(f"cannot start {launch.argv[0]}: {exc.strerror}") from None
    raise AssertionError("unreachable: execve returned")
