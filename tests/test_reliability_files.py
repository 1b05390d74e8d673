"""File safety: credentials 0600 from creation, writes that survive a kill, concurrent `config set` from two
processes, a journal that survives kill -9 mid-batch so that `resume` completes the batch, and a file that
changes while it is being sent."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections import Counter

import pytest

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


# A file truncated while it is being sent (issue 19.1): the upload stops at once with exit 3 and
# "file changed during upload", and the journal records nothing as completed. The sandbox's latency holds
# the transfer request before reading its body, so the client is mid-send when the file shrinks.
SHRINK_CASES = {
    "otherpage": (["otherpage", "upload", "--community", "shrink"], "/s3/"),
    "nationbuilder": (["nationbuilder", "upload", "--page", "shrink"], "> POST "),  # after the page snapshot GET
    "ofauth": (["ofauth", "upload"], "> PUT "),
}


@pytest.mark.parametrize("provider", sorted(SHRINK_CASES))
def test_a_file_truncated_mid_upload_stops_with_exit_3(sandbox_factory, tmp_path, provider):
    server = sandbox_factory("--latency-ms", "1500")
    args, transfer_line = SHRINK_CASES[provider]
    path = tmp_path / "shrinking.mp4"
    path.write_bytes(os.urandom(32 * 1024 * 1024))
    env = {**os.environ, **server.env}
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "-v", "--no-progress", "--timeout", "30",
                             args[0], *args[1:2], str(path), *args[2:]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:  # "> POST <url>" is logged just before the body starts going out
        seen.append(line)
        if line.startswith(">") and transfer_line in line:
            break
    else:
        pytest.fail(f"no transfer request in: {''.join(seen)}")
    time.sleep(0.5)
    os.truncate(path, 1024 * 1024)
    try:
        _, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    stderr = "".join(seen) + rest
    assert proc.returncode == 3, stderr
    assert "file changed during upload" in stderr
    history = _mediactl("-o", "json", "history", env=env)
    entries = json.loads(history.stdout)
    assert entries and all(e["status"] in ("failed", "created") for e in entries), entries
