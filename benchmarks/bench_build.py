"""Build benchmarks (issue 3), run by hand: `python benchmarks/bench_build.py`.

Measures, in one run and against baselines measured in the same run:
- a cold build (empty store, empty npm cache, lattice.lock present) of a workflow with three real
  plugins vs plain `npm install --ignore-scripts` of the same packages (plus opencode-ai, which every
  Lattice environment carries) into an empty cache: target ≤ 1.1×
- a second workflow sharing those plugins vs the cold build: target ≥ 20× faster
- a no-op `lattice build` and `lattice status` in the built project vs `python -c "import click"`,
  alternated: target ≤ 2.0× each
- store disk for 10 workflows sharing the plugins vs one: target ≤ 1.05×
Needs the network (the registry) for the cold runs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import disk_usage, lattice_argv, load, paired_medians, python, report

PLUGINS = ["oh-my-opencode@4.19.4", "opencode-antigravity-auth@1.6.0", "opencode-openai-codex-auth@4.4.0"]


def project(root: Path, name: str) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "agents/a.md").write_text(f"You are agent of {name}.\n")
    plugins = "\n".join(f"  - {p}" for p in PLUGINS)
    (root / "lattice.yaml").write_text(
        f"name: {name}\nplugins:\n{plugins}\nproviders:\n  anthropic:\n    env: ANTHROPIC_API_KEY\n"
        f"agents:\n  a:\n    routing: [anthropic/claude-sonnet-4-5]\n")
    return root


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lattice-bench-build-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_")}
    first = project(work / "wf-0", "wf-0")
    lock_env = {**base_env, "LATTICE_HOME": str(work / "lock-home"), "LATTICE_CONFIG_HOME": str(work / "cfg")}
    subprocess.run([*lattice_argv(), "lock"], env=lock_env, cwd=first, check=True, stdout=subprocess.DEVNULL)

    cold, npm_plain = [], []
    for i in range(2):  # alternate so that network weather hits both alike
        env = {**base_env, "LATTICE_HOME": str(work / f"cold-{i}"), "LATTICE_CONFIG_HOME": str(work / "cfg")}
        cold.append(timed([*lattice_argv(), "build"], env, first))
        npm_dir = work / f"npm-{i}"
        npm_dir.mkdir()
        (npm_dir / "package.json").write_text('{"name": "baseline", "version": "0.0.0", "private": true}')
        npm_env = {**base_env, "npm_config_cache": str(work / f"npm-cache-{i}"), "HOME": str(npm_dir)}
        npm_plain.append(timed(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                                "opencode-ai@1.18.33", *PLUGINS], npm_env, npm_dir))
    cold_s, npm_s = min(cold), min(npm_plain)
    report("cold build, 3 plugins + opencode (vs plain npm install)", cold_s, npm_s, "<= 1.1x", cold_s / npm_s <= 1.1)

    env = {**base_env, "LATTICE_HOME": str(work / "cold-0"), "LATTICE_CONFIG_HOME": str(work / "cfg")}
    second = project(work / "wf-1", "wf-1")
    shutil.copy(first / "lattice.lock", second / "lattice.lock")
    second_s = timed([*lattice_argv(), "build"], env, second)
    report("second workflow sharing the plugins (vs cold build)", second_s, cold_s, ">= 20x faster",
           cold_s / second_s >= 20)

    runs = int(os.environ.get("BENCH_RUNS", "21"))
    print(f"no-op commands: medians of {runs}, each alternated with `python -c 'import click'` ({load()})")
    noop, click = {}, {}
    for command in ("build", "status"):
        click[command], noop[command] = paired_medians(lambda i: [python(), "-c", "import click"],
                                                       [*lattice_argv(), command], env, runs, cwd=first)
        report(f"no-op lattice {command} (vs python -c 'import click')", noop[command], click[command], "<= 2.0x",
               noop[command] / click[command] <= 2.0)

    disk_env = {**base_env, "LATTICE_HOME": str(work / "disk"), "LATTICE_CONFIG_HOME": str(work / "cfg")}
    shutil.copytree(work / "cold-0" / "npm-cache", work / "disk" / "npm-cache")
    subprocess.run([*lattice_argv(), "build"], env=disk_env, cwd=first, check=True, stdout=subprocess.DEVNULL)
    one = disk_usage(work / "disk" / "store")
    for i in range(2, 11):
        wf = project(work / f"wf-{i}", f"wf-{i}")
        shutil.copy(first / "lattice.lock", wf / "lattice.lock")
        subprocess.run([*lattice_argv(), "build"], env=disk_env, cwd=wf, check=True, stdout=subprocess.DEVNULL)
    ten = disk_usage(work / "disk" / "store")
    report("store disk, 10 workflows sharing plugins (vs one)", ten / 2**20, one / 2**20, "<= 1.05x",
           ten / one <= 1.05, unit="MiB")
    print(json.dumps({"cold_build_s": cold, "npm_install_s": npm_plain, "second_s": second_s, "noop_s": noop,
                      "import_click_s": click, "disk_one_bytes": one, "disk_ten_bytes": ten}))
    subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
