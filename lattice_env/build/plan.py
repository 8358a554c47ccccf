"""The three derivations of a workflow — what `lattice build` would build, named before anything is built,
without jinja2 or npm, so a no-op build is a few stats and `lattice status` can tell drift from the
name alone:

    node-<version>        nodeenv --node=system, made relocatable              (node.py)
    opencode-<v>-closure  the npm closure of opencode-ai and the plugins       (closure.py)
    <workflow name>       rendered opencode config, agents, commands, bridge,  (workflow_env.py)
                          `file:` plugins and `bin/opencode`; references the other two

The workflow path's inputs are the resolved configuration, the agent files' text, the skill files' hashes,
the lock's sources,
the platform's opencode package, and the builder: every file of the lattice_env package and every
template (store/FORMAT.md, "Builder"), as Nix takes the builder as an input. Two workflows with the
same plugins share one closure; a config-only change rebuilds only the small workflow path."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from .. import __version__
from ..config.load import Loaded
from ..errors import LatticeError
from ..opencode.config import OPENCODE_PACKAGE, OPENCODE_VERSION
from ..store import names as store
from .bridge_sdks import derivation_input as bridge_sdks
from .builder_hash import builder_hash
from .lockfile import LOCK_FILE
from .node import node_env_inputs


class Plan(NamedTuple):
    node: dict[str, Any]
    closure: dict[str, Any]
    env: dict[str, Any]
    lock: dict[str, Any]

    def names(self) -> dict[str, str]:
        return {k: store.store_name(getattr(self, k)) for k in ("node", "closure", "env")}


def platform_package(lock: dict[str, Any]) -> str:
    """The opencode binary package for this machine, as opencode-ai's own postinstall would choose."""
    uname = os.uname()  # platform.system() and machine() on POSIX, without importing platform
    system = {"Linux": "linux", "Darwin": "darwin"}.get(uname.sysname)
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(uname.machine.lower())
    if system is None or arch is None:
        raise LatticeError(f"opencode has no build for {uname.sysname} {uname.machine}")
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



# Keys of lattice.yaml that shape nothing a build writes or an environment does at run time (notes for
# people, and where files were read from: their content is an input of its own). A store path publishes
# its derivation in manifest.json, so these stay out of it: among them what lattice.local.yaml says only
# about this machine (a private agents_dir, a tier note). "*" is any name.
INERT = (("description",), ("author",), ("defaults", "agents_dir"), ("providers", "*", "tier"),
         ("agents", "*", "path"), ("mcp", "*", "description"), ("commands", "*", "path"))


def build_config(data: dict[str, Any]) -> dict[str, Any]:
    """The configuration as the workflow derivation records it: `data` without the INERT keys.
    Everything else shapes the environment: the generated files, or what routing, `lattice run` and the
    bridge read back from the manifest (store.manifest.environment_config)."""
    def strip(value: Any, rules: list[tuple[str, ...]]) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, child in value.items():
            here = [r[1:] for r in rules if r and r[0] in (key, "*")]
            if () not in here:
                out[key] = strip(child, [r for r in here if r])
        return out
    return strip(data, list(INERT))


def command_inputs(loaded: Loaded) -> dict[str, Any]:
    """Each `path:` command's template and frontmatter: the content of its file, an input of its own."""
    data = loaded.config.data.get("commands") or {}
    out = {}
    for name, command in loaded.workflow.commands.items():
        spec = data.get(name) or {}
        if "path" in spec:
            settings = {k: v for k, v in (("description", command.description), ("agent", command.agent),
                                          ("model", command.model), ("subtask", command.subtask),
                                          ("variant", command.variant))
                        if k not in spec and v not in (None, "")}
            out[name] = {"template": command.template, "frontmatter": settings}
    return out


def skill_inputs(files: Any) -> list[list[str]]:
    """Each skill file (config/skills.py) as [path, "exec" or "file", sha256 of its content]: any edit,
    rename, new file or executable bit names a new environment. The content itself is in the path."""
    import hashlib

    return [[f.path, "exec" if f.executable else "file", hashlib.sha256(f.data).hexdigest()] for f in files]


def closure_derivation(lock: dict[str, Any]) -> dict[str, Any]:
    """The npm closure depends on the lock, the opencode binary it keeps for this kind of machine and how
    the bridge's SDKs are bundled, alone: workflows with the same plugins share it, and so do machines
    of one kind through a binary cache."""
    return store.derivation(f"{OPENCODE_PACKAGE}-{OPENCODE_VERSION}-closure", "npm-closure",
                            {"roots": lock["roots"], "packages": lock["packages"], "npm": lock["node"]["npm"],
                             "platform": platform_package(lock), "bridge_sdks": bridge_sdks()})


def plan(loaded: Loaded, lock: dict[str, Any]) -> Plan:
    wf = loaded.workflow
    node_inputs = node_env_inputs()
    node = store.derivation(f"node-{node_inputs['toolchain']['version'].lstrip('v')}", "node-env", node_inputs)
    closure = closure_derivation(lock)
    prompts = {a.name: {"prompt": a.prompt, "frontmatter": dict(a.frontmatter)} for a in wf.agents.values()}
    inputs = {
        "lattice": __version__,
        "builder": builder_hash(),
        "config": build_config(loaded.config.data),
        "agents": prompts,
        "commands": command_inputs(loaded),
        "sources": lock.get("sources", {}),
        "platform": platform_package(lock),
    }
    if wf.skills:  # only then: a workflow without skills keeps the inputs it had before they existed
        inputs["skills"] = skill_inputs(wf.skills)
    env = store.derivation(wf.name, "workflow", inputs,
                           references=[store.store_name(node), store.store_name(closure)])
    return Plan(node=node, closure=closure, env=env, lock=lock)

