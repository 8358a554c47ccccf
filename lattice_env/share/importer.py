"""An opencode setup (opencode_setup.py) as a lattice workflow, losing nothing that can be carried:

- each agent → `agents/<name>.md`: its prompt the body (`{file:…}` read in), its opencode settings the
  frontmatter (keys lattice has no name for go into `options`, as opencode itself files them), its model
  its routing; the top-level `model` → `defaults.routing`;
- commands → `commands:` (`template:` for inline ones, `path:` to `commands/<name>.md` for files);
- MCP servers → `mcp:`, `{env:VAR}` written as `${VAR}`; plugins pinned to a version → `plugins:` (their
  options `plugin_config:`), local plugin files and folders → `file:` plugins under `plugins/`;
- providers → `providers:` (the key's variable as `env:`, `baseURL` as `base_url:`);
- the rest — permission, instructions, skills, provider options, every other opencode key — → the
  `opencode:` pass-through, checked against opencode's schema; files it names (instructions, skills)
  and AGENTS.md are copied along.
A literal secret is never copied: it becomes a reference to a variable, with a warning naming it. What
cannot be carried is listed by key."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from ..config.limits import MAX_AGENT_FILE_BYTES
from ..config.schema import COMMAND_NAME, FRONTMATTER, NAME, NAME_MAX, PASSTHROUGH
from ..config.secrets import SECRET_NAME, is_credential, redact, text_secrets, token_kind
from ..errors import LatticeError
from .import_files import FileCopies
from .opencode_setup import Setup, inside, read_text

ENV_ONLY = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
FILE_REF = re.compile(r"\{file:([^}]*)\}")
BUILTIN_AGENTS = ("build", "plan", "general", "explore", "title", "summary", "compaction")
AGENT_KEYS = set(FRONTMATTER) - {"model_preference", "max_tokens", "description"}
HANDLED = ("$schema", "model", "provider", "agent", "mode", "command", "mcp", "plugin")


class Imported(NamedTuple):
    files: dict[str, bytes]  # relative path in the new workflow → content (lattice.yaml first)
    agents: int
    not_carried: list[str]  # "key: why", by key
    warnings: list[str]


class _Import(FileCopies):
    def __init__(self, setup: Setup, name: str) -> None:
        self.setup, self.cfg = setup, setup.config
        self.name = name
        self.files: dict[str, bytes] = {}
        self.not_carried: list[str] = []
        self.warnings: list[str] = []
        self.providers: dict[str, Any] = {}
        self.copied = 0

    # ── helpers ─────────────────────────────────────────────────────────────
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

    def secret_value(self, value: Any, key: str, var: str, name: str = "") -> Any:
        """A value from the source with `{env:X}` kept, and a literal secret turned into `{env:VAR}`."""
        if not isinstance(value, str):
            return value
        if FILE_REF.search(value):
            raise LookupError("reads a file ({file:…}); lattice copies no file into a configuration value")
        if token_kind(value) or (name and SECRET_NAME.search(name) and not ENV_ONLY.search(value)
                                 and is_credential(value)):
            prefix = re.match(r"(?i)(bearer|basic|token|bot)\s+", value)
            self.warnings.append(f"{key}: a literal secret in {self.where()} was not copied; lattice.yaml "
                                 f"references ${var} instead: set {var}")
            return (prefix.group(0) if prefix else "") + "{env:" + var + "}"
        return value

    # ── sections ────────────────────────────────────────────────────────────
    def run(self) -> Imported:
        data: dict[str, Any] = {"name": self.name}
        passthrough: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        if "model" in self.cfg and self.need_provider(self.cfg["model"], "model"):
            defaults["routing"] = [self.cfg["model"]]
        provider_config = self.provider_section(passthrough)
        agents = self.agents(passthrough)
        if agents and "routing" not in defaults and any("routing" not in a for a in agents.values()):
            first = next((a["routing"][0] for a in agents.values() if "routing" in a), None)
            if first is not None:
                defaults["routing"] = [first]
                self.warnings.append(f"defaults.routing: the setup names no default model; agents without "
                                     f"one are routed to {first}, the first model it names")
        commands = self.commands()
        mcp = self.mcp()
        plugins, plugin_config = self.plugins()
        for key, value in self.cfg.items():
            if key not in HANDLED:
                passthrough[key] = value
        self.copy_instructions(passthrough)
        self.copy_skills(passthrough)
        passthrough = self.checked_passthrough(passthrough)
        if self.setup.agents_md:
            self.copy(self.setup.agents_md, "AGENTS.md")
        for name, entry in provider_config.items():
            self.providers[name] = entry or self.providers.get(name)
        if self.providers:
            data["providers"] = self.providers
        if defaults:
            data["defaults"] = defaults
        for key, value in (("agents", agents), ("commands", commands), ("mcp", mcp), ("plugins", plugins),
                           ("plugin_config", plugin_config), (PASSTHROUGH, passthrough)):
            if value:
                data[key] = value
        text = _header(self.setup) + _dump(data)
        files = {"lattice.yaml": text.encode(), **self.files}
        return Imported(files, len(agents), self.not_carried, self.warnings)

    def provider_section(self, passthrough: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        section = self.cfg.get("provider")
        for name, spec in section.items() if isinstance(section, dict) else ():
            key = f"provider.{name}"
            if not re.fullmatch(NAME, str(name)) or not isinstance(spec, dict):
                self.skip(key, "not a provider lattice can name")
                continue
            entry: dict[str, Any] = {}
            rest = dict(spec)
            options = dict(rest.pop("options", None) or {})
            api_key = options.pop("apiKey", None)
            var = re.sub(r"[^A-Za-z0-9]", "_", str(name)).upper() + "_API_KEY"
            if isinstance(api_key, str) and (m := ENV_ONLY.fullmatch(api_key)):
                entry["env"] = m.group(1)
            elif isinstance(api_key, str) and FILE_REF.search(api_key):
                self.skip(f"{key}.options.apiKey", "read from a file; lattice reads keys from the environment: "
                                                   f"set {var} and give the provider `env: {var}`")
            elif api_key:
                entry["env"] = var
                self.warnings.append(f"{key}.options.apiKey: a literal key in {self.where()} was not copied; "
                                     f"lattice reads it from ${var}: set {var}")
            base_url = options.get("baseURL")
            if isinstance(base_url, str) and re.fullmatch(r"https?://\S+", base_url) and "{" not in base_url:
                entry["base_url"] = options.pop("baseURL")
            if options:
                rest["options"] = options
            if rest:
                try:
                    passthrough.setdefault("provider", {})[name] = self.secrets_in(rest, key, name.upper())
                except LookupError as exc:
                    self.skip(key, str(exc))
            out[name] = entry or None
        return out

    def secrets_in(self, value: Any, key: str, var: str, name: str = "") -> Any:
        """`value` with every literal secret in it made a variable reference (secret_value, all the way down)."""
        if isinstance(value, dict):
            return {k: self.secrets_in(v, f"{key}.{k}", f"{var}_{re.sub(r'[^A-Za-z0-9]', '_', str(k)).upper()}", str(k))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.secrets_in(v, f"{key}[{i}]", var, name) for i, v in enumerate(value)]
        return self.secret_value(value, key, var, name)

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
            self.files[f"agents/{name}.md"] = _markdown(front, body)
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
            for k in ("description", "agent", "model", "variant", "subtask"):
                if k in settings:
                    entry[k] = settings[k]
            for k in settings:
                if k not in ("description", "agent", "model", "variant", "subtask", "template"):
                    self.skip(f"{key}.{k}", "opencode commands have no such key")
            if "model" in entry and not self.need_provider(entry["model"], f"{key}.model"):
                del entry["model"]
            if md is not None:
                rel = f"commands/{name}.md"
                self.files[rel] = _markdown(entry, self.clean_prompt(md.body, f"{key}.template"))
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

    def mcp(self) -> dict[str, Any]:
        from ..config.mcp import KNOWN

        out: dict[str, Any] = {}
        servers = self.cfg.get("mcp")
        for name, spec in servers.items() if isinstance(servers, dict) else ():
            key = f"mcp.{name}"
            if not re.fullmatch(NAME, str(name)) or not isinstance(spec, dict):
                self.skip(key, "not an MCP server lattice can name")
                continue
            entry: dict[str, Any] = {}
            if "enabled" in spec:
                entry["enabled"] = bool(spec["enabled"])
            kind = spec.get("type")
            try:
                if kind == "local" and isinstance(spec.get("command"), list) and spec["command"]:
                    entry["command"] = [str(w) for w in spec["command"]]
                    for word in entry["command"][1:]:  # the project's own server script goes along
                        rel = os.path.normpath(word)
                        if not word.startswith(("/", "~", "-")) and inside(self.setup.root, rel) \
                                and os.path.isfile(self.setup.root / rel):
                            self.copy(rel, rel)
                    env = spec.get("environment") or {}
                    if env:
                        entry["env"] = {k: self.mcp_value(v, f"{key}.environment.{k}", str(k), str(k))
                                        for k, v in env.items()}
                elif kind == "remote" and isinstance(spec.get("url"), str):
                    if not re.fullmatch(r"https?://\S+", spec["url"]) or "{" in spec["url"]:
                        raise LookupError("its url is not a plain http(s) URL")
                    entry["url"] = spec["url"]
                    headers = spec.get("headers") or {}
                    if headers:
                        var = re.sub(r"[^A-Za-z0-9]", "_", str(name)).upper()
                        entry["headers"] = {k: self.mcp_value(v, f"{key}.headers.{k}", str(k),
                                                              f"{var}_{re.sub(r'[^A-Za-z0-9]', '_', str(k)).upper()}")
                                            for k, v in headers.items()}
                elif kind is None and name not in KNOWN:
                    raise LookupError("only enables or disables a server lattice does not know")
            except LookupError as exc:
                self.skip(key, str(exc))
                continue
            if isinstance(spec.get("timeout"), int) and spec["timeout"] > 0:
                entry["timeout"] = spec["timeout"]
            for extra in sorted(set(spec) - {"type", "command", "environment", "url", "headers", "enabled",
                                             "timeout"}):
                self.skip(f"{key}.{extra}", "lattice's mcp: has no such key")
            out[name] = entry
        return out

    def mcp_value(self, value: Any, key: str, name: str, var: str) -> str:
        """An MCP `environment`/`headers` value in lattice's syntax: `{env:X}` → `${X}`, a literal secret
        → `${VAR}` with a warning."""
        text = self.secret_value(str(value), key, re.sub(r"[^A-Za-z0-9_]", "_", var).upper(), name)
        return ENV_ONLY.sub(lambda m: "${" + m.group(1) + "}", text)

    def checked_passthrough(self, passthrough: dict[str, Any]) -> dict[str, Any]:
        """The pass-through without what lattice would refuse: literal secrets become `{env:VAR}`,
        `{file:}` references and what opencode's schema does not allow are left out, by key."""
        from ..opencode.schema import validate

        out: dict[str, Any] = {}
        for key, value in passthrough.items():
            try:
                out[key] = value if key == "provider" else self.secrets_in(value, key, key.upper())
            except LookupError as exc:
                self.skip(key, str(exc))
        for _ in range(20):  # each round drops what is wrong; a value fixed in one round is checked again
            problems = validate({k: v for k, v in out.items()})
            if not problems:
                break
            path, message = problems[0]
            _drop(out, path)
            self.skip(".".join(map(str, path)) or "opencode", message)
        return out


def _drop(data: dict[str, Any], path: tuple[Any, ...]) -> None:
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    if path:
        del target[path[-1]]
    else:
        data.clear()


def import_setup(setup: Setup, name: str) -> Imported:
    return _Import(setup, name).run()


def _header(setup: Setup) -> str:
    return (f"# lattice.yaml — imported from an opencode setup ({setup.layout} layout: "
            f"{', '.join(setup.config_files) or 'markdown files'}) by `lattice init --from`.\n"
            f"# Agents are in agents/, commands in commands/; what lattice.yaml has no key for is under\n"
            f"# `opencode:`, passed to opencode as it is.\n\n")


def _dump(data: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text (templates) as a literal block, as a person would write it."""

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def _markdown(front: dict[str, Any], body: str) -> bytes:
    head = f"---\n{_dump(front)}---\n" if front else ""
    return (head + body.lstrip("\n")).encode()


def setup_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-._") or "workflow"
