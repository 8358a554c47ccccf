"""Environment references, and keeping configuration values out of opencode's own substitutions.

opencode 1.18.33 rewrites the text of each JSON config file before parsing it (its config `substitute`):
first every `{env:VAR}` becomes the variable's value — an unset one becomes nothing — then every
`{file:PATH}` becomes the content of PATH (`~/` is the home directory). Markdown agents and commands are
not rewritten (tests/test_opencode_reads.py). A value from lattice.yaml that reached opencode.json with
either would pull the user's files or environment into the configuration, and from there to whatever
host it names (`base_url`, an MCP server's url and headers): a shared workflow would choose what opencode
reads. So configuration values are data: none may hold `{file:` or `{env:`, nor come to hold one once
Lattice writes its own references in — the design's `${VAR}` in MCP `env` and `headers` becomes
`{env:VAR}`, and with VAR unset `{file${VAR}:~/.ssh/id_rsa}` would read `{file:~/.ssh/id_rsa}`.

The references Lattice writes itself are the only way a variable reaches opencode: a provider's `env:`
(its key) and `${VAR}` in MCP `env`/`headers`. Those may name any variable (GITHUB_TOKEN for GitHub's
MCP server is the ordinary case, and a name says nothing about whose secret it is); which hosts a shared
workflow sends them to is the question of trusting the workflow, not of its syntax."""
from __future__ import annotations

import re
from typing import Any, Iterator

from .document import KeyPath

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # the design's `${VAR}`
OPENCODE_REF = re.compile(r"\{(env|file):[^}]*\}?")
CONVERTED = ("env", "headers")  # mcp.<server>.<table>.<name>: where `${VAR}` becomes `{env:VAR}`


def env_refs(value: str) -> str:
    """`Bearer ${TOKEN}` → `Bearer {env:TOKEN}` (opencode reads the value when it starts)."""
    return ENV_REF.sub(lambda m: "{env:" + m.group(1) + "}", value)


def converted(path: KeyPath) -> bool:
    """Whether Lattice writes the value at `path` with its `${VAR}` turned into `{env:VAR}`."""
    return len(path) == 4 and path[0] == "mcp" and path[2] in CONVERTED


def opencode_references(data: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str, str]]:
    """(path, value, reference) for every key or value under `data` that holds an opencode reference, or
    would once its `${VAR}` are written as `{env:VAR}` and substituted empty (then `reference` is what
    that leaves)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and (m := OPENCODE_REF.search(key)):
                yield (*path, key), key, m.group(0)
            yield from opencode_references(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from opencode_references(value, (*path, i))
    elif isinstance(data, str):
        text = ENV_REF.sub("", data) if converted(path) else data
        m = OPENCODE_REF.search(data) or OPENCODE_REF.search(text)
        if m:
            yield path, data, m.group(0)


def describe(value: str, reference: str) -> str:
    """The diagnostic for a value that holds (or would hold) `reference`."""
    what = "read a file" if reference.startswith("{file:") else "insert an environment variable"
    shown = f"'{reference}'" if reference in value else f"'{value}' becomes '{reference}' when its ${{…}} " \
                                                         f"variables are unset, and"
    return (f"{shown} would make opencode {what} here; configuration values are data (reference secrets "
            f"as ${{VAR}} in mcp env and headers, or with a provider's env:)")
