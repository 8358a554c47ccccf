"""Literal secrets of an imported opencode setup (importer.py) never reach lattice.yaml: each becomes an
`{env:VAR}` reference with a warning naming the variable to set — in provider options (a provider's
`apiKey` becomes its `env:`), in plugin options and in the `opencode:` pass-through, which is also checked
against opencode's own schema, what it refuses left out by key."""
from __future__ import annotations

import re
from typing import Any

from ..config.schema import NAME
from ..config.secrets import SECRET_NAME, is_credential, token_kind
from .import_base import ENV_ONLY, FILE_REF, ImportBase


class SecretsImport(ImportBase):
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

    def secrets_in(self, value: Any, key: str, var: str, name: str = "") -> Any:
        """`value` with every literal secret in it made a variable reference (secret_value, all the way down)."""
        if isinstance(value, dict):
            return {k: self.secrets_in(v, f"{key}.{k}", f"{var}_{re.sub(r'[^A-Za-z0-9]', '_', str(k)).upper()}", str(k))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.secrets_in(v, f"{key}[{i}]", var, name) for i, v in enumerate(value)]
        return self.secret_value(value, key, var, name)

    def provider_section(self, passthrough: dict[str, Any]) -> dict[str, Any]:
        """`provider` → lattice's `providers:` (the key's variable as `env:`, `baseURL` as `base_url:`);
        the rest of each provider's settings into the pass-through, secrets made references."""
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
