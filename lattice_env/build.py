"""`lattice build`: Workflow + lattice.lock → three store paths, the way Nix builds a derivation.

    node-<version>        nodeenv --node=system, relocatable                  (node.py)
    opencode-<v>-closure  the npm closure of opencode-ai and the plugins,    (this module)
                          installed from the lock with scripts off
    <workflow name>       rendered opencode config, agents, commands, copied  (this module)
                          `file:` plugins and `bin/opencode`; references the other two

Every name is computed before anything is built and without jinja2 or npm: the workflow path's inputs
are the resolved configuration, the agent files' text, the lock's closure name, the platform, and the
hash of the templates and generator code — so a no-op build is a few stats. Two workflows with the same
plugins share one closure; a config-only change rebuilds only the small workflow path.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from . import __version__, store
from .errors import LatticeError
from .lock import LOCK_FILE, lock_path, lock_workflow, npm_roots, read_lock, tree_hash
from .node import build_node_env, node_env_inputs
from .opencode_config import OPENCODE_PACKAGE, OPENCODE_VERSION
from .workflow import Loaded

CONFIG_DIR = "config/opencode"  # inside the workflow path: XDG_CONFIG_HOME=<path>/config
GENERATOR_MODULES = ("build.py", "generate.py", "opencode_config.py", "mcp.py", "model.py", "node.py")


@dataclass(frozen=True)
class Plan:
    node: dict[str, Any]
    closure: dict[str, Any]
    env: dict[str, Any]
    lock: dict[str, Any]

    def names(self) -> dict[str, str]:
        return {k: store.store_name(getattr(self, k)) for k in ("node", "closure", "env")}


def platform_package(lock: dict[str, Any]) -> str:
    """The opencode binary package for this machine, as opencode-ai's own postinstall would choose."""
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system())
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if system is None or arch is None:
        raise LatticeError(f"opencode has no build for {platform.system()} {platform.machine()}")
    base = f"opencode-{system}-{arch}"
    musl = system == "linux" and any(Path("/lib").glob("ld-musl-*"))
    avx2 = True
    if arch == "x64" and system == "linux":
        try:
            avx2 = " avx2 " in " " + Path("/proc/cpuinfo").read_text().replace("\t", " ").replace("\n", " ") + " "
        except OSError:
            pass
    variants = [base + "-musl"] if musl else []
    variants += [base] if avx2 else [base + "-baseline", base]
    locked = {p.rsplit("node_modules/", 1)[-1] for p in lock["packages"]}
    for name in variants:
        if name in locked:
            return name
    raise LatticeError(f"{LOCK_FILE} has no opencode binary for this platform ({' or '.join(variants)}); "
                       f"the registry may lack it (see `unavailable` in {LOCK_FILE})")


def _generator_hash() -> str:
    """Templates and the code that renders them: a change to either is a new derivation."""
    digest = hashlib.sha256()
    root = resources.files("lattice_env.templates")
    stack = [root]
    files: list[tuple[str, bytes]] = []
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                stack.append(child)
            elif child.name.endswith(".j2"):
                files.append((str(child).replace(str(root), ""), child.read_bytes()))
    here = Path(__file__).parent
    files += [(name, (here / name).read_bytes()) for name in GENERATOR_MODULES]
    for name, data in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def current_lock(loaded: Loaded, offline: bool = False) -> tuple[dict[str, Any], bool]:
    """The lock, re-locked first when it is missing or no longer matches lattice.yaml."""
    lock = fresh_lock(loaded)
    if lock is not None:
        return lock, False
    return lock_workflow(loaded, offline=offline).lock, True


def fresh_lock(loaded: Loaded) -> dict[str, Any] | None:
    """lattice.lock when it still matches lattice.yaml (roots, file: plugin contents), else None; no npm."""
    wf = loaded.workflow
    lock = read_lock(lock_path(loaded))
    if lock is None or lock.get("roots") != npm_roots(wf.plugins):
        return None
    for plugin in wf.plugins:
        source = (lock.get("sources") or {}).get(plugin.raw)
        if plugin.kind == "file" and (
                source is None or source.get("sha256") != tree_hash(wf.root / plugin.name)[0]):
            return None
        if plugin.kind == "github" and source is None:
            return None
    return lock


def closure_derivation(lock: dict[str, Any]) -> dict[str, Any]:
    """The npm closure depends on the lock alone: workflows with the same plugins share it."""
    return store.derivation(f"{OPENCODE_PACKAGE}-{OPENCODE_VERSION}-closure", "npm-closure",
                            {"roots": lock["roots"], "packages": lock["packages"], "npm": lock["node"]["npm"]})


def plan(loaded: Loaded, lock: dict[str, Any]) -> Plan:
    wf = loaded.workflow
    node_inputs = node_env_inputs()
    node = store.derivation(f"node-{node_inputs['toolchain']['version'].lstrip('v')}", "node-env", node_inputs)
    closure = closure_derivation(lock)
    prompts = {a.name: {"prompt": a.prompt, "frontmatter": dict(a.frontmatter)} for a in wf.agents.values()}
    env = store.derivation(wf.name, "workflow", {
        "lattice": __version__,
        "generator": _generator_hash(),
        "config": loaded.config.data,
        "agents": prompts,
        "sources": lock.get("sources", {}),
        "platform": platform_package(lock),
    }, references=[store.store_name(node), store.store_name(closure)])
    return Plan(node=node, closure=closure, env=env, lock=lock)


class Progress:
    """One line per long step on a terminal; nothing when stderr is piped."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def step(self, message: str, work: Callable[[], Path]) -> Path:
        if not self.enabled:
            return work()
        sys.stderr.write(f"lattice: {message}…\n")
        sys.stderr.flush()
        started = time.monotonic()
        result = work()
        sys.stderr.write(f"lattice: {message}: done in {time.monotonic() - started:.1f} s\n")
        return result


@dataclass(frozen=True)
class BuildResult:
    path: Path
    built: list[str]  # store names built by this call (empty: a no-op)
    relocked: bool


def build(loaded: Loaded, offline: bool = False, progress: Progress | None = None) -> BuildResult:
    progress = progress or Progress()
    root = store.store_root()
    if any(c in str(root.absolute()) for c in '"\\'):
        # opencode inserts {env:…} values into JSON unescaped; the wrapper exports store paths that way.
        raise LatticeError(f"the store path {root} contains a quote or backslash, which opencode cannot "
                           f"read; set LATTICE_HOME to a plain path")
    lock, relocked = current_lock(loaded, offline=offline)
    p = plan(loaded, lock)
    final = store.store_path(p.env)
    if final.exists():
        return BuildResult(final, [], relocked)
    from .gcroots import temp_root

    built: list[str] = []

    def add(drv: dict[str, Any], builder: Callable[[Path], None], message: str) -> Path:
        path = store.store_path(drv)
        if not path.exists():
            progress.step(message, lambda: store.add(drv, builder))
            built.append(path.name)
        return path

    with temp_root(store.store_path(p.node)), temp_root(store.store_path(p.closure)), temp_root(final):
        node_path = add(p.node, lambda out: build_node_env(out, p.node["inputs"]["toolchain"]),
                        "building the node environment (nodeenv --node=system)")
        closure_path = add(p.closure, lambda out: build_closure(out, lock, node_path, offline),
                           f"installing {len(lock['packages'])} npm packages from {LOCK_FILE}")
        add(p.env, lambda out: build_workflow_env(out, loaded, p, closure_path.name),
            f"rendering workflow {loaded.workflow.name}")
    return BuildResult(final, built, relocked)


def build_closure(out: Path, lock: dict[str, Any], node_path: Path, offline: bool) -> None:
    """Install exactly the locked packages, install scripts off. npm checks each tarball against the
    lock's integrity hash; we then check that every package the lock needs on this platform is there at
    its locked version. (`npm ci` is not usable: it refuses a lock whose optional platform packages the
    registry lacks, and a partial mirror lacks some.)"""
    from .lock import ROOT_NAME, to_npm_lockfile
    from .npm import npm

    manifest = {"name": ROOT_NAME, "version": "0.0.0", "private": True, "dependencies": lock["roots"]}
    (out / "package.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    npm_lock = json.dumps(to_npm_lockfile(manifest, lock["packages"]), indent=2, sort_keys=True) + "\n"
    (out / "package-lock.json").write_text(npm_lock)
    npm(["install", "--no-save", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund",
         "--omit=dev", "--no-bin-links"], cwd=out, offline=offline, path_prefix=node_path / "bin")
    (out / "package-lock.json").write_text(npm_lock)  # exactly the lock, whatever npm thought of it
    # npm's hidden lockfile records registry addresses and install times: not part of the closure.
    (out / "node_modules" / ".package-lock.json").unlink(missing_ok=True)
    check_closure(out, lock)


def _matches_platform(entry: dict[str, Any]) -> bool:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system().lower())
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(platform.machine().lower(),
                                                                      platform.machine().lower())
    for key, value in (("os", system), ("cpu", arch)):
        allowed = entry.get(key)
        if allowed and not any(a == value for a in allowed) and not (
                any(a.startswith("!") for a in allowed) and f"!{value}" not in allowed):
            return False
    return True


def check_closure(out: Path, lock: dict[str, Any]) -> None:
    """Every package the lock needs here is installed at its locked version."""
    wrong = []
    for where, entry in lock["packages"].items():
        if not _matches_platform(entry):
            continue
        try:
            installed = json.loads((out / where / "package.json").read_text()).get("version")
        except (OSError, ValueError):
            installed = None
        if installed is None and entry.get("optional"):
            continue  # an optional package npm could not install here (libc, a mirror without it)
        if installed != entry.get("version"):
            wrong.append(f"{where} is {installed or 'missing'}, locked {entry.get('version')}")
    if wrong:
        raise LatticeError(f"npm did not install what {LOCK_FILE} says: {'; '.join(wrong[:3])}"
                           + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""))


def build_workflow_env(out: Path, loaded: Loaded, p: Plan, closure_name: str) -> None:
    from .generate import Layout, render_files
    from .opencode_config import store_instructions, store_plugin_entries
    from .render import render

    wf = loaded.workflow
    config = out / CONFIG_DIR
    layout = Layout(base=config, config_file="opencode.json", config_dir=".")
    files = render_files(wf, layout, plugin_entries=store_plugin_entries(wf), instructions=store_instructions(wf),
                         bridge=True)
    for rel, data in files.items():
        target = config / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    # opencode writes a .gitignore into config dirs that lack one, and dies on a read-only one.
    (config / ".gitignore").write_text("node_modules\npackage.json\nbun.lock\n.gitignore\n")
    for plugin in wf.plugins:
        if plugin.kind == "file":
            shutil.copytree(wf.root / plugin.name, out / "plugins" / plugin.short_name, symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "node_modules"))
    bridge = out / "bridge"  # the per-call routing provider that opencode.json's `lattice` names
    bridge.mkdir()
    for name in ("package.json", "index.mjs"):
        (bridge / name).write_text(render(f"env/bridge/{name}.j2", workflow=wf.name))
    (out / "home").mkdir()  # opencode's idea of home (OPENCODE_TEST_HOME): empty, so ~/.opencode stays out
    wrapper = out / "bin" / "opencode"
    wrapper.parent.mkdir()
    wrapper.write_text(render("env/opencode.sh.j2", closure=closure_name, binary=p.env["inputs"]["platform"],
                              workflow=wf.name))
    wrapper.chmod(0o755)
    os.utime(out, None)
