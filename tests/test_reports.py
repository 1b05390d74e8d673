"""CI reports (mediactl/reports.py): JUnit XML read back with a real JUnit reader, the JSON summary, GitHub
workflow annotations in GitHub's documented escaping, the step summary, and `--report` on a real batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import junitparser
import pytest

from mediactl import reports
from mediactl.errors import RejectedError


def sample() -> reports.BatchReport:
    report = reports.BatchReport("mediactl nationbuilder upload")
    report.items = [
        reports.item_report("a.png", {"id": 1, "local": {"path": "/w/a.png", "size": 1, "sha256": "x"}}, None),
        reports.item_report("b,c:d.png", None, RejectedError("Validation Failed: 100% bad\r\nsecond line")),
        reports.item_report("e.png", {"skipped": True, "local": {"path": "/w/e.png"}}, None),
        reports.item_report("f.png", {"path": "/w/f.png", "status": "differs"}, None),
        reports.item_report("\x1b[31mred.png", {"status": "match", "path": "/w/red.png"}, None),
    ]
    report.elapsed, report.exit_code = 1.5, 8
    return report


def test_junit_parses_with_a_real_reader(tmp_path):
    path = tmp_path / "r.xml"
    reports.write_report(path, sample())
    xml = junitparser.JUnitXml.fromfile(str(path))
    [suite] = list(xml)
    assert suite.name == "mediactl nationbuilder upload"
    assert (suite.tests, suite.failures, suite.skipped, suite.errors) == (5, 2, 1, 0)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"a.png", "b,c:d.png", "e.png", "f.png", "[31mred.png"}  # no ESC in the XML
    assert cases["a.png"].is_passed
    [failure] = cases["b,c:d.png"].result
    assert isinstance(failure, junitparser.Failure) and "100% bad" in failure.message
    assert cases["e.png"].is_skipped
    [differs] = cases["f.png"].result
    assert isinstance(differs, junitparser.Failure) and differs.message.startswith("differs")
    assert cases["a.png"].classname == "mediactl.nationbuilder.upload"


def test_json_summary(tmp_path):
    path = tmp_path / "r.json"
    reports.write_report(path, sample())
    body = json.loads(path.read_text())
    assert body["totals"] == {"total": 5, "passed": 2, "failed": 2, "skipped": 1}
    assert body["provider"] == "nationbuilder" and body["verb"] == "upload" and body["exit_code"] == 8
    assert [i["status"] for i in body["items"]] == ["passed", "failed", "skipped", "failed", "passed"]


def test_annotation_escaping_matches_githubs_documented_format():
    # docs.github.com "Workflow commands": data escapes % \r \n; properties also : and ,
    assert reports.escape_data("100%\r\nok") == "100%25%0D%0Aok"
    assert reports.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    item = reports.item_report("x", None, RejectedError("bad: 50%\nmore"), file="/work/dir/a,b:c.png")
    assert reports.annotation(item, cwd="/work") == \
        "::error file=dir/a%2Cb%3Ac.png,title=mediactl::x: bad: 50%25%0Amore"
    outside = reports.item_report("y", None, RejectedError("no"), file="/elsewhere/y.png")
    assert reports.annotation(outside, cwd="/work") == "::error file=/elsewhere/y.png,title=mediactl::y: no"
    no_file = reports.item_report("42", None, RejectedError("gone\x1b[2J"))
    assert reports.annotation(no_file) == "::error title=mediactl::42: gone[2J"


def test_publish_under_github_actions(tmp_path, capsys):
    import io

    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    err = io.StringIO()
    reports.publish(sample(), report_file=None, stderr=err,
                    env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": "/w"})
    lines = err.getvalue().splitlines()
    assert lines == ["::error title=mediactl::b,c:d.png: Validation Failed: 100%25 bad%0D%0Asecond line",
                     "::error file=f.png,title=mediactl::f.png: differs: the provider holds other content"]
    text = summary.read_text()
    assert text.startswith("before\n### `mediactl nationbuilder upload`")
    assert "| item | status | message |" in text and "| b,c:d.png | failed |" in text
    quiet = io.StringIO()
    reports.publish(sample(), report_file=None, stderr=quiet, env={})  # nothing changes for anyone else
    assert quiet.getvalue() == ""


def test_report_path_must_be_xml_or_json(cli, tmp_path):
    run = cli("--report", str(tmp_path / "r.txt"), "history")
    assert run.code == 2 and ".xml" in run.stderr


def test_report_of_a_real_batch_with_a_failure(cli, sandbox, tmp_path, monkeypatch):
    page = "p-" + uuid.uuid4().hex[:8]
    (tmp_path / "ok.txt").write_text("fine")
    report = tmp_path / "out" / "upload.xml"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report.parent.mkdir()
    run = cli("nationbuilder", "upload", str(tmp_path / "ok.txt"), str(tmp_path / "gone.txt"), "--page", page,
              "--report", str(report))
    assert run.code == 8, run  # gone.txt fails alone, ok.txt is sent
    [suite] = list(junitparser.JUnitXml.fromfile(str(report)))
    assert suite.tests == 2 and suite.failures == 1
    run = cli("nationbuilder", "upload", str(tmp_path / "ok.txt"), "--page", page, "--report", str(report))
    assert run.code == 0, run
    [suite] = list(junitparser.JUnitXml.fromfile(str(report)))
    assert suite.tests == 1 and suite.failures == 0
    [case] = list(suite)
    assert case.time > 0 and case.name == str(tmp_path / "ok.txt")  # each item's own time
    assert "| " in summary.read_text()


@pytest.mark.parametrize("suffix", [".json"])
def test_report_env_var_and_partial_batch(cli, sandbox, tmp_path, monkeypatch, suffix):
    report = tmp_path / f"delete{suffix}"
    monkeypatch.setenv("MEDIACTL_REPORT", str(report))
    page = "p-" + uuid.uuid4().hex[:8]
    (tmp_path / "a.txt").write_text("a")
    att = json.loads(cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "a.txt"), "--page", page).stdout)[0]
    run = cli("-y", "nationbuilder", "delete", "999999", str(att["id"]), "--page", page)
    assert run.code == 8, run
    body = json.loads(report.read_text())
    assert body["command"] == "mediactl nationbuilder delete" and body["exit_code"] == 8
    assert body["totals"] == {"total": 2, "passed": 1, "failed": 1, "skipped": 0}
    [failed] = [i for i in body["items"] if i["status"] == "failed"]
    assert failed["name"] == "999999" and "not found" in failed["message"].lower() and failed["code"] == 5


def test_verify_and_sync_reports_under_github_actions(cli, sandbox, tmp_path, monkeypatch):
    page = "p-" + uuid.uuid4().hex[:8]
    site = tmp_path / "site"
    site.mkdir()
    (site / "kept.txt").write_text("kept")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = cli("--report", str(tmp_path / "sync.json"), "nationbuilder", "sync", str(site), "--page", page)
    assert run.code == 0 and "::error" not in run.stderr, run
    body = json.loads((tmp_path / "sync.json").read_text())
    assert body["command"] == "mediactl nationbuilder sync" and body["totals"]["passed"] == 1
    assert body["items"][0]["message"] == "create"

    (site / "new, with: odd%name.txt").write_text("never synced")
    run = cli("--report", str(tmp_path / "verify.xml"), "nationbuilder", "verify", "-r", str(site), "--page", page)
    assert run.code == 9, run
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "verify.xml")))
    assert (suite.tests, suite.failures) == (2, 1)
    annotations = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    assert annotations == ["::error file=site/new%2C with%3A odd%25name.txt,title=mediactl::"
                           f"{site}/new, with: odd%25name.txt: missing: no attachment with this name on the page"]
    assert summary.read_text().count("### `mediactl nationbuilder") == 2


def test_the_step_summary_escapes_html_and_pipes(cli, sandbox, tmp_path, monkeypatch):
    page = "p-" + uuid.uuid4().hex[:8]
    odd = tmp_path / "a|b<i>&.png"
    odd.write_bytes(b"never uploaded")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = cli("nationbuilder", "verify", str(odd), "--page", page)
    assert run.code == 9, run
    text = summary.read_text()
    assert f"| {tmp_path}/a\\|b&lt;i&gt;&amp;.png | failed |" in text, text
    assert "<i>" not in text


def requests_made(sandbox) -> int:
    log = sandbox.state()["requests"]
    return log[-1]["n"] if log else 0


def test_a_report_in_a_missing_directory_is_refused_before_any_request(cli, sandbox, tmp_path):
    (tmp_path / "f1.png").write_bytes(b"f1")
    report = tmp_path / "nonexistent" / "dir" / "r.xml"
    mark = requests_made(sandbox)
    run = cli("--report", str(report), "nationbuilder", "verify", str(tmp_path / "f1.png"), "--page", "events")
    assert run.code == 3 and f"--report {report}" in run.stderr and "does not exist" in run.stderr, run
    assert requests_made(sandbox) == mark and not report.parent.exists()


def test_dry_runs_write_their_report(cli, sandbox, tmp_path):
    page = "p-" + uuid.uuid4().hex[:8]
    site = tmp_path / "site"
    site.mkdir()
    (site / "new.txt").write_text("new")
    run = cli("--report", str(tmp_path / "sync.json"), "nationbuilder", "sync", str(site), "--page", page,
              "--delete", "--dry-run")
    assert run.code == 0, run
    body = json.loads((tmp_path / "sync.json").read_text())
    assert body["command"] == "mediactl nationbuilder sync" and body["totals"]["total"] == 1
    assert body["items"][0]["name"] == "new.txt" and body["items"][0]["message"] == "create"
    run = cli("--report", str(tmp_path / "delete.xml"), "nationbuilder", "delete", "999999", "--page", page,
              "--dry-run")
    assert run.code == 0 and (tmp_path / "delete.xml").exists(), run
    assert [s.name for s in junitparser.JUnitXml.fromfile(str(tmp_path / "delete.xml"))] == [
        "mediactl nationbuilder delete"]


def test_dry_runs_of_upload_and_delete_list_each_planned_item(cli, sandbox, tmp_path):
    page = "p-" + uuid.uuid4().hex[:8]
    (tmp_path / "a.txt").write_text("a")
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "a.txt"), "--page", page)
    assert run.code == 0, run
    kept = str(json.loads(run.stdout)[0]["id"])
    run = cli("--report", str(tmp_path / "delete.xml"), "nationbuilder", "delete", kept, "999999", "--page", page,
              "--dry-run")
    assert run.code == 0, run
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "delete.xml")))
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped) == (
        "mediactl nationbuilder delete", 2, 0, 0, 1)  # a dry run exits 0 whatever its plan says: no failure
    cases = {case.name: case for case in suite}
    assert cases[kept].is_passed and cases[kept].classname == "mediactl.nationbuilder.delete"
    assert cases["999999"].is_skipped and "would be refused: not found" in cases["999999"].result[0].message
    run = cli("--report", str(tmp_path / "delete.json"), "nationbuilder", "delete", kept, "--page", page,
              "--dry-run")
    body = json.loads((tmp_path / "delete.json").read_text())
    assert body["exit_code"] == 0 and body["items"] == [
        {"name": kept, "status": "passed", "message": "delete", "file": None, "code": None}]
    assert cli("-o", "json", "nationbuilder", "show", kept, "--page", page).code == 0  # nothing was deleted
    run = cli("--report", str(tmp_path / "upload.json"), "nationbuilder", "upload", str(tmp_path / "a.txt"),
              str(tmp_path / "gone.txt"), "--page", page, "--dry-run")
    body = json.loads((tmp_path / "upload.json").read_text())
    assert run.code == 0 and [(i["name"], i["status"], i["message"].split(":")[0]) for i in body["items"]] == [
        (str(tmp_path / "a.txt"), "passed", "upload"), (str(tmp_path / "gone.txt"), "skipped", "would be refused")]


def test_resume_refused_before_it_starts_still_writes_its_report(cli, sandbox, tmp_path):
    from mediactl.journal import Journal
    from tests.test_leases import _entry_owned_by

    run = cli("--report", str(tmp_path / "none.json"), "resume")  # nothing to resume: an empty report
    assert run.code == 0 and "nothing to resume" in run.stderr, run
    body = json.loads((tmp_path / "none.json").read_text())
    assert (body["command"], body["verb"], body["exit_code"], body["items"]) == ("mediactl resume", "resume", 0, [])
    run = cli("--report", str(tmp_path / "bad.xml"), "resume", "deadbeef0000")
    assert run.code == 5, run
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "bad.xml")))
    [case] = list(suite)
    assert (suite.name, suite.tests, suite.errors) == ("mediactl resume", 1, 1)
    assert "no journal entry 'deadbeef0000'" in case.result[0].message
    busy = tmp_path / "busy.txt"
    busy.write_text("being uploaded on another machine right now")
    _entry_owned_by(Journal(tmp_path / "data"), busy, "going", "another-machine", time.time())
    run = cli("--report", str(tmp_path / "busy.json"), "resume")
    assert run.code == 0 and "left alone" in run.stderr, run
    body = json.loads((tmp_path / "busy.json").read_text())
    assert [(i["status"], i["file"]) for i in body["items"]] == [("skipped", str(busy))]
    assert "a run that is still going owns it" in body["items"][0]["message"]


def test_a_batch_refused_before_it_starts_still_reports_under_github_actions(cli, sandbox, tmp_path, monkeypatch):
    page = "p-" + uuid.uuid4().hex[:8]
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (tmp_path / "ok.png").write_bytes(b"png")
    run = cli("nationbuilder", "upload", str(tmp_path / "ok.png"), "--name", "../evil.png", "--page", page,
              "--report", str(tmp_path / "gh.xml"))
    assert run.code == 2, run  # a --name that is a path is refused before anything is sent
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "gh.xml")))
    [case] = list(suite)
    assert (suite.tests, suite.errors, suite.failures) == (1, 1, 0) and "--name" in case.result[0].message
    [annotation] = [line for line in run.stderr.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=mediactl::mediactl nationbuilder upload: ") and "--name" in annotation
    assert "| mediactl nationbuilder upload | error |" in summary.read_text()

    site = tmp_path / "site"
    site.mkdir()
    for name in ("s1.txt", "s2.txt"):
        (site / name).write_text(name)
    assert cli("nationbuilder", "upload", "-r", str(site), "--page", page).code == 0
    for name in ("s1.txt", "s2.txt"):
        (site / name).unlink()
    run = cli("--report", str(tmp_path / "sync.json"), "nationbuilder", "sync", str(site), "--page", page,
              "--delete", "--max-delete", "1")
    assert run.code == 2, run
    body = json.loads((tmp_path / "sync.json").read_text())
    assert body["exit_code"] == 2 and body["totals"] == {"total": 1, "passed": 0, "failed": 0, "skipped": 0,
                                                         "error": 1}
    assert "more than --max-delete 1" in body["items"][0]["message"]
    run = cli("--report", str(tmp_path / "dry.json"), "nationbuilder", "sync", str(site), "--page", page,
              "--delete", "--max-delete", "1", "--dry-run")
    body = json.loads((tmp_path / "dry.json").read_text())
    assert run.code == 2 and body["exit_code"] == 2, run
    assert [i["status"] for i in body["items"]] == ["passed", "passed", "error"]  # the plan, then the refusal


@pytest.mark.parametrize("signum, suffix", [(signal.SIGTERM, ".xml"), (signal.SIGINT, ".json")],
                         ids=["SIGTERM-xml", "SIGINT-json"])
def test_the_report_of_an_interrupted_batch_lists_every_item(sandbox_factory, tmp_path, signum, suffix):
    # not just the finished few (all green): the ones in flight are errors, the ones not started skipped
    from tests.test_process_faults import finish, make_batch, mediactl, phases, upload_args, wait_for

    server = sandbox_factory("--latency-ms", "400")
    target = f"report-{signum.name}"
    files = make_batch("otherpage", tmp_path / target, 6)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    report = tmp_path / f"r{suffix}"
    proc = mediactl(env, "--report", str(report), *upload_args("otherpage", tmp_path / target, target), "-j", "2")
    wait_for("a create in flight", lambda: phases(data_dir)["sending"] >= 1, proc)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    expected = {signal.SIGTERM: 143, signal.SIGINT: 130}[signum]
    assert code == expected, err
    if suffix == ".xml":
        [suite] = list(junitparser.JUnitXml.fromfile(str(report)))
        assert suite.tests == len(files), report.read_text()
        cases = {Path(case.name).name: case for case in suite}
        states = {name: ("error" if case.result and isinstance(case.result[0], junitparser.Error) else
                         "skipped" if case.is_skipped else "passed" if case.is_passed else "failed")
                  for name, case in cases.items()}
        messages = {name: case.result[0].message if case.result else "" for name, case in cases.items()}
    else:
        body = json.loads(report.read_text())
        assert body["exit_code"] == expected and body["totals"]["total"] == len(files), body
        states = {Path(i["name"]).name: i["status"] for i in body["items"]}
        messages = {Path(i["name"]).name: i["message"] for i in body["items"]}
    assert sorted(states) == sorted(files), states
    assert "failed" not in states.values(), states
    assert "error" in states.values() and "skipped" in states.values(), states
    for name, state in states.items():
        if state == "error":
            assert messages[name].startswith("interrupted: ") and "resume --batch " in messages[name], messages
        if state == "skipped":
            assert messages[name] == "not started: interrupted", messages


def _closed_stdout_run(*args: str) -> subprocess.CompletedProcess:
    """mediactl with a stdout whose reader has already gone (`| head -1` once it has read its line)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "mediactl", "--no-progress", *args], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)


def test_a_dry_run_whose_stdout_closes_still_reports_its_whole_plan(cli, sandbox, tmp_path):
    from tests.test_process_faults import make_batch

    files = make_batch("otherpage", tmp_path / "batch", 5)
    run = _closed_stdout_run("otherpage", "upload", "-r", str(tmp_path / "batch"), "--community", "x",
                             "--dry-run", "--report", str(tmp_path / "ud.xml"), "-o", "jsonl")
    assert run.returncode == 0, run.stderr
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "ud.xml")))
    assert suite.tests == len(files) and sorted(Path(c.name).name for c in suite) == sorted(files)
    # resume --dry-run: entries a run that went away left (a stale lease) are its plan
    from mediactl.journal import Journal
    from mediactl.leases import STALE_AFTER
    from tests.test_leases import _entry_owned_by

    journal = Journal(tmp_path / "data")
    for name in sorted(files)[:3]:
        _entry_owned_by(journal, tmp_path / "batch" / name, f"gone-{name}", "another-machine",
                        time.time() - STALE_AFTER - 5)
    run = _closed_stdout_run("--report", str(tmp_path / "rd.json"), "resume", "--dry-run", "-o", "jsonl")
    assert run.returncode == 0, run.stderr
    body = json.loads((tmp_path / "rd.json").read_text())
    assert sorted(Path(i["file"]).name for i in body["items"]) == sorted(files)[:3], body


def test_a_verb_the_provider_does_not_offer_writes_its_refusal_as_the_report(cli, sandbox, tmp_path):
    # as `sync --delete` refused on a provider without delete does: one error testcase, the exit code's
    for args in (["otherpage", "delete", "x", "--dry-run", "--report", str(tmp_path / "d.xml")],
                 ["--report", str(tmp_path / "d.json"), "otherpage", "delete", "x"]):
        run = cli(*args)
        assert run.code == 2 and "offers no delete" in run.stderr, run
    [suite] = list(junitparser.JUnitXml.fromfile(str(tmp_path / "d.xml")))
    [case] = list(suite)
    assert (suite.name, suite.tests, suite.errors, suite.failures) == ("mediactl otherpage delete", 1, 1, 0)
    assert "offers no delete" in case.result[0].message
    body = json.loads((tmp_path / "d.json").read_text())
    assert body["exit_code"] == 2 and [(i["status"], i["code"]) for i in body["items"]] == [("error", 2)], body
