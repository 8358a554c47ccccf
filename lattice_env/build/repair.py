"""`lattice store repair`: damaged store paths brought back to exactly what was sealed.

`store verify` says what is wrong with a path; this puts it right:
- only modes or mtimes moved (the content still hashes to the manifest): the sealed layout is restored
  in place (store.add.reseal);
- content changed, added or removed: the path is rebuilt from its own derivation, aside, by the builder
  of its kind (the three of plan.py), and must come out with the tree hash its manifest recorded before
  it takes the damaged one's place (store.add.replace). The derivation can be trusted even when the
  entries cannot: the path's name is its hash.

What cannot be rebuilt is said, with what to do instead: a path whose manifest is damaged too (nothing
says what it was), a workflow path built by another version of lattice (the builder is an input), a
node environment or closure made with another node or npm than this machine's."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import LatticeError
from ..store import names as store
from ..store.manifest import read_manifest
from ..store.verify import Problem, verify

ORDER = {"node-env": 0, "npm-closure": 1, "workflow": 2}  # what others reference is repaired first
RESEALABLE = {"mode", "time"}  # problems of the layout alone: the bytes are intact


def repair(targets: list[str] | None = None, offline: bool = False,
           root: Path | None = None) -> tuple[list[str], list[str]]:
    """Repair the given store paths (default: every one `verify` finds damaged); return (what was
    done, what could not be done), one line each."""
    root = store.root_dir(root)
    found = verify(targets or None, root)
    damaged: dict[str, list[Problem]] = {}
    for problem in found:
        if problem.kind != "missing":  # a generation whose path is gone: nothing here to rebuild from
            damaged.setdefault(problem.name, []).append(problem)
    done: list[str] = []
    failed = [f"{p.name}: its store path {p.detail.split(' ')[0]} is gone, so nothing records how it was "
              f"built; `lattice switch` in its project builds it again (or delete that generation)"
              for p in found if p.kind == "missing"]
    for name in sorted(damaged, key=lambda n: (ORDER.get(_kind(root / n), 9), n)):
        try:
            done.append(_repair_one(root / name, damaged[name], offline, root))
        except LatticeError as exc:
            failed.append(f"{name}: cannot repair: {exc}")
    return done, failed


def _kind(path: Path) -> str | None:
    try:
        return read_manifest(path)["derivation"]["kind"]
    except (LatticeError, KeyError, TypeError):
        return None


def _repair_one(path: Path, problems: list[Problem], offline: bool, root: Path) -> str:
    from ..store.add import replace, reseal
    from ..store.roots import temp_root

    kinds = {p.kind for p in problems}
    if "manifest" in kinds:
        raise LatticeError(f"its manifest is damaged ({next(p.detail for p in problems if p.kind == 'manifest')}), "
                           f"so nothing says what it was; delete the generations that use it and run `lattice "
                           f"switch` in their project")
    manifest = read_manifest(path)
    if "reference" in kinds:
        missing = next(p.detail for p in problems if p.kind == "reference")
        raise LatticeError(f"{missing}; `lattice switch` in its project builds it again")
    with temp_root(path, root):
        if kinds <= RESEALABLE:
            reseal(path, manifest["entries"])
            again = verify([path], root)
            if again:
                raise LatticeError(f"still {again[0].kind}: {again[0].detail}")
            return f"{path.name}: modes and mtimes restored (its content was intact)"
        drv = manifest["derivation"]
        replace(drv, _builder(drv, path, problems, offline, root), root, expect_tree=manifest["tree"])
    return f"{path.name}: rebuilt from its derivation ({', '.join(sorted(kinds))} before)"


def _builder(drv: dict[str, Any], path: Path, problems: list[Problem], offline: bool,
             root: Path) -> Callable[[Path], None]:
    """How to build `drv` again here, or a LatticeError saying why it cannot be."""
    kind, inputs = drv.get("kind"), drv.get("inputs") or {}
    if kind == "node-env":
        from .node import build_node_env, node_env_inputs

        if inputs != node_env_inputs():
            raise LatticeError("it was made with another node, npm or nodeenv than this machine's; "
                               "`lattice switch` in its project builds the environment anew")
        return lambda out: build_node_env(out, inputs["toolchain"])
    if kind == "npm-closure":
        return _closure_builder(inputs, offline, root)
    if kind == "workflow":
        return _workflow_builder(drv, path, problems)
    raise LatticeError(f"lattice does not know how to build a store path of kind {kind!r}")


def _closure_builder(inputs: dict[str, Any], offline: bool, root: Path) -> Callable[[Path], None]:
    from ..store.add import add
    from .bridge_sdks import derivation_input
    from .closure import build_closure
    from .node import build_node_env, node_env_inputs
    from .npm import node_identity

    if not isinstance(inputs.get("roots"), dict) or not isinstance(inputs.get("packages"), dict):
        raise LatticeError("its derivation records no packages")
    if inputs.get("npm") != node_identity()["npm"]:
        raise LatticeError(f"it was installed with npm {inputs.get('npm')}, this machine has npm "
                           f"{node_identity()['npm']}; `lattice switch` in its project builds it anew")
    if inputs.get("bridge_sdks") != derivation_input() or not isinstance(inputs.get("platform"), str):
        raise LatticeError("an older lattice built it; `lattice switch` in its project builds it anew")
    node_inputs = node_env_inputs()
    node = store.derivation(f"node-{node_inputs['toolchain']['version'].lstrip('v')}", "node-env", node_inputs)

    def build(out: Path) -> None:
        from ..store.roots import temp_root

        with temp_root(store.store_path(node, root), root):
            node_path = add(node, lambda o: build_node_env(o, node_inputs["toolchain"]), root)
            build_closure(out, {"roots": inputs["roots"], "packages": inputs["packages"]}, node_path, offline,
                          inputs["platform"])
    return build


def _workflow_builder(drv: dict[str, Any], path: Path, problems: list[Problem]) -> Callable[[Path], None]:
    from ..config.load import workflow_from_data
    from .builder_hash import builder_hash
    from .file_plugins import copy_files
    from .workflow_env import build_workflow_env

    inputs = drv["inputs"]
    if inputs.get("builder") != builder_hash() or inputs.get("lattice") != __version__:
        raise LatticeError("it was built by another version of lattice (the builder is one of its inputs); "
                           "`lattice switch` in its project builds the environment anew")
    closure = next((r for r in drv["references"] if r.endswith("-closure")), None)
    if closure is None or not isinstance(inputs.get("platform"), str):
        raise LatticeError("its derivation names no npm closure or opencode package")
    workflow = workflow_from_data(inputs.get("config"), inputs.get("agents"), path, inputs.get("commands"))  # (reads no file)
    # A file: plugin's content is an input by hash only: its one copy is the one inside this path.
    damaged = {p.detail.split(" (")[0] for p in problems}
    plugin_files = {}
    for plugin in workflow.plugins:
        if plugin.kind == "file":
            inside = f"plugins/{plugin.short_name}"
            if any(d == inside or d.startswith(inside + "/") for d in damaged):
                raise LatticeError(f"{inside} is damaged and is the only copy of that plugin; `lattice switch` "
                                   f"in its project builds the environment anew")
            plugin_files[plugin.short_name] = copy_files(path / inside)
    if inputs.get("skills"):  # like a file: plugin's, a skill's content is an input by hash only
        from ..config.skills import STORE_DIR, SkillFile
        from .workflow_env import CONFIG_DIR

        inside = f"{CONFIG_DIR}/{STORE_DIR}"
        if any(d == inside or d.startswith(inside + "/") for d in damaged):
            raise LatticeError(f"{inside} is damaged and is the only copy of the skills; `lattice switch` in "
                               f"its project builds the environment anew")
        workflow = workflow._replace(skills=tuple(SkillFile(*f) for f in copy_files(path / inside)))
    return lambda out: build_workflow_env(out, workflow, inputs["platform"], closure, plugin_files)
