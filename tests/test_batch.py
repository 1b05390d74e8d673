"""Batches and the journal: directories, globs, stdin, concurrency under injected faults, Ctrl-C and
resume, --skip-existing, history, and the batch exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from mediactl.journal import Journal


def make_files(directory, count: int, size: int = 2000, prefix: str = "f") -> dict[str, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in range(count):
        data = os.urandom(size) + str(n).encode()
        (directory / f"{prefix}{n:03d}.bin").write_bytes(data)
        out[f"{prefix}{n:03d}.bin"] = data
    return out


def objects_by_md5(state) -> Counter:
    return Counter(o["etag"] for o in state["otherpage"]["objects"].values())


def ctrl_c_upload(server, env: dict, directory, *, after: int) -> tuple[int, str]:
    """`otherpage upload -r DIRECTORY -j 2` in a subprocess, sent SIGINT once `after` files are on the
    sandbox's S3; its exit code and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "--no-progress", "otherpage", "upload", "-r",
                             str(directory), "-j", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(objects_by_md5(server.state())) < after:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_200_files_under_faults_none_lost_or_duplicated(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--fail-rate", "0.14", "--drop-rate", "0.06", "--seed", "2026")
    files = make_files(tmp_path / "many", 200)
    run = cli("--retries", "6", "-o", "jsonl", "otherpage", "upload", "-r", str(tmp_path / "many"), "-j", "8",
              "--community", "faults")
    assert run.code in (0, 8), run
    state = server.state()
    assert len(state["faults"]) > 40  # faults really were injected
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    ok = {os.path.basename(r["local"]["path"]): r for r in lines if "error" not in r}
    failed = [r for r in lines if "error" in r]
    assert len(ok) + len(failed) == 200
    on_server = objects_by_md5(state)
    for name, data in files.items():
        md5 = hashlib.md5(data).hexdigest()
        if name in ok:
            assert on_server[md5] == 1, name  # there, exactly once
        else:
            assert on_server[md5] <= 1, name
    journal = Journal(tmp_path / "data")
    entries = {os.path.basename(e["path"]): e for e in journal.list(provider="otherpage")}
    assert len(entries) == 200
    for name, entry in entries.items():
        assert (entry["phase"] == "completed") == (name in ok), (name, entry["phase"])


def test_interrupted_batch_then_resume_puts_every_file_there_once(sandbox_factory, tmp_path, isolated_env):
    server = sandbox_factory("--latency-ms", "150")
    files = make_files(tmp_path / "batch", 24, size=50_000)
    env = {**os.environ, **server.env, "MEDIACTL_OTHERPAGE_COMMUNITY": "sigint"}
    code, err = ctrl_c_upload(server, env, tmp_path / "batch", after=3)
    assert code == 130, err
    assert "interrupted:" in err and "mediactl resume" in err
    uploaded_before = len(objects_by_md5(server.state()))
    assert 3 <= uploaded_before < 24
    phases = Counter(e["phase"] for e in Journal(tmp_path / "data").list(provider="otherpage"))
    # the (at most -j 2) uploads in flight at Ctrl-C are recorded interrupted, though S3 may have them
    assert phases["completed"] <= uploaded_before <= phases["completed"] + 2
    assert phases["interrupted"] <= 2
    assert phases["pending"] > 0  # the ones never started are recorded too

    resumed = subprocess.run([sys.executable, "-m", "mediactl", "--no-progress", "resume"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    on_server = objects_by_md5(server.state())
    for data in files.values():
        assert on_server[hashlib.md5(data).hexdigest()] == 1
    assert {e["phase"] for e in Journal(tmp_path / "data").list(provider="otherpage")} == {"completed"}
    again = subprocess.run([sys.executable, "-m", "mediactl", "resume"], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "nothing to resume" in again.stderr


def test_skip_existing_rerun_uploads_nothing(cli, sandbox, tmp_path):
    make_files(tmp_path / "skip", 5)
    args = ("-o", "json", "otherpage", "upload", "-r", str(tmp_path / "skip"), "--community", "skip-c")
    first = json.loads(cli(*args, "--skip-existing").stdout)
    assert not any(r.get("skipped") for r in first)
    before = len(sandbox.state()["otherpage"]["files"])
    second = json.loads(cli(*args, "--skip-existing").stdout)
    assert len(second) == 5 and all(r["skipped"] is True for r in second)
    assert {r["id"] for r in second} == {r["id"] for r in first}
    assert len(sandbox.state()["otherpage"]["files"]) == before
    third = json.loads(cli(*args[:-2], "--community", "other-c", "--skip-existing").stdout)  # other target
    assert not any(r.get("skipped") for r in third)


def test_stdin_upload_needs_name(cli, sandbox, tmp_path):
    run = cli("-o", "json", "nationbuilder", "upload", "-", "--page", "stdin-page", "--name", "piped.txt",
              input="from stdin")
    assert run.code == 0, run
    [att] = json.loads(run.stdout)
    assert att["filename"] == "piped.txt"
    import requests

    assert requests.get(att["url"], timeout=10).content == b"from stdin"
    assert not os.path.exists(att["local"]["path"])  # the temporary copy of stdin is gone
    assert cli("nationbuilder", "upload", "-", "--page", "p").code == 2


def test_include_exclude_globs_and_directory_without_r(cli, sandbox, tmp_path):
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for rel in ("a.png", "b.jpg", "c.txt", "sub/d.png", "sub/skip.png"):
        (root / rel).write_bytes(rel.encode())
    run = cli("otherpage", "upload", str(root))
    assert run.code == 3 and "-r" in run.stderr
    run = cli("-o", "json", "otherpage", "upload", "-r", str(root), "--include", "*.png", "--exclude", "skip*",
              "--community", "globs")
    assert run.code == 0, run
    names = sorted(os.path.basename(r["local"]["path"]) for r in json.loads(run.stdout))
    assert names == ["a.png", "d.png"]


def test_partial_batch_exit_8_and_all_failed_keeps_the_code(cli, sandbox, tmp_path, monkeypatch):
    (tmp_path / "small.txt").write_text("x")
    (tmp_path / "large.txt").write_text("x" * 100)
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_MAX_SIZE", "50")
    run = cli("otherpage", "upload", str(tmp_path / "small.txt"), str(tmp_path / "large.txt"))
    assert run.code == 8 and "over otherpage.max_size" in run.stderr
    run = cli("otherpage", "upload", str(tmp_path / "large.txt"), str(tmp_path / "large.txt"))
    assert run.code == 3


def test_history_lists_and_filters(cli, sandbox, tmp_path):
    make_files(tmp_path / "h", 3)
    cli("otherpage", "upload", "-r", str(tmp_path / "h"), "--community", "hist")
    rows = json.loads(cli("-o", "json", "history", "--provider", "otherpage").stdout)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"completed"}
    assert json.loads(cli("-o", "json", "history", "--status", "failed").stdout) == []
    assert cli("history", "--status", "nope").code == 2
    assert cli("history", "--provider", "nope").code == 2
    assert len(json.loads(cli("-o", "json", "history", "--limit", "2").stdout)) == 2


def test_two_processes_share_the_journal(sandbox, tmp_path):
    """The journal is safe across processes: two batches at once, every entry recorded and completed."""
    for who in ("a", "b"):
        make_files(tmp_path / who, 15, prefix=who)
    env = {**os.environ, **sandbox.env, "MEDIACTL_OTHERPAGE_COMMUNITY": "two-procs"}
    procs = [subprocess.Popen([sys.executable, "-m", "mediactl", "--no-progress", "-q", "otherpage", "upload", "-r",
                               str(tmp_path / who), "-j", "4"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for who in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    entries = Journal(tmp_path / "data").list(provider="otherpage", target="two-procs")
    assert len(entries) == 30 and {e["phase"] for e in entries} == {"completed"}
