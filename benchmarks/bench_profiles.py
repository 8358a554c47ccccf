"""Benchmarks for moving between generations, run by hand: `python benchmarks/bench_profiles.py [RUNS]`.

Targets (issue 4), as ratios measured within this one run:
- `lattice rollback` ≤ 1.5 × `nix-env -p P --switch-generation N` (Debian's nix-bin)
- `lattice generations` ≤ 1.5 × `python -c "import click"`
Whole processes are timed (wall clock, median of RUNS, the two sides interleaved so machine noise hits
both alike). Each rollback starts from generation 2 of 2 (reset between runs, untimed), so every timed run
really moves the link; nix-env alternates between generations 1 and 2 for the same reason. nix-env works
on a throwaway chroot store (`--store local?root=…`) and a profile in the temp dir, so /nix is untouched.
`lattice` is a regular install in a fresh venv, as users have it (see _timing.lattice_argv)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).parent))
from _timing import lattice_argv, load, paired_medians, python

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
TARGET = 1.5


def compare(label: str, base: Callable[[int], list[str]], ours: list[str], env: dict[str, str],
            before_ours: Callable[[], object] = lambda: None, targeted: bool = True) -> float:
    """Median of ours / median of base; `base(i)` gives the i-th baseline argv."""
    ma, mb = paired_medians(base, ours, env, RUNS, before_ours)
    ratio = mb / ma
    verdict = f"target <= {TARGET}x  {'OK' if ratio <= TARGET else 'MISSED'}" if targeted else "(no target)"
    print(f"{label}\n  baseline {ma * 1000:7.1f} ms   ours {mb * 1000:7.1f} ms   ratio {ratio:.2f}x   {verdict}")
    return ratio


def nix_profile(tmp: Path) -> tuple[str, Path]:
    """A nix-env profile with two generations in a chroot store under `tmp`."""
    store = f"local?root={tmp / 'nixroot'}"
    profile = tmp / "nix-profile"
    for name in ("one", "two"):
        (tmp / name).write_text(name + "\n")
        path = subprocess.run(["nix-store", "--store", store, "--add", str(tmp / name)], check=True,
                              capture_output=True, text=True).stdout.strip()
        subprocess.run(["nix-env", "--store", store, "-p", str(profile), "--set", path], check=True,
                       capture_output=True)
    return store, profile


def lattice_profile(home: Path) -> None:
    from lattice_env.profiles.generations import switch_to
    from lattice_env.store.add import add as add_path
    from lattice_env.store.names import derivation

    for tag in ("one", "two"):
        def builder(out: Path, tag: str = tag) -> None:
            (out / "bin").mkdir()
            (out / "bin" / "opencode").write_text(f"#!/bin/sh\necho {tag}\n")

        drv = derivation("bench", "workflow", {"config": {"name": "bench", "version": tag}})
        switch_to(add_path(drv, builder))


def switch_generation(number: int) -> None:
    from lattice_env.profiles.links import switch_generation as move

    move(number)


def main() -> None:
    if shutil.which("nix-env") is None:
        raise SystemExit("nix-env is needed (Debian: apt-get install nix-bin)")
    with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
        home = Path(tmp) / "lattice"
        os.environ["LATTICE_HOME"] = str(home)

        lattice_profile(home)
        nix_store, nix_prof = nix_profile(Path(tmp))
        env = {"PATH": os.environ["PATH"], "HOME": tmp, "LATTICE_HOME": str(home),
               "LANG": os.environ.get("LANG", "C.UTF-8")}
        lattice = lattice_argv()
        print(f"{RUNS} runs each, medians; lattice = {' '.join(lattice)}; {load()}")
        ratios = [
            compare("rollback vs nix-env --switch-generation N",
                    lambda i: ["nix-env", "--store", nix_store, "-p", str(nix_prof), "--switch-generation",
                               str(1 + i % 2)],
                    lattice + ["rollback"], env, before_ours=lambda: switch_generation(2)),
            compare("generations vs python -c 'import click'",
                    lambda i: [python(), "-c", "import click"], lattice + ["generations"], env),
            compare("for scale: switch --generation 1 vs nix-env --switch-generation N",
                    lambda i: ["nix-env", "--store", nix_store, "-p", str(nix_prof), "--switch-generation",
                               str(1 + i % 2)],
                    lattice + ["switch", "--generation", "1"], env,
                    before_ours=lambda: switch_generation(2), targeted=False),
            compare("for scale: rollback vs python -c 'import click' (a click app's floor)",
                    lambda i: [python(), "-c", "import click"], lattice + ["rollback"], env,
                    before_ours=lambda: switch_generation(2), targeted=False),
            compare("for scale: python -c pass vs nix-env --switch-generation N (Python's floor)",
                    lambda i: ["nix-env", "--store", nix_store, "-p", str(nix_prof), "--switch-generation",
                               str(1 + i % 2)],
                    [python(), "-c", "pass"], env, targeted=False),
            compare("for scale: python -c pass vs python -c 'import click'",
                    lambda i: [python(), "-c", "import click"], [python(), "-c", "pass"], env,
                    targeted=False),
        ]
        missed = [r for r in ratios[:2] if r > TARGET]
        print("both targets met" if not missed else f"{len(missed)} target(s) missed")


if __name__ == "__main__":
    main()
