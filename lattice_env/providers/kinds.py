"""Which protocol each provider speaks — one rule for the generated opencode.json, the routing bridge
and validation:

- `anthropic`, `openai`, `google`: their own APIs (the AI SDK package of each), at `base_url` when one
  is given (a gateway or proxy speaking that API) — as opencode treats the same names;
- `ollama`: OpenAI-compatible chat at `base_url`, by default the local server;
- any other name: OpenAI-compatible chat at its `base_url`, which it therefore needs.

On the bridge's path (every call)."""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

NATIVE = ("anthropic", "google", "openai")
# The provider name of the routing bridge in a built environment's opencode.json (opencode/config.py):
# no provider in lattice.yaml may take it (config/checks.py).
BRIDGE_PROVIDER = "lattice"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434/v1"
OPENAI_COMPATIBLE = "openai-compatible"


def kind(name: str) -> str:
    """The protocol: the provider's own name for the native ones, else `openai-compatible`."""
    return name if name in NATIVE else OPENAI_COMPATIBLE


def endpoint(name: str, base_url: str | None) -> str | None:
    """Where calls go: `base_url`, ollama's local default, or None (a native provider's own default)."""
    if base_url:
        return base_url.rstrip("/")
    return OLLAMA_DEFAULT_URL if name == "ollama" else None


def is_local(provider: Any) -> bool:
    """Ollama-style: no key, a model server on this machine (a routing Provider, or anything with its
    name, base_url, env and auth)."""
    return provider.name == "ollama" or (provider.base_url is not None and provider.env is None
                                        and provider.auth is None)


def reachable_without_base_url(name: str) -> bool:
    return name in NATIVE or name == "ollama"
