"""File safety: credentials 0600 from creation, writes that survive a kill, concurrent `config set` from two
processes, and a journal that survives kill -9 mid-batch so that `resume` completes the batch."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from collections import Counter

from mediactl.journal import Journal


def _mediactl(*args, env=None, input=None, umask=None):
    return subprocess.run([sys.executable, "-m", "mediactl", *args], capture_output=True, text=True, env=env,
                          input=input, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def test_credentials_0600_from_creation_with_umask_000(isolated_env):
    proc = _mediactl("auth", "login", "ofauth", "--with-token", input="k-123456\n", umask=0)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((isolated_env / "credentials.toml").stat().st_mode) == 0o600
    proc = _mediactl("config", "set", "ofauth.connection_id", "c-1", umask=0)
    assert stat.S_IMODE((isolated_env / "config.toml").stat().st_mode) == 0o644  # never world-writable


def test_concurrent_config_set_from_two_processes_loses_neither(isolated_env):
    """Two processes setting different keys of the same profile at once: every change lands."""
    sets = {
        "a": {"otherpage.community": "c-9", "otherpage.cdn_url": "https://cdn.example", "otherpage.max_size": "10"},
        "b": {"ofauth.connection_id": "conn-7", "ofauth.max_size": "20", "ofauth.ca_bundle": "/etc/ca.pem"},
    }
    scripts = [" && ".join(f"{sys.executable} -m mediactl config set {k} {v}" for k, v in pairs.items())
               for pairs in sets.values()]
    procs = [subprocess.Popen(["sh", "-c", script]) for script in scripts]
    assert [p.wait() for p in procs] == [0, 0]
    for pairs in sets.values():
        for key, value in pairs.items():
            assert _mediactl("config", "get", key).stdout.strip() == value, key


def test_journal_survives_kill_9_mid_batch_and_resume_completes(sandbox_factory, tmp_path):
    server = sandbox_factory("--latency-ms", "150")
    batch = tmp_path / "batch"
    batch.mkdir()
    files = {}
    for n in range(16):
        data = os.urandom(30_000) + bytes([n])
        (batch / f"k{n:02d}.bin").write_bytes(data)
        files[n] = data
    env = {**os.environ, **server.env, "MEDIACTL_OTHERPAGE_COMMUNITY": "kill9"}
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "--no-progress", "otherpage", "upload", "-r",
                             str(batch), "-j", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(server.state()["otherpage"]["objects"]) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = len(server.state()["otherpage"]["objects"])
    assert 3 <= before < 16
    entries = Journal(tmp_path / "data").list(provider="otherpage")
    assert len(entries) == 16  # every file was registered before the kill
    resumed = subprocess.run([sys.executable, "-m", "mediactl", "--no-progress", "resume"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    on_server = Counter(o["etag"] for o in server.state()["otherpage"]["objects"].values())
    for data in files.values():
        assert on_server[hashlib.md5(data).hexdigest()] == 1
