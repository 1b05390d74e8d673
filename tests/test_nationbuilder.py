"""NationBuilder end to end: the real CLI against `mediactl sandbox serve`."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import requests
import responses


def page() -> str:
    return "p-" + uuid.uuid4().hex[:8]


def test_upload_list_show_delete(cli, sandbox, tmp_path):
    pg = page()
    (tmp_path / "flyer.pdf").write_bytes(b"%PDF-1.4 test")
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "flyer.pdf"), "--page", pg)
    assert run.code == 0, run
    [att] = json.loads(run.stdout)
    assert att["filename"] == "flyer.pdf" and att["content_type"] == "application/pdf"
    assert att["local"]["sha256"] == hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    assert requests.get(att["url"], timeout=10).content == b"%PDF-1.4 test"

    listed = json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout)
    assert [a["id"] for a in listed] == [att["id"]]
    shown = json.loads(cli("-o", "json", "nationbuilder", "show", str(att["id"]), "--page", pg).stdout)
    assert shown["filename"] == "flyer.pdf" and shown["provider"] == "nationbuilder"

    refused = cli("nationbuilder", "delete", str(att["id"]), "--page", pg)  # no TTY, no --yes
    assert refused.code == 2 and "--yes" in refused.stderr
    run = cli("-y", "-o", "json", "nationbuilder", "delete", str(att["id"]), "--page", pg)
    assert run.code == 0 and json.loads(run.stdout) == [{"id": str(att["id"]), "deleted": True,
                                                         "provider": "nationbuilder"}]
    assert json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout) == []


def test_delete_several_continues_past_failures_exit_8(cli, sandbox, tmp_path):
    pg = page()
    (tmp_path / "a.txt").write_text("a")
    att = json.loads(cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "a.txt"), "--page", pg).stdout)[0]
    run = cli("-y", "nationbuilder", "delete", "999999", str(att["id"]), "--page", pg)
    assert run.code == 8 and "Record not found" in run.stderr
    assert json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout) == []


def test_pagination_all_follows_next_across_pages(cli, sandbox, tmp_path):
    pg = page()
    paths = []
    for n in range(7):
        (tmp_path / f"f{n}.txt").write_text(f"file {n}")
        paths.append(str(tmp_path / f"f{n}.txt"))
    assert cli("nationbuilder", "upload", *paths, "--page", pg, "-j", "3").code == 0
    one_page = json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg, "--limit", "2").stdout)
    assert len(one_page) == 2
    run = cli("-v", "-o", "jsonl", "nationbuilder", "list", "--page", pg, "--limit", "2", "--all")
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted(r["filename"] for r in rows) == sorted(f"f{n}.txt" for n in range(7))
    assert run.stderr.count("> GET") == 4  # 2+2+2+1
    assert "__nonce=" in run.stderr and "/nationbuilder/api/v1/sites/" in run.stderr


def test_ten_mib_upload_decodes_to_identical_bytes(cli, sandbox, tmp_path):
    data = os.urandom(10 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    pg = page()
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "big.bin"), "--page", pg)
    assert run.code == 0, run
    [att] = json.loads(run.stdout)
    stored = sandbox.state()["nationbuilder"]["attachments"][str(att["id"])]
    assert stored["sha256"] == hashlib.sha256(data).hexdigest() and stored["size"] == len(data)


def test_429_is_waited_out_and_body_restreamed(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--rate-limit", "1")
    for n in range(3):
        (tmp_path / f"r{n}.bin").write_bytes(os.urandom(50_000))
    run = cli("-v", "-o", "json", "nationbuilder", "upload", *(str(tmp_path / f"r{n}.bin") for n in range(3)),
              "--page", "rl", "-j", "1")
    assert run.code == 0, run
    assert "< 429" in run.stderr
    state = server.state()["nationbuilder"]["attachments"]
    for n in range(3):
        digest = hashlib.sha256((tmp_path / f"r{n}.bin").read_bytes()).hexdigest()
        assert sum(1 for a in state.values() if a["sha256"] == digest) == 1


def test_invalid_limit_is_usage_error(cli, sandbox):
    assert cli("nationbuilder", "list", "--page", "x", "--limit", "101").code == 2
    assert cli("nationbuilder", "list", "--page", "x", "--limit", "0").code == 2


def test_missing_and_bad_token(cli, sandbox, monkeypatch):
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "nb_wrong")
    run = cli("nationbuilder", "list", "--page", "x")
    assert run.code == 4 and "unauthorized" in run.stderr
    monkeypatch.delenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN")
    run = cli("nationbuilder", "list", "--page", "x")
    assert run.code == 3 and "access_token is not set" in run.stderr


def test_unknown_attachment_is_exit_5(cli, sandbox):
    run = cli("-o", "json", "nationbuilder", "show", "424242", "--page", page())
    assert run.code == 5 and "not_found: Record not found" in run.stderr
    assert json.loads(run.stdout)["error"]["status"] == 404


def test_sites_and_pages(cli, sandbox):
    sites = json.loads(cli("-o", "json", "nationbuilder", "sites").stdout)
    assert "sandbox" in [s["slug"] for s in sites]
    blogs = json.loads(cli("-o", "json", "nationbuilder", "pages", "--type", "blogs").stdout)
    assert [p["slug"] for p in blogs] == ["news"]
    assert cli("nationbuilder", "pages", "--type", "nope").code == 2


def test_content_type_sniffed_from_bytes(cli, sandbox, tmp_path):
    (tmp_path / "image").write_bytes(b"\x89PNG\r\n\x1a\nrest")
    [att] = json.loads(cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "image"), "--page", page()).stdout)
    assert att["content_type"] == "image/png"


@responses.activate
def test_base_url_from_nation_and_next_on_same_host(cli, monkeypatch):
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "t-123456")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_NATION", "foobar")
    base = "https://foobar.nationbuilder.com/api/v1/sites/s/pages/p/attachments"
    responses.add(responses.GET, base, json={"results": [{"id": 1}], "next": "/api/v1/sites/s/pages/p/attachments"
                  "?__nonce=n&__token=t", "prev": None}, match=[responses.matchers.query_param_matcher({"limit": "1"})])
    responses.add(responses.GET, base, json={"results": [{"id": 2}], "next": None, "prev": None},
                  match=[responses.matchers.query_param_matcher({"__nonce": "n", "__token": "t"})])
    run = cli("-o", "json", "nationbuilder", "list", "--site", "s", "--page", "p", "--limit", "1", "--all")
    assert [r["id"] for r in json.loads(run.stdout)] == [1, 2]
    assert all(c.request.headers["Authorization"] == "Bearer t-123456" for c in responses.calls)
