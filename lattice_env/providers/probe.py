"""Providers at run time: which key variables are set, whether local model servers answer.
These are warnings, never validation errors: a workflow is valid on a machine without the keys."""
from __future__ import annotations

import os
from typing import Any

from ..config.diagnostics import Diagnostic
from ..config.document import dotted
from ..config.model import Provider
from .kinds import endpoint, is_local


def base_url(provider: Provider) -> str | None:
    return endpoint(provider.name, provider.base_url)


def server_reachable(url: str, timeout: float = 0.5) -> bool:
    """True when something answers HTTP at `url` (any status counts: the server is up)."""
    import urllib.error  # deferred: http.client is a large import, and most workflows have no local server
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def runtime_warnings(loaded: Any, probe: bool = True) -> list[Diagnostic]:
    """Unset key variables and unreachable local servers, located at the provider's key."""
    out = []
    config = loaded.config
    for provider in loaded.workflow.providers.values():
        if provider.env and not os.environ.get(provider.env):
            path = ("providers", provider.name, "env")
            o = config.where(path)
            out.append(Diagnostic(o.file, o.line, o.col, dotted(path),
                                  f"{provider.env} is not set in this environment", "warning"))
        url = base_url(provider)
        if probe and url and is_local(provider) and not server_reachable(url):
            path = ("providers", provider.name)
            o = config.where(path)
            out.append(Diagnostic(o.file, o.line, o.col, dotted(path),
                                  f"no model server answers at {url}", "warning"))
    return out
