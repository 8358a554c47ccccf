"""What every part of an opencode setup's import (importer.py) shares: the state it fills — files of the
new workflow, what could not be carried, warnings, the providers named so far — and the ways a value of
the source is taken: a `provider/model` reference, `{file:…}` read in from inside the setup, a prompt
with its literal secrets removed; and how the new files are written (YAML, markdown with frontmatter)."""
from __future__ import annotations

import os
import re
from typing import Any

from ..config.limits import MAX_AGENT_FILE_BYTES
from ..config.schema import NAME
from ..config.secrets import redact, text_secrets
from ..errors import LatticeError
from .files import File
from .opencode_setup import Setup, inside, read_text

ENV_ONLY = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
FILE_REF = re.compile(r"\{file:([^}]*)\}")


class ImportBase:
    def __init__(self, setup: Setup, name: str) -> None:
        self.setup, self.cfg = setup, setup.config
        self.name = name
        self.files: dict[str, File] = {}  # relative path in the new workflow → content, executable bit
        self.not_carried: list[str] = []
        self.warnings: list[str] = []
        self.providers: dict[str, Any] = {}
        self.copied = 0  # bytes copied along so far (import_files.MAX_COPIED)

    def skip(self, key: str, why: str) -> None:
        self.not_carried.append(f"{key}: {why}")

    def where(self) -> str:
        return ", ".join(self.setup.config_files) or "the setup"

    def need_provider(self, ref: Any, key: str) -> bool:
        if not isinstance(ref, str) or "/" not in ref or ref.startswith("/"):
            self.skip(key, f"'{ref}' is not provider/model")
            return False
        provider = ref.split("/", 1)[0]
        if not re.fullmatch(NAME, provider):
            self.skip(key, f"provider '{provider}' is not a name lattice can use")
            return False
        self.providers.setdefault(provider, None)
        return True

    def read_ref(self, text: str, key: str) -> str | None:
        """`text` with each `{file:PATH}` replaced by that file (read inside the setup, relative to its
        config folders, as opencode reads them relative to the config file); None when one cannot be."""
        bases = list(dict.fromkeys([*(os.path.dirname(f) or "." for f in self.setup.config_files),
                                    *self.setup.config_dirs])) or ["."]

        def replace(m: re.Match[str]) -> str:
            rel = m.group(1).strip()
            for base in reversed(bases):
                candidate = os.path.normpath(os.path.join(base, rel))
                if inside(self.setup.root, candidate) and os.path.isfile(self.setup.root / candidate):
                    return read_text(self.setup.root, candidate, MAX_AGENT_FILE_BYTES).rstrip("\n")
            raise LookupError(rel)
        try:
            return FILE_REF.sub(replace, text)
        except LookupError as exc:
            self.skip(key, f"{{file:{exc}}} is not a file inside the setup (lattice reads none outside it)")
        except LatticeError as exc:
            self.skip(key, str(exc))
        return None

    def clean_prompt(self, text: str, key: str) -> str:
        """A prompt without literal secrets (a prompt cannot reference a variable: it is sent as written)."""
        for _, kind in text_secrets(text):
            self.skip(key, f"held {kind}, which was removed (a prompt is copied into the store as it is)")
        return redact(text)


def dump_yaml(data: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text (templates) as a literal block, as a person would write it."""

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def markdown(front: dict[str, Any], body: str) -> File:
    head = f"---\n{dump_yaml(front)}---\n" if front else ""
    return File((head + body.lstrip("\n")).encode())
