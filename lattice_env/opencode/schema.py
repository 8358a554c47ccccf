"""opencode's own configuration schema, shipped as data, and a validator for the part of JSON Schema it
uses — what the `opencode:` pass-through section of lattice.yaml is checked against.

The schema is opencode-ai 1.18.33's (published 2026-09-28): `components.schemas.Config` and every schema
it references, as that version's own server serves them (`GET /doc` of `opencode serve`), references
rewritten to `#/$defs/…` (tests/test_opencode_schema.py extracts it from the real binary and compares).
It uses `type`, `enum`, `properties`, `additionalProperties`, `required`, `items`, `prefixItems`,
`minItems`, `maxItems`, `anyOf`, `$ref`, `pattern`, `minimum`, `maximum` and `exclusiveMinimum`; this
validator implements exactly those (an unknown keyword is a LookupError, so a schema that needs more
fails its test instead of passing anything). Written here rather than taken from the `jsonschema`
package: its messages quote the offending value (which may be a secret) and it imports far more than
a validation needs; these messages say what was expected, at the key's path, in lattice.yaml's words."""
from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator

OPENCODE_SCHEMA_VERSION = "1.18.33"
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), f"opencode-{OPENCODE_SCHEMA_VERSION}.schema.json")
KNOWN = {"type", "enum", "properties", "additionalProperties", "required", "items", "prefixItems", "minItems",
         "maxItems", "anyOf", "$ref", "pattern", "minimum", "maximum", "exclusiveMinimum", "description",
         "$comment", "$defs"}
_WORDS = {"string": "text", "array": "a list", "object": "a mapping", "boolean": "true or false",
          "integer": "a whole number", "number": "a number", "null": "null"}
_SCHEMA: dict[str, Any] | None = None


def schema() -> dict[str, Any]:
    global _SCHEMA
    if _SCHEMA is None:
        with open(SCHEMA_FILE, "rb") as f:
            _SCHEMA = json.loads(f.read())
    return _SCHEMA


def validate(value: Any, rules: dict[str, Any] | None = None) -> list[tuple[tuple[Any, ...], str]]:
    """(path inside `value`, message) for each way `value` breaks `rules` (default: opencode's Config)."""
    return list(_check(value, schema() if rules is None else rules, ()))


def properties(rules: dict[str, Any] | None = None) -> list[str]:
    """The keys a mapping under `rules` may have (default: opencode's top-level keys)."""
    return sorted(_resolve(schema() if rules is None else rules).get("properties") or {})


def _resolve(rules: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in rules:
        name = rules["$ref"].removeprefix("#/$defs/")
        rules = schema()["$defs"][name]
    return rules


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is(value: Any, kind: str) -> bool:
    actual = _type_of(value)
    return actual == kind or (kind == "number" and actual == "integer")


def _expected(rules: dict[str, Any]) -> str:
    """What a value under `rules` must be, in words."""
    rules = _resolve(rules)
    if "anyOf" in rules:
        words = list(dict.fromkeys(_expected(r) for r in rules["anyOf"]))
        return " or ".join(words)
    if "enum" in rules:
        return "one of " + ", ".join(json.dumps(v) for v in rules["enum"])
    kinds = rules.get("type")
    if kinds is None:
        return "any value"
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return " or ".join(_WORDS.get(k, k) for k in kinds)


def _check(value: Any, rules: dict[str, Any], path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    rules = _resolve(rules)
    unknown = set(rules) - KNOWN
    if unknown:
        raise LookupError(f"the shipped opencode schema uses {sorted(unknown)}, which the validator lacks")
    if "anyOf" in rules:
        branches = rules["anyOf"]
        results = [list(_check(value, b, path)) for b in branches]
        if any(not r for r in results):
            return
        # The branches of the value's own type say best what is wrong inside it.
        typed = [r for b, r in zip(branches, results) if _matches_type(value, b)]
        if len(typed) == 1:
            yield from typed[0]
        else:
            yield path, f"must be {_expected(rules)}"
        return
    kinds = rules.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            yield path, f"must be {_expected(rules)}, not {_WORDS.get(_type_of(value), _type_of(value))}"
            return
    if "enum" in rules and value not in rules["enum"]:
        yield path, f"must be {_expected(rules)}"
        return
    if isinstance(value, str) and "pattern" in rules and not re.search(rules["pattern"], value):
        yield path, f"must match {rules['pattern']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in rules and value < rules["minimum"]:
            yield path, f"must be at least {rules['minimum']}"
        if "maximum" in rules and value > rules["maximum"]:
            yield path, f"must be at most {rules['maximum']}"
        if "exclusiveMinimum" in rules and value <= rules["exclusiveMinimum"]:
            yield path, f"must be more than {rules['exclusiveMinimum']}"
    if isinstance(value, dict):
        yield from _check_object(value, rules, path)
    if isinstance(value, list):
        yield from _check_array(value, rules, path)


def _matches_type(value: Any, rules: dict[str, Any]) -> bool:
    rules = _resolve(rules)
    if "anyOf" in rules:
        return any(_matches_type(value, r) for r in rules["anyOf"])
    kinds = rules.get("type")
    if kinds is None:
        return True
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return any(_is(value, k) for k in kinds)


def _check_object(value: dict[str, Any], rules: dict[str, Any], path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    declared = rules.get("properties") or {}
    extra = rules.get("additionalProperties", {})
    for key in rules.get("required") or ():
        if key not in value:
            yield path, f"missing required key '{key}'"
    for key, item in value.items():
        if key in declared:
            yield from _check(item, declared[key], (*path, key))
        elif extra is False:
            from ..config.diagnostics import did_you_mean

            yield (*path, key), (f"unknown key '{key}' (opencode {OPENCODE_SCHEMA_VERSION} has no such "
                                 f"setting here){did_you_mean(str(key), sorted(declared))}")
        elif isinstance(extra, dict):
            yield from _check(item, extra, (*path, key))


def _check_array(value: list[Any], rules: dict[str, Any], path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if "minItems" in rules and len(value) < rules["minItems"]:
        yield path, f"needs at least {rules['minItems']} items"
    if "maxItems" in rules and len(value) > rules["maxItems"]:
        yield path, f"takes at most {rules['maxItems']} items"
    prefix = rules.get("prefixItems") or []
    for i, item in enumerate(value):
        if i < len(prefix):
            yield from _check(item, prefix[i], (*path, i))
        elif "items" in rules:
            yield from _check(item, rules["items"], (*path, i))
