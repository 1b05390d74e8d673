"""Fixtures that start `mediactl sandbox serve` as a real subprocess on a free port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import pytest
import requests


@dataclass
class SandboxProcess:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen
    own_data_dir: str | None = None  # made for it by start_sandbox, removed when it stops

    def state(self) -> dict:
        return requests.get(self.base_url + "/_sandbox/state", timeout=10).json()

    def control(self, **changes) -> None:
        requests.post(self.base_url + "/_sandbox/control", json=changes, timeout=10).raise_for_status()

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point mediactl (in this process) at this sandbox through its MEDIACTL_* variables."""
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.own_data_dir:
            shutil.rmtree(self.own_data_dir, ignore_errors=True)


def start_sandbox(*args: str, extra_env: dict | None = None) -> SandboxProcess:
    """A sandbox with its own mediactl data dir (where it records itself for `sandbox env`), unless
    extra_env names one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    own_data_dir = None if "MEDIACTL_DATA_DIR" in (extra_env or {}) else tempfile.mkdtemp(prefix="mediactl-sb-")
    if own_data_dir:
        env["MEDIACTL_DATA_DIR"] = own_data_dir
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediactl", "-o", "json", "sandbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"sandbox did not start: {proc.stderr.read()[-2000:]}")
    info = json.loads(line)
    return SandboxProcess(info["base_url"], info["env"], proc, own_data_dir)


@pytest.fixture(scope="session")
def sandbox_server():
    """One shared sandbox for the session; tests use their own community/site/page names."""
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, monkeypatch) -> SandboxProcess:
    """The shared sandbox, with this test's environment pointed at it."""
    sandbox_server.apply(monkeypatch)
    return sandbox_server


@pytest.fixture
def sandbox_factory(monkeypatch):
    """Start a sandbox with its own options (fault injection, small part sizes...): factory('--seed', '1')."""
    started: list[SandboxProcess] = []

    def make(*args: str, apply: bool = True, extra_env: dict | None = None) -> SandboxProcess:
        server = start_sandbox(*args, extra_env=extra_env)
        started.append(server)
        if apply:
            server.apply(monkeypatch)
        return server

    yield make
    for server in started:
        server.stop()
