"""What of a workflow can execute, as data — the part of it trust covers — and its fingerprint.

Covered, from the project's own files (lattice.yaml and lattice.local.yaml; the user's global
configuration is trusted as it is, so what it adds is left out):
- every hook (`hooks.<event>[i]`, whole: its action, condition and whatever else it says);
- every MCP server with a `command` (a local server: opencode starts it), whole but its description;
- `file:` plugins with the content hash of what npm would pack of them (an edit of the plugin's code is
  an edit of what runs), `github:` plugins by their spec (owner, repo and ref);
- commands whose template runs a shell (opencode's `` !`cmd` ``), and commands with keys beyond the
  prompt-template ones (what a later kind of command runs is covered before it exists);
- the `opencode:` pass-through section, whole (it reaches opencode unread by Lattice).
Prompts, descriptions, routing, providers and npm plugins pinned to an exact version are data: editing
them keeps the trust. (npm plugins are code too, but a pinned published package is a dependency the
user reads in lattice.yaml and lattice.lock, as any other; npm never runs its install scripts.)

The fingerprint is a sha256 of the items' canonical JSON, so equal content gives an equal fingerprint on
any machine and in any key order."""
from __future__ import annotations

import hashlib
import json
from typing import Any

# A command with only these keys is a prompt template (or a built-in action Lattice runs itself).
COMMAND_DATA_KEYS = frozenset({"description", "action", "template", "path", "agent", "model", "subtask", "timeout",
                               "variant"})
SHELL = "!`"  # opencode runs what follows as a shell command and splices its output into the prompt


def project_data(loaded: Any) -> dict[str, Any]:
    """The merged configuration of the project's own files, without what the global file adds."""
    from .. import paths

    glob = paths.global_config_file()
    if not any(f == glob for f in loaded.config.files):
        return loaded.config.data
    from ..config.sources import load_config

    return load_config(file=loaded.config.project_file, use_global=False).data


def executables(loaded: Any, sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """Key (where it is written, as messages show it) → what runs there. `sources` is the lock's
    `sources` when the caller has a fresh lock (a build), so `file:` plugins are not packed twice."""
    data = project_data(loaded)
    items: dict[str, Any] = {}
    hooks = data.get("hooks")
    for event, entries in hooks.items() if isinstance(hooks, dict) else ():
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            items[f"hooks.{event}[{i}]"] = entry
    for name, server in _mapping(data.get("mcp")).items():
        if isinstance(server, dict) and server.get("command"):
            items[f"mcp.{name}"] = {k: v for k, v in server.items() if k != "description"}
    for spec in data.get("plugins") or ():
        if isinstance(spec, str) and spec.strip().startswith(("file:", "github:")):
            items[f"plugins[{spec.strip()}]"] = _plugin_source(loaded, spec.strip(), sources)
    for name, command in _mapping(data.get("commands")).items():
        if not isinstance(command, dict):
            continue
        built = loaded.workflow.commands.get(name)
        template = getattr(built, "template", None) or ""
        extra = {k: v for k, v in command.items() if k not in COMMAND_DATA_KEYS}
        if SHELL in template or extra:
            items[f"commands.{name}"] = {"template": template, **extra}
    if data.get("opencode"):
        items["opencode"] = data["opencode"]
    return items


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plugin_source(loaded: Any, spec: str, sources: dict[str, Any] | None) -> dict[str, Any]:
    if spec.startswith("github:"):
        return {"spec": spec}
    known = (sources or {}).get(spec)
    if isinstance(known, dict) and isinstance(known.get("sha256"), str):
        return {"spec": spec, "sha256": known["sha256"]}
    from ..build.file_plugins import content_hash, packed_files

    index = next(i for i, p in enumerate(loaded.workflow.plugins) if p.raw == spec)
    return {"spec": spec, "sha256": content_hash(packed_files(loaded, index))[0]}


def fingerprint(items: dict[str, Any]) -> str:
    text = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def describe(key: str, value: Any) -> str:
    """One item as a refusal names it: where it is and what would run."""
    if key.startswith("mcp.") and isinstance(value, dict):
        command = value.get("command")
        words = command if isinstance(command, list) else [str(command)]
        words = [*map(str, words), *map(str, value.get("args") or ())]
        shown = " ".join(words)
        return f"{key} (starts `{shown[:60]}{'…' if len(shown) > 60 else ''}`)"
    if key.startswith("hooks.") and isinstance(value, dict):
        return f"{key} ({value.get('action', 'a hook')})"
    if key.startswith("plugins["):
        return f"plugin {key[len('plugins['):-1]}"
    if key.startswith("commands."):
        return f"{key} (runs a shell command)"
    if key == "opencode":
        return "the opencode: section (passed to opencode as it is)"
    return key


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two item sets, one phrase per key: `mcp.x added`, `hooks.pre_agent[0] changed`."""
    out = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            out.append(f"{key} added")
        elif key not in after:
            out.append(f"{key} removed")
        elif fingerprint({"v": before[key]}) != fingerprint({"v": after[key]}):
            out.append(f"{key} changed")
    return out
