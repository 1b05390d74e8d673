"""Round trip end to end (README "Round trip"): download, verify and sync for each provider, the real CLI against
`mediactl sandbox serve`, including the hostile cases (a server file name that tries to leave DIR, a download
cut off half way, a CDN on another host, a remote file replaced behind mediactl's back)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest
import requests

from tests.test_bitbadges import PAGE


def page() -> str:
    return "p-" + uuid.uuid4().hex[:8]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def requests_since(sandbox, n: int) -> list[dict]:
    return [r for r in sandbox.state()["requests"] if r["n"] > n]


def last_request(sandbox) -> int:
    log = sandbox.state()["requests"]
    return log[-1]["n"] if log else 0


def nb_attach(sandbox, pg: str, filename: str, content: bytes) -> dict:
    """An attachment made straight through the API (as another client would), with any file name."""
    env = sandbox.env
    resp = requests.post(f"{env['MEDIACTL_NATIONBUILDER_BASE_URL']}/sites/sandbox/pages/{pg}/attachments",
                         headers={"Authorization": f"Bearer {env['MEDIACTL_NATIONBUILDER_ACCESS_TOKEN']}"},
                         json={"attachment": {"filename": filename, "content_type": "text/plain",
                                              "content": base64.b64encode(content).decode()}}, timeout=10)
    resp.raise_for_status()
    return resp.json()["attachment"]


def nb_delete(sandbox, pg: str, att_id) -> None:
    env = sandbox.env
    requests.delete(f"{env['MEDIACTL_NATIONBUILDER_BASE_URL']}/sites/sandbox/pages/{pg}/attachments/{att_id}",
                    headers={"Authorization": f"Bearer {env['MEDIACTL_NATIONBUILDER_ACCESS_TOKEN']}"},
                    timeout=10).raise_for_status()


# -- NationBuilder ---------------------------------------------------------------------------------------


def test_nationbuilder_download_verify_round_trip(cli, sandbox, tmp_path):
    pg = page()
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"alpha")
    (src / "b.txt").write_bytes(b"bravo" * 1000)
    run = cli("-o", "json", "nationbuilder", "upload", "-r", str(src), "--page", pg)
    assert run.code == 0, run
    uploaded = json.loads(run.stdout)

    out = tmp_path / "out"
    run = cli("-o", "json", "nationbuilder", "download", "--all", "--page", pg, "-d", str(out))
    assert run.code == 0, run
    rows = json.loads(run.stdout)
    assert sorted(r["filename"] for r in rows) == ["a.txt", "b.txt"]
    for row in rows:
        assert row["provider"] == "nationbuilder"
        local = Path(row["local"]["path"])
        assert local.parent == out.resolve() and local.read_bytes() == (src / local.name).read_bytes()
        assert row["local"]["sha256"] == sha(local.read_bytes()) and row["local"]["size"] == local.stat().st_size
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]  # no .part left

    again = cli("-o", "json", "nationbuilder", "download", str(uploaded[0]["id"]), "--page", pg, "-d", str(out))
    assert again.code == 0 and json.loads(again.stdout)[0]["skipped"] == "exists", again
    (out / uploaded[0]["filename"]).write_bytes(b"local edit")
    forced = cli("-o", "json", "nationbuilder", "download", str(uploaded[0]["id"]), "--page", pg, "-d", str(out),
                 "--force")
    assert forced.code == 0 and "skipped" not in json.loads(forced.stdout)[0], forced
    assert (out / uploaded[0]["filename"]).read_bytes() == (src / uploaded[0]["filename"]).read_bytes()

    run = cli("-o", "json", "nationbuilder", "verify", "-r", str(src), "--page", pg)
    assert run.code == 0, run
    assert sorted(r["status"] for r in json.loads(run.stdout)) == ["match", "match"]

    # the remote a.txt is replaced behind mediactl's back: other bytes under the same name
    [a] = [u for u in uploaded if u["filename"] == "a.txt"]
    nb_delete(sandbox, pg, a["id"])
    nb_attach(sandbox, pg, "a.txt", b"ALPHA, replaced")
    nb_attach(sandbox, pg, "only-remote.txt", b"x")
    (src / "new.txt").write_bytes(b"never uploaded")
    run = cli("-o", "json", "nationbuilder", "verify", "-r", str(src), "--page", pg, "--extra")
    assert run.code == 9, run
    status = {(Path(r["path"]).name if r["path"] else r["remote"]["filename"]): r["status"]
              for r in json.loads(run.stdout)}
    assert status == {"a.txt": "differs", "b.txt": "match", "new.txt": "missing", "only-remote.txt": "extra"}
    assert "1 match" in run.stderr and "1 differ" in run.stderr


def test_hostile_server_file_names_stay_inside_dir(cli, sandbox, tmp_path):
    pg = page()
    hostile = ["../../escape.txt", "/etc/passwd", "\x1b[2J\x1b]0;owned\x07evil.txt", "-rf", "..", "same.txt",
               "same.txt"]
    ids = [str(nb_attach(sandbox, pg, name, f"content {n}".encode())["id"]) for n, name in enumerate(hostile)]
    out = tmp_path / "deep" / "out"
    run = cli("-o", "json", "nationbuilder", "download", *ids, "--page", pg, "-d", str(out))
    assert run.code == 0, run
    rows = json.loads(run.stdout)
    names = [Path(r["local"]["path"]).name for r in rows]
    for row in rows:
        assert Path(row["local"]["path"]).parent == out.resolve()
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()
    assert "escape.txt" in names and "passwd" in names
    assert all("\x1b" not in n and "\x07" not in n and not n.startswith(("-", ".")) for n in names)
    assert f"same ({ids[-1]}).txt" in names and "same.txt" in names  # two items, one name
    assert len(set(names)) == len(hostile)
    assert "\x1b" not in run.stderr and "\x1b" not in run.stdout.replace("\\u001b", "")
    by_name = {Path(r["local"]["path"]).name: Path(r["local"]["path"]).read_bytes() for r in rows}
    assert by_name["same.txt"] == b"content 5" and by_name[f"same ({ids[-1]}).txt"] == b"content 6"


def test_interrupted_download_leaves_no_file_under_the_final_name(cli, sandbox, tmp_path):
    pg = page()
    big = os.urandom(3 * 1024 * 1024)
    att = nb_attach(sandbox, pg, "big.bin", big)
    out = tmp_path / "out"
    sandbox.control(truncate_downloads=1)
    run = cli("--retries", "0", "nationbuilder", "download", str(att["id"]), "--page", pg, "-d", str(out))
    assert run.code == 7, run
    assert "lost" in run.stderr or "ended after" in run.stderr
    assert list(out.iterdir()) == []  # neither big.bin nor big.bin.part
    sandbox.control(truncate_downloads=1)  # with retries, the cut-off attempt is sent again from the start
    run = cli("-o", "json", "nationbuilder", "download", str(att["id"]), "--page", pg, "-d", str(out))
    assert run.code == 0, run
    assert (out / "big.bin").read_bytes() == big and json.loads(run.stdout)[0]["local"]["sha256"] == sha(big)
    assert [p.name for p in out.iterdir()] == ["big.bin"]


def test_cdn_on_another_host_and_redirects_never_get_credentials(cli, sandbox, tmp_path):
    pg = page()
    sandbox.control(download_host="localhost")  # the attachment urls name another host than base_url's
    try:
        att = nb_attach(sandbox, pg, "cdn.txt", b"from the cdn")
        assert att["url"].startswith("http://localhost:")
        mark = last_request(sandbox)
        run = cli("nationbuilder", "download", str(att["id"]), "--page", pg, "-d", str(tmp_path))
        assert run.code == 0, run
        files = [r for r in requests_since(sandbox, mark) if r["path"].startswith("/files/")]
        assert files and all(r["host"].startswith("localhost") and not r["credentials"] for r in files)
        api = [r for r in requests_since(sandbox, mark) if r["path"].startswith("/nationbuilder/")]
        assert api and all(r["credentials"] for r in api)
    finally:
        sandbox.control(download_host=None)
    sandbox.control(redirect_downloads=True)  # same host, but through a redirect: followed without credentials
    try:
        att = nb_attach(sandbox, pg, "redirected.txt", b"after a redirect")
        mark = last_request(sandbox)
        run = cli("nationbuilder", "download", str(att["id"]), "--page", pg, "-d", str(tmp_path))
        assert run.code == 0, run
        files = [r for r in requests_since(sandbox, mark) if r["path"].startswith("/files/")]
        assert len(files) == 2 and files[0]["credentials"] and not files[1]["credentials"]
        assert (tmp_path / "redirected.txt").read_bytes() == b"after a redirect"
    finally:
        sandbox.control(redirect_downloads=False)


# -- OFAuth, Other Page, BitBadges -----------------------------------------------------------------------


def png(size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def test_ofauth_download_verify_round_trip(cli, sandbox_factory, tmp_path):
    box = sandbox_factory()  # its own vault: --all means every media in it
    src = tmp_path / "src"
    src.mkdir()
    (src / "one.png").write_bytes(png(3000))
    (src / "two.png").write_bytes(png(5000))
    run = cli("-o", "json", "ofauth", "upload", "-r", str(src))
    assert run.code == 0, run
    media = {r["local"]["path"]: r["media"] for r in json.loads(run.stdout)}

    out = tmp_path / "out"
    run = cli("-o", "json", "ofauth", "download", "--all", "--type", "photo", "-d", str(out))
    assert run.code == 0, run
    rows = json.loads(run.stdout)
    assert sorted(Path(r["local"]["path"]).name for r in rows) == ["one.png", "two.png"]  # the journal's names
    for row in rows:
        assert Path(row["local"]["path"]).read_bytes() == (src / Path(row["local"]["path"]).name).read_bytes()
    assert cli("ofauth", "download", "--all", "--type", "video", "-d", str(tmp_path / "none")).code == 0
    assert list((tmp_path / "none").iterdir()) == []
    one_id = media[str(src / "one.png")]["id"]
    run = cli("-o", "json", "ofauth", "download", str(one_id), "-d", str(tmp_path / "by-id"))
    assert run.code == 0 and json.loads(run.stdout)[0]["id"] == one_id, run
    assert cli("ofauth", "download", "999999", "-d", str(tmp_path)).code == 5

    assert cli("ofauth", "verify", "-r", str(src)).code == 0
    box.control(ofauth_replace={"id": one_id, "content_b64": base64.b64encode(png(100)).decode()})
    (src / "three.png").write_bytes(png(700))
    run = cli("-o", "json", "ofauth", "verify", "-r", str(src))
    assert run.code == 9, run
    assert {Path(r["path"]).name: r["status"] for r in json.loads(run.stdout)} == \
        {"one.png": "differs", "two.png": "match", "three.png": "missing"}


def test_otherpage_download_verify_and_a_cdn_on_another_host(cli, sandbox, tmp_path, monkeypatch):
    comm = "c-" + uuid.uuid4().hex[:8]
    (tmp_path / "logo.png").write_bytes(png(4000))
    run = cli("-o", "json", "otherpage", "upload", str(tmp_path / "logo.png"), "--community", comm)
    assert run.code == 0, run
    [record] = json.loads(run.stdout)
    cdn = sandbox.env["MEDIACTL_OTHERPAGE_CDN_URL"]
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_CDN_URL", cdn.replace("127.0.0.1", "localhost"))  # another host
    mark = last_request(sandbox)
    run = cli("-o", "json", "otherpage", "download", record["id"], "--community", comm, "-d", str(tmp_path / "o"))
    assert run.code == 0, run
    assert (tmp_path / "o" / "logo.png").read_bytes() == (tmp_path / "logo.png").read_bytes()
    cdn_requests = [r for r in requests_since(sandbox, mark) if r["path"].startswith("/cdn/")]
    assert cdn_requests and all(r["host"].startswith("localhost") and not r["credentials"] for r in cdn_requests)
    journal_id = json.loads(cli("-o", "json", "otherpage", "list", "--community", comm).stdout)[0]["journalId"]
    run = cli("-o", "json", "otherpage", "download", journal_id, "--community", comm, "-d", str(tmp_path / "j"))
    assert run.code == 0 and (tmp_path / "j" / "logo.png").exists(), run

    assert cli("otherpage", "verify", str(tmp_path / "logo.png"), "--community", comm).code == 0
    sandbox.control(otherpage_replace={"key": record["key"], "content_b64": base64.b64encode(b"other").decode()})
    run = cli("-o", "json", "otherpage", "verify", str(tmp_path / "logo.png"), "--community", comm)
    assert run.code == 9 and json.loads(run.stdout)[0]["status"] == "differs", run


BB_PAGE = {**PAGE, "metadata": {**PAGE["metadata"], "name": "Round trip page", "description": "first"}}


def bb_doc(tmp_path: Path, name: str, **changes) -> Path:
    doc = json.loads(json.dumps(BB_PAGE))
    doc["metadata"]["name"] = name
    for key, value in changes.items():
        doc["metadata"][key] = value
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def test_bitbadges_download_edit_upload_round_trip(cli, sandbox, tmp_path):
    name = "rt-" + uuid.uuid4().hex[:8]
    run = cli("-o", "json", "bitbadges", "upload", str(bb_doc(tmp_path, name)))
    assert run.code == 0, run
    listing = json.loads(run.stdout)[0]["listingId"]
    out = tmp_path / "pages"
    run = cli("-o", "json", "bitbadges", "download", listing, "-d", str(out))
    assert run.code == 0, run
    downloaded = out / f"{name}.json"
    doc = json.loads(downloaded.read_text())
    assert doc["listingId"] == listing and doc["metadata"]["name"] == name and "createdBy" not in doc
    assert cli("bitbadges", "verify", str(downloaded)).code == 0

    doc["metadata"]["description"] = "edited after download"
    downloaded.write_text(json.dumps(doc))
    run = cli("-o", "json", "bitbadges", "verify", str(downloaded))
    assert run.code == 9 and "metadata" in json.loads(run.stdout)[0]["why"], run
    assert cli("bitbadges", "upload", "--update", str(downloaded)).code == 0  # takes the download back
    assert cli("bitbadges", "verify", str(downloaded)).code == 0
    assert cli("bitbadges", "download", "util-nope", "-d", str(out)).code == 5


# -- sync ----------------------------------------------------------------------------------------------


def sends(sandbox, since: int) -> list[dict]:
    """The requests since `since` that change something at a provider (anything but a read)."""
    return [r for r in requests_since(sandbox, since)
            if r["method"] in ("POST", "PUT", "DELETE") and not r["path"].endswith(("/uploads/check", "/fetch"))]


def nb_names(cli, pg: str) -> list[str]:
    return sorted(a["filename"] for a in json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg,
                                                          "--all").stdout))


def test_nationbuilder_sync_plan_replace_delete_and_idempotence(cli, sandbox, tmp_path):
    pg = page()
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.txt").write_text("a1")
    (site / "b.txt").write_text("b1")
    nb_attach(sandbox, pg, "stale.txt", b"nobody has this file")

    mark = last_request(sandbox)
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--delete", "--dry-run")
    assert run.code == 0, run
    body = json.loads(run.stdout)
    assert {(r["action"], r["name"]) for r in body["plan"]} == {("create", "a.txt"), ("create", "b.txt"),
                                                               ("delete", "stale.txt")}
    assert body["totals"] == {"create": 2, "replace": 0, "update": 0, "delete": 1, "unchanged": 0}
    assert all(r["why"] for r in body["plan"])
    assert sends(sandbox, mark) == []  # a dry run sends nothing

    run = cli("nationbuilder", "sync", str(site), "--page", pg, "--delete", "--max-delete", "0")
    assert run.code == 2 and "--max-delete" in run.stderr, run
    assert sends(sandbox, mark) == [] and nb_names(cli, pg) == ["stale.txt"]  # refused: nothing changed

    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--delete", "--max-delete", "1")
    assert run.code == 0, run
    assert nb_names(cli, pg) == ["a.txt", "b.txt"]
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--delete", "--dry-run")
    assert {r["action"] for r in json.loads(run.stdout)["plan"]} == {"unchanged"}, run

    (site / "a.txt").write_text("a2, edited")
    (site / "b.txt").unlink()
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--dry-run")
    assert {(r["action"], r["name"]) for r in json.loads(run.stdout)["plan"]} == {("replace", "a.txt")}
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg)  # without --delete b.txt stays
    assert run.code == 0, run
    assert nb_names(cli, pg) == ["a.txt", "b.txt"]
    out = tmp_path / "back"
    cli("nationbuilder", "download", "--all", "--page", pg, "-d", str(out))
    assert (out / "a.txt").read_text() == "a2, edited"  # the new bytes; the old attachment is gone
    mark = last_request(sandbox)
    run = cli("nationbuilder", "sync", str(site), "--page", pg, "--delete")
    assert run.code == 0 and nb_names(cli, pg) == ["a.txt"], run
    again = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--delete")
    assert again.code == 0 and {r["action"] for r in json.loads(again.stdout)} == {"unchanged"}, again


def test_nationbuilder_sync_survives_faults_without_duplicates(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    site = tmp_path / "site"
    site.mkdir()
    for n in range(6):
        (site / f"f{n}.txt").write_text(f"file {n}")
    # creates processed but their answers lost (dropped, or a 500 after processing), a 503 before one,
    # and a listing that fails once: the run must adopt what landed and send the rest once
    server.control(fault_paths={"POST /pages/faulty/attachments": ["drop-after", "pass", "500-after", "503",
                                                                   "drop-after"],
                                "GET /pages/faulty/attachments": ["pass", "503"]})
    run = cli("nationbuilder", "sync", str(site), "--page", "faulty", "-j", "3")
    assert run.code == 0, run
    assert sorted(server.state()["faults"]) == ["500-after", "503", "503", "drop-after", "drop-after"]
    assert nb_names(cli, "faulty") == [f"f{n}.txt" for n in range(6)]  # each once: no duplicates
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", "faulty", "--dry-run")
    assert {r["action"] for r in json.loads(run.stdout)["plan"]} == {"unchanged"}, run


def test_bitbadges_sync_delete_touches_only_pages_it_managed(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    pages = tmp_path / "pages"
    pages.mkdir()
    bb_doc(pages, "alpha")
    bb_doc(pages, "beta")
    other = tmp_path / "other"
    other.mkdir()
    bb_doc(other, "not-managed")
    assert cli("bitbadges", "upload", str(other / "not-managed.json")).code == 0  # a page sync never made
    bb_doc(other, "beta", description="made by hand before the first sync")
    assert cli("bitbadges", "upload", str(other / "beta.json")).code == 0  # matched by name: updated

    run = cli("-o", "json", "bitbadges", "sync", str(pages), "--delete", "--dry-run")
    assert run.code == 0, run
    assert {(r["action"], r["name"]) for r in json.loads(run.stdout)["plan"]} == \
        {("create", "alpha.json"), ("update", "beta.json")}
    assert cli("bitbadges", "sync", str(pages), "--delete").code == 0
    run = cli("-o", "json", "bitbadges", "sync", str(pages), "--delete", "--dry-run")
    assert {r["action"] for r in json.loads(run.stdout)["plan"]} == {"unchanged"}, run

    (pages / "alpha.json").unlink()
    run = cli("-o", "json", "bitbadges", "sync", str(pages), "--delete", "--dry-run")
    assert {(r["action"], r["name"]) for r in json.loads(run.stdout)["plan"]} == \
        {("delete", "alpha"), ("unchanged", "beta.json")}
    assert cli("bitbadges", "sync", str(pages), "--delete", "--max-delete", "0").code == 2
    assert cli("bitbadges", "sync", str(pages), "--delete").code == 0
    names = sorted(p["metadata"]["name"] for p in server.state()["bitbadges"]["pages"].values())
    assert names == ["beta", "not-managed"]  # the page it did not manage is still there

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = cli("-o", "json", "bitbadges", "sync", str(elsewhere), "--delete", "--dry-run")  # another DIR
    assert run.code == 0 and json.loads(run.stdout)["plan"] == [], run


def test_bitbadges_sync_survives_faults_without_duplicates(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    pages = tmp_path / "pages"
    pages.mkdir()
    for n in range(4):
        bb_doc(pages, f"page-{n}")
    server.control(fault_paths={"POST /utilityPages": ["drop-after", "pass", "500-after"]})
    run = cli("bitbadges", "sync", str(pages))
    assert run.code == 0, run
    names = sorted(p["metadata"]["name"] for p in server.state()["bitbadges"]["pages"].values())
    assert names == [f"page-{n}" for n in range(4)]  # each once, though two answers were lost
    assert "drop-after" in server.state()["faults"] and "500-after" in server.state()["faults"]


def test_copy_only_sync_for_ofauth_and_otherpage(cli, sandbox, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pic.png").write_bytes(png(1500))
    comm = "c-" + uuid.uuid4().hex[:8]
    for provider, extra in (("ofauth", []), ("otherpage", ["--community", comm])):
        mark = last_request(sandbox)
        refused = cli(provider, "sync", str(src), "--delete", *extra)
        assert refused.code == 2 and "no delete" in refused.stderr and "copy only" in refused.stderr, refused
        assert requests_since(sandbox, mark) == []  # refused before anything was sent
        run = cli("-o", "json", provider, "sync", str(src), *extra, "--dry-run")
        assert [r["action"] for r in json.loads(run.stdout)["plan"]] == ["create"], run
        assert cli(provider, "sync", str(src), *extra).code == 0
        run = cli("-o", "json", provider, "sync", str(src), *extra, "--dry-run")
        assert [r["action"] for r in json.loads(run.stdout)["plan"]] == ["unchanged"], run
    (src / "pic.png").write_bytes(png(1600))
    run = cli("-o", "json", "otherpage", "sync", str(src), "--community", comm, "--dry-run")
    [row] = json.loads(run.stdout)["plan"]
    assert row["action"] == "create" and "changed" in row["why"], run


def test_a_sync_cut_short_is_finished_by_resume_and_then_plans_nothing(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    site = tmp_path / "site"
    site.mkdir()
    for n in range(3):
        (site / f"s{n}.txt").write_text(f"sync {n}")
    server.control(fault_paths={"POST /pages/cut/attachments": ["pass", "503", "503", "503"]})
    run = cli("--retries", "0", "nationbuilder", "sync", str(site), "--page", "cut", "-j", "1")
    assert run.code == 8 and "resume" in run.stderr, run  # one create refused: the journal keeps it pending
    assert len(nb_names(cli, "cut")) < 3
    run = cli("resume", "--provider", "nationbuilder")
    assert run.code == 0, run
    assert nb_names(cli, "cut") == ["s0.txt", "s1.txt", "s2.txt"]
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", "cut", "--dry-run")
    assert {r["action"] for r in json.loads(run.stdout)["plan"]} == {"unchanged"}, run


def test_the_verbs_run_called_directly_with_a_context(sandbox, tmp_path):
    """A verb's run(opts, ctx) takes everything from its arguments: no CLI, no global state."""
    import io

    from mediactl.app.context import AppContext
    from mediactl.engine.batch import BatchExit
    from mediactl.verbs import VerbOptions, sync, verify

    pages = tmp_path / "pages"
    pages.mkdir()
    bb_doc(pages, "direct-" + uuid.uuid4().hex[:8])
    out = io.StringIO()
    ctx = AppContext(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(), output="json", env=dict(os.environ))
    sync.run(VerbOptions("bitbadges", {"directory": pages, "dry_run": True}), ctx)
    assert [r["action"] for r in json.loads(out.getvalue())["plan"]] == ["create"]
    out.truncate(0)
    out.seek(0)
    with pytest.raises(BatchExit) as done:  # the exit code is the error boundary's to give
        verify.run(VerbOptions("bitbadges", {"files": [str(pages)], "recursive": True}), ctx)
    assert done.value.code == 9
    assert [r["status"] for r in json.loads(out.getvalue())] == ["missing"]


def test_a_replace_finishes_even_when_another_row_fails(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.txt").write_text("a1")
    (site / "gone.txt").write_text("to delete")
    assert cli("nationbuilder", "sync", str(site), "--page", "mixed").code == 0
    (site / "gone.txt").unlink()
    (site / "a.txt").write_text("a2")
    (site / "c.txt").write_text("c")
    # the replace's create goes through; the new file's create and its second pass are refused
    server.control(fault_paths={"POST /pages/mixed/attachments": ["pass", "503", "503", "503", "503"]})
    run = cli("--retries", "0", "nationbuilder", "sync", str(site), "--page", "mixed", "--delete", "-j", "1")
    assert run.code == 8 and "1 delete(s) of the plan not done" in run.stderr, run
    assert nb_names(cli, "mixed") == ["a.txt", "gone.txt"]  # a.txt replaced (one of it), gone.txt withheld
    out = tmp_path / "back"
    cli("nationbuilder", "download", "--all", "--page", "mixed", "-d", str(out))
    assert (out / "a.txt").read_text() == "a2"


def test_an_item_whose_name_has_a_newline_downloads_under_a_safe_name(cli, sandbox, tmp_path):
    pg = page()
    att = nb_attach(sandbox, pg, "new\nline.png", b"two lines")
    out = tmp_path / "ndl"
    run = cli("-o", "json", "nationbuilder", "download", "--all", "--page", pg, "-d", str(out))
    assert run.code == 0, run
    [row] = json.loads(run.stdout)
    assert row["id"] == att["id"] and Path(row["local"]["path"]) == (out / "newline.png").resolve()
    assert (out / "newline.png").read_bytes() == b"two lines" and [p.name for p in out.iterdir()] == ["newline.png"]



def test_an_id_given_twice_is_downloaded_once(cli, sandbox, tmp_path):
    pg = page()
    att = nb_attach(sandbox, pg, "f1.png", b"once")
    out = tmp_path / "dup"
    run = cli("-o", "json", "nationbuilder", "download", str(att["id"]), str(att["id"]), "--page", pg, "-d", str(out))
    assert run.code == 0, run
    assert [r["id"] for r in json.loads(run.stdout)] == [att["id"]]
    assert [p.name for p in out.iterdir()] == ["f1.png"]


def test_a_dry_run_over_max_delete_prints_its_plan_then_refuses(cli, sandbox, tmp_path):
    pg = page()
    site = tmp_path / "site"
    site.mkdir()
    for name in ("s1.txt", "s2.txt", "s3.txt"):
        nb_attach(sandbox, pg, name, b"stale")
    mark = last_request(sandbox)
    run = cli("-o", "plain", "nationbuilder", "sync", str(site), "--page", pg, "--delete", "--max-delete", "2",
              "--dry-run")
    assert run.code == 2, run
    assert [line.split("\t")[:2] for line in run.stdout.splitlines()] == [["delete", "s1.txt"], ["delete", "s2.txt"],
                                                                          ["delete", "s3.txt"]]
    assert "more than --max-delete 2" in run.stderr and "hint: run with --dry-run" not in run.stderr
    run = cli("-o", "json", "nationbuilder", "sync", str(site), "--page", pg, "--delete", "--max-delete", "2",
              "--dry-run")
    body = json.loads(run.stdout)  # one document: the plan, and why it is refused
    assert run.code == 2 and body["totals"]["delete"] == 3 and body["error"]["code"] == 2, run
    run = cli("nationbuilder", "sync", str(site), "--page", pg, "--delete", "--max-delete", "2")
    assert run.code == 2 and run.stdout == "" and "hint: run with --dry-run to see the plan" in run.stderr, run
    assert sends(sandbox, mark) == [] and nb_names(cli, pg) == ["s1.txt", "s2.txt", "s3.txt"]


def test_a_real_sync_shows_the_new_ids_in_plain_output(cli, sandbox, tmp_path):
    pg = page()
    site = tmp_path / "site"
    site.mkdir()
    (site / "brandnew.png").write_bytes(b"never uploaded")
    run = cli("-o", "plain", "nationbuilder", "sync", str(site), "--page", pg)
    assert run.code == 0, run
    [line] = run.stdout.splitlines()
    action, name, _why, new_id, url = line.split("\t")
    [att] = json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout)
    assert (action, name, new_id) == ("create", "brandnew.png", str(att["id"])) and url == att["url"]
    run = cli("-o", "plain", "nationbuilder", "sync", str(site), "--page", pg)
    assert run.stdout.split("\t")[0] == "unchanged" and run.stdout.split("\t")[3] == str(att["id"]), run


def test_an_ofauth_media_whose_name_has_a_newline_downloads(cli, sandbox_factory, tmp_path):
    sandbox_factory()  # its own vault: --all is this one media
    src = tmp_path / "src"
    src.mkdir()
    (src / "new\nline.png").write_bytes(png(2000))
    assert cli("ofauth", "upload", str(src / "new\nline.png")).code == 0
    out = tmp_path / "ndl"
    run = cli("-o", "json", "ofauth", "download", "--all", "--type", "photo", "-d", str(out))
    assert run.code == 0, run
    [row] = json.loads(run.stdout)
    assert Path(row["local"]["path"]).parent == out.resolve() and "\n" not in Path(row["local"]["path"]).name
    assert Path(row["local"]["path"]).read_bytes() == (src / "new\nline.png").read_bytes()
