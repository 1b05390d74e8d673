"""Other Page end to end: the real CLI against `mediactl sandbox serve` (and once against SeaweedFS)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest
import requests
import responses

from tests.s3_server import ACCESS_KEY, SECRET_KEY


def community() -> str:
    return "c-" + uuid.uuid4().hex[:8]


def files_in(sandbox, comm: str) -> list[dict]:
    return [f for f in sandbox.state()["otherpage"]["files"].values() if f["communityId"] == comm]


def test_upload_round_trip_and_json_shape(cli, sandbox, tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "photo.jpg").write_bytes(data)
    comm = community()
    run = cli("-o", "json", "otherpage", "upload", str(tmp_path / "photo.jpg"), "--community", comm)
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert result["provider"] == "otherpage" and result["mime"] == "image/jpeg"
    assert result["local"] == {"path": str(tmp_path / "photo.jpg"), "size": len(data),
                               "sha256": hashlib.sha256(data).hexdigest()}
    assert "upload" not in result and "X-Amz-Signature" not in run.stdout
    assert requests.get(result["url"], timeout=10).content == data  # served back by the CDN
    [record] = files_in(sandbox, comm)
    assert record["id"] == result["id"] and record["uploadedAt"] is not None


@pytest.mark.parametrize("name", ["my photo.png", "ünï cødé ☃.png", 'q"uote.png'])
def test_odd_names(cli, sandbox, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    run = cli("-o", "jsonl", "otherpage", "upload", str(path), "--community", community())
    assert run.code == 0, run
    line = json.loads(run.stdout.splitlines()[0])
    assert requests.get(line["url"], timeout=10).content == path.read_bytes()


def test_zero_byte_file(cli, sandbox, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    run = cli("-q", "otherpage", "upload", str(tmp_path / "empty.txt"), "--community", community())
    assert run.code == 0, run
    url = run.stdout.strip()
    assert url.startswith(sandbox.base_url) and requests.get(url, timeout=10).content == b""


def test_missing_extension_refused_before_any_request(cli, sandbox, tmp_path):
    (tmp_path / "README").write_text("x")
    comm = community()
    run = cli("otherpage", "upload", str(tmp_path / "README"), "--community", comm)
    assert run.code == 3 and "no file extension" in run.stderr
    assert files_in(sandbox, comm) == []
    run = cli("otherpage", "upload", str(tmp_path / "README"), "--name", "README.md", "--community", comm)
    assert run.code == 0, run


def test_wrong_key_is_exit_4_with_hint(cli, sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_API_KEY", "op_wrong")
    (tmp_path / "a.txt").write_text("x")
    run = cli("-o", "json", "otherpage", "upload", str(tmp_path / "a.txt"))
    assert run.code == 4
    assert "auth login otherpage" in run.stderr
    [err] = json.loads(run.stdout)  # in json mode the error is on stdout too
    assert err["error"]["code"] == 4 and err["error"]["status"] == 401 and err["error"]["item"].endswith("a.txt")


def test_missing_key_is_exit_3(cli, sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("MEDIACTL_OTHERPAGE_API_KEY")
    (tmp_path / "a.txt").write_text("x")
    run = cli("otherpage", "upload", str(tmp_path / "a.txt"))
    assert run.code == 3 and "otherpage.api_key is not set" in run.stderr


def test_a_file_the_form_cannot_take_is_refused_before_sending_exit_6(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(otherpage_max_size=10)  # the form's policy: content-length-range 0..10
    (tmp_path / "big.bin").write_bytes(b"x" * 100)
    run = cli("otherpage", "upload", str(tmp_path / "big.bin"))
    assert run.code == 6 and "outside what Other Page's upload form allows (0..10 bytes)" in run.stderr, run
    assert not any("/s3/" in str(r) for r in server.state()["requests"])  # S3 never saw the bytes
    assert server.state()["otherpage"]["objects"] == {}


def test_phase_two_failure_then_complete(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(s3_fail_next=100)
    data = os.urandom(5000)
    (tmp_path / "a.bin").write_bytes(data)
    run = cli("--retries", "1", "otherpage", "upload", str(tmp_path / "a.bin"))
    assert run.code == 7 and "otherpage complete" in run.stderr
    listed = json.loads(cli("-o", "json", "otherpage", "list").stdout)
    assert listed[0]["status"] == "failed"
    file_id = listed[0]["id"]
    server.control(s3_fail_next=0)
    run = cli("-o", "json", "otherpage", "complete", file_id)
    assert run.code == 0, run
    [done] = json.loads(run.stdout)
    assert requests.get(done["url"], timeout=10).content == data
    shown = json.loads(cli("-o", "json", "otherpage", "show", file_id).stdout)
    assert shown["status"] == "completed" and shown["cdn"]["png"].endswith("format=png")
    # the form is gone from disk once completed (it holds credentials)
    assert not any((tmp_path / "data" / "pending").glob("*.json"))


def test_complete_refuses_changed_file_and_expired_form(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(s3_fail_next=100)
    (tmp_path / "a.bin").write_bytes(b"original")
    assert cli("--retries", "0", "otherpage", "upload", str(tmp_path / "a.bin")).code == 7
    file_id = json.loads(cli("-o", "json", "otherpage", "list").stdout)[0]["id"]
    server.control(s3_fail_next=0)
    (tmp_path / "a.bin").write_bytes(b"changed!")
    run = cli("otherpage", "complete", file_id)
    assert run.code == 3 and "changed" in run.stderr

    server.control(s3_fail_next=100, form_ttl=1)
    (tmp_path / "b.bin").write_bytes(b"bbb")
    assert cli("--retries", "0", "otherpage", "upload", str(tmp_path / "b.bin")).code == 7
    file_id = json.loads(cli("-o", "json", "otherpage", "list").stdout)[0]["id"]
    import time

    time.sleep(1.5)
    run = cli("otherpage", "complete", file_id)
    assert run.code == 6 and "expired" in run.stderr and "upload" in run.stderr


def test_quiet_prints_urls_and_jsonl_one_line_per_file(cli, sandbox, tmp_path):
    for n in range(3):
        (tmp_path / f"f{n}.txt").write_text(str(n))
    paths = [str(tmp_path / f"f{n}.txt") for n in range(3)]
    run = cli("-q", "otherpage", "upload", *paths, "--community", community())
    assert run.code == 0 and len(run.stdout.splitlines()) == 3
    assert all(line.startswith("http://") for line in run.stdout.splitlines())
    run = cli("-o", "jsonl", "otherpage", "upload", *paths, "--community", community())
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted(r["local"]["path"] for r in rows) == sorted(paths)


def test_url_command(cli, monkeypatch):
    assert cli("otherpage", "url", "abc/logo-png", "--format", "png", "--size", "100").stdout == \
        "https://img.other.page/abc/logo-png?format=png&size=100\n"
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_CDN_URL", "https://cdn.example")
    assert cli("otherpage", "url", "k").stdout == "https://cdn.example/k\n"
    assert cli("otherpage", "url", "k", "--format", "tiff").code == 2


def test_form_targets_real_s3(cli, sandbox_factory, s3_server, tmp_path):
    sandbox_factory("--s3-endpoint", s3_server.endpoint, "--s3-bucket", s3_server.bucket,
                    extra_env={"MEDIACTL_SANDBOX_S3_ACCESS_KEY": ACCESS_KEY,
                               "MEDIACTL_SANDBOX_S3_SECRET_KEY": SECRET_KEY})
    data = os.urandom(70_000)
    (tmp_path / "pic.png").write_bytes(data)
    run = cli("-o", "json", "otherpage", "upload", str(tmp_path / "pic.png"))
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    obj = s3_server.get(result["key"])
    assert obj["Body"].read() == data and obj["ContentType"] == "image/png"


@responses.activate
def test_404_community_and_html_error_bodies(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_API_KEY", "k-1234")
    base = "https://api.other.page/v1"
    responses.add(responses.POST, f"{base}/community/nope/file", status=404,
                  json={"statusCode": 404, "message": "Community not found"})
    responses.add(responses.POST, f"{base}/community/html/file", status=400,
                  body="<html><body><h1>Bad request</h1><p>proxy said no</p></body></html>",
                  content_type="text/html")
    (tmp_path / "a.txt").write_text("x")
    run = cli("otherpage", "upload", str(tmp_path / "a.txt"), "--community", "nope")
    assert run.code == 5 and "Community not found" in run.stderr
    run = cli("otherpage", "upload", str(tmp_path / "a.txt"), "--community", "html")
    assert run.code == 6 and "Bad request proxy said no" in run.stderr and "<h1>" not in run.stderr
    assert "Traceback" not in run.stderr
