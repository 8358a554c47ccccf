"""What "this environment is active" means, as data: which store path a profile points at, and the
variables a shell gets (PATH with the environment's `bin/` first, LATTICE_ENV, LATTICE_PROFILE).

print-env runs on every prompt (docs/architecture.md, "Hot paths"): its few lines are built here with
`quoting` directly rather than through a template, which would load jinja2; the rc files `lattice shell`
writes do come from `templates/shell/` (shell.py)."""
from __future__ import annotations

import os

from ..errors import LatticeError
from ..profiles import links
from ..quoting import fish_quote, posix_quote

SHELLS = ("bash", "zsh", "fish")


def env_path(name: str | None) -> str:
    """The store path profile `name` (default: the active one) currently points at, which must exist."""
    name = links.resolve_name(name)
    path = links.current_path(name)
    if path is None:
        raise LatticeError(f"profile {name} has no generation; run `lattice switch`")
    if not os.path.isdir(path):
        raise LatticeError(f"profile {name} points at {path}, which does not exist; "
                           "run `lattice switch` or `lattice rollback`")
    return path


def env_root(name: str | None, references: bool = False) -> str:
    """`env_path`, to launch from: the path must be sealed (store/seal.py), as must (with `references`)
    every store path it references, so nothing is started from a path changed since it was built.

    An activation (print-env, `shell`) checks the path it puts on PATH: ~0.1 ms for a workflow path's
    few dozen entries. `lattice run`, which starts opencode itself, checks the closure it runs from too:
    one lstat per entry, ~10 ms for opencode alone (~2,700 entries), ~120 ms for a closure with
    oh-my-opencode and two auth plugins (~25,000 entries) — benchmarks/bench_seal.py. That is too much
    for print-env on every prompt or for `shell -c`, so there the closure is left to `run`, `store
    verify` and `doctor`."""
    from ..store.seal import broken

    path = env_path(name)
    damage = broken(path, references)
    if damage is not None:
        raise LatticeError(f"profile {links.resolve_name(name)}: store path {damage[0]} is damaged ({damage[1]}); "
                           f"refusing to launch it: `lattice store repair {damage[0]}` rebuilds it")
    return path


class Activation:
    """An environment made active: the profile's name and the store path it points at."""

    __slots__ = ("profile", "path")

    def __init__(self, profile: str, path: str) -> None:
        self.profile, self.path = profile, path

    @property
    def bin(self) -> str:
        return os.path.join(self.path, "bin")

    @property
    def marker(self) -> str:
        """The prompt prefix of interactive shells."""
        return f"(lattice:{self.profile}) "

    def path_entries(self, host_path: str) -> list[str]:
        """`host_path` as a list with this environment's bin/ first; the bin/ of an environment made
        active earlier (`$LATTICE_ENV` in the host) is dropped, so activating again replaces it."""
        previous = os.environ.get("LATTICE_ENV")
        drop = {self.bin} | ({os.path.join(previous, "bin")} if previous else set())
        return [self.bin] + [p for p in host_path.split(os.pathsep) if p not in drop] \
            if host_path else [self.bin]

    def variables(self, host_path: str) -> dict[str, str]:
        """The variables an active environment sets (PATH whole, as the other two)."""
        return {"PATH": os.pathsep.join(self.path_entries(host_path)), "LATTICE_ENV": str(self.path),
                "LATTICE_PROFILE": self.profile}


def resolve(profile: str | None) -> Activation:
    name = links.resolve_name(profile)
    activation = Activation(name, env_root(name))
    if os.pathsep in activation.bin:
        raise LatticeError(f"{activation.bin} contains {os.pathsep!r} and cannot be put on PATH; "
                           "choose a LATTICE_HOME without it")
    return activation


def print_env(profile: str | None, shell: str, host_path: str | None = None) -> str:
    """Lines that, `eval`ed in `shell`, make the environment active (for `eval "$(lattice print-env)"`
    and direnv). PATH is written out whole, computed from the caller's PATH, so evaluating it again (or
    for another profile) replaces the environment instead of stacking it."""
    if shell not in SHELLS:
        raise LatticeError(f"unknown shell {shell!r}: choose one of {', '.join(SHELLS)}")
    activation = resolve(profile)
    host = os.environ.get("PATH", "") if host_path is None else host_path
    values = activation.variables(host)
    if shell == "fish":  # fish's PATH is a list: one quoted argument per entry
        lines = ["set -gx PATH " + " ".join(fish_quote(p) for p in activation.path_entries(host))]
        lines += [f"set -gx {k} {fish_quote(values[k])}" for k in ("LATTICE_ENV", "LATTICE_PROFILE")]
    else:
        lines = [f"export {k}={posix_quote(values[k])}" for k in ("PATH", "LATTICE_ENV", "LATTICE_PROFILE")]
    return "".join(line + ";\n" for line in lines)
