"""`lattice switch` without `--generation`: build the workflow, then make it the profile's new generation.
The build and the switch happen under a temporary gc root on the built path, so a concurrent
`lattice store gc` cannot collect it in between; if one collected it before the root existed, the path
is built again, rooted this time."""
from __future__ import annotations

from typing import Any

from . import links


def build_and_switch(loaded: Any, profile: str | None = None, offline: bool = False,
                     trust: bool = False) -> links.Moved:
    """Build `loaded` (a config.load.Loaded) into the store and switch profile `profile` (default: the
    active one) to it. What the workflow runs must be trusted (`trust=True`: trust it now)."""
    from ..build.builder import build
    from ..errors import LatticeError
    from ..store.roots import temp_root
    from ..store.seal import broken
    from .generations import switch_to

    name = links.resolve_name(profile)
    built = build(loaded, offline=offline, action="`lattice switch`", trust=trust)
    with temp_root(built.path):
        if not built.path.is_dir():  # a gc ran between the build and our root: build again, rooted now
            built = build(loaded, offline=offline, action="`lattice switch`")
        # A build finds its paths by name and does not look inside: say when what it found was changed,
        # rather than switching to it (or calling it "already at generation N").
        damage = broken(str(built.path))
        if damage is not None:
            raise LatticeError(f"store path {damage[0]} is damaged ({damage[1]}): `lattice store repair "
                               f"{damage[0]}` rebuilds it")
        return switch_to(built.path, name)
