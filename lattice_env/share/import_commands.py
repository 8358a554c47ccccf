"""An imported opencode setup's commands (importer.py) as lattice `commands:` that stay prompt templates:
a markdown command → `path:` to `commands/<name>.md` (folders kept: `team/standup`), an inline one →
`template:`, with its `agent`, `model`, `variant`, `subtask` and `description`."""
from __future__ import annotations

import re
from typing import Any

from ..config.schema import COMMAND_NAME
from .import_base import ImportBase, markdown

SETTINGS = ("description", "agent", "model", "variant", "subtask")


class CommandsImport(ImportBase):
    def commands(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        inline = self.cfg.get("command") if isinstance(self.cfg.get("command"), dict) else {}
        for name in [*inline, *(n for n in self.setup.commands if n not in inline)]:
            key = f"command.{name}"
            if not re.fullmatch(COMMAND_NAME, name):
                self.skip(key, "its name is not one lattice can use")
                continue
            md = self.setup.commands.get(name)
            spec = inline.get(name) if isinstance(inline.get(name), dict) else {}
            settings = {**spec, **(md.frontmatter if md else {})}
            entry: dict[str, Any] = {}
            for k in SETTINGS:
                if k in settings:
                    entry[k] = settings[k]
            for k in settings:
                if k not in (*SETTINGS, "template"):
                    self.skip(f"{key}.{k}", "opencode commands have no such key")
            if "model" in entry and not self.need_provider(entry["model"], f"{key}.model"):
                del entry["model"]
            if md is not None:
                rel = f"commands/{name}.md"
                self.files[rel] = markdown(entry, self.clean_prompt(md.body, f"{key}.template"))
                out[name] = {"path": rel}
                continue
            template = spec.get("template")
            if not isinstance(template, str) or not template:
                self.skip(key, "has no template")
                continue
            template = self.read_ref(template, f"{key}.template")
            if template is None:
                continue
            out[name] = {"template": self.clean_prompt(template, f"{key}.template"), **entry}
        return out
