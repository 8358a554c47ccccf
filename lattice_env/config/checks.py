"""Semantic checks: rules that look at more than one key (routing vs providers, triggers across agents,
per-strategy keys, built-in actions, `when` conditions, MCP servers, opencode references in any value). Each problem is one located
diagnostic; the checks are defensive because they also run when the schema already found errors."""
from __future__ import annotations

import os
import re
import shlex
import string
from typing import Any

from ..build.file_plugins import locate
from ..hooks import conditions
from ..hooks.actions import MESSAGE_FIELDS as _HOOK_FIELDS
from ..hooks.actions import SLACK_VARIABLE
from ..providers.kinds import BRIDGE_PROVIDER, NATIVE, reachable_without_base_url
from ..routing.table import DEFAULTS
from .confine import PathError
from .diagnostics import Diagnostic, did_you_mean
from .document import KeyPath, dotted
from .mcp import KNOWN as _KNOWN
from .model import split_model
from .plugin_specs import PluginSpecError, auth_plugins, parse_plugin
from .references import OPENCODE_REF, describe, opencode_references
from .schema import NAME_MAX, PASSTHROUGH, VCS_CONFIG, VCS_PRESETS
from .sources import ResolvedConfig

# Built-in actions: what hooks may do, and what custom commands may run.
HOOK_ACTIONS = (
    "vcs.checkpoint", "vcs.commit", "vcs.push", "vcs.undo", "route.fallback", "route.skip_provider",
    "notify.terminal", "notify.slack", "log.info", "log.warning", "log.error",
)
COMMAND_ACTIONS = (
    "vcs.push", "vcs.undo", "vcs.status", "vcs.checkpoint", "vcs.commit",
    "providers.status", "agents.status", "routing.status", "routing.reset", "status",
)
# Names a custom command cannot take: `lattice NAME` runs an action command from the shell, so not a
# lattice command (tests/test_hooks.py keeps this in step with the CLI), and `/NAME` inside opencode,
# so not one of opencode 1.18.33's own TUI slash commands, which the TUI handles before any configured
# command. Its server's two default commands, `init` and `review`, are prompt templates that a configured
# command of the same name replaces (as opencode documents), so shared setups that redefine them import.
LATTICE_COMMANDS = (
    "build", "cache", "config", "delete-generations", "doctor", "generate", "generations", "help", "hooks",
    "init", "lock", "plugins", "print-env", "profiles", "publish", "rollback", "route", "routing", "run",
    "shell", "status", "store", "switch", "trust", "update", "use", "validate", "vcs", "version",
)
OPENCODE_COMMANDS = (
    "agent", "compact", "copy", "editor", "exit", "export", "fork", "mcp", "model", "new", "open",
    "redo", "rename", "share", "skills", "summarize", "terminal", "thinking", "timeline",
    "timestamps", "toggle-thinking", "toggle-timestamps", "undo", "unshare", "workspace",
)
KNOWN_MCP = tuple(_KNOWN)  # servers Lattice can wire without a command or url
ROUTING_KEYS = {  # in the order of schema.STRATEGIES, which messages list
    "fallback": {"models"},
    "pattern": {"pattern"},
    "weighted": {"weights", "track"},
    "round_robin": {"models"},
    "burst": {"iterate", "final", "burst_size", "final_trigger"},
}
REQUIRED_KEYS = {
    "fallback": ("models",), "round_robin": ("models",), "pattern": ("pattern",),
    "weighted": ("weights",), "burst": ("iterate", "final", "burst_size"),
}
COMMON_ROUTING_KEYS = {"strategy", "on_unavailable", "fallback_models"}
VCS_KEYS_BY_PRESET = {
    "workspace_dir": ("jj-workspace",), "gate_enforcement": ("jj-workspace",),
    "auto_cleanup": ("jj-workspace",), "branch_prefix": ("git-stash",), "move_branch": ("git-stash",),
}
VCS_CONFIG_KEYS = set(VCS_CONFIG)
MESSAGE_FIELDS = {"agent", "summary", "provider", "model", "date"}  # vcs checkpoint_message, commit_message
HOOK_MESSAGE_FIELDS = set(_HOOK_FIELDS)  # a hook's message
MAX_ACTION_TIMEOUT = 3600
_TRIGGER = r"/[A-Za-z0-9][A-Za-z0-9._-]*"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_REF = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"\{env:[A-Za-z_][A-Za-z0-9_]*\}")
# opencode's agents of its own, which a command may name as its agent; with the hidden ones, what the
# pass-through may give settings to.
OPENCODE_AGENTS = ("build", "plan", "general", "explore")
BUILTIN_AGENTS = (*OPENCODE_AGENTS, "title", "summary", "compaction")
# opencode keys Lattice writes from its own sections, which the pass-through may not set.
OWNED_KEYS = {"$schema": "lattice itself", "agent": "agents: and the agent files", "mode": "agents: (mode: in an "
              "agent file's frontmatter)", "command": "commands:", "mcp": "mcp:", "plugin": "plugins:",
              "model": "defaults.routing"}


class Checker:
    def __init__(self, config: ResolvedConfig) -> None:
        self.config = config
        self.data = config.data
        self.out: list[Diagnostic] = []

    def error(self, path: KeyPath, message: str, severity: str = "error") -> None:
        o = self.config.where(path)  # at the key for a mapping key, at the item for a list item
        self.out.append(Diagnostic(o.file, o.line, o.col, dotted(path), message, severity))

    def get(self, *path: Any, kind: type | tuple[type, ...] = object) -> Any:
        value: Any = self.data
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value if isinstance(value, kind) else None

    def run(self) -> list[Diagnostic]:
        for check in (self.metadata, self.routing, self.failover, self.triggers, self.providers, self.plugins,
                      self.mcp, self.commands, self.passthrough, self.hooks, self.vcs, self.references):
            check()
        return self.out

    # ── sections ────────────────────────────────────────────────────────────
    def metadata(self) -> None:
        if "name" not in self.data:
            self.error((), "missing required key 'name' (the workflow's name)")

    def routing(self) -> None:
        default = self.get("defaults", "routing", kind=(list, dict))
        if default is not None:
            self.check_routing(("defaults", "routing"), default)
        for name, agent in (self.get("agents", kind=dict) or {}).items():
            if not isinstance(agent, dict):
                continue
            routing = agent.get("routing")
            if isinstance(routing, (list, dict)):
                self.check_routing(("agents", name, "routing"), routing)
            elif routing is None and default is None:
                self.error(("agents", name), "no routing: give the agent `routing:` or set defaults.routing")
            if name == DEFAULTS:
                self.error(("agents", name), f"the name '{DEFAULTS}' is reserved: inside an environment, "
                           f"lattice/{DEFAULTS} routes opencode's own agents (build, plan, general) by "
                           f"defaults.routing; rename the agent")

    def failover(self) -> None:
        """The seconds a failing model gets: a first byte must come in some time, a cool-down may be 0."""
        places = [("defaults",)] + [("providers", name) for name in self.get("providers", kind=dict) or {}]
        for place in places:
            timeout = self.get(*place, "first_byte_timeout")
            if _is_number(timeout) and timeout <= 0:
                self.error((*place, "first_byte_timeout"), f"must be more than 0 seconds, not {timeout}")
        cooldown = self.get("defaults", "failure_cooldown")
        if _is_number(cooldown) and cooldown < 0:
            self.error(("defaults", "failure_cooldown"), f"must not be negative, not {cooldown}")

    def check_routing(self, path: KeyPath, routing: list[Any] | dict[str, Any]) -> None:
        if isinstance(routing, list):
            if not routing:
                self.error(path, "needs at least one model")
            self.check_models(path, enumerate(routing))
            return
        strategy = routing.get("strategy")
        if strategy is None:
            if not any(did_you_mean(str(k), ["strategy"]) for k in routing):  # else: a typo, reported
                self.error(path, f"missing key 'strategy' (one of {', '.join(ROUTING_KEYS)})")
            return
        if strategy not in ROUTING_KEYS:
            return  # the schema already reported it
        allowed = ROUTING_KEYS[strategy] | COMMON_ROUTING_KEYS
        for key in routing:
            if key not in allowed and key in set().union(*ROUTING_KEYS.values()):
                owners = [s for s, keys in ROUTING_KEYS.items() if key in keys]
                self.error((*path, key), f"'{key}' does not apply to strategy {strategy} "
                                         f"(it belongs to {' and '.join(owners)})")
        for key in REQUIRED_KEYS[strategy]:
            if key not in routing:
                self.error(path, f"strategy {strategy} needs '{key}'")
        for key in ("models", "pattern", "weights"):
            if key in routing and routing[key] in ([], {}):
                self.error((*path, key), "needs at least one model")
        weights = routing.get("weights")
        if isinstance(weights, dict):
            for model, weight in weights.items():
                if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight <= 0:
                    self.error((*path, "weights", model), f"weight must be positive, not {weight}")
            self.check_models((*path, "weights"), ((m, m) for m in weights))
        size = routing.get("burst_size")
        if isinstance(size, int) and not isinstance(size, bool) and size <= 0:
            self.error((*path, "burst_size"), f"must be at least 1, not {size}")
        for key in ("models", "pattern", "fallback_models"):
            if isinstance(routing.get(key), list):
                self.check_models((*path, key), enumerate(routing[key]))
        for key in ("iterate", "final"):
            if isinstance(routing.get(key), str):
                self.check_models(path, [(key, routing[key])])
        mode = routing.get("on_unavailable")
        if mode == "fallback" and not routing.get("fallback_models"):
            self.error((*path, "on_unavailable"), "on_unavailable: fallback needs 'fallback_models'")
        if routing.get("fallback_models") and mode != "fallback":
            self.error((*path, "fallback_models"),
                       "fallback_models is only used with on_unavailable: fallback")

    def check_models(self, path: KeyPath, items: Any) -> None:
        providers = self.get("providers", kind=dict) or {}
        for index, ref in items:
            if not isinstance(ref, str):
                continue
            where = (*path, index)
            provider, model = split_model(ref)
            if not model or not provider:
                self.error(where, f"'{ref}' is not provider/model")
                continue
            if provider not in providers:
                declared = ", ".join(sorted(providers)) or "none"
                self.error(where, f"'{ref}': provider '{provider}' is not declared in providers "
                                  f"(declared: {declared}){did_you_mean(provider, list(providers))}")
                continue
            entry = providers.get(provider)
            listed = entry.get("models") if isinstance(entry, dict) else None
            if isinstance(listed, list) and listed and model not in listed:
                shown = ", ".join(map(str, listed))
                local = self.narrowed_here(provider, model, where)
                if local:
                    self.error(where, f"'{ref}': unavailable on this machine ({local} lists only {shown} in "
                                      f"providers.{provider}.models); routing skips it", severity="warning")
                    continue
                self.error(where, f"'{ref}': model '{model}' is not in providers.{provider}.models "
                                  f"({shown}){did_you_mean(model, list(map(str, listed)))}")

    def narrowed_here(self, provider: str, model: str, route: KeyPath) -> str | None:
        """lattice.local.yaml (as shown in messages) when it narrowed `provider`'s models so that they
        drop `model`, which the shared files allow and a route of theirs names: the design's "only have
        8B on this machine". None when the route or the list itself is a mistake."""
        local = self.config.local_file()
        shared = self.config.shared
        if local is None or shared is None or self.config.where(route).file == local:
            return None
        if self.config.where(("providers", provider, "models"), value=True).file != local:
            return None
        entry = (shared.get("providers") or {}).get(provider) if isinstance(shared.get("providers"), dict) else None
        listed = entry.get("models") if isinstance(entry, dict) else None
        return local if not listed or (isinstance(listed, list) and model in listed) else None

    def triggers(self) -> None:
        seen: dict[str, str] = {}
        commands = self.get("commands", kind=dict) or {}
        for name, agent in (self.get("agents", kind=dict) or {}).items():
            triggers = agent.get("triggers") if isinstance(agent, dict) else None
            if not isinstance(triggers, list):
                continue
            for i, trigger in enumerate(triggers):
                if not isinstance(trigger, str):
                    continue
                where = ("agents", name, "triggers", i)
                if not re.fullmatch(_TRIGGER, trigger):
                    words = re.findall(_TRIGGER[1:], trigger)
                    self.error(where, f"trigger '{trigger}' must start with '/' followed by a name "
                                      f"(like /{words[0] if words else 'plan'})")
                    continue
                if len(trigger) - 1 > NAME_MAX:
                    self.error(where, f"is {len(trigger) - 1} characters long; at most {NAME_MAX} "
                                      f"(a trigger becomes the command file command/{{name}}.md)")
                    continue
                if trigger in seen:
                    self.error(where, f"trigger '{trigger}' is already used by agent '{seen[trigger]}'")
                    continue
                seen[trigger] = name
                if trigger[1:] in commands:
                    self.error(where, f"trigger '{trigger}' is also the name of command '{trigger[1:]}'")

    def providers(self) -> None:
        for name, provider in (self.get("providers", kind=dict) or {}).items():
            if name == BRIDGE_PROVIDER:
                self.error(("providers", name), f"the name '{name}' is taken by Lattice's routing bridge in "
                                                f"a built environment; name the provider differently")
                continue
            if provider is None or isinstance(provider, dict):  # `ollama:` alone declares a provider too
                if not (provider or {}).get("base_url") and not reachable_without_base_url(name):
                    self.error(("providers", name), f"has no base_url, and only {', '.join(NATIVE)} and "
                               f"ollama have a default endpoint: calls routed to {name} would fail (give it "
                               "base_url:, an OpenAI-compatible server)", severity="warning")
            if not isinstance(provider, dict):
                continue
            budget = provider.get("local_budget")
            if isinstance(budget, str) and budget != "unlimited":
                self.error(("providers", name, "local_budget"),
                           f"must be a number (dollars) or 'unlimited', not '{budget}'"
                           f"{did_you_mean(budget, ['unlimited'])}")
            elif isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget < 0:
                self.error(("providers", name, "local_budget"), f"must not be negative, not {budget}")
            if "budget_period" in provider and budget in (None, "unlimited"):
                self.error(("providers", name, "budget_period"),
                           "has no effect without a local_budget (dollars) to count against",
                           severity="warning")
            auth = provider.get("auth")
            if provider.get("env") and auth:
                self.error(("providers", name, "auth"), "give either env or auth, not both")
            elif isinstance(auth, str) and auth:
                self.check_auth(name, auth)

    def check_auth(self, provider: str, auth: str) -> None:
        """`auth: NAME` names the plugin whose auth hook gives this provider its credentials."""
        specs = []
        for spec in self.get("plugins", kind=list) or []:
            try:
                specs.append(parse_plugin(spec))
            except (PluginSpecError, AttributeError):
                continue  # reported by plugins()
        found = auth_plugins(auth, specs)
        if len(found) > 1:
            self.error(("providers", provider, "auth"), f"'{auth}' matches several plugins "
                       f"({', '.join(p.short_name for p in found)}); give the plugin's full name")
        elif not found:
            listed = ", ".join(p.short_name for p in specs) or "none"
            self.error(("providers", provider, "auth"), f"no plugin in plugins is named '{auth}' or has "
                       f"it in its name (plugins: {listed}): calls routed to {provider} would get no "
                       f"credentials from a plugin", severity="warning")

    def plugins(self) -> None:
        seen: dict[str, int] = {}
        for i, spec in enumerate(self.get("plugins", kind=list) or []):
            if not isinstance(spec, str):
                continue
            try:
                plugin = parse_plugin(spec)
            except PluginSpecError as exc:
                self.error(("plugins", i), str(exc))
                continue
            if plugin.short_name in seen:
                self.error(("plugins", i), f"plugin '{plugin.short_name}' is listed twice "
                                           f"(also plugins[{seen[plugin.short_name]}])")
            seen.setdefault(plugin.short_name, i)
            if plugin.kind == "file":
                try:
                    locate(self.config.root, plugin.name)
                except PathError as exc:
                    self.error(("plugins", i), f"'{spec}': {exc}")
        for name in self.get("plugin_config", kind=dict) or {}:
            if name not in seen:
                self.error(("plugin_config", name), f"plugin '{name}' is not in plugins; this "
                           f"configuration is unused{did_you_mean(name, list(seen))}",
                           severity="warning")

    def mcp(self) -> None:
        for name, server in (self.get("mcp", kind=dict) or {}).items():
            server = server if isinstance(server, dict) else {}
            path = ("mcp", name)
            local, remote = "command" in server, "url" in server
            if local and remote:
                self.error(path, "give either command (a local server) or url (a remote one), not both")
            elif not local and not remote and name not in KNOWN_MCP:
                self.error(path, f"unknown MCP server '{name}' (known: {', '.join(KNOWN_MCP)}); give "
                                 f"command for a local server or url for a remote one"
                                 f"{did_you_mean(name, list(KNOWN_MCP))}")
            command = server.get("command")
            if isinstance(command, str):
                try:
                    if not shlex.split(command):
                        self.error((*path, "command"), "needs at least the program to run")
                except ValueError as exc:
                    self.error((*path, "command"), f"cannot split command into words: {exc}")
            elif command == []:
                self.error((*path, "command"), "needs at least the program to run")
            for key, needs in (("args", "command"), ("env", "command"), ("headers", "url")):
                if key in server and needs not in server:
                    self.error((*path, key), f"'{key}' needs '{needs}'")
            for table in ("env", "headers"):
                for var, value in (server.get(table) or {}).items() if isinstance(server.get(table), dict) else ():
                    self.check_env_value((*path, table, var), var, value)

    def check_env_value(self, path: KeyPath, var: str, value: Any) -> None:
        """`${VAR}` references must name a variable (a literal secret is secrets.py's to refuse)."""
        if not isinstance(value, str):
            return
        for ref in _ENV_REF.findall(value):
            if not _IDENT.fullmatch(ref):
                self.error(path, f"'${{{ref}}}' is not a valid environment variable name")

    def commands(self) -> None:
        agents = self.get("agents", kind=dict) or {}
        for name, command in (self.get("commands", kind=dict) or {}).items():
            if not isinstance(command, dict):
                continue
            if name in LATTICE_COMMANDS and "action" in command:
                self.error(("commands", name), f"'{name}' is a lattice command: `lattice {name}` could not run "
                                               "this one (name it differently)")
            elif name in OPENCODE_COMMANDS:
                self.error(("commands", name), f"'/{name}' is one of opencode's own commands: inside opencode "
                                               "it would not run this one (name it differently)")
            kinds = [k for k in ("action", "template", "path") if k in command]
            if len(kinds) != 1:
                self.error(("commands", name), "give one of action (a built-in action), template (a prompt "
                           "template) or path (a markdown file holding one)" + (
                               f", not {' and '.join(kinds)}" if kinds else ""))
            action = command.get("action")
            if isinstance(action, str) and action not in COMMAND_ACTIONS:
                self.error(("commands", name, "action"), f"unknown action '{action}' (expected "
                           f"{', '.join(COMMAND_ACTIONS)}){did_you_mean(action, list(COMMAND_ACTIONS))}")
            self.check_timeout(("commands", name, "timeout"), command.get("timeout"))
            agent = command.get("agent")
            if isinstance(agent, str) and agent not in agents and agent not in OPENCODE_AGENTS:
                self.error(("commands", name, "agent"), f"no agent '{agent}' (agents: "
                           f"{', '.join([*agents, *OPENCODE_AGENTS])}){did_you_mean(agent, [*agents, *OPENCODE_AGENTS])}",
                           severity="warning")
            if isinstance(command.get("model"), str):
                self.check_models(("commands", name), [("model", command["model"])])

    def check_timeout(self, path: KeyPath, value: Any) -> None:
        if _is_number(value) and not 0 < value <= MAX_ACTION_TIMEOUT:
            self.error(path, f"must be more than 0 and at most {MAX_ACTION_TIMEOUT} seconds")

    def passthrough(self) -> None:
        """The `opencode:` section: opencode's own settings, as opencode's shipped schema allows them, and
        none of the keys Lattice writes itself from its own sections."""
        from ..opencode.schema import validate

        section = self.get(PASSTHROUGH, kind=dict)
        if not section:
            return
        agents = self.get("agents", kind=dict) or {}
        for key, owner in OWNED_KEYS.items():
            if key == "agent" and isinstance(section.get(key), dict):
                # settings of opencode's own agents (build, plan, …), which are no agents of lattice.yaml
                for name in section[key]:
                    if name in agents or name not in BUILTIN_AGENTS:
                        self.error((PASSTHROUGH, key, name), f"lattice writes opencode's agents from agents: and "
                                   f"the agent files; only opencode's own agents ({', '.join(BUILTIN_AGENTS)}) "
                                   f"may be set here")
            elif key in section:
                self.error((PASSTHROUGH, key), f"lattice writes opencode's '{key}' from {owner}; "
                                               f"write it there")
        rest = {k: v for k, v in section.items() if k not in OWNED_KEYS or k == "agent"}
        for path, message in validate(rest):
            self.error((PASSTHROUGH, *path), message)
        skills = section.get("skills")
        for i, entry in enumerate(skills.get("paths") or [] if isinstance(skills, dict) else []):
            # opencode 1.18.33 joins a relative entry to the directory it was started in (Skill.discovery),
            # not to the config file: in an environment that is whatever project the user is in.
            if isinstance(entry, str) and not entry.startswith(("/", "~/")):
                self.error((PASSTHROUGH, "skills", "paths", i),
                           f"opencode reads a relative skills path from the directory it runs in, not from the "
                           f"workflow; list '{entry}' under lattice.yaml's own `skills:` (copied into the "
                           f"environment) instead")

    def hooks(self) -> None:
        for event, entries in (self.get("hooks", kind=dict) or {}).items():
            if not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                path = ("hooks", event, i)
                action = entry.get("action")
                if isinstance(action, str) and action not in HOOK_ACTIONS:
                    self.error((*path, "action"), f"unknown action '{action}' (expected "
                               f"{', '.join(HOOK_ACTIONS)}){did_you_mean(action, list(HOOK_ACTIONS))}")
                when = entry.get("when")
                if isinstance(when, str):
                    try:
                        conditions.parse(when)
                    except conditions.ConditionError as exc:
                        self.error((*path, "when"), f"invalid condition: {exc}")
                for key in ("channel", "webhook_env"):
                    if key in entry and action != "notify.slack":
                        self.error((*path, key), f"{key} only applies to action notify.slack")
                if action == "notify.slack":
                    variable = entry.get("webhook_env") if isinstance(entry.get("webhook_env"), str) \
                        else SLACK_VARIABLE
                    if not os.environ.get(variable):
                        self.error((*path, "action"), f"{variable} is not set: notify.slack will send nothing "
                                   f"(it reads the Slack webhook URL from {variable} when the hook runs)",
                                   severity="warning")
                self.check_timeout((*path, "timeout"), entry.get("timeout"))
                message = entry.get("message")
                if isinstance(message, str):
                    self.check_placeholders((*path, "message"), message, HOOK_MESSAGE_FIELDS)

    def vcs(self) -> None:
        vcs = self.get("vcs", kind=dict) or {}
        preset = vcs.get("preset", "none")  # no preset is preset none
        config = self.get("vcs", "config", kind=dict) or {}
        for key, value in config.items():
            presets = VCS_KEYS_BY_PRESET.get(key)
            if preset == "none" and key in VCS_CONFIG_KEYS:
                why = ("to preset none (no VCS integration)" if "preset" in vcs else
                       f"without vcs.preset (set one of {', '.join(p for p in VCS_PRESETS if p != 'none')})")
                self.error(("vcs", "config", key), f"'{key}' does not apply {why}")
                continue
            if presets and preset in VCS_PRESETS and preset not in presets:
                self.error(("vcs", "config", key), f"'{key}' only applies to preset "
                           f"{' or '.join(presets)}, not {preset}")
            if isinstance(value, str) and key.endswith("_message"):
                self.check_placeholders(("vcs", "config", key), value, MESSAGE_FIELDS)

    def check_placeholders(self, path: KeyPath, value: str, known: Any) -> None:
        """A message's `{placeholders}`: balanced braces, known names."""
        try:
            fields = _format_fields(value)
        except ValueError:
            self.error(path, "unbalanced '{' or '}' (write {{ or }} for a literal brace)")
            return
        expected = ", ".join("{" + f + "}" for f in sorted(known))
        for field in dict.fromkeys(fields):
            if field not in known:
                self.error(path, f"unknown placeholder '{{{field}}}' (expected {expected})"
                           + did_you_mean("{" + field + "}", ["{" + f + "}" for f in sorted(known)]))

    def references(self) -> None:
        """No value may carry an opencode `{file:…}` or `{env:…}` into a generated file (references.py),
        except `{env:VAR}` in the `opencode:` section: opencode's own way to name a secret there, and
        a section that runs nothing before the user trusts it (trust/items.py)."""
        for path, value, reference in opencode_references(self.data):
            if path[:1] == (PASSTHROUGH,) and not OPENCODE_REF.search(_ENV_NAME.sub("", value)):
                continue  # only {env:VAR}, and nothing a substitution of them would make a reference
            self.error(path, describe(value, reference))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format_fields(template: str) -> list[str]:
    """The `{placeholders}` of a message, with their format spec; ValueError when braces don't pair."""
    fields = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is not None:
            fields.append(field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""))
    return fields


def semantic_checks(config: ResolvedConfig) -> list[Diagnostic]:
    return Checker(config).run()
