"""What opencode should see, as data: the opencode.json document and the settings of each agent and
command file. Pure functions of the Workflow (rendering and writing are in generate.py).

Choices, each measured against opencode 1.18 (OPENCODE.md and tests/test_opencode_reads.py):
- Agents are opencode markdown agents (`agent/<name>.md`): opencode never substitutes `{env:…}` or
  `{file:…}` inside a markdown body, while it does inside every JSON string — a prompt that mentions
  `{env:HOME}` must reach the model as written, and never pull a secret into a request.
- Provider keys are `{env:VAR}` references; nothing secret is ever written.
- `"$schema"` is always present, or opencode rewrites the file to add it.
- Each lattice trigger (`/architect`) is also an opencode command that hands its arguments to the agent,
  so triggers work inside opencode's TUI the same way as with `lattice run`.
"""
from __future__ import annotations

from typing import Any

from ..config.model import Agent, Command, Workflow, split_model
from ..config.plugin_specs import PluginSpec
from ..errors import LatticeError
from ..hooks.plugin import GATE_PLUGIN, GATED_PRESET
from ..providers.kinds import BRIDGE_PROVIDER, NATIVE, endpoint
from ..providers.kinds import kind as provider_kind
from ..routing.table import DEFAULTS
from .mcp import opencode_entry

# The opencode runtime Lattice generates for and tests against (npm package, exact version).
OPENCODE_PACKAGE = "opencode-ai"
OPENCODE_VERSION = "1.18.33"
# What opencode npm-installs at start-up, at its own version, into each config directory it can write to
# (as root: every one, whatever the modes); a store environment ships it (build/workflow_env.py).
CONFIG_DIR_PACKAGES = {"@opencode-ai/plugin": OPENCODE_VERSION}
SCHEMA_URL = "https://opencode.ai/config.json"
OPENAI_COMPATIBLE = "@ai-sdk/openai-compatible"  # built into the opencode binary: no install
# A plugin that reads its plugin_config from its own file (oh-my-opencode.json), not from plugin options.
OH_MY_OPENCODE = "oh-my-opencode"

# Frontmatter keys passed to opencode as they are. model_preference is a Lattice hint; max_tokens becomes
# the output limit of the agent's model (bridge_models), which is where opencode takes it from.
AGENT_KEYS = ("mode", "temperature", "top_p", "options", "tools", "permission", "color", "steps", "disable",
              "hidden", "variant")

# Custom commands (`commands.NAME.action`) inside opencode. A command file always ends in a model call
# (opencode 1.18.33 SessionPrompt.command: the template, then the prompt), so in a store environment
# each command's model is the bridge's `lattice/_command.NAME`: the bridge runs the action itself, once,
# through the routing process, and answers with its output as the assistant's reply — the user sees it,
# no provider is called. Without the bridge (`lattice generate` for a project) the template runs
# `lattice NAME` through opencode's !`…` substitution and a model reports it.
COMMAND_MODEL = "_command."  # never an agent name: config/schema.py NAME starts with a letter or digit


def command_model(name: str) -> str:
    return COMMAND_MODEL + name


def provider_entries(workflow: Workflow) -> dict[str, Any]:
    """`provider` section: key references, local servers through the built-in OpenAI-compatible SDK,
    and every routed model declared so opencode knows it without the online catalogue."""
    routed: dict[str, set[str]] = {name: set() for name in workflow.providers}
    for agent in workflow.agents.values():
        for ref in agent.routing.candidates():
            provider, model = split_model(ref)
            routed.setdefault(provider, set()).add(model)
    if workflow.default_routing:
        for ref in workflow.default_routing.candidates():
            provider, model = split_model(ref)
            routed.setdefault(provider, set()).add(model)
    out: dict[str, Any] = {}
    for name, provider in workflow.providers.items():
        entry: dict[str, Any] = {}
        options: dict[str, Any] = {}
        # providers/kinds.py: native names keep opencode's own provider (a base_url only moves its endpoint);
        # any other name is an OpenAI-compatible provider at its base_url.
        custom = name not in NATIVE and endpoint(name, provider.base_url) is not None
        if custom:
            entry["npm"] = OPENAI_COMPATIBLE
            entry["name"] = name
        url = endpoint(name, provider.base_url)
        if url:
            options["baseURL"] = url
        if provider.env:
            options["apiKey"] = "{env:" + provider.env + "}"
        if options:
            entry["options"] = options
        models = sorted(set(provider.models) | routed.get(name, set()))
        if custom and models:
            entry["models"] = {m: {"name": m} for m in models}
        out[name] = entry
    return out


# The routing bridge (templates/env/bridge/): a local AI-SDK provider opencode imports by file URL with no
# install step; the wrapper sets LATTICE_ENV from its own location, so the store path stays relocatable.
BRIDGE_NPM = "file://{env:LATTICE_ENV}/bridge/index.mjs"
# The bridge's plugin (templates/env/bridge/plugin/): it hands the bridge what opencode gives plugins, so
# that the bridge can ask an `auth:` provider's plugin for credentials as opencode does.
BRIDGE_PLUGIN = "{env:LATTICE_ENV}/bridge/plugin"
# The environment's hooks plugin (templates/env/bridge/hooks/): lattice.yaml's hooks on opencode's events.
HOOKS_PLUGIN = "{env:LATTICE_ENV}/bridge/hooks"


def bridge_model(agent: Agent) -> str:
    """The model an agent names inside a store environment: the bridge routes each of its calls."""
    return f"{BRIDGE_PROVIDER}/{agent.name}"


def bridge_models(workflow: Workflow) -> dict[str, Any]:
    """`provider.lattice.models`: one per agent, plus `defaults` for opencode's own agents. opencode sends
    an agent's temperature only to a model that declares `temperature`, and takes the output-token limit
    of a call from its model's `limit.output`: so an agent's model declares both from its frontmatter
    (`context: 0` is opencode's "unknown", as for any model it has no catalogue entry for)."""
    models: dict[str, Any] = {}
    for agent in workflow.agents.values():
        entry: dict[str, Any] = {"name": f"{agent.name} (routed by Lattice)"}
        if "temperature" in agent.frontmatter:
            entry["temperature"] = True
        if "max_tokens" in agent.frontmatter:
            entry["limit"] = {"context": 0, "output": agent.frontmatter["max_tokens"]}
        models[agent.name] = entry
    if workflow.default_routing and DEFAULTS not in models:
        models[DEFAULTS] = {"name": "opencode's own agents (routed by Lattice: defaults.routing)"}
    for command in workflow.commands.values():
        models[command_model(command.name)] = {"name": f"/{command.name} (runs {command.action}; no model call)"}
    return models


def bridge_kinds(workflow: Workflow) -> list[str]:
    """The protocols (providers/kinds.py) of every model the workflow routes to: the SDKs the bridge loads
    while opencode prepares its first call."""
    routings = [a.routing for a in workflow.agents.values()] + [workflow.default_routing]
    return sorted({provider_kind(split_model(ref)[0]) for r in routings if r for ref in r.candidates()})


def bridge_provider(workflow: Workflow) -> dict[str, Any]:
    """`provider.lattice`: each call routed by Lattice and sent to the real provider (keys are read from
    the process environment at call time, never written here)."""
    return {"npm": BRIDGE_NPM, "name": "Lattice routing", "models": bridge_models(workflow)}


def opencode_document(workflow: Workflow, plugin_entries: list[Any] | None = None,
                      instructions: list[str] | None = None, bridge: bool = False) -> dict[str, Any]:
    """The whole opencode.json. The store passes `plugin_entries` (plugins at built paths),
    `instructions` (the project's AGENTS.md, found by the wrapper) and `bridge` (agents' calls routed
    through the environment's bridge provider)."""
    doc: dict[str, Any] = {"$schema": SCHEMA_URL}
    if instructions:
        doc["instructions"] = instructions
    if workflow.skill_dirs and not bridge:
        # Without a store the skills stay in the project. opencode joins a relative skills path to the
        # directory it is started in (a subfolder, say), so they are named absolutely, as file: plugins are.
        # A store environment carries them in its config dir instead (build/workflow_env.py).
        doc["skills"] = {"paths": [str((workflow.root / rel).resolve()) for rel in workflow.skill_dirs]}
    providers = provider_entries(workflow)
    if bridge and (workflow.agents or workflow.default_routing or workflow.commands):
        providers[BRIDGE_PROVIDER] = bridge_provider(workflow)
    if providers:
        doc["provider"] = providers
    if workflow.default_routing:
        # In an environment opencode's own agents are routed too (by defaults.routing, counted, budgeted).
        doc["model"] = f"{BRIDGE_PROVIDER}/{DEFAULTS}" if bridge else workflow.default_routing.candidates()[0]
    mcp = {name: opencode_entry(server) for name, server in workflow.mcp.items()}
    if mcp:
        doc["mcp"] = mcp
    plugins = plugin_entries if plugin_entries is not None else project_plugin_entries(workflow)
    if plugins:
        doc["plugin"] = plugins
    return merge_passthrough(doc, workflow.passthrough)


def merge_passthrough(generated: dict[str, Any], extra: Any) -> dict[str, Any]:
    """`generated` with the `opencode:` section merged in: mappings key by key, lists joined (Lattice's
    items first: the store's AGENTS.md reference, then the section's `instructions`), and where both
    give a value for the same key, Lattice's own (its sections say it; checks.py refuses the keys it
    owns outright)."""
    if not extra:
        return generated
    out = dict(generated)
    for key, value in extra.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge_passthrough(out[key], value)
        elif isinstance(out[key], list) and isinstance(value, list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
    return out


def project_plugin_entries(workflow: Workflow) -> list[Any]:
    """Plugins as opencode installs them itself (project generate, no store): npm specs, git specs,
    local directories; `plugin_config` for a plugin is passed as its options ([spec, options])."""
    entries: list[Any] = []
    for plugin in workflow.plugins:
        if plugin.kind == "npm":
            spec: str = f"{plugin.name}@{plugin.version}"
        elif plugin.kind == "github":
            spec = f"github:{plugin.name}#{plugin.version}"
        else:
            spec = (workflow.root / plugin.name).resolve().as_uri()
        options = plugin_options(workflow, plugin)
        entries.append([spec, options] if options else spec)
    return entries


def plugin_options(workflow: Workflow, plugin: PluginSpec) -> dict[str, Any] | None:
    """The options opencode passes a plugin: its plugin_config (oh-my-opencode reads its own file
    instead). The jj-opencode plugin under vcs.preset jj-workspace does the preset's gate and changes
    itself (hooks/plugin.py), so it gets vcs.config too — plugin_config's own keys win."""
    if plugin.short_name == OH_MY_OPENCODE:
        return None
    options = dict(workflow.plugin_config.get(plugin.short_name) or {})
    if plugin.short_name == GATE_PLUGIN and workflow.vcs_preset == GATED_PRESET:
        options = {**workflow.vcs_config, **options}
    return options or None


# Set by bin/opencode: with project configs off (so stray ones cannot leak in), opencode would drop the
# repository's AGENTS.md too; naming it by absolute path brings it back.
STORE_INSTRUCTIONS = ["{env:LATTICE_PROJECT_INSTRUCTIONS}"]


def store_instructions(workflow: Workflow) -> list[str] | None:
    """`defaults.project_instructions: false` keeps the repository's AGENTS.md out as well."""
    return STORE_INSTRUCTIONS if workflow.project_instructions else None


def store_plugin_entries(workflow: Workflow) -> list[Any]:
    """Plugins as the store serves them: npm packages from the environment's closure, `file:` plugins
    from their copy inside the environment — and the bridge's own plugin first when a provider's
    credentials come from a plugin (`auth:`), and the hooks plugin when there are hooks to run. The paths are opencode `{env:…}` references that the
    `bin/opencode` wrapper sets from its own location, so the store path is relocatable."""
    from ..hooks.plugin import needs_plugin

    entries: list[Any] = [BRIDGE_PLUGIN] if any(p.auth for p in workflow.providers.values()) else []
    if needs_plugin(workflow):
        entries.append(HOOKS_PLUGIN)
    for plugin in workflow.plugins:
        options = plugin_options(workflow, plugin)
        spec = store_plugin_path(plugin)
        entries.append([spec, options] if options else spec)
    return entries


def store_plugin_path(plugin: PluginSpec) -> str:
    """Where an environment serves a plugin from (`{env:…}` references, set by bin/opencode)."""
    if plugin.kind == "npm":
        return "{env:LATTICE_CLOSURE}/node_modules/" + plugin.name
    if plugin.kind == "file":
        return "{env:LATTICE_ENV}/plugins/" + plugin.short_name
    raise LatticeError(f"{plugin.raw}: building github: plugins is not supported yet "
                       f"(lattice lock resolves them; use an npm or file: plugin)")


def agent_settings(agent: Agent, model: str | None = None) -> list[tuple[str, Any]]:
    """Frontmatter of the generated agent file, in a fixed order."""
    settings: list[tuple[str, Any]] = [("description", agent.description or agent.name),
                                       ("model", model or agent.model)]
    settings += [(k, agent.frontmatter[k]) for k in AGENT_KEYS if k in agent.frontmatter]
    return settings


def command_files(workflow: Workflow, bridge: bool = False) -> dict[str, tuple[list[tuple[str, Any]], str]]:
    """name → (frontmatter settings, template body) for custom commands and agent triggers."""
    out: dict[str, tuple[list[tuple[str, Any]], str]] = {}
    for command in workflow.commands.values():
        out[command.name] = _action_command(command, bridge) if command.action else _template_command(command)
    for agent in workflow.agents.values():
        for trigger in agent.triggers:
            description = f"{agent.name}: {agent.description}" if agent.description else agent.name
            out[trigger[1:]] = ([("description", description), ("agent", agent.name)], "$ARGUMENTS")
    return out


def _template_command(command: Command) -> tuple[list[tuple[str, Any]], str]:
    settings: list[tuple[str, Any]] = [("description", command.description)] if command.description else []
    settings += [(k, v) for k, v in (("agent", command.agent), ("model", command.model),
                                     ("variant", command.variant), ("subtask", command.subtask)) if v is not None]
    return settings, (command.template or "").rstrip("\n")


def _action_command(command: Command, bridge: bool) -> tuple[list[tuple[str, Any]], str]:
    description = command.description or command.action
    if bridge:  # the bridge reads the command's arguments after its name
        return [("description", description), ("model", f"{BRIDGE_PROVIDER}/{command_model(command.name)}")], \
            f"/{command.name} $ARGUMENTS"
    template = (f"Lattice ran `lattice {command.name}` ({command.action}); its output:\n\n!`lattice {command.name}`"
                f"\n\nReport the result to the user briefly. $ARGUMENTS")
    return [("description", description)], template
