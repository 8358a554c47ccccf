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


def is_loopback(url: str) -> bool:
    """Whether `url`'s host is this machine by address: 127.0.0.0/8, ::1 or `localhost`."""
    import ipaddress  # deferred, like urllib below
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
        return host == "localhost" or (host is not None and ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


def server_reachable(url: str, timeout: float = 0.5) -> bool | None:
    """True when something answers HTTP at `url` (any status counts: the server is up), False when
    nothing does, None when `url` is not on this machine: a workflow may come from anyone, and checking
    it must not make this machine connect to a host it names (nor follow a redirect, or a proxy, there)."""
    if not is_loopback(url):
        return None
    import urllib.error  # deferred: http.client is a large import, and most workflows have no local server
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None  # a 3xx is an answer: the server is up

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    try:
        with opener.open(url.rstrip("/") + "/models", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def runtime_warnings(loaded: Any, probe: bool = True) -> list[Diagnostic]:
    """Unset key variables and unreachable local servers (on this machine: see server_reachable),
    located at the provider's key."""
    out = []
    config = loaded.config
    for provider in loaded.workflow.providers.values():
        if provider.env and not os.environ.get(provider.env):
            path = ("providers", provider.name, "env")
            o = config.where(path)
            out.append(Diagnostic(o.file, o.line, o.col, dotted(path),
                                  f"{provider.env} is not set in this environment", "warning"))
        url = base_url(provider)
        if probe and url and is_local(provider) and server_reachable(url) is False:
            path = ("providers", provider.name)
            o = config.where(path)
            out.append(Diagnostic(o.file, o.line, o.col, dotted(path),
                                  f"no model server answers at {url}", "warning"))
    return out
