"""Secrets written into the configuration are refused, never copied.

Everything lattice.yaml, lattice.local.yaml and the agent files say is rendered into the store (0444
files: opencode.json, agent files, the derivation in manifest.json) or into the project's opencode.json,
which may be committed. A key belongs in the environment, referenced by name (`env: VAR`, `${VAR}`), so
a value that looks like a credential is an error at its file, line and key — and the message never
repeats the value. What counts as one:

- a known token shape anywhere (any key, any file): `sk-…`, `ghp_…`/`github_pat_…`, `AKIA…`, `xox?-…`,
  `AIza…`, `glpat-…`, `npm_…`, `hf_…`, a PEM private key;
- a URL carrying a password (`https://user:pw@host`) or a credential query parameter (`?api_key=…`);
- under `mcp.*.env` and `mcp.*.headers`, a literal one-word value of 8+ characters (after an optional
  `Bearer`/`Basic`/`Token`) under a name that says KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL or AUTH. A
  shorter or spaced value there (`AUTH_MODE: oauth`) is only a warning: it may be a setting.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from .diagnostics import Diagnostic
from .document import KeyPath, dotted
from .references import OPENCODE_REF

TOKENS = [  # (pattern, what it is): each specific enough that a prompt or description never matches by chance
    (r"sk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{20,}", "an sk-… API key"),
    (r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}", "a GitHub token"),
    (r"github_pat_[A-Za-z0-9_]{30,}", "a GitHub token"),
    (r"(?:AKIA|ASIA)[0-9A-Z]{16}", "an AWS access key"),
    (r"xox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
    (r"AIza[0-9A-Za-z_-]{35}", "a Google API key"),
    (r"glpat-[A-Za-z0-9_-]{20,}", "a GitLab token"),
    (r"npm_[A-Za-z0-9]{36}", "an npm token"),
    (r"hf_[A-Za-z0-9]{30,}", "a Hugging Face token"),
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
]
_TOKEN = re.compile("|".join(f"(?<![A-Za-z0-9_-])(?P<t{i}>{p})" for i, (p, _) in enumerate(TOKENS)))
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
_URL_PARAM = re.compile(r"[?&](?:[A-Za-z0-9_-]*(?:api[_-]?key|token|secret|password|passwd)|key|auth|sig|signature)"
                        r"=(?!\$\{|\{env:)[^&#\s]{6,}", re.I)
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_CREDENTIAL = re.compile(r"(?:(?:Bearer|Basic|Token|Bot)\s+)?[A-Za-z0-9_\-.+/=:~]{8,}", re.I)
ENV_REF = re.compile(r"\$\{([^}]*)\}")


def token_kind(text: str) -> str | None:
    """What secret `text` contains (its kind, never the value), or None."""
    m = _TOKEN.search(text)
    if m:
        return TOKENS[int(m.lastgroup[1:])][1]  # type: ignore[index]
    if _URL_PASSWORD.search(text):
        return "a URL with a password"
    if _URL_PARAM.search(text):
        return "a URL with a credential parameter"
    return None


def strings_of(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """Every string of the configuration, mapping keys included, with its key path."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield (*path, k), k
            yield from strings_of(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_of(v, (*path, i))
    elif isinstance(value, str):
        yield path, value


def hint(path: KeyPath) -> str:
    """How to write the same thing without the secret, for where it was found."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(path[-1])).upper() if path else "SECRET"
    if len(path) >= 4 and path[0] == "mcp" and path[2] in ("env", "headers"):
        return f'reference an environment variable instead ("${{{name}}}")'
    if path[:1] == ("plugin_config",) and path[1:2] != ("oh-my-opencode",):
        return f'write "{{env:{name}}}" instead (opencode reads it from the environment)'
    if path[:1] == ("providers",):
        return "give the provider `env: VARIABLE` naming the variable that holds it"
    return "keep it in an environment variable"


def message(kind: str, path: KeyPath) -> str:
    return (f"{kind} written in plain text: lattice would copy it into the store and opencode.json, "
            f"where every process you run can read it; {hint(path)}")


def secret_diagnostics(config: Any) -> list[Diagnostic]:
    """Every secret in the merged configuration (a sources.ResolvedConfig), located at its key."""
    out: list[Diagnostic] = []

    def add(path: KeyPath, text: str, severity: str = "error") -> None:
        o = config.where(path)
        out.append(Diagnostic(o.file, o.line, o.col, dotted(path), text, severity))

    flagged: set[KeyPath] = set()
    for path, text in strings_of(config.data, ()):
        kind = token_kind(text)
        if kind:
            flagged.add(path)
            add(path, message(kind, path))
    for name, server in (config.data.get("mcp") or {}).items() if isinstance(config.data.get("mcp"), dict) else ():
        for table in ("env", "headers"):
            values = server.get(table) if isinstance(server, dict) else None
            for var, value in values.items() if isinstance(values, dict) else ():
                path = ("mcp", name, table, var)
                if path in flagged or not isinstance(value, str) or ENV_REF.search(value) \
                        or OPENCODE_REF.search(value + str(var)) or not SECRET_NAME.search(str(var)):
                    continue  # a reference (or an error already: config/references.py), not a literal
                if is_credential(value):
                    add(path, message("a credential", path))
                else:
                    add(path, f"looks like a secret written in plain text; {hint(path)}", "warning")
    return out


def redact(text: str, replacement: str = "[secret removed]") -> str:
    """`text` with every known token shape replaced."""
    return _TOKEN.sub(replacement, text)


def is_credential(value: str) -> bool:
    """Whether `value`, found under a secret-sounding name (SECRET_NAME), is one word of a credential's
    shape (after an optional `Bearer`/`Basic`/`Token`) rather than a setting."""
    return _CREDENTIAL.fullmatch(value.strip()) is not None


def text_secrets(text: str) -> Iterator[tuple[int, str]]:
    """(line, kind) of each known token shape in free text (an agent prompt)."""
    for m in _TOKEN.finditer(text):
        yield text.count("\n", 0, m.start()) + 1, TOKENS[int(m.lastgroup[1:])][1]  # type: ignore[index]
