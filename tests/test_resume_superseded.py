"""`resume` never makes a second copy (through the CLI, against the sandbox, counting what is on the server):
an upload refused before anything was sent (over max_size, a bad max_size, `--no-complete` on a single-PUT
plan) is journalled `abandoned` (outcome `refused`) and left alone by resume; an entry a LATER completed
upload of the same file superseded is marked so, not sent again."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.test_exactly_once import attachments, history, write

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_refused_upload_then_uploaded_is_not_sent_again_by_resume(cli, sandbox, tmp_path, monkeypatch):
    page = "dupe-refused"
    path = write(tmp_path, "assets/f4.png", PNG + b"f4" * 100)
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", "10")
    run = cli("nationbuilder", "upload", str(path), "--page", page)
    assert run.code == 3, run.stderr
    monkeypatch.delenv("MEDIACTL_NATIONBUILDER_MAX_SIZE")
    run = cli("nationbuilder", "upload", str(path), "--page", page)
    assert run.code == 0, run.stderr
    run = cli("resume")
    assert run.code == 0, run.stderr
    assert "nothing to resume" in run.stderr
    assert len(attachments(sandbox, page)) == 1
    refused = [e for e in history(cli) if e["status"] != "completed"]
    assert [(e["status"], e["outcome"]) for e in refused] == [("abandoned", "refused")], refused
    assert "max_size" in refused[0]["error"]


def test_refused_tries_are_never_sent_by_resume(cli, sandbox, tmp_path, monkeypatch):
    page = "dupe-tries"
    path = write(tmp_path, "f5.png", PNG + b"f5" * 100)
    for limit in ("10", "abc", "10"):
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", limit)
        run = cli("nationbuilder", "upload", str(path), "--page", page)
        assert run.code == 3, run.stderr
    monkeypatch.delenv("MEDIACTL_NATIONBUILDER_MAX_SIZE")
    run = cli("resume", "--dry-run")
    assert run.code == 0 and "nothing to resume" in run.stderr, run.stderr
    run = cli("resume")
    assert run.code == 0 and "nothing to resume" in run.stderr, run.stderr
    assert attachments(sandbox, page) == []


def test_ofauth_no_complete_on_a_single_put_is_not_finished_by_resume(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    path = write(tmp_path, "tiny.png", PNG + b"tiny")
    run = cli("ofauth", "upload", str(path), "--no-complete")
    assert run.code == 2 and "single PUT" in run.stderr
    run = cli("resume")
    assert run.code == 0 and "nothing to resume" in run.stderr, run.stderr
    assert server.state()["ofauth"]["media"] == {}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_upload_superseded_by_a_later_upload_of_the_file_is_not_sent_again(
        cli, sandbox, tmp_path, monkeypatch):
    page = "dupe-superseded"
    path = write(tmp_path, "f6.png", PNG + b"f6" * 100)
    other = write(tmp_path, "f7.png", PNG + b"f7" * 100)
    base = sandbox.env["MEDIACTL_NATIONBUILDER_BASE_URL"]
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", f"http://127.0.0.1:{closed_port()}/nationbuilder/api/v1")
    run = cli("nationbuilder", "upload", str(path), str(other), "--page", page, "--retries", "0")
    assert run.code != 0, run.stderr
    assert [e["status"] for e in history(cli)].count("completed") == 0
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", base)
    run = cli("nationbuilder", "upload", str(path), "--page", page)  # the user runs it again
    assert run.code == 0, run.stderr
    run = cli("-o", "json", "resume", "--dry-run")
    plan = {Path(row["local"]["path"]).name: row for row in json.loads(run.stdout)}
    assert plan["f6.png"]["action"] == "skip" and "superseded" in plan["f6.png"]["why"], plan
    assert plan["f7.png"]["action"] != "skip", plan
    run = cli("-o", "json", "resume")  # then cron's resume
    assert run.code == 0, run.stderr
    assert "f6.png" in run.stderr and "superseded" in run.stderr, run.stderr
    assert [Path(row["local"]["path"]).name for row in json.loads(run.stdout)] == ["f7.png"]
    names = sorted(a["filename"] for a in attachments(sandbox, page))
    assert names == ["f6.png", "f7.png"], attachments(sandbox, page)
    superseded = [e for e in history(cli) if e["status"] == "abandoned"]
    assert [e["outcome"] for e in superseded] == ["superseded"], superseded
    run = cli("resume")
    assert run.code == 0 and "nothing to resume" in run.stderr, run.stderr
