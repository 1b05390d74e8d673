"""Exactly once across processes (issue 24), end to end: a real `python -m mediactl` batch against the
sandbox is sent SIGTERM, SIGKILL or SIGINT at chosen moments (found by polling the journal, never by
sleeping), then `mediactl resume` finishes it; `resume` runs beside a live batch; two `--skip-existing` runs
overlap. What landed is counted from the sandbox's own state, not from our journal."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.test_bitbadges import PAGE

PNG = b"\x89PNG\r\n\x1a\n"


def make_batch(provider: str, directory: Path, count: int) -> dict[str, bytes]:
    """`count` small files the provider takes, by name."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for n in range(count):
        if provider == "bitbadges":
            name = f"page{n:02d}.json"
            data = json.dumps({**PAGE, "metadata": {**PAGE["metadata"], "name": f"{directory.name} {n}"}}).encode()
        else:
            name = f"f{n:02d}.png"
            data = PNG + os.urandom(600) + str(n).encode()
        (directory / name).write_bytes(data)
        files[name] = data
    return files


def upload_args(provider: str, directory: Path, target: str) -> list[str]:
    extra = {"nationbuilder": ["--page", target], "otherpage": ["--community", target], "ofauth": [],
             "bitbadges": []}[provider]
    return [provider, "upload", "-r", str(directory), *extra]


def landed(provider: str, state: dict, target: str, files: dict[str, bytes]) -> Counter:
    """How many times each of `files` is on the server (by content; BitBadges pages by name)."""
    if provider == "nationbuilder":
        by_sha = Counter(a["sha256"] for a in state["nationbuilder"]["attachments"].values() if a["page"] == target)
        return Counter({name: by_sha[hashlib.sha256(data).hexdigest()] for name, data in files.items()})
    if provider == "otherpage":
        by_md5 = Counter(o["etag"].strip('"') for o in state["otherpage"]["objects"].values())
        return Counter({name: by_md5[hashlib.md5(data).hexdigest()] for name, data in files.items()})
    if provider == "ofauth":
        by_md5 = Counter(m["etag"] for m in state["ofauth"]["media"].values())
        return Counter({name: by_md5[hashlib.md5(data).hexdigest()] for name, data in files.items()})
    by_name = Counter((p.get("metadata") or {}).get("name") for p in state["bitbadges"]["pages"].values())
    return Counter({name: by_name[json.loads(data)["metadata"]["name"]] for name, data in files.items()})


def records_without_bytes(state: dict, community: str) -> int:
    return sum(1 for f in state["otherpage"]["files"].values()
               if f["communityId"] == community and not f.get("uploadedAt"))


def counted_orphans(*stderrs: str) -> int:
    return sum(int(n) for text in stderrs for n in re.findall(r"note: (\d+) records? may have been left", text))


def phases(data_dir: Path) -> Counter:
    """The journal's phases, read as another process would (nothing of ours in between)."""
    path = data_dir / "journal.sqlite3"
    if not path.exists():
        return Counter()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return Counter(row[0] for row in db.execute("SELECT phase FROM uploads"))
    except sqlite3.OperationalError:  # the schema is being created
        return Counter()


def creates_unanswered(data_dir: Path) -> int:
    """Creates the journal says went out without an answer (each may or may not have reached the server)."""
    with sqlite3.connect(f"file:{data_dir / 'journal.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COALESCE(SUM(unanswered), 0) FROM uploads WHERE phase != 'completed'").fetchone()[0]


def wait_for(what: str, predicate, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the batch ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def mediactl(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mediactl", "--no-progress", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 90) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def resume(env: dict) -> tuple[int, str, str]:
    return finish(mediactl(env, "-o", "json", "resume"))


PROVIDERS = ["nationbuilder", "otherpage", "ofauth", "bitbadges"]
EXPECTED_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGHUP: 129, signal.SIGKILL: -signal.SIGKILL}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("signum, moment", [(signal.SIGTERM, "sending"), (signal.SIGKILL, "sending"),
                                            (signal.SIGINT, "sending"), (signal.SIGKILL, "registered")],
                         ids=["SIGTERM-mid-create", "SIGKILL-mid-create", "SIGINT-mid-create", "SIGKILL-registered"])
def test_a_batch_signalled_mid_way_then_resumed_has_every_file_on_the_server_once(
        sandbox_factory, tmp_path, provider, signum, moment):
    signal_then_resume(sandbox_factory, tmp_path, provider, signum, moment)


def test_sighup_is_handled_like_ctrl_c_and_exits_129(sandbox_factory, tmp_path):
    signal_then_resume(sandbox_factory, tmp_path, "otherpage", signal.SIGHUP, "sending")


def signal_then_resume(sandbox_factory, tmp_path, provider: str, signum: int, moment: str) -> None:
    server = sandbox_factory("--latency-ms", "400")
    target = f"sig-{provider}-{signum}-{moment}"
    files = make_batch(provider, tmp_path / target, 6)
    env = {**os.environ, **server.env}
    proc = mediactl(env, "-o", "jsonl", *upload_args(provider, tmp_path / target, target), "-j", "2")
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    if moment == "sending":
        wait_for("a create in flight", lambda: phases(data_dir)["sending"] >= 1, proc)
        # 'sending' is committed just BEFORE the create leaves; give it the few ms to leave (the sandbox
        # holds it 400 ms). A kill inside that instant counts one possible orphan that never came to be.
        time.sleep(0.1)
    else:
        wait_for("the batch registered", lambda: sum(phases(data_dir).values()) > 0, proc)
        assert sum(phases(data_dir).values()) == len(files)  # one transaction: all of them or none
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == EXPECTED_EXIT[signum], err
    unanswered = creates_unanswered(data_dir)
    if signum != signal.SIGKILL:
        assert "interrupted" in err and "mediactl resume" in err, err
        assert phases(data_dir)["sending"] == 0  # what was in flight is journalled interrupted
    code, out, resumed_err = resume(env)
    assert code == 0, resumed_err
    assert "summary:" in resumed_err
    for row in json.loads(out):
        assert row["status"] == "completed" and row["provider"] == provider and row["remoteId"]
    state = server.state()
    assert landed(provider, state, target, files) == {name: 1 for name in files}, state
    if provider == "otherpage":  # every record without bytes counted; one more only for a create journalled
        # `sending` whose request had not yet left the process when it died
        orphans = records_without_bytes(state, target)
        assert orphans <= counted_orphans(err, resumed_err) <= orphans + unanswered
    assert set(phases(data_dir)) == {"completed"}
    code, _, again = resume(env)
    assert code == 0 and "nothing to resume" in again


@pytest.mark.parametrize("provider", ["nationbuilder", "otherpage", "ofauth"])
def test_resume_beside_a_live_batch_leaves_its_entries_alone(sandbox_factory, tmp_path, provider):
    server = sandbox_factory("--latency-ms", "150")
    target = f"live-{provider}"
    files = make_batch(provider, tmp_path / target, 10)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    batch = mediactl(env, "-o", "jsonl", *upload_args(provider, tmp_path / target, target), "-j", "2")
    wait_for("a create in flight", lambda: phases(data_dir)["sending"] >= 1, batch)
    code, out, err = resume(env)
    assert code == 0, err
    assert json.loads(out) == [] if out.strip() else True
    assert "left alone" in err and "nothing to resume" in err, err
    code, _, batch_err = finish(batch)
    assert code == 0, batch_err
    assert landed(provider, server.state(), target, files) == {name: 1 for name in files}


@pytest.mark.parametrize("provider", ["nationbuilder", "otherpage", "ofauth"])
def test_two_overlapping_skip_existing_runs_upload_each_file_once(sandbox_factory, tmp_path, provider):
    server = sandbox_factory("--latency-ms", "60")
    target = f"twice-{provider}"
    files = make_batch(provider, tmp_path / target, 12)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    args = ["-o", "jsonl", *upload_args(provider, tmp_path / target, target), "-j", "3", "--skip-existing"]
    first = mediactl(env, *args)
    wait_for("the first run's first create", lambda: phases(data_dir)["sending"] >= 1, first)
    second = mediactl(env, *args)
    results = [finish(first), finish(second)]
    for code, _, err in results:
        assert code == 0, err
        assert "database is locked" not in err
    assert landed(provider, server.state(), target, files) == {name: 1 for name in files}
    assert phases(data_dir)["deleted"] == 0  # neither run took the other's upload for gone
    skipped = [json.loads(line) for line in results[1][1].splitlines() if line.strip()]
    assert len(skipped) == len(files) and any(r.get("skipped") for r in skipped)


def test_an_otherpage_create_that_times_out_is_sent_once_and_its_possible_orphan_counted(
        sandbox_factory, tmp_path):
    server = sandbox_factory("--latency-ms", "2500")
    path = tmp_path / "slow.png"
    path.write_bytes(PNG + b"slow server")
    env = {**os.environ, **server.env}
    code, out, err = finish(mediactl(env, "--timeout", "1", "otherpage", "upload", str(path), "--community", "slow"))
    assert code == 7, err
    assert "1 request sent; a file record is not repeated blindly" in err, err
    assert "note: 1 record may have been left without bytes" in err
    server.control(faults={"latency_ms": 0})
    state = server.state()
    creates = [r for r in state["requests"] if r["method"] == "POST" and r["path"].endswith("/community/slow/file")]
    assert len(creates) == 1
    code, _, resumed = resume(env)
    assert code == 0, resumed
    state = server.state()
    assert landed("otherpage", state, "slow", {"slow.png": path.read_bytes()}) == {"slow.png": 1}
    assert records_without_bytes(state, "slow") == 1  # the timed-out one: counted above, never asked about


def test_a_nationbuilder_file_appended_to_after_its_last_byte_went_out_is_uploaded_as_sent(
        sandbox_factory, tmp_path):
    server = sandbox_factory("--latency-ms", "1500")
    path = tmp_path / "growing.log"
    original = os.urandom(48 * 1024)
    path.write_bytes(original)
    env = {**os.environ, **server.env}
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "-v", "--no-progress", "-o", "json", "nationbuilder",
                             "upload", str(path), "--page", "grow"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:  # "> POST" is logged just before the body goes out; 64 KiB fits the socket buffer
        seen.append(line)
        if line.startswith("> POST "):
            break
    time.sleep(0.3)  # the body is in the socket while the sandbox holds the request for 1.5 s
    with path.open("ab") as fh:
        fh.write(b"appended after the last byte")
    out, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(seen) + rest
    [attachment] = [a for a in server.state()["nationbuilder"]["attachments"].values() if a["page"] == "grow"]
    assert attachment["sha256"] == hashlib.sha256(original).hexdigest()
    assert json.loads(out)[0]["local"]["sha256"] == hashlib.sha256(original).hexdigest()


@pytest.mark.parametrize("request_path, size", [("PUT /v2/access/uploads/upload", 300),
                                                 ("POST /uploads/complete", 2500)], ids=["single-put", "complete"])
def test_an_ofauth_repeat_refused_as_a_400_is_still_adopted(cli, sandbox_factory, tmp_path, request_path, size):
    server = sandbox_factory("--ofauth-part-size", "1000")
    server.control(ofauth_already_completed=400, fault_paths={request_path: ["drop-after"]})
    path = tmp_path / "vault.png"
    path.write_bytes(PNG + os.urandom(size))
    run = cli("-o", "json", "ofauth", "upload", str(path))
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    media = server.state()["ofauth"]["media"]
    assert [m["etag"] for m in media.values()] == [hashlib.md5(path.read_bytes()).hexdigest()]
    assert str(result["media"]["id"]) in media
    assert server.state()["faults"] == ["drop-after"]


def leases(data_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{data_dir / 'journal.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM leases").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigterm_during_registration_leaves_all_of_the_batch_registered_or_none(sandbox_factory, tmp_path):
    server = sandbox_factory()
    files = make_batch("nationbuilder", tmp_path / "reg", 300)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    proc = mediactl(env, "-o", "jsonl", *upload_args("nationbuilder", tmp_path / "reg", "reg"), "-j", "4")
    wait_for("the batch's lease (taken just before it registers)", lambda: leases(data_dir) >= 1, proc)
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 143, err
    registered = sum(phases(data_dir).values())
    assert registered in (0, len(files))  # one transaction: never a half-known batch
    if registered:  # the hint to resume comes last, wherever the signal landed
        assert err.rstrip("\n").splitlines()[-1].startswith("hint: "), err
    code, _, resumed = resume(env)
    assert code == 0, resumed
    on_server = landed("nationbuilder", server.state(), "reg", files)
    assert set(on_server.values()) == ({1} if registered else {0})  # resumed in full, or nothing was ever sent
