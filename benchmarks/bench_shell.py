"""Benchmarks for entering an environment, run by hand: `python benchmarks/bench_shell.py [RUNS]`.

Targets (issue 4), measured as ratios and differences within this one run, on a throwaway LATTICE_HOME
holding a real (tiny) store path and a profile in the Nix layout:
- `lattice print-env` ≤ 1.5 × `python -c "import click"`
- `lattice shell -c true` ≤ `bash -c true` + 80 ms
Whole processes are timed (wall clock, median of RUNS, the commands interleaved so that machine noise hits
both sides alike). `lattice` is the console script next to this interpreter (not a pyenv shim)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import lattice_argv, load, paired_medians, python

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def setup(home: Path) -> None:
    os.environ["LATTICE_HOME"] = str(home)
    from lattice_env.store.add import add as add_path
    from lattice_env.store.names import derivation

    def builder(out: Path) -> None:
        (out / "bin").mkdir()
        (out / "bin" / "opencode").write_text("#!/bin/sh\necho bench\n")
        (out / "bin" / "opencode").chmod(0o755)

    path = add_path(derivation("bench", "workflow", {}), builder)
    (home / "profiles").mkdir()
    os.symlink(path, home / "profiles" / "default-1-link")
    os.symlink("default-1-link", home / "profiles" / "default")


def compare(label: str, base: list[str], ours: list[str], env: dict[str, str]) -> tuple[float, float]:
    ma, mb = paired_medians(lambda i: base, ours, env, RUNS)
    print(f"{label}\n  baseline {ma * 1000:7.1f} ms   lattice {mb * 1000:7.1f} ms   "
          f"ratio {mb / ma:.2f}x   difference {(mb - ma) * 1000:+.1f} ms")
    return ma, mb


def main() -> None:
    bash = shutil.which("bash")
    if bash is None:
        raise SystemExit("bash is needed")
    with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
        setup(Path(tmp))
        env = {"PATH": os.environ["PATH"], "HOME": tmp, "LATTICE_HOME": tmp, "SHELL": bash,
               "LANG": os.environ.get("LANG", "C.UTF-8")}
        lattice = lattice_argv()
        print(f"{RUNS} runs each, medians; lattice = {' '.join(lattice)}; {load()}")
        ma, mb = compare("print-env vs python -c 'import click'   (target <= 1.5x)",
                         [python(), "-c", "import click"], lattice + ["print-env"], env)
        pe_ok = mb / ma <= 1.5
        sa, sb = compare("shell -c true vs bash -c true            (target <= +80 ms)",
                         [bash, "-c", "true"], lattice + ["shell", "-c", "true"], env)
        sh_ok = sb - sa <= 0.080
        fa, _ = compare("for scale: python -c pass vs bash -c true (no target; Python's own floor)",
                        [bash, "-c", "true"], [python(), "-c", "pass"], env)
        print(f"print-env {'meets' if pe_ok else 'MISSES'} its target; shell -c {'meets' if sh_ok else 'MISSES'} its target")


if __name__ == "__main__":
    main()
