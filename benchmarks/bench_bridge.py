"""Latency that per-call routing adds to one model call, measured at the bridge: from the call entering
the bridge (`doStream` of the `lattice/<agent>` model opencode holds) to the delegate's request leaving
(the `fetch` the bridge was given is called), minus nothing else — the routing question, the delegate
SDK building its request, all of it. Run by hand: `python benchmarks/bench_bridge.py [CALLS]`.

1. Over CALLS (default 100) calls of one session, median: target ≤ 5 ms. Each asks this process's
   routing process (lattice_env/routing/serve.py) over its pipe; each decision is committed to
   state.json under its lock, as every call of an agent inside opencode is.
2. The first call of a session — which starts the routing process and loads the SDK, both begun when
   opencode creates the provider — against `python -c "import click"`, both timed in this run: target
   ≤ 1.5×. Median over RUNS sessions; and, apart, the routing process's share: its start to its first
   answer.
3. For comparison, what the bridge did before: one `python -m lattice_env.routing.bridge route JSON`
   process per call, spawned from the same runtime.

The bridge runs in the runtime opencode runs it in: Bun, the opencode binary's own (`BUN_BE_BUN=1`), as
the tests install it under .test-cache/. The delegate is the real @ai-sdk/openai-compatible of the
lock, installed with npm into a temporary closure and bundled as a build bundles it; its fetch answers
from memory, so no server's time is counted. Lattice runs from a fresh venv (benchmarks/_timing.py)."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).parent))
from _timing import python, report, time_command

from lattice_env.build.bridge_sdks import BUNDLE_DIR, FACTORIES, bundle_sdks
from lattice_env.build.lockfile import BRIDGE_PACKAGES
from lattice_env.build.workflow_env import BRIDGE_FILES
from lattice_env.config.load import workflow_from_data
from lattice_env.hooks.plugin import plugin_settings
from lattice_env.render import render

REPO = Path(__file__).resolve().parent.parent
CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
CONFIG = {"name": "bench", "providers": {"local": {"base_url": "http://127.0.0.1:9/v1"}},
          "agents": {"a": {"path": "a.md", "routing": {"strategy": "pattern",
                                                         "pattern": ["local/m1", "local/m1", "local/m1",
                                                                     "local/m2"]}}}}
DRIVER = r"""
import { pathToFileURL } from "node:url";
import { execFile } from "node:child_process";
const [mode, calls] = process.argv.slice(2);
const chunk = (o) => `data: ${JSON.stringify(o)}\n\n`;
const base = { id: "c1", object: "chat.completion.chunk", created: 0, model: "m1" };
const BODY = chunk({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }] })
  + chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })
  + chunk({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })
  + "data: [DONE]\n\n";
let sent = 0n;
const fetch = async () => { sent = process.hrtime.bigint();
  return new Response(BODY, { headers: { "content-type": "text/event-stream" } }); };
const options = { prompt: [{ role: "system", content: "You are A." },
  { role: "user", content: [{ type: "text", text: "design X" }] }], headers: { "x-session-affinity": "bench" } };
const samples = [];
if (mode === "bridge") {
  const { createLattice } = await import(pathToFileURL(`${process.env.LATTICE_ENV}/bridge/index.mjs`).href);
  const model = createLattice({ fetch }).languageModel("a");
  for (let i = 0; i < Number(calls); i++) {
    const start = process.hrtime.bigint();
    const result = await model.doStream(options);
    samples.push(Number(sent - start) / 1e6);
    const reader = result.stream.getReader();
    while (!(await reader.read()).done) { /* drain, as opencode does */ }
  }
} else if (mode === "router") {  // the routing part of the first call: start the process, first answer
  const { router } = await import(pathToFileURL(`${process.env.LATTICE_ENV}/bridge/router.mjs`).href);
  const start = process.hrtime.bigint();
  await router.ask("route", { agent: "a", prompt: "design X", commit: true, session: "bench" });
  samples.push(Number(process.hrtime.bigint() - start) / 1e6);
} else {  // the bridge before: a routing process per call
  const payload = JSON.stringify({ agent: "a", prompt: "design X", commit: true, session: "bench" });
  for (let i = 0; i < Number(calls); i++) {
    const start = process.hrtime.bigint();
    await new Promise((ok, ko) => execFile(process.env.LATTICE_PYTHON, ["-m", "lattice_env.routing.bridge",
      "route", payload], { env: process.env }, (e, out) => e ? ko(e) : ok(out)));
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
console.log(JSON.stringify(samples));
"""


def runtime() -> tuple[list[str], dict[str, str], str]:
    """argv prefix to run a script, extra environment, and the runtime's name: the opencode binary as Bun,
    which also bundles the SDKs."""
    for binary in sorted(REPO.glob(".test-cache/opencode-ai-*/node_modules/opencode-linux-x64/bin/opencode")):
        return [str(binary)], {"BUN_BE_BUN": "1"}, "bun (opencode's own)"
    raise SystemExit("bench_bridge needs the opencode binary the tests install under .test-cache/ (run the tests once)")


def environment(tmp: Path, bun: Path) -> dict[str, str]:
    """A workflow environment's bridge and a closure with the delegate's SDK; the variables bin/opencode
    would set for them."""
    env_dir, closure = tmp / "env", tmp / "closure"
    settings = plugin_settings(workflow_from_data(CONFIG, {"a": {"prompt": "You are A.", "frontmatter": {}}}, tmp))
    for name in BRIDGE_FILES:  # as build/workflow_env.py renders them
        (env_dir / "bridge" / name).parent.mkdir(parents=True, exist_ok=True)
        (env_dir / "bridge" / name).write_text(render(f"env/bridge/{name}.j2", workflow="bench",
                                                      kinds=["openai-compatible"], bundle_dir=BUNDLE_DIR, factories=FACTORIES, **settings))
    (env_dir / "manifest.json").write_text(json.dumps({"derivation": {"inputs": {"config": CONFIG}}}))
    data = tmp / "data"
    data.mkdir()
    shared = REPO / ".test-cache" / "lattice-npm-cache"  # the tests' npm cache, when there is one
    if shared.is_dir():
        (data / "npm-cache").symlink_to(shared)
    closure.mkdir()
    print("installing the bridge's SDKs into a temporary closure and bundling them (untimed) …", file=sys.stderr)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(closure),
                    *(f"{name}@{version}" for name, version in BRIDGE_PACKAGES.items())], check=True,
                   capture_output=True, env={**os.environ, "npm_config_cache": str(data / "npm-cache"),
                                             "npm_config_update_notifier": "false"})
    bundle_sdks(closure, bun)  # as build/closure.py does
    return {**os.environ, "LATTICE_ENV": str(env_dir), "LATTICE_CLOSURE": str(closure),
            "LATTICE_HOME": str(data), "LATTICE_PYTHON": python()}


def drive(argv: list[str], env: dict[str, str], mode: str, calls: int, script: Path) -> list[float]:
    done = subprocess.run([*argv, str(script), mode, str(calls)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the driver failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    argv, extra, name = runtime()
    with tempfile.TemporaryDirectory(prefix="lattice-bench-bridge-") as tmp:
        env = {**environment(Path(tmp), Path(argv[0])), **extra}
        script = Path(tmp) / "driver.mjs"
        script.write_text(DRIVER)
        drive(argv, env, "bridge", 3, script)  # warm the page cache and .pyc files
        session = drive(argv, env, "bridge", CALLS, script)
        firsts = [drive(argv, env, "bridge", 1, script)[0] for _ in range(RUNS)]
        starts = [drive(argv, env, "router", 1, script)[0] for _ in range(RUNS)]
        before = drive(argv, env, "one-shot", min(CALLS, 30), script)
        baseline = time_command([python(), "-c", "import click"], env=env, runs=RUNS)
    later = statistics.median(session[1:])
    first = statistics.median(firsts)
    print(f"runtime: {name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"python -c 'import click' median: {baseline * 1000:.1f} ms ({RUNS} runs)")
    print(f"added at the bridge, call enters → delegate request leaves, median of {CALLS - 1} calls of one "
          f"session: {later:.2f} ms (p90 {sorted(session[1:])[int(0.9 * (len(session) - 1))]:.2f} ms)  "
          f"target <= 5 ms  {'OK' if later <= 5 else 'MISSED'}")
    start = statistics.median(starts)
    report("first call of a session (starts the routing process)", first / 1000, baseline, "<= 1.5x",
           first / 1000 <= 1.5 * baseline)
    report("  of which the routing process: started, first answer", start / 1000, baseline, "<= 1.5x",
           start / 1000 <= 1.5 * baseline)
    print("  (the rest of the first call is Bun's first import of the delegate's SDK, bundled in the closure,\n"
          "   begun with the routing process as opencode creates the provider)")
    print(f"before: a routing process per call, median {statistics.median(before):.1f} ms per call "
          f"({statistics.median(before) / later:.0f}x the long-lived process)")


if __name__ == "__main__":
    main()
