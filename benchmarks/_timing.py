"""Shared helpers for the benchmarks: whole-process timings, medians, ratios printed against a
baseline measured in the same run (never absolute thresholds: machines differ)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence


def time_command(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
                 runs: int = 7, warmup: int = 1) -> float:
    """Median wall time in seconds of running `argv` as a whole process."""
    samples = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(list(argv), env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if i >= warmup:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def disk_usage(path: Path) -> int:
    """Bytes on disk under `path`, counting each hardlinked inode once (like `du`)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def report(label: str, value: float, baseline: float, target: str, ok: bool, unit: str = "s") -> None:
    print(f"{label:58} {value:9.3f} {unit} vs {baseline:9.3f} {unit}  ratio {value / baseline:7.2f}  "
          f"target {target:10} {'OK' if ok else 'MISSED'}")


_INSTALL: list[str] = []


def python() -> str:
    """The interpreter whose start-up the process benchmarks compare against: the one `lattice_argv`
    runs on, so both sides pay the same interpreter and site start-up."""
    return lattice_argv()[0]


def lattice_argv() -> list[str]:
    """How to start `lattice` as a user has it: its console script in a venv of its own with a regular
    (non-editable) install of this checkout, made once per benchmark run (pip's cache makes it quick).

    Not the interpreter running the benchmark: a host interpreter's site-packages may carry .pth files
    (editable finders, a sandbox's certificate hook) that cost more than lattice's whole work, and that
    a pipx or `python -m venv` install never has. LATTICE_BENCH_HOST=1 times the host's install instead."""
    if os.environ.get("LATTICE_BENCH_HOST"):
        script = Path(sys.executable).parent / "lattice"
        return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "lattice_env"]
    if not _INSTALL:
        import atexit
        import shutil
        import tempfile

        venv = Path(tempfile.mkdtemp(prefix="lattice-bench-venv-"))
        atexit.register(shutil.rmtree, venv, True)
        repo = Path(__file__).resolve().parent.parent
        print(f"installing lattice from {repo} into a fresh venv (untimed) …", file=sys.stderr)
        for argv in ([sys.executable, "-m", "venv", str(venv)],
                     [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                      str(repo)]):
            done = subprocess.run(argv, capture_output=True, text=True)
            if done.returncode != 0:  # pip's warnings are noise unless the install failed
                raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
        _INSTALL[:] = [str(venv / "bin" / "python"), str(venv / "bin" / "lattice")]
    return list(_INSTALL)


def paired_medians(base: Callable[[int], list[str]], ours: list[str], env: dict[str, str], runs: int,
                   before_ours: Callable[[], object] = lambda: None, cwd: Path | None = None) -> tuple[float, float]:
    """Medians (s) of the baseline and ours, run alternately (base, ours, base, …) after one untimed warm-up
    of each, so machine noise hits both alike. `base(i)` is the i-th baseline argv; `before_ours` runs,
    untimed, before every run of ours (e.g. to reset what it changes); both run in `cwd`."""
    timed(base(0), env, cwd)  # warm the page cache and .pyc files
    before_ours()
    timed(ours, env, cwd)
    a, b = [], []
    for i in range(runs):
        a.append(timed(base(i + 1), env, cwd))
        before_ours()
        b.append(timed(ours, env, cwd))
    return statistics.median(a), statistics.median(b)


def load() -> str:
    """The machine's load beside an absolute figure: a test suite running alongside doubles them all."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    """Wall time of one whole run of `argv`; a failing command stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr.decode()}")
    return elapsed
