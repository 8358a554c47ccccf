"""The opencode schema Lattice ships (lattice_env/opencode/opencode-<version>.schema.json) is exactly what
the pinned opencode serves for its configuration: `GET /doc` of the real `opencode serve`, its
`components.schemas.Config` and every schema that references, `$ref`s rewritten to `#/$defs/…`.

`python tests/test_opencode_schema.py` writes the file afresh from the real binary (after an opencode
upgrade), with the version and the date in its `$comment`."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from opencode_support import hermetic_env, install_opencode

from lattice_env.opencode.config import OPENCODE_VERSION
from lattice_env.opencode.schema import OPENCODE_SCHEMA_VERSION, SCHEMA_FILE, validate

# When the pinned version was published (npm's `time`): the date the shipped schema is of.
PUBLISHED = "2026-09-28"


def served_openapi(binary: Path, home: Path) -> dict:
    """The OpenAPI document the real `opencode serve` answers `GET /doc` with."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen([str(binary), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                              cwd=project, env=hermetic_env(home), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/doc", timeout=10) as response:
                    return json.loads(response.read())
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "opencode serve did not answer"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)


def config_schema(openapi: dict) -> dict:
    """`Config` and its references as one JSON Schema document."""
    schemas = openapi["components"]["schemas"]
    needed: list[str] = []
    todo = ["Config"]
    while todo:
        name = todo.pop(0)
        if name in needed:
            continue
        needed.append(name)

        def refs(value: object) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    if key == "$ref":
                        todo.append(str(item).rsplit("/", 1)[1])
                    else:
                        refs(item)
            elif isinstance(value, list):
                for item in value:
                    refs(item)
        refs(schemas[name])

    def rewrite(value: object) -> object:
        if isinstance(value, dict):
            return {k: (str(v).replace("#/components/schemas/", "#/$defs/") if k == "$ref" else rewrite(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value
    return {"$comment": f"opencode-ai {OPENCODE_VERSION} (published {PUBLISHED}): its configuration schema, "
                        f"components.schemas.Config of GET /doc of `opencode serve` and every schema it "
                        f"references; written by tests/test_opencode_schema.py",
            **rewrite(schemas["Config"]),  # type: ignore[dict-item]
            "$defs": {n: rewrite(schemas[n]) for n in sorted(needed) if n != "Config"}}


def shipped() -> dict:
    return json.loads(Path(SCHEMA_FILE).read_text())


def test_the_shipped_schema_is_the_pinned_version():
    assert OPENCODE_SCHEMA_VERSION == OPENCODE_VERSION
    assert f"opencode-ai {OPENCODE_VERSION} (published " in shipped()["$comment"]


def test_the_validator_knows_every_keyword_the_schema_uses():
    # validate() raises LookupError on a keyword it does not implement; walk every $defs entry with a
    # value of each kind, so every branch is reached.
    for name in shipped()["$defs"]:
        for value in ({}, [], "x", 1, 1.5, True, None, {"a": 1}, ["x"]):
            validate(value, {"$ref": f"#/$defs/{name}"})


@pytest.mark.opencode
@pytest.mark.slow
def test_the_shipped_schema_is_what_the_real_opencode_serves(tmp_path):
    served = config_schema(served_openapi(install_opencode(), tmp_path / "home"))
    assert served == shipped()


if __name__ == "__main__":  # regenerate the shipped file from the real binary
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        data = config_schema(served_openapi(install_opencode(), Path(home)))
    Path(SCHEMA_FILE).write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {SCHEMA_FILE}")
