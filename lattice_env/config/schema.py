"""The declarative shape of lattice.yaml (cerberus), and the translation of cerberus' errors into
located one-line messages. Rules that need more than one key at a time live in `checks.py`."""
from __future__ import annotations

from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .document import KeyPath, dotted
from .sources import ResolvedConfig

# cerberus matches a `regex` rule with re.match after adding `$`, and `$` also matches just before a
# final newline ("a\n" would pass as a name): every pattern ends in \Z, the true end of the text.
IDENT = r"[A-Za-z_][A-Za-z0-9_]*\Z"
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*\Z"  # agents, commands, mcp servers: they become file names
URL = r"https?://\S+\Z"
# Names become file names (agent/<name>.md, command/<name>.md, and fsutil's temp `.<name>.md.XXXXXXXX.tmp`
# beside each) and the workflow's store path name (`<hash>-<name>`, store/names.py: 200 at most), all
# under the 255-byte limit of a file name. NAME is ASCII, so characters are bytes.
NAME_MAX = 200
_name_key = {"type": "string", "regex": NAME, "maxlength": NAME_MAX,
             "meta": {"regex": "a valid name (letters, digits, '.', '_' or '-', starting with a letter or digit)",
                      "maxlength": "names become file names"}}

PASSTHROUGH = "opencode"  # the pass-through section (opencode/passthrough.py)
# A command's name may have folders (`team/review` is opencode's /team/review, command/team/review.md).
COMMAND_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*\Z"
STRATEGIES = ["fallback", "pattern", "weighted", "round_robin", "burst"]
VCS_PRESETS = ["jj-workspace", "jj-checkpoint", "git-stash", "none"]
ON_UNAVAILABLE = ["next", "retry", "fallback"]
HOOK_EVENTS = ["pre_agent", "post_agent", "on_rate_limit", "on_budget_exceeded", "on_error"]
BUDGET_PERIODS = ["month", "day"]  # month first: the default, as provider dashboards bill

_str = {"type": "string"}
_nonempty = {"type": "string", "empty": False}
_strlist = {"type": "list", "schema": _nonempty}
_bool = {"type": "boolean"}
_seconds = {"type": "number", "meta": {"expected": "a number of seconds"}}  # checks.py: its range

ROUTING_MAP = {
    "strategy": {"type": "string", "allowed": STRATEGIES, "meta": {"noun": "strategy"}},
    "models": _strlist,
    "pattern": _strlist,
    "weights": {"type": "dict", "keysrules": _nonempty, "valuesrules": {"type": "number"}},
    "track": _bool,
    "iterate": _nonempty,
    "final": _nonempty,
    "burst_size": {"type": "integer"},
    "final_trigger": _nonempty,
    "on_unavailable": {"type": "string", "allowed": ON_UNAVAILABLE,
                       "meta": {"noun": "on_unavailable mode"}},
    "fallback_models": _strlist,
}

# A plain list of models is the fallback strategy; a map names its strategy.
ROUTING = {"oneof": [
    {"type": "list", "schema": _nonempty},
    {"type": "dict", "schema": ROUTING_MAP},
], "meta": {"union": ["list", "dict"]}}

PROVIDER = {
    "env": {"type": "string", "regex": IDENT, "meta": {"regex": "a valid environment variable name"}},
    "auth": _nonempty,
    "tier": _str,
    "local_budget": {"type": ["number", "string"],  # a number or `unlimited` (checks.py)
                     "meta": {"expected": "a number or 'unlimited'"}},
    "budget_period": {"type": "string", "allowed": BUDGET_PERIODS,
                      "meta": {"noun": "budget_period", "expected": "'month' or 'day'"}},
    "models": _strlist,
    "base_url": {"type": "string", "regex": URL, "meta": {"regex": "an http(s) URL"}},
    "first_byte_timeout": _seconds,
}

AGENT = {
    "path": _nonempty,
    "description": _str,
    "triggers": {"type": "list", "schema": _nonempty},
    "routing": ROUTING,
}

MCP = {
    "enabled": _bool,
    "description": _str,
    "command": {"type": ["string", "list"], "schema": _nonempty},
    "args": _strlist,
    "env": {"type": "dict", "valuesrules": _str,
            "keysrules": {"type": "string", "regex": IDENT,
                          "meta": {"regex": "a valid environment variable name"}}},
    "url": {"type": "string", "regex": URL, "meta": {"regex": "an http(s) URL"}},
    "headers": {"type": "dict", "keysrules": _nonempty, "valuesrules": _str},
    "timeout": {"type": "integer", "min": 1},
}

# A command is a built-in action Lattice runs (`action`), or an opencode prompt template, inline
# (`template`) or in a markdown file (`path`, relative to the project; its frontmatter may say the rest);
# checks.py wants exactly one of the three.
COMMAND = {
    "description": _str,
    "action": _nonempty,
    "template": _nonempty,
    "path": _nonempty,
    "agent": _nonempty,
    "model": _nonempty,
    "variant": _nonempty,
    "subtask": _bool,
    "timeout": _seconds,  # an action's; checks.py: its range
}
# The frontmatter of a command's markdown file: opencode's own command keys.
COMMAND_FRONTMATTER: dict[str, Any] = {
    "description": _str,
    "agent": _nonempty,
    "model": _nonempty,
    "variant": _nonempty,
    "subtask": _bool,
}

HOOK_ENTRY = {
    "action": {**_nonempty, "required": True},
    "when": _nonempty,
    "notify": _bool,
    "message": _str,
    "channel": _str,
    "webhook_env": {"type": "string", "regex": IDENT, "meta": {"regex": "a valid environment variable name"}},
    "timeout": _seconds,
}

VCS_CONFIG = {
    "workspace_dir": _nonempty,
    "gate_enforcement": _bool,
    "auto_cleanup": _bool,
    "checkpoint_message": _nonempty,
    "commit_message": _nonempty,
    "branch_prefix": _nonempty,
    "move_branch": _bool,
}

SCHEMA: dict[str, Any] = {
    "name": {"type": "string", "regex": NAME, "maxlength": NAME_MAX,
             "meta": {"regex": "letters, digits, '.', '_' or '-'", "maxlength": "it names the store path"}},
    "description": _str,
    "version": _nonempty,
    "author": _str,
    "vcs": {"type": "dict", "schema": {
        "preset": {"type": "string", "allowed": VCS_PRESETS, "meta": {"noun": "preset"}},
        "config": {"type": "dict", "schema": VCS_CONFIG},
    }},
    "plugins": {"type": "list", "schema": _nonempty},
    # directories of the project holding skill folders (config/skills.py), copied into the environment
    "skills": {"type": "list", "schema": _nonempty, "maxlength": 100},
    "providers": {"type": "dict", "keysrules": _name_key,
                  "valuesrules": {"type": "dict", "nullable": True, "schema": PROVIDER}},
    "defaults": {"type": "dict", "schema": {"agents_dir": _nonempty, "routing": ROUTING,
                                            "project_instructions": _bool,
                                            "first_byte_timeout": _seconds, "failure_cooldown": _seconds,
                                            "failover_on_client_error": _bool}},
    "agents": {"type": "dict", "keysrules": _name_key,
               "valuesrules": {"type": "dict", "schema": AGENT}},
    "plugin_config": {"type": "dict", "valuesrules": {"type": "dict", "nullable": True}},
    "mcp": {"type": "dict", "keysrules": _name_key,
            "valuesrules": {"type": "dict", "nullable": True, "schema": MCP}},
    "commands": {"type": "dict", "keysrules": {**_name_key, "regex": COMMAND_NAME, "meta": {
                     **_name_key["meta"], "regex": "a valid name (letters, digits, '.', '_' or '-', starting with a "
                                                   "letter or digit; '/' between folder names)"}},
                 "valuesrules": {"type": "dict", "schema": COMMAND}},
    "hooks": {"type": "dict", "schema": {
        event: {"type": "list", "schema": {"type": "dict", "schema": HOOK_ENTRY}} for event in HOOK_EVENTS
    }},
    # opencode's own keys that lattice.yaml has none for (permission, instructions, skills, provider
    # options, …), merged into what opencode reads; checks.py validates it against opencode's schema.
    PASSTHROUGH: {"type": "dict", "nullable": True},
}

# Agent-file frontmatter: the design's keys plus opencode's own agent keys.
FRONTMATTER: dict[str, Any] = {
    "model_preference": _nonempty,
    "temperature": {"type": "number", "min": 0, "max": 2},
    "top_p": {"type": "number", "min": 0, "max": 1},
    "max_tokens": {"type": "integer", "min": 1},
    "description": _str,
    "mode": {"type": "string", "allowed": ["primary", "subagent", "all"], "meta": {"noun": "mode"}},
    "tools": {"type": "dict", "keysrules": _nonempty, "valuesrules": _bool},
    "permission": {"type": "dict"},
    "color": _nonempty,
    "steps": {"type": "integer", "min": 1},
    "disable": _bool,
    "hidden": _bool,
    "options": {"type": "dict", "keysrules": _nonempty},  # provider options, as opencode's agent `options`
    "variant": _nonempty,  # the model variant opencode picks (e.g. a reasoning level its catalogue names)
}

_TYPE_WORDS = {"string": "text", "list": "a list", "dict": "a mapping", "boolean": "true or false",
               "integer": "a whole number", "number": "a number"}


def validate_shape(config: ResolvedConfig) -> list[Diagnostic]:
    """Check `config.data` against SCHEMA; one located diagnostic per problem."""
    return validate_mapping(config.data, SCHEMA, config.where, config.raw)


def validate_mapping(data: Any, schema: dict[str, Any], where: Any,
                     raw: dict[KeyPath, tuple[str, str]], base: KeyPath = ()) -> list[Diagnostic]:
    """Validate `data` against a cerberus `schema`. `where(path)` gives an Origin-like object
    (file, line, col): the key's position for a mapping key, the item's for a list item. `raw`
    holds the source text of plain scalars for YAML 1.1 hints."""
    from ..config import validation_cache

    try:
        remembered = validation_cache.key(data, schema)
    except (TypeError, ValueError):  # not serialisable (e.g. a non-string key): just validate
        remembered = None
    if remembered is not None and validation_cache.passed_before(remembered):
        return []
    import cerberus  # deferred: only validation pays for it

    validator = _validator_class()(schema, allow_unknown=False)
    validator.validate(data if isinstance(data, dict) else {})
    out: list[Diagnostic] = []
    for err in validator._errors:
        for leaf in _leaves(err, data):
            path = tuple(leaf.document_path)
            message = _message(leaf, schema, data, raw, base + path)
            if message is None:
                continue
            if leaf.code == cerberus.errors.REQUIRED_FIELD.code and path:
                path = path[:-1]  # point at the mapping that lacks the key
            o = where(base + path)
            out.append(Diagnostic(o.file, o.line, o.col, dotted(base + path), message))
    if not out and not validator._errors and remembered is not None:
        validation_cache.remember(remembered)
    return out


_VALIDATOR: Any = None


def _validator_class() -> Any:
    """cerberus' Validator, except that `true`/`false` are not whole numbers (bool is an int in
    Python, and cerberus' `integer` type forgets to exclude it)."""
    global _VALIDATOR
    if _VALIDATOR is None:
        import cerberus

        types = dict(cerberus.Validator.types_mapping)
        types["integer"] = cerberus.TypeDefinition("integer", (int,), (bool,))
        _VALIDATOR = type("LatticeValidator", (cerberus.Validator,), {"types_mapping": types})
    return _VALIDATOR


def _leaves(err: Any, data: Any) -> list[Any]:
    """Flatten cerberus' error tree; for a list-or-map union keep only the branch of the value's type."""
    if not err.is_group_error:
        return [err]
    children = err.child_errors or []
    if err.rule in ("oneof", "anyof"):
        value = _get(data, err.document_path)
        branch = 0 if isinstance(value, list) else 1
        chosen = [c for c in children if _branch_index(c, err) == branch]
        if not isinstance(value, (list, dict)):
            return [err]  # neither a list nor a map: report the union itself
        return [leaf for c in chosen for leaf in _leaves(c, data)]
    return [leaf for c in children for leaf in _leaves(c, data)]


def _branch_index(child: Any, parent: Any) -> int:
    depth = len(parent.schema_path)
    try:
        return int(child.schema_path[depth])
    except (IndexError, ValueError):
        return -1


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _rules_at(schema: dict[str, Any], path: KeyPath) -> dict[str, Any] | None:
    """The cerberus rules that apply to the value at `path`, walking mapping and list schemas."""
    rules: dict[str, Any] = {"type": "dict", "schema": schema}
    for part in path:
        if "oneof" in rules:
            options = rules["oneof"]
            rules = options[0] if isinstance(part, int) else options[1]
        if isinstance(part, int):
            rules = rules.get("schema", {})
        elif "schema" in rules and rules.get("type") != "list":
            inner = rules["schema"]
            if part not in inner:
                return None
            rules = inner[part]
        elif "valuesrules" in rules:
            rules = rules["valuesrules"]
        else:
            return None
    return rules


def _siblings(schema: dict[str, Any], parent: KeyPath) -> list[str]:
    rules = _rules_at(schema, parent) or {}
    if "oneof" in rules:
        rules = rules["oneof"][1]
    inner = rules.get("schema")
    return sorted(inner) if isinstance(inner, dict) else []


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'" if len(value) <= 40 and value.isprintable() else "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _message(err: Any, schema: dict[str, Any], data: Any, raw: dict[KeyPath, tuple[str, str]],
             full_path: KeyPath) -> str | None:
    import cerberus

    codes = cerberus.errors
    path = tuple(err.document_path)
    value = err.value
    rules = _rules_at(schema, path) or {}
    if "keysrules" in err.schema_path:  # the key itself is wrong, not its value
        rules = (_rules_at(schema, path[:-1]) or {}).get("keysrules", {})
    meta = rules.get("meta", {})
    if err.code == codes.UNKNOWN_FIELD.code:
        key = str(path[-1]) if path else "?"
        siblings = _siblings(schema, path[:-1])
        hint = did_you_mean(key, siblings)
        if not hint and key == "model" and "routing" in siblings:
            hint = " (an agent's models are its routing: write routing: [provider/model])"
        return f"unknown key '{key}'{hint}"
    if err.code == codes.REQUIRED_FIELD.code:
        return f"missing required key '{path[-1]}'" if path else "missing required key"
    if err.code == codes.NOT_NULLABLE.code:
        return "must not be empty"
    if err.code == codes.BAD_TYPE.code or err.rule in ("oneof", "anyof"):
        wanted = err.constraint if err.code == codes.BAD_TYPE.code else meta.get("union", ["?"])
        if isinstance(wanted, str):
            wanted = [wanted]
        words = meta.get("expected") or " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
        hint = ""
        described = _describe(value)
        if full_path in raw:
            text, kind = raw[full_path]
            if kind == "date":
                described = f"a date ({text})"
            elif "string" in wanted and "expected" not in meta:  # only where any text would do
                hint = f"; YAML reads the unquoted {text} as a {kind}, write \"{text}\" if you mean the text"
        elif "string" in wanted and isinstance(value, dict) and len(value) == 1:
            key, inner = next(iter(value.items()))
            if inner is None or isinstance(inner, str):
                hint = (f"; YAML reads '{key}:' as a key because of the ': ' or trailing ':', "
                        f"put the whole text in quotes")
        return f"must be {words}, not {described}{hint}"
    if err.code == codes.UNALLOWED_VALUE.code:
        noun = meta.get("noun", "value")
        allowed = ", ".join(str(a) for a in err.constraint)
        return f"unknown {noun} '{value}' (expected {allowed}){did_you_mean(str(value), list(err.constraint))}"
    if err.code == codes.EMPTY_NOT_ALLOWED.code:
        return "must not be empty"
    if err.code == codes.REGEX_MISMATCH.code:
        return f"'{value}' is not {meta.get('regex', 'valid here')}"
    if err.code == codes.MAX_LENGTH.code and isinstance(value, str):
        return f"is {len(value)} characters long; at most {err.constraint} ({meta.get('maxlength', 'the limit')})"
    if err.code == codes.MIN_VALUE.code:
        return f"must be at least {err.constraint}, not {value}"
    if err.code == codes.MAX_VALUE.code:
        return f"must be at most {err.constraint}, not {value}"
    return f"invalid value ({err.rule})"
