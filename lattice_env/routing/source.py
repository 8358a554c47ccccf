"""Which configuration routing reads: the active (or named) profile's environment — what was switched
to, as `lattice run` and the bridge use it — unless a project file was named with `-C`/`-f`, or no
profile has a generation yet; then the project's lattice.yaml.

`route`, `routing` and `status providers` say which one they used (`label`), and, when they route with a
generation while the project's lattice.yaml (with lattice.local.yaml) no longer builds to it, how to
apply the edit (`drift`, from status.drift: the store name alone, no build)."""
from __future__ import annotations

import os
from typing import Any, NamedTuple

from ..errors import LatticeError


class Source(NamedTuple):
    config: dict[str, Any]  # the resolved configuration to route from
    origin: str  # `profile default (<store name>)` or the project file: --json's "config"
    kind: str  # "profile" | "project"
    label: str  # what plain output names: `profile default (generation 3)`, `lattice.yaml`
    drift: dict[str, Any] | None  # status.drift of the project here against the generation, if any

    @property
    def note(self) -> str | None:
        """One line for plain output when lattice.yaml here is not what routing uses."""
        if self.drift is None or self.drift["state"] == "in-sync":
            return None
        if self.drift["state"] in ("changed", "lock-outdated"):
            return ("lattice.yaml here (with lattice.local.yaml and the agent files) differs from this "
                    "generation; `lattice switch` applies it")
        return f"lattice.yaml here: {self.drift['message']}"

    def header(self) -> list[str]:
        """The lines plain output starts with."""
        return [f"routing with {self.label}", *([f"  {self.note}"] if self.note else [])]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "drift": self.drift}


def routing_source(profile: str | None = None, file: os.PathLike[str] | None = None,
                   directory: os.PathLike[str] | None = None) -> Source:
    """The configuration to route from, where it came from, and how lattice.yaml here relates to it."""
    from ..profiles.links import resolve_name

    name = resolve_name(profile)
    if profile is not None or (file is None and directory is None):
        from ..launch.activation import env_path
        from ..store.manifest import environment_config

        try:
            path = env_path(profile)
        except LatticeError:
            if profile is not None:
                raise
        else:
            from ..profiles.links import current_generation

            return Source(environment_config(path), f"profile {name} ({os.path.basename(path)})",
                          "profile", f"profile {name} (generation {current_generation(name)})",
                          _drift(path, file, directory))
    from pathlib import Path

    from .. import paths
    from ..config.load import load_workflow

    if file is None and directory is None and paths.find_project_file(Path.cwd()) is None:
        raise LatticeError(f"nothing to route with: profile {name} has no generation (`lattice switch` in "
                           f"a project makes one) and there is no {paths.PROJECT_FILE} in {Path.cwd()} "
                           f"or any parent directory")
    loaded = load_workflow(file=file, directory=directory)
    shown = paths.display(loaded.config.project_file)
    label = shown if file is not None or directory is not None else \
        f"{shown} (profile {name} has no generation yet)"
    return Source(loaded.config.data, str(loaded.config.project_file), "project", label, None)


def _drift(env_path: str, file: os.PathLike[str] | None, directory: os.PathLike[str] | None
           ) -> dict[str, Any] | None:
    """status.drift of the project found from here (or -C/-f) against `env_path`; None outside one."""
    from pathlib import Path

    from .. import paths

    if file is None and paths.find_project_file(Path(directory or Path.cwd())) is None:
        return None
    from ..config.load import load_workflow
    from ..status import drift

    try:
        return drift(load_workflow(file=file, directory=directory), env_path)
    except LatticeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"state": "invalid", "expected": None,
                "message": f"it does not load ({first}); `lattice validate` shows every problem"}
