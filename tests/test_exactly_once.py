"""Exactly once under faults (issue 16), end to end against the sandbox: a create whose answer was lost is
looked up and adopted, never duplicated; one that did not land is sent again; resume finishes what a run
could not; 429s are shared by every worker; a BitBadges token is refreshed once for all workers."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.test_bitbadges import PAGE


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def attachments(server, page: str) -> list[dict]:
    return [a for a in server.state()["nationbuilder"]["attachments"].values() if a["page"] == page]


def history(cli) -> list[dict]:
    return json.loads(cli("history", "-o", "json").stdout)


@pytest.mark.parametrize("fault", ["drop-after", "500-after"])
def test_nationbuilder_create_processed_then_lost_is_adopted_not_duplicated(cli, sandbox_factory, tmp_path, fault):
    server = sandbox_factory()
    server.control(fault_paths={"POST /pages/once/attachments": [fault]})
    path = write(tmp_path, "flyer.pdf", b"%PDF-1.4 exactly once")
    run = cli("-o", "json", "nationbuilder", "upload", str(path), "--page", "once")
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    [stored] = attachments(server, "once")
    assert str(stored["id"]) == str(result["id"]) and stored["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert server.state()["faults"] == [fault]
    assert "adopted" in history(cli)[0]["note"]


@pytest.mark.parametrize("fault", ["503", "drop-before"])
def test_nationbuilder_create_that_did_not_land_is_sent_again_and_same_name_files_are_never_adopted(
        cli, sandbox_factory, tmp_path, fault):
    server = sandbox_factory()
    older = write(tmp_path / "old", "logo.png", b"an older logo")
    assert cli("nationbuilder", "upload", str(older), "--page", "brand").code == 0
    server.control(fault_paths={"POST /pages/brand/attachments": [fault]})
    newer = write(tmp_path / "new", "logo.png", b"the new logo")
    run = cli("-o", "json", "nationbuilder", "upload", str(newer), "--page", "brand")
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    stored = {str(a["id"]): a for a in attachments(server, "brand")}
    assert len(stored) == 2  # the older one is kept, the new one uploaded once
    assert stored[str(result["id"])]["sha256"] == hashlib.sha256(b"the new logo").hexdigest()


def test_nationbuilder_resume_adopts_what_landed_when_the_run_could_not_check(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    # the create lands but its answer is lost, and every look-up during the run fails too
    server.control(fault_paths={"POST /pages/late/attachments": ["drop-after"],
                                "GET /pages/late/attachments": ["pass", "503", "503", "503", "503"]})
    path = write(tmp_path, "late.pdf", b"%PDF late")
    run = cli("--retries", "0", "nationbuilder", "upload", str(path), "--page", "late")
    assert run.code == 7, run
    assert len(attachments(server, "late")) == 1
    run = cli("-o", "json", "resume")
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    [stored] = attachments(server, "late")
    assert str(stored["id"]) == str(result["id"])
    assert [e["status"] for e in history(cli)] == ["completed"]


def test_bitbadges_page_create_processed_then_lost_is_adopted(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(fault_paths={"POST /utilityPages": ["drop-after"]})
    doc = write(tmp_path, "page.json", json.dumps(PAGE).encode())
    run = cli("-o", "json", "bitbadges", "upload", str(doc))
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    pages = server.state()["bitbadges"]["pages"]
    assert list(pages) == [result["listingId"]]


def test_bitbadges_resume_adopts_a_page_the_run_could_not_look_up(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(fault_paths={"POST /utilityPages": ["drop-after"], "GET /utilityPages/search": ["503"] * 4})
    doc = write(tmp_path, "page.json", json.dumps(PAGE).encode())
    assert cli("--retries", "0", "bitbadges", "upload", str(doc)).code == 7
    run = cli("-o", "json", "resume")
    assert run.code == 0, run
    assert list(server.state()["bitbadges"]["pages"]) == [json.loads(run.stdout)[0]["listingId"]]


def test_ofauth_single_put_and_complete_answers_lost_are_adopted(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--ofauth-part-size", "1000")
    server.control(fault_paths={"PUT /v2/access/uploads/upload": ["drop-after"],
                                "POST /uploads/complete": ["drop-after"]})
    small = write(tmp_path, "small.png", b"\x89PNG\r\n\x1a\n" + b"s" * 200)
    big = write(tmp_path, "big.png", b"\x89PNG\r\n\x1a\n" + b"b" * 2500)
    for path in (small, big):
        run = cli("-o", "json", "ofauth", "upload", str(path))
        assert run.code == 0, run
        [result] = json.loads(run.stdout)
        assert result["media"]["id"]
    media = server.state()["ofauth"]["media"]
    assert sorted(m["size"] for m in media.values()) == [208, 2508]  # each file once
    assert server.state()["faults"] == ["drop-after", "drop-after"]


def test_ofauth_no_complete_refuses_a_single_put_plan(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    path = write(tmp_path, "tiny.png", b"\x89PNG\r\n\x1a\ntiny")
    run = cli("ofauth", "upload", str(path), "--no-complete")
    assert run.code == 2 and "single PUT" in run.stderr
    assert server.state()["ofauth"]["media"] == {}


def test_otherpage_lost_record_create_is_sent_again_and_the_orphan_noted(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(fault_paths={"POST /community/c-once/file": ["drop-after"]})
    path = write(tmp_path, "a.png", b"\x89PNG\r\n\x1a\nbytes")
    run = cli("-o", "json", "otherpage", "upload", str(path), "--community", "c-once")
    assert run.code == 0, run
    files = server.state()["otherpage"]["files"]
    assert len(files) == 2  # the lost one stays without bytes: the API cannot be asked or told
    assert "left without bytes" in history(cli)[0]["note"]


def test_rate_limit_is_shared_by_every_worker(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--rate-limit", "8")
    for n in range(24):
        write(tmp_path / "many", f"f{n:02}.txt", f"file {n}".encode())
    run = cli("-o", "jsonl", "nationbuilder", "upload", "-r", str(tmp_path / "many"), "--page", "rl", "-j", "8")
    assert run.code == 0, run
    assert len(attachments(server, "rl")) == 24
    assert "429" in server.state()["faults"]  # the limit was hit, and waited out together


def test_bitbadges_expired_token_is_refreshed_once_for_all_workers(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(expire_bitbadges_token=True)
    for n in range(8):
        write(tmp_path / "pages", f"p{n}.json", json.dumps({**PAGE, "metadata": {
            **PAGE["metadata"], "name": f"Page {n}"}}).encode())
    run = cli("-o", "jsonl", "bitbadges", "upload", "-r", str(tmp_path / "pages"), "-j", "4")
    assert run.code == 0, run
    state = server.state()["bitbadges"]
    assert len(state["pages"]) == 8 and state["refreshes"] == 1


def test_skip_existing_after_a_faulty_batch_resends_nothing_that_landed(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--fail-rate", "0.2", "--drop-rate", "0.1", "--seed", "5")
    for n in range(20):
        write(tmp_path / "batch", f"doc{n:02}.txt", f"document {n}".encode())
    cli("--retries", "1", "-o", "jsonl", "nationbuilder", "upload", "-r", str(tmp_path / "batch"), "--page", "sk",
        "-j", "4")
    server.control(faults={"fail_rate": 0.0, "drop_rate": 0.0})
    run = cli("-o", "jsonl", "nationbuilder", "upload", "-r", str(tmp_path / "batch"), "--page", "sk",
              "--skip-existing")
    assert run.code == 0, run
    names = Counter(a["filename"] for a in attachments(server, "sk"))
    assert names == {f"doc{n:02}.txt": 1 for n in range(20)}


def test_a_host_that_refuses_connections_stops_the_batch_from_starting_more(cli, monkeypatch, tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok-123456")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", f"http://127.0.0.1:{port}/api/v1")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_SITE", "s")
    for n in range(12):
        write(tmp_path / "down", f"f{n:02}.txt", b"x")
    run = cli("--retries", "8", "-o", "json", "nationbuilder", "upload", "-r", str(tmp_path / "down"), "--page", "p",
              "-j", "2")
    assert run.code == 7, run
    assert "refused 3 connections in a row" in run.stderr and "not started" in run.stderr
    assert "one more pass" not in run.stderr  # the host is down: no second pass
    assert len(json.loads(run.stdout)) == 12  # every item has its line, those never started too
    statuses = Counter(e["status"] for e in history(cli))
    assert statuses["pending"] >= 8  # never started: left for `mediactl resume` once the host is back


def test_a_bug_in_one_worker_stops_the_batch_after_the_others_finish(cli, sandbox, monkeypatch, tmp_path):
    from mediactl.providers.nationbuilder.api import NationBuilder

    real_upload = NationBuilder.upload

    def upload(self, path, name, *args, **kwargs):
        if name == "f03.txt":
            raise ZeroDivisionError("a bug")
        return real_upload(self, path, name, *args, **kwargs)

    monkeypatch.setattr(NationBuilder, "upload", upload)  # a bug injected into one item's upload
    for n in range(8):
        write(tmp_path / "bug", f"f{n:02}.txt", f"file {n}".encode())
    run = cli("-o", "jsonl", "nationbuilder", "upload", "-r", str(tmp_path / "bug"), "--page", "bug", "-j", "4")
    assert run.code == 1 and "internal error: ZeroDivisionError" in run.stderr, run
    rows = history(cli)
    assert not [r for r in rows if r["status"] in ("created", "sent")]  # nothing left looking in flight
    uploaded = [json.loads(line) for line in run.stdout.splitlines() if '"error"' not in line]
    assert {r["filename"] for r in uploaded} == {r["name"] for r in rows if r["status"] == "completed"}


def test_an_s3_429_that_outlasts_the_retries_is_transient_not_a_rejection(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(fault_paths={"POST /s3/": ["429", "429"]})
    path = write(tmp_path, "rl.png", b"\x89PNG\r\n\x1a\nrate limited")
    run = cli("--retries", "0", "-o", "json", "otherpage", "upload", str(path), "--community", "c-rl")
    assert run.code == 7 and "rate-limited" in run.stderr, run
    assert json.loads(run.stdout)[0]["error"]["status"] == 429
    assert cli("resume").code == 0  # the form is still valid: the bytes go now
    assert len(server.state()["otherpage"]["objects"]) == 1


def test_resume_says_once_what_it_cannot_finish(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--ofauth-part-size", "1000")
    rejected = write(tmp_path, "notes.pdf", b"%PDF-1.4 not a vault media type")
    assert cli("ofauth", "upload", str(rejected)).code == 6  # OFAuth refuses the type: no resume changes that
    changed = write(tmp_path, "clip.png", b"\x89PNG\r\n\x1a\n" + b"c" * 2500)
    assert cli("ofauth", "upload", str(changed), "--no-complete").code == 0
    changed.write_bytes(b"\x89PNG\r\n\x1a\n" + b"d" * 3000)  # parts of the old version are on the server
    run = cli("resume")
    assert run.code == 8 and "history forget" in run.stderr, run
    assert sorted(e["status"] for e in history(cli)) == ["abandoned", "abandoned"]
    again = cli("resume")
    assert again.code == 0 and "nothing to resume" in again.stderr, again
    assert server.state()["ofauth"]["media"] == {}
    ids = [e["id"] for e in history(cli)]
    forgotten = cli("-o", "json", "history", "forget", *ids)
    assert forgotten.code == 0 and [r["id"] for r in json.loads(forgotten.stdout)] == ids
    assert history(cli) == []
    assert cli("history", "forget", ids[0]).code == 5  # already gone
