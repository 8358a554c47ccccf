"""Wrapper overhead (issue 4), run by hand: `python benchmarks/bench_wrapper.py`.

Builds the embedded default workflow into a temporary data dir, then times `<env>/bin/opencode --version`
against the pinned opencode binary it execs, alternating runs. Target: ≤ 5 ms more (median)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 21


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lattice-bench-wrapper-"))
    env = {**os.environ, "LATTICE_HOME": str(work / "data"), "LATTICE_CONFIG_HOME": str(work / "cfg")}
    lattice = [sys.executable, "-m", "lattice_env"]
    subprocess.run([*lattice, "init", str(work / "wf")], env=env, check=True, stdout=subprocess.DEVNULL)
    path = Path(subprocess.run([*lattice, "build"], env=env, cwd=work / "wf", check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1])
    wrapper = path / "bin" / "opencode"
    script = wrapper.read_text()
    binary_rel = script.rsplit('exec "$LATTICE_CLOSURE/', 1)[1].split('"', 1)[0]
    closure = next(p for p in path.parent.iterdir() if p.name.endswith("-closure"))
    binary = closure / binary_rel
    # The binary gets the environment the wrapper would give it, so only the wrapper's own work differs.
    direct_env = {**os.environ, "LATTICE_ENV": str(path), "LATTICE_CLOSURE": str(closure),
                  "XDG_CONFIG_HOME": str(path / "config"), "OPENCODE_TEST_HOME": str(path / "home"),
                  "LATTICE_PROJECT_INSTRUCTIONS": str(path / "home/no-AGENTS.md"),
                  **{f"OPENCODE_DISABLE_{k}": "1" for k in ("PROJECT_CONFIG", "MODELS_FETCH", "AUTOUPDATE",
                                                            "CLAUDE_CODE", "EXTERNAL_SKILLS")}}
    timings: dict[str, list[float]] = {"wrapper": [], "binary": []}
    for i in range(RUNS + 1):
        for label, argv, run_env in (("wrapper", [str(wrapper), "--version"], dict(os.environ)),
                                     ("binary", [str(binary), "--version"], direct_env)):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work,
                           env=run_env)
            if i:  # the first round warms the page cache
                timings[label].append(time.perf_counter() - start)
    w, b = statistics.median(timings["wrapper"]), statistics.median(timings["binary"])
    print(f"bin/opencode --version {w * 1000:8.1f} ms   pinned binary {b * 1000:8.1f} ms   "
          f"overhead {(w - b) * 1000:+6.1f} ms   target <= +5 ms   {'OK' if w - b <= 0.005 else 'MISSED'}")
    subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
