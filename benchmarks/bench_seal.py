"""What checking a store path's seal costs a launch (issue 10, point 11), run by hand:
`python benchmarks/bench_seal.py [RUNS]`.

Builds a workflow with real plugins (the registry, or LATTICE_BENCH_NPM_CACHE: an npm cache to reuse),
then times, in this process, medians of RUNS:
- the seal of the workflow path alone (what `print-env` and `shell` check),
- the seal of the workflow path and everything it references (what `run` checks),
- the re-hash of the workflow path's own files against its manifest (what `run` adds),
- for scale: `store verify` of the whole closure (what `doctor` does) and `python -c pass`.
Ratios are printed against the full verify; no thresholds (machines differ), but the seal of the
closure should stay a small fraction of opencode's own start (~0.6 s)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
PLUGINS = ["oh-my-opencode@4.19.4", "opencode-antigravity-auth@1.6.0", "opencode-openai-codex-auth@4.4.0"]


def median(work, runs: int = RUNS) -> float:
    work()  # warm the inode and page caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lattice-bench-seal-"))
    data = work / "data"
    data.mkdir(mode=0o700)
    if os.environ.get("LATTICE_BENCH_NPM_CACHE"):
        (data / "npm-cache").symlink_to(os.environ["LATTICE_BENCH_NPM_CACHE"])
    project = work / "wf"
    (project / "agents").mkdir(parents=True)
    (project / "agents" / "a.md").write_text("You are a.\n")
    plugins = "\n".join(f"  - {p}" for p in PLUGINS)
    (project / "lattice.yaml").write_text(f"name: bench-seal\nplugins:\n{plugins}\nproviders:\n  anthropic:\n"
                                          f"    env: ANTHROPIC_API_KEY\nagents:\n  a:\n    routing: [anthropic/x]\n")
    env = {**os.environ, "LATTICE_HOME": str(data), "LATTICE_CONFIG_HOME": str(work / "cfg")}
    print("building (untimed) …", file=sys.stderr)
    built = subprocess.run([sys.executable, "-m", "lattice_env", "build"], env=env, cwd=project, check=True,
                           capture_output=True, text=True)
    path = built.stdout.strip().splitlines()[-1]
    os.environ["LATTICE_HOME"] = str(data)

    from lattice_env.store.manifest import references
    from lattice_env.store.seal import broken
    from lattice_env.store.verify import verify

    closure = next(os.path.join(os.path.dirname(path), r) for r in references(path) if r.endswith("-closure"))
    entries = sum(len(dirs) + len(files) for _, dirs, files in os.walk(closure))
    assert broken(path) is None and verify([path]) == []
    own = median(lambda: broken(path, False))
    sealed = median(lambda: broken(path, True))
    contents = median(lambda: verify([path]))
    full = median(lambda: verify([closure]), runs=3)
    start = median(lambda: subprocess.run([sys.executable, "-S", "-c", "pass"], check=True), runs=5)
    print(f"{RUNS} runs, medians; closure {entries} entries; load average {os.getloadavg()[0]:.1f}")
    for label, value in (("seal, workflow path only (print-env, shell)", own),
                         ("seal, workflow path + references (run)", sealed),
                         ("contents of the workflow path (run adds)", contents),
                         ("store verify of the closure (doctor; baseline)", full),
                         ("python -S -c pass (for scale)", start)):
        print(f"  {label:50} {value * 1000:9.2f} ms   {value / full:8.4f} x verify")
    subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
