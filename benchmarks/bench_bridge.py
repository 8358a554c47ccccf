"""Latency that per-call routing adds to one prompt inside opencode: the bridge's decision round trip
(`python -m lattice_env.routing.bridge route {…}` with a committed state update, spawned from node as the bridge
does it) against `python -c "import click"`, both measured in this run. Target: ≤ 1.5×.

The usage report after the response is fire-and-forget (not on the prompt's path) and is not counted."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import load, paired_medians, python, report

CONFIG = {"name": "bench", "providers": {"local": {"base_url": "http://127.0.0.1:9/v1"}},
          "agents": {"a": {"path": "a.md", "routing": {"strategy": "pattern",
                                                         "pattern": ["local/m1", "local/m1", "local/m1",
                                                                     "local/m2"]}}}}
NODE_LOOP = r"""
const { execFile } = require("node:child_process");
const [py, payload, n] = process.argv.slice(1);
const once = () => new Promise((ok, ko) => execFile(py, ["-m", "lattice_env.routing.bridge", "route", payload],
  { env: process.env }, (e, out) => e ? ko(e) : ok(out)));
(async () => {
  await once();
  const t = [];
  for (let i = 0; i < Number(n); i++) { const s = process.hrtime.bigint(); await once();
    t.push(Number(process.hrtime.bigint() - s) / 1e9); }
  t.sort((a, b) => a - b);
  console.log(t[Math.floor(t.length / 2)]);
})();
"""


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "15"))
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "env"
        env_dir.mkdir()
        (env_dir / "manifest.json").write_text(json.dumps({"derivation": {"inputs": {"config": CONFIG}}}))
        env = {**os.environ, "LATTICE_ENV": str(env_dir), "LATTICE_HOME": str(Path(tmp) / "data")}
        payload = json.dumps({"agent": "a", "prompt": "design X", "commit": True})
        baseline, direct = paired_medians(lambda i: [python(), "-c", "import click"],
                                          [python(), "-m", "lattice_env.routing.bridge", "route", payload], env, runs)
        node = shutil.which("node")
        from_node = None
        if node:
            done = subprocess.run([node, "-e", NODE_LOOP, python(), payload, str(runs)], env=env,
                                  capture_output=True, text=True, check=True)
            from_node = float(done.stdout.strip())
    print(f"python -c 'import click' median: {baseline * 1000:.1f} ms ({runs} runs, alternated; {load()})")
    report("bridge decision, whole process (route --commit)", direct, baseline, "<= 1.5x",
           direct <= 1.5 * baseline)
    if from_node is not None:
        report("bridge decision round trip spawned from node", from_node, baseline, "<= 1.5x",
               from_node <= 1.5 * baseline)


if __name__ == "__main__":
    main()
