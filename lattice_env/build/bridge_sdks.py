"""The routing bridge's AI SDK delegates, each bundled into one file of the npm closure by the closure's
own Bun (the opencode binary as `bun build`): `lattice-bridge/<kind>.mjs`.

Why: the first call of an opencode session waits for the delegate's SDK to load. Loaded from
node_modules, @ai-sdk/openai-compatible and its zod take Bun about 44 ms (some hundred files resolved and
read); one bundled file takes about 25 ms. Bundling is deterministic (same packages, same bytes, under any
directory), unlike Bun's bytecode cache (`--bytecode`), whose output differs from run to run and so is
not used. Whitespace and syntax are minified; names are kept, as error names are part of the protocol."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import LatticeError

BUNDLE_DIR = "lattice-bridge"
# Each protocol the bridge speaks (providers/kinds.py) → the AI SDK package that speaks it (lockfile.py
# BRIDGE_PACKAGES pins their versions). templates/env/bridge/index.mjs reads the bundles by kind.
SDKS = {"openai-compatible": "@ai-sdk/openai-compatible", "openai": "@ai-sdk/openai",
        "anthropic": "@ai-sdk/anthropic", "google": "@ai-sdk/google"}
FACTORIES = {"openai-compatible": "createOpenAICompatible", "openai": "createOpenAI",  # each one's provider
             "anthropic": "createAnthropic", "google": "createGoogleGenerativeAI"}
FORMAT = 1  # of the bundles: part of the closure's derivation (plan.closure_derivation)
TIMEOUT = 300.0


def derivation_input() -> dict[str, object]:
    """What of the bundles the closure's name covers (plan.closure_derivation; repair.py compares it)."""
    return {"format": FORMAT, "sdks": SDKS}


def bundle_sdks(closure: Path, binary: Path) -> None:
    """Write `lattice-bridge/<kind>.mjs` into the closure being built at `closure`, whose node_modules
    holds the SDK packages, with `binary`: the opencode binary the environment will run them in."""
    import tempfile  # deferred, as below: plan.py reads this module's constants on a no-op build

    from ..proc import ProcessError, clean_env, run
    from ..render import render

    out = closure / BUNDLE_DIR
    out.mkdir()
    with tempfile.TemporaryDirectory(prefix="lattice-bun-home-") as home:
        # BUN_BE_BUN: the opencode binary is Bun itself; a throwaway HOME keeps Bun's own files out.
        env = clean_env(BUN_BE_BUN="1", HOME=home, NO_COLOR="1")
        for kind, package in sorted(SDKS.items()):
            entry = out / f".{kind}.entry.mjs"  # beside node_modules, so Bun resolves the closure's copy
            entry.write_text(render("closure/bridge_sdk.mjs.j2", kind=kind, package=package))
            try:
                run([str(binary), "build", str(entry), "--target=bun", "--format=esm", "--minify-whitespace",
                     "--minify-syntax", f"--outfile={out / f'{kind}.mjs'}"], env=env, cwd=closure, timeout=TIMEOUT)
            except ProcessError as exc:
                raise LatticeError(f"bundling {package} for the routing bridge failed: {exc.stderr.strip()[-300:]}"
                                   ) from None
            finally:
                os.unlink(entry)
