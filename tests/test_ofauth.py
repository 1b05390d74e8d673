"""OFAuth end to end: the real CLI against `mediactl sandbox serve`."""

from __future__ import annotations

import hashlib
import json
import os

import requests


def png(tmp_path, name: str, size: int) -> tuple:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(max(0, size - 8))
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def test_single_part_upload(cli, sandbox, tmp_path):
    path, data = png(tmp_path, "photo.png", 3000)
    run = cli("-o", "json", "ofauth", "upload", str(path))
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert result["mediaUploadId"].startswith("upload:") and result["provider"] == "ofauth"
    assert result["media"]["type"] == "photo" and result["media"]["isReady"] is True
    assert result["local"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert requests.get(result["media"]["files"]["full"]["url"], timeout=10).content == data


def test_multipart_upload_of_six_parts_assembles_identical_bytes(cli, sandbox_factory, tmp_path):
    sandbox_factory("--ofauth-part-size", "1024")
    path, data = png(tmp_path, "video.png", 5500)
    run = cli("-v", "-o", "json", "ofauth", "upload", str(path), "--part-concurrency", "3")
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert run.stderr.count("/parts/") == 6
    assert "upload%3A" in run.stderr  # the id's ':' is percent-encoded in paths
    assert requests.get(result["media"]["files"]["full"]["url"], timeout=10).content == data


def test_legacy_init_plan_from_headers(cli, sandbox_factory, tmp_path):
    sandbox_factory("--ofauth-part-size", "1000", "--ofauth-legacy-init")
    path, data = png(tmp_path, "old.png", 2500)
    run = cli("-o", "json", "ofauth", "upload", str(path))
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert requests.get(result["media"]["files"]["full"]["url"], timeout=10).content == data


def test_part_failing_once_is_retried(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--ofauth-part-size", "1000")
    server.control(fail_paths={"/parts/2": 1})
    path, data = png(tmp_path, "retry.png", 3500)
    run = cli("-v", "-o", "json", "ofauth", "upload", str(path), "--part-concurrency", "1")
    assert run.code == 0, run
    assert "< 503" in run.stderr and server.state()["faults"] == ["503"]
    [result] = json.loads(run.stdout)
    assert requests.get(result["media"]["files"]["full"]["url"], timeout=10).content == data


def test_no_complete_then_complete(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--ofauth-part-size", "1000")
    path, data = png(tmp_path, "later.png", 2500)
    run = cli("-q", "ofauth", "upload", str(path), "--no-complete")
    assert run.code == 0, run
    upload_id = run.stdout.strip()
    assert server.state()["ofauth"]["uploads"][upload_id]["status"] == "pending"
    run = cli("-o", "json", "ofauth", "complete", upload_id)
    assert run.code == 0, run
    [done] = json.loads(run.stdout)
    assert requests.get(done["media"]["files"]["full"]["url"], timeout=10).content == data
    again = cli("-o", "json", "ofauth", "complete", upload_id)  # already finished: a success, not an error
    assert again.code == 0, again
    [same] = json.loads(again.stdout)
    assert same["alreadyCompleted"] is True and same["media"]["id"] == done["media"]["id"]


def test_complete_unknown_id_is_exit_5(cli, sandbox):
    run = cli("ofauth", "complete", "upload:00000000-0000-0000-0000-000000000000")
    assert run.code == 5 and "not_found" in run.stderr and "requestId" in run.stderr


def test_skip_existing_asks_the_vault(cli, sandbox, tmp_path, monkeypatch):
    path, _ = png(tmp_path, "dup.png", 1500)
    first = json.loads(cli("-o", "json", "ofauth", "upload", str(path)).stdout)[0]
    before = len(sandbox.state()["ofauth"]["uploads"])
    monkeypatch.setenv("MEDIACTL_DATA_DIR", str(tmp_path / "other-journal"))  # only the vault knows the file
    run = cli("-o", "json", "ofauth", "upload", str(path), "--skip-existing")
    assert run.code == 0, run
    [second] = json.loads(run.stdout)
    assert second["skipped"] is True and second["media"]["id"] == first["media"]["id"]
    assert len(sandbox.state()["ofauth"]["uploads"]) == before


def test_list_all_pages_with_offset(cli, sandbox_factory, tmp_path):
    sandbox_factory()
    paths = [str(png(tmp_path, f"m{n}.png", 200 + n)[0]) for n in range(5)]
    assert cli("ofauth", "upload", *paths).code == 0
    run = cli("-v", "-o", "json", "ofauth", "list", "--limit", "2", "--all")
    rows = json.loads(run.stdout)
    assert len(rows) == 5 and len({r["id"] for r in rows}) == 5
    assert run.stderr.count("> GET") == 3
    assert len(json.loads(cli("-o", "json", "ofauth", "list", "--limit", "2").stdout)) == 2
    shown = json.loads(cli("-o", "json", "ofauth", "show", str(rows[3]["id"])).stdout)
    assert shown["id"] == rows[3]["id"]
    assert cli("ofauth", "show", "999999").code == 5
    assert cli("ofauth", "list", "--limit", "41").code == 2


def test_missing_connection_id_is_exit_3(cli, sandbox, monkeypatch, tmp_path):
    monkeypatch.delenv("MEDIACTL_OFAUTH_CONNECTION_ID")
    run = cli("ofauth", "list")
    assert run.code == 3 and "connection_id is not set" in run.stderr


def test_error_shapes_show_type_code_and_request_id(cli, sandbox, monkeypatch, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    run = cli("ofauth", "upload", str(tmp_path / "empty.png"))
    assert run.code == 6 and "VALIDATION_ERROR: File is empty" in run.stderr
    monkeypatch.setenv("MEDIACTL_OFAUTH_CONNECTION_ID", "conn_wrong")
    run = cli("ofauth", "list")
    assert run.code == 4 and "CONNECTION_NOT_FOUND" in run.stderr
    monkeypatch.setenv("MEDIACTL_OFAUTH_API_KEY", "ofk_wrong")
    run = cli("ofauth", "list")
    assert run.code == 4 and "authentication_error" in run.stderr and "requestId req_" in run.stderr
