"""Every child process goes through `run`: an argv list, an explicit environment, and an error that
carries the command, its exit status and its output."""
from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Mapping, Sequence

from .errors import LatticeError

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path


class ProcessError(LatticeError):
    def __init__(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv, self.returncode, self.stdout, self.stderr = list(argv), returncode, stdout, stderr
        tail = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
        super().__init__(f"`{shlex.join(argv)}` failed with exit status {returncode}: {tail[0]}")


def run(argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, check: bool = True,
        timeout: float | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv` with exactly `env` (callers build it; nothing is inherited implicitly)."""
    import subprocess  # deferred: a no-op build runs no child and should not pay for the import

    try:
        done = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise LatticeError(f"`{argv[0]}` is not installed or not on PATH") from None
    except subprocess.TimeoutExpired as exc:
        raise LatticeError(f"`{shlex.join(argv)}` did not finish within {exc.timeout:g} s") from None
    if check and done.returncode != 0:
        raise ProcessError(argv, done.returncode, done.stdout, done.stderr)
    return done


# What a child that reaches a package registry needs from the host: how to find programs, proxies,
# and the certificate authorities of networks that intercept TLS. Everything else is left behind.
PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "http_proxy", "https_proxy", "no_proxy",
               "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "npm_config_registry", "npm_config_cafile", "npm_config_strict_ssl")


def clean_env(**extra: str) -> dict[str, str]:
    """An allowlisted copy of the host environment (PASSTHROUGH), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH}
    env.update(extra)
    return env
