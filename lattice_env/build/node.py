"""The node environment store path: `python -m nodeenv --node=system`, made relocatable.

nodeenv 1.12 with `--node=system` writes the environment's own absolute path into `bin/node`,
`bin/shim` and its activate scripts, and ships no npm (npm stays the system's, so its version is part of
the node identity). We run the real nodeenv, then replace what it wrote with shims that find their
directory at run time, and drop the activate scripts (Lattice activates environments itself), so the
same inputs give an identical tree under any store root.

The identity of the system toolchain (node's real path and version, npm's version) and nodeenv's version
are inputs of this path. Asking node and npm for their versions costs ~0.2 s, and importlib.metadata
~50 ms, so they are cached in the data dir, keyed by the binaries' and nodeenv.py's paths and stat stamps
(stamps.py): the no-op build stays fast and still notices an upgraded node or nodeenv.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import LatticeError
from ..fsutil import atomic_write
from ..proc import clean_env, run
from ..stamps import settled, stamp

IDENTITY_CACHE = "node-identity.json"


def _nodeenv_file() -> str:
    """Where `python -m nodeenv` will be imported from (sys.path order, as the import system looks)."""
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "nodeenv.py")
        if os.path.isfile(candidate):
            return os.path.realpath(candidate)
    raise LatticeError("the nodeenv package is not installed next to lattice (pip install nodeenv)")


def _identity() -> dict[str, str]:
    """The node and npm on PATH and the nodeenv beside us, cached by their files' stamps."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = "node" if node is None else "npm"
        raise LatticeError(f"`{missing}` is not on PATH: Lattice builds environments with the system's "
                           f"node and npm (install them, e.g. Debian's nodejs and npm packages)")
    node, npm = os.path.realpath(node), os.path.realpath(npm)
    now = time.time()
    files = [(path, os.stat(path)) for path in (node, npm, _nodeenv_file())]
    key = [[path, *stamp(st)] for path, st in files]
    cache = Path(paths.data_root()) / IDENTITY_CACHE
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return dict(cached["identity"])
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    import importlib.metadata

    env = clean_env()
    identity = {
        "node": node,
        "version": run([node, "--version"], env=env, timeout=60).stdout.strip(),
        "npm": run([npm, "--version"], env={**env, "npm_config_update_notifier": "false"},
                   timeout=60).stdout.strip(),
        "nodeenv": importlib.metadata.version("nodeenv"),
    }
    if all(settled(st, now) for _, st in files):  # else asked again until they settle
        atomic_write(cache, (json.dumps({"key": key, "identity": identity}, sort_keys=True) + "\n").encode())
    return identity


def _toolchain(identity: dict[str, str]) -> dict[str, str]:
    return {k: identity[k] for k in ("node", "version", "npm")}


def system_node() -> dict[str, str]:
    """`{"node": real path, "version": "v20.20.2", "npm": "11.19.1"}` of the node and npm on PATH."""
    return _toolchain(_identity())


def node_env_inputs() -> dict[str, Any]:
    identity = _identity()
    return {"nodeenv": identity["nodeenv"], "toolchain": _toolchain(identity)}


def build_node_env(out: Path, identity: dict[str, str]) -> None:
    """Builder for the store: run nodeenv into `out`, then make the result relocatable."""
    from ..render import render

    run([sys.executable, "-m", "nodeenv", "--node=system", "--quiet", str(out / "env")],
        env=clean_env(HOME=str(out)), timeout=300)
    env = out / "env"
    for item in env.iterdir():  # flatten: the store path itself is the environment
        item.rename(out / item.name)
    env.rmdir()
    for script in ("activate", "activate.fish"):
        (out / "bin" / script).unlink(missing_ok=True)
    shim = render("node/node.sh.j2", node=identity["node"]).encode()
    for name in ("node", "shim"):
        target = out / "bin" / name
        target.unlink(missing_ok=True)
        target.write_bytes(shim)
        target.chmod(0o755)
    (out / "lib" / "node_modules").mkdir(parents=True, exist_ok=True)
