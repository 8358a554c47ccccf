"""An imported opencode setup's agents (importer.py) — markdown agents and those inline in its JSON
(`agent`, and `mode`, opencode's older name for primary agents) — each as `agents/<name>.md`: its prompt
the body (`{file:…}` read in), its opencode settings the frontmatter (keys lattice has no name for go into
`options`, as opencode itself files them), its model its routing. Settings of opencode's own agents
without a prompt of their own stay opencode's: they go into the pass-through."""
from __future__ import annotations

import re
from typing import Any

from ..config.schema import FRONTMATTER, NAME, NAME_MAX
from .import_base import ImportBase, markdown

BUILTIN_AGENTS = ("build", "plan", "general", "explore", "title", "summary", "compaction")
AGENT_KEYS = set(FRONTMATTER) - {"model_preference", "max_tokens", "description"}


class AgentsImport(ImportBase):
    def agents(self, passthrough: dict[str, Any]) -> dict[str, Any]:
        inline: dict[str, Any] = {}
        for section in ("mode", "agent"):  # `mode` is opencode's older name for primary agents
            entries = self.cfg.get(section)
            for name, spec in entries.items() if isinstance(entries, dict) else ():
                if isinstance(spec, dict):
                    base = {"mode": "primary"} if section == "mode" else {}
                    inline[name] = {**inline.get(name, {}), **base, **spec}
        out: dict[str, Any] = {}
        for name in [*inline, *(n for n in self.setup.agents if n not in inline)]:
            key = f"agent.{name}"
            md = self.setup.agents.get(name)
            settings = {**inline.get(name, {}), **(md.frontmatter if md else {})}
            prompt = md.body if md is not None else settings.get("prompt")
            if "/" in name or not re.fullmatch(NAME, name) or len(name) > NAME_MAX:
                self.skip(key, "its name is not one lattice can use (letters, digits, '.', '_', '-')")
                continue
            if name == "defaults":
                self.skip(key, "'defaults' is reserved in lattice (the routing of opencode's own agents)")
                continue
            if name in BUILTIN_AGENTS and not isinstance(prompt, str):
                passthrough.setdefault("agent", {})[name] = settings  # settings of opencode's own agent
                continue
            if md is None and isinstance(prompt, str):
                prompt = self.read_ref(prompt, f"{key}.prompt")
                if prompt is None:
                    continue
            entry: dict[str, Any] = {}
            if isinstance(settings.get("description"), str):
                entry["description"] = settings["description"]
            model = settings.get("model")
            if model is not None and self.need_provider(model, f"{key}.model"):
                entry["routing"] = [model]
            front = self.frontmatter(settings, key)
            body = self.clean_prompt(prompt or "", f"{key}.prompt")
            self.files[f"agents/{name}.md"] = markdown(front, body)
            out[name] = entry
        return out

    def frontmatter(self, settings: dict[str, Any], key: str) -> dict[str, Any]:
        """An agent's opencode settings as lattice frontmatter; what lattice has no key for goes into
        `options` (where opencode files unknown agent keys itself), and values lattice would refuse are
        left out, by key."""
        from ..config.schema import validate_mapping

        front: dict[str, Any] = {}
        options = dict(settings.get("options") or {}) if isinstance(settings.get("options"), dict) else {}
        for k, v in settings.items():
            if k in ("model", "prompt", "name", "description", "options"):
                continue
            if k == "maxSteps":
                k = "steps"
            if k in AGENT_KEYS:
                front[k] = v
            else:
                options[k] = v
        if options:
            front["options"] = options

        class _Where:
            def __init__(self, path: tuple[Any, ...]) -> None:
                self.file, self.line, self.col = "", 0, 0
        for d in validate_mapping(front, FRONTMATTER, _Where, {}):
            top = d.key.split(".")[0].split("[")[0]
            if top in front:
                del front[top]
                self.skip(f"{key}.{top}", d.message)
        return front
