"""Batches as CI runs them: bounded progress lines in logs, the end-of-batch summary, --dry-run (checked
against the sandbox's request log and the journal), and --files-from / --files-from0 manifests."""

from __future__ import annotations

import json
import os
import re
import uuid

from mediactl.journal import Journal
from tests.test_batch import make_files
from tests.test_bitbadges import PAGE

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _page() -> str:
    return "p-" + uuid.uuid4().hex[:8]


def _requests_since(server, before: int) -> list[dict]:
    return [r for r in server.state()["requests"] if r["n"] > before]


def _last_request(server) -> int:
    requests = server.state()["requests"]
    return requests[-1]["n"] if requests else 0


def _journal_rows(tmp_path) -> list[dict]:
    return Journal(tmp_path / "data").list()


# --- progress in logs ---------------------------------------------------------------------------------------


def test_ci_log_of_50_files_has_one_line_per_file_and_a_summary(cli, sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIACTL_PROGRESS_INTERVAL", "3600")  # no batch line can fall due: the bound is exact
    make_files(tmp_path / "fifty", 50, size=30_000)
    run = cli("otherpage", "upload", "-r", str(tmp_path / "fifty"), "-j", "4", "--community", "ci-log")
    assert run.code == 0, run
    lines = run.stderr.splitlines()
    done = [line for line in lines if line.startswith("uploaded ")]
    assert len(done) == 50
    assert {line.split()[1] for line in done} == {f"f{n:03d}.bin" for n in range(50)}
    assert lines[-1].startswith("summary: 50 uploaded, 0 failed; 1.4 MiB in ")
    assert len(lines) == 50 + 1  # files + summary: no per-percent, per-chunk or per-part lines
    assert not any("%" in line for line in lines)
    assert len(run.stdout.splitlines()) == 50  # the rows (plain: stdout is not a terminal)


def test_ci_log_batch_lines_come_at_the_interval(cli, sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIACTL_PROGRESS_INTERVAL", "0")  # every occasion is due: batch lines must appear
    make_files(tmp_path / "ten", 10, size=2000)
    run = cli("nationbuilder", "upload", "-r", str(tmp_path / "ten"), "--page", _page(), "-j", "1")
    assert run.code == 0, run
    batch = [line for line in run.stderr.splitlines() if line.startswith("batch: ")]
    assert len(batch) >= 9  # at least after each file but the last
    assert "batch: 9/10 files, " in batch[-1] and " of 19.5 KiB, " in batch[-1] and "ETA " in batch[-1]


def test_terminal_shows_one_batch_display_not_log_lines(cli, sandbox, tmp_path):
    make_files(tmp_path / "tty", 3, size=5000)
    run = cli("otherpage", "upload", "-r", str(tmp_path / "tty"), "--community", "tty", tty=True)
    assert run.code == 0, run
    assert "3/3 files" in run.stderr  # the overall line, with bytes, rate and ETA columns
    assert "uploaded f0" not in run.stderr and "batch: " not in run.stderr
    assert "summary: 3 uploaded, 0 failed" in run.stderr


def test_no_progress_and_quiet_print_no_progress_lines(cli, sandbox, tmp_path):
    make_files(tmp_path / "few", 3)
    quiet = cli("-q", "otherpage", "upload", "-r", str(tmp_path / "few"), "--community", "quiet")
    assert quiet.code == 0 and quiet.stderr == "", quiet
    assert len(quiet.stdout.splitlines()) == 3
    silent = cli("--no-progress", "otherpage", "upload", "-r", str(tmp_path / "few"), "--community", "quiet2")
    assert silent.code == 0
    assert [line.split(":")[0] for line in silent.stderr.splitlines()] == ["summary"]


# --- summary ------------------------------------------------------------------------------------------------


def test_summary_counts_skipped_and_stays_off_stdout_in_json(cli, sandbox, tmp_path):
    make_files(tmp_path / "s", 4)
    first = cli("otherpage", "upload", str(tmp_path / "s" / "f000.bin"), "--community", "summary")
    assert first.code == 0 and "summary:" not in first.stderr  # one file: its row says it all
    run = cli("-o", "json", "otherpage", "upload", "-r", str(tmp_path / "s"), "--skip-existing",
              "--community", "summary")
    assert run.code == 0, run
    assert len(json.loads(run.stdout)) == 4  # stdout is the one JSON document, nothing else
    summary = [line for line in run.stderr.splitlines() if line.startswith("summary:")]
    assert summary == [summary[0]] and summary[0].startswith("summary: 3 uploaded, 1 skipped, 0 failed; 5.9 KiB")


def test_summary_counts_adopted_uploads_and_records_left_without_bytes(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    make_files(tmp_path / "a", 2)
    # the page snapshot passes; the first create lands but its answer is lost: NationBuilder is asked, it adopts
    server.control(fault_paths={"/attachments": ["pass", "500-after"]})
    run = cli("nationbuilder", "upload", "-r", str(tmp_path / "a"), "--page", _page(), "-j", "1")
    assert run.code == 0, run
    assert "summary: 2 uploaded (1 adopted after a lost answer), 0 failed" in run.stderr

    # Other Page's record create cannot be asked: the summary says a record may be left without bytes
    server.control(fault_paths={"/file": ["500-after"]})
    other = cli("otherpage", "upload", "-r", str(tmp_path / "a"), "-j", "1", "--community", "orphans")
    assert other.code == 0, other
    assert "summary: 2 uploaded, 0 failed" in other.stderr
    assert "note: 1 record may have been left without bytes on otherpage" in other.stderr


def test_summary_hints_resume_for_what_can_be_finished(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    make_files(tmp_path / "r", 3)
    server.control(s3_fail_next=100)  # every byte transfer fails: transient, past the retries
    run = cli("--retries", "0", "otherpage", "upload", "-r", str(tmp_path / "r"), "-j", "1", "--community", "res")
    assert run.code == 7, run
    assert "summary: 0 uploaded, 3 failed" in run.stderr
    assert re.search(r"hint: 3 uploads can be finished with `mediactl resume --batch [0-9a-f]{12}`", run.stderr)
    server.control(s3_fail_next=0)


# --- dry run ------------------------------------------------------------------------------------------------


def test_dry_run_upload_sends_nothing_and_records_nothing(cli, sandbox, tmp_path):
    make_files(tmp_path / "d", 3)
    (tmp_path / "d" / "noext").write_bytes(b"x")
    first = cli("otherpage", "upload", str(tmp_path / "d" / "f000.bin"), "--community", "dry")
    assert first.code == 0, first
    journal_before = _journal_rows(tmp_path)
    before = _last_request(sandbox)

    run = cli("-o", "json", "otherpage", "upload", "-r", str(tmp_path / "d"), "--skip-existing", "--dry-run",
              "--community", "dry")
    assert run.code == 0, run
    plan = {os.path.basename(row["local"]["path"]): row for row in json.loads(run.stdout)}
    assert {name: row["action"] for name, row in plan.items()} == {
        "f000.bin": "skip", "f001.bin": "upload", "f002.bin": "upload", "noext": "refuse"}
    assert "already uploaded" in plan["f000.bin"]["why"] and "extension" in plan["noext"]["why"]
    assert "dry run: 2 to upload (3.9 KiB), 1 to skip, 1 refused, of 4" in run.stderr

    nationbuilder = cli("nationbuilder", "upload", "-r", str(tmp_path / "d"), "--page", _page(), "--dry-run")
    assert nationbuilder.code == 0, nationbuilder
    assert [line.split("\t")[0] for line in nationbuilder.stdout.splitlines()] == ["upload"] * 4  # plain rows
    ofauth = cli("-o", "jsonl", "ofauth", "upload", "-r", str(tmp_path / "d"), "--skip-existing", "--dry-run")
    assert ofauth.code == 0, ofauth
    assert [json.loads(line)["action"] for line in ofauth.stdout.splitlines()] == ["upload"] * 4
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "good.json").write_text(json.dumps(PAGE))
    (tmp_path / "pages" / "bad.json").write_text(json.dumps({**PAGE, "visibility": "secret"}))
    bitbadges = cli("-o", "json", "bitbadges", "upload", "-r", str(tmp_path / "pages"), "--dry-run")
    assert bitbadges.code == 0, bitbadges
    assert {os.path.basename(r["local"]["path"]): r["action"] for r in json.loads(bitbadges.stdout)} == {
        "bad.json": "refuse", "good.json": "upload"}
    assert "sends nothing while one is refused" in bitbadges.stderr

    sent = _requests_since(sandbox, before)
    # only read-only lookups: OFAuth's --skip-existing asks /uploads/check (a POST that creates nothing)
    assert [r for r in sent if r["method"] in WRITES and not r["path"].endswith("/uploads/check")] == []
    assert _journal_rows(tmp_path) == journal_before


def test_dry_run_delete_looks_up_and_deletes_nothing(cli, sandbox, tmp_path):
    page = _page()
    (tmp_path / "keep.txt").write_text("keep me")
    made = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "keep.txt"), "--page", page)
    assert made.code == 0, made
    attachment_id = str(json.loads(made.stdout)[0]["id"])
    before = _last_request(sandbox)

    run = cli("-o", "json", "nationbuilder", "delete", attachment_id, "999999", "--page", page, "--dry-run")
    assert run.code == 0, run  # no --yes needed: nothing is deleted
    plan = json.loads(run.stdout)
    assert [(row["id"], row["action"]) for row in plan] == [(attachment_id, "delete"), ("999999", "refuse")]
    assert "dry run: 1 to delete, 1 refused, of 2; nothing was deleted" in run.stderr
    badges = cli("bitbadges", "delete", "util-none", "--dry-run")
    assert badges.code == 0 and badges.stdout.startswith("refuse\tutil-none\t"), badges

    assert [r for r in _requests_since(sandbox, before) if r["method"] in WRITES] == []
    listed = cli("-o", "json", "nationbuilder", "list", "--page", page)
    assert [str(a["id"]) for a in json.loads(listed.stdout)] == [attachment_id]


def test_dry_run_resume_lists_the_plan_and_changes_nothing(cli, sandbox, tmp_path):
    make_files(tmp_path / "rs", 2)
    sandbox.control(s3_fail_next=100)
    failed = cli("--retries", "0", "otherpage", "upload", "-r", str(tmp_path / "rs"), "--community", "dry-res")
    sandbox.control(s3_fail_next=0)
    assert failed.code == 7, failed
    os.remove(tmp_path / "rs" / "f001.bin")
    journal_before = _journal_rows(tmp_path)
    before = _last_request(sandbox)

    run = cli("-o", "json", "resume", "--dry-run")
    assert run.code == 0, run
    plan = {os.path.basename(row["local"]["path"]): row for row in json.loads(run.stdout)}
    assert plan["f000.bin"]["action"] == "resume" and plan["f000.bin"]["provider"] == "otherpage"
    assert plan["f001.bin"]["action"] == "refuse" and "no such file" in plan["f001.bin"]["why"]
    assert _requests_since(sandbox, before) == []
    assert _journal_rows(tmp_path) == journal_before


# --- manifests ----------------------------------------------------------------------------------------------


HARD_NAMES = ["a b.png", "new\nline.png", "#not a comment.png", " lead.png", "-"]


def test_files_from0_takes_names_with_spaces_and_newlines(cli, sandbox, tmp_path):
    folder = tmp_path / "hard"
    folder.mkdir()
    for n, name in enumerate(HARD_NAMES):
        (folder / name).write_bytes(f"file {n}".encode())
    listing = "".join(str(folder / name) + "\0" for name in HARD_NAMES)  # as `find -print0` writes it
    run = cli("-o", "json", "nationbuilder", "upload", "--files-from0", "-", "--page", _page(), input=listing)
    assert run.code == 0, run
    uploaded = sorted(row["local"]["path"] for row in json.loads(run.stdout))
    assert uploaded == sorted(str(folder / name) for name in HARD_NAMES)

    (tmp_path / "list0").write_bytes(listing.encode())
    tar_style = cli("-o", "json", "nationbuilder", "upload", "--files-from", str(tmp_path / "list0"), "--null",
                    "--page", _page(), "--dry-run")
    assert tar_style.code == 0, tar_style
    assert len(json.loads(tar_style.stdout)) == len(HARD_NAMES)


def test_files_from_skips_comments_resolves_relative_paths_and_adds_to_arguments(cli, sandbox, tmp_path,
                                                                                  monkeypatch):
    make_files(tmp_path / "m", 4)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.txt").write_text("# the release's files\n\nm/f001.bin\r\n  \n" + str(tmp_path / "m/f002.bin")
                                           + "\n# m/f003.bin\n")
    run = cli("-o", "json", "nationbuilder", "upload", "m/f000.bin", "--files-from", "manifest.txt",
              "--page", _page())
    assert run.code == 0, run
    assert sorted(os.path.basename(row["local"]["path"]) for row in json.loads(run.stdout)) == [
        "f000.bin", "f001.bin", "f002.bin"]

    neither = cli("nationbuilder", "upload", "--page", _page())
    assert neither.code == 2 and "no files given" in neither.stderr and "--files-from" in neither.stderr
    missing = cli("nationbuilder", "upload", "--files-from", "nope.txt", "--page", _page())
    assert missing.code == 3 and "nope.txt" in missing.stderr
    listed_missing = cli("nationbuilder", "upload", "--files-from", "-", "--page", _page(), input="m/gone.bin\n")
    assert listed_missing.code == 3 and "gone.bin: no such file" in listed_missing.stderr
