"""The real opencode for the tests: the pinned npm package, installed once by the test setup into a
cache folder of the repository (never globally), and a hermetic environment to run it in."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lattice_env.flock import file_lock
from lattice_env.opencode.config import OPENCODE_PACKAGE, OPENCODE_VERSION
from lattice_env.proc import clean_env, run

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LATTICE_TEST_CACHE", REPO / ".test-cache"))


def install_opencode() -> Path:
    """Path of the pinned opencode binary, installing it with npm on first use."""
    prefix = CACHE / f"{OPENCODE_PACKAGE}-{OPENCODE_VERSION}"
    binary = prefix / "node_modules" / ".bin" / "opencode"
    with file_lock(CACHE / ".install.lock"):
        if not binary.exists():
            tmp = prefix.with_name(prefix.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            npm_env = clean_env(HOME=str(tmp), npm_config_cache=str(CACHE / "npm-cache"),
                                npm_config_update_notifier="false")
            run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tmp),
                 f"{OPENCODE_PACKAGE}@{OPENCODE_VERSION}"], env=npm_env, timeout=900)
            shutil.rmtree(prefix, ignore_errors=True)
            tmp.rename(prefix)
    return binary


def hermetic_env(home: Path, **extra: str) -> dict[str, str]:
    """opencode with a throwaway home: nothing of the real user's configuration can leak in."""
    empty = home / "empty-opencode-home"
    empty.mkdir(parents=True, exist_ok=True)
    env = clean_env(**{
        "HOME": str(home), "TERM": "dumb",
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
        "OPENCODE_TEST_HOME": str(empty), "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    })
    env.update(extra)
    return env


def resolved_config(binary: Path, cwd: Path, env: dict[str, str]) -> dict:
    """opencode's own resolved configuration (`debug config`; `--pure` so that npm plugin specs are
    listed without opencode trying to install them)."""
    done = run([str(binary), "debug", "config", "--pure"], env=env, cwd=cwd, timeout=120)
    return json.loads(done.stdout)


def shared_npm_cache() -> Path:
    """One npm cache for every test data dir (npm's cache is safe to share between processes): each
    store a test builds links `<data>/npm-cache` here, so the registry is asked once per machine."""
    cache = CACHE / "lattice-npm-cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def new_data_dir(path: Path) -> Path:
    """A fresh LATTICE_HOME (private, as lattice creates one) whose npm cache is the shared one."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    (path / "npm-cache").symlink_to(shared_npm_cache())
    return path


def switched_env(root: Path, project: Path, **extra: str) -> dict[str, str]:
    """The environment of a test whose HOME is `root/home`, data dir `root/data` (fresh) and config dir
    `root/cfg`, after a real `lattice switch --trust` in `project` succeeded (the test wrote the
    project, so what it runs is trusted)."""
    environ = clean_env(HOME=str(root / "home"), LATTICE_HOME=str(new_data_dir(root / "data")),
                        LATTICE_CONFIG_HOME=str(root / "cfg"), **extra)
    done = subprocess.run([sys.executable, "-m", "lattice_env", "switch", "--trust"], cwd=project, env=environ,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return environ


class OpencodeServer:
    """`lattice run -- serve`: one long-lived opencode (the process the TUI is a client of), driven over
    HTTP as the TUI drives it. `pid` is opencode's own (lattice run execs the wrapper, which execs it)."""

    def __init__(self, environ: dict[str, str], cwd: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = cwd / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:  # a file, not a pipe: reading a live server's pipe would block
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lattice_env", "run", "--", "serve", "--hostname", "127.0.0.1",
                 "--port", str(self.port)], cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.monotonic() + 120
        while True:
            try:
                self.call("GET", "/session", timeout=5)
                break
            except OSError:
                assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()[-2000:]
                time.sleep(0.2)

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 120) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def session(self, title: str = "test") -> str:
        return str(self.call("POST", "/session", {"title": title})["id"])  # type: ignore[index]

    def say(self, session: str, agent: str, text: str) -> dict:
        """One user turn; its reply (opencode answers when the turn is over)."""
        return self.call("POST", f"/session/{session}/message",  # type: ignore[return-value]
                         {"agent": agent, "parts": [{"type": "text", "text": text}]})

    def events(self) -> list[dict]:
        """A list that fills with every bus event the server streams from now on (GET /event, the
        server-sent events the TUI listens to), read by a daemon thread until the server stops."""
        import threading

        seen: list[dict] = []
        response = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/event", timeout=600)

        def read() -> None:
            try:
                for line in response:
                    if line.startswith(b"data:"):
                        seen.append(json.loads(line[5:]))
            except (OSError, ValueError):
                pass

        threading.Thread(target=read, daemon=True).start()
        return seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)

    def __enter__(self) -> OpencodeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
