"""Which configuration routing reads: the active (or named) profile's environment — what was switched
to, as `lattice run` and the bridge use it — unless a project file was named with `-C`/`-f`, or no
profile has a generation yet; then the project's lattice.yaml."""
from __future__ import annotations

import os
from typing import Any

from ..errors import LatticeError


def routing_source(profile: str | None = None, file: os.PathLike[str] | None = None,
                   directory: os.PathLike[str] | None = None) -> tuple[dict[str, Any], str]:
    """The resolved configuration to route from, and where it came from (for messages and --json)."""
    if profile is not None or (file is None and directory is None):
        from ..launch.activation import env_path
        from ..profiles.links import resolve_name
        from ..store.manifest import environment_config

        try:
            path = env_path(profile)
        except LatticeError:
            if profile is not None:
                raise
        else:
            return environment_config(path), f"profile {resolve_name(profile)} ({os.path.basename(path)})"
    from ..config.load import load_workflow

    loaded = load_workflow(file=file, directory=directory)
    return loaded.config.data, str(loaded.config.project_file)
