"""The engine (mediactl/engine/): one plan decides for the dry run and the real run (the two drifts the
earlier second copy had), the outcome column the summary counts, and no Typer or rich in the engine."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mediactl.journal import Journal
from tests.test_bitbadges import PAGE
from tests.test_journal_schema import UNVERSIONED_SCHEMA
from tests.test_nationbuilder import page as new_page

ENGINE = Path(__file__).resolve().parent.parent / "mediactl" / "engine"


def test_skip_existing_plans_an_upload_for_an_attachment_deleted_on_the_server(cli, sandbox, tmp_path, monkeypatch):
    pg = new_page()
    (tmp_path / "flyer.pdf").write_bytes(b"%PDF-1.4 gone")
    made = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "flyer.pdf"), "--page", pg)
    assert made.code == 0, made
    attachment = json.loads(made.stdout)[0]["id"]
    with monkeypatch.context() as elsewhere:  # deleted behind this journal's back
        elsewhere.setenv("MEDIACTL_DATA_DIR", str(tmp_path / "other-data"))
        assert cli("-y", "nationbuilder", "delete", str(attachment), "--page", pg).code == 0

    args = ("-o", "json", "nationbuilder", "upload", str(tmp_path / "flyer.pdf"), "--page", pg, "--skip-existing")
    planned = cli(*args, "--dry-run")
    assert planned.code == 0, planned
    [row] = json.loads(planned.stdout)
    assert row["action"] == "upload" and "gone" in row["why"], row
    real = cli(*args)
    assert real.code == 0, real
    [result] = json.loads(real.stdout)
    assert not result.get("skipped") and result["id"] != attachment  # the real run did what the plan said


def _run_without_read_override(args: list[str], env: dict) -> subprocess.CompletedProcess:
    """The CLI in a process that cannot read a chmod 000 file, even as root (as test_reliability_inputs does)."""
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    return subprocess.run([*drop, sys.executable, "-m", "mediactl", *args], env={**os.environ, **env},
                          capture_output=True, text=True)


def test_an_unreadable_file_is_refused_alone_in_the_plan_and_in_the_real_run(sandbox, tmp_path):
    docs = tmp_path / "pages"
    docs.mkdir()
    (docs / "good.json").write_text(json.dumps(PAGE))
    (docs / "locked.json").write_text(json.dumps(PAGE))
    (docs / "locked.json").chmod(0)
    env = {**sandbox.env, "MEDIACTL_CONFIG_DIR": str(tmp_path / "cfg"), "MEDIACTL_DATA_DIR": str(tmp_path / "d")}
    planned = _run_without_read_override(["-o", "json", "bitbadges", "upload", "-r", str(docs), "--dry-run"], env)
    assert planned.returncode == 0, planned.stderr
    assert {Path(r["local"]["path"]).name: r["action"] for r in json.loads(planned.stdout)} == {
        "good.json": "upload", "locked.json": "refuse"}
    assert "sends nothing" not in planned.stderr
    real = _run_without_read_override(["-o", "json", "bitbadges", "upload", "-r", str(docs)], env)
    assert real.returncode == 8, real.stderr  # the other one was uploaded, as the plan said
    rows = json.loads(real.stdout)
    assert [bool(r.get("listingId")) for r in rows].count(True) == 1 and "permission denied" in real.stderr


def test_m003_backfills_the_outcome_column_from_recognisable_notes(tmp_path):
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.executescript(UNVERSIONED_SCHEMA)
    db.execute("ALTER TABLE uploads ADD COLUMN note TEXT")
    db.execute("PRAGMA user_version = 2")  # a journal written before m003
    notes = {"a": "adopted: the attachment had landed although its answer was lost",
             "b": "1 create left without bytes (its create's answer was lost and the API cannot be asked)",
             "c": "something else", "d": None}
    for name, note in notes.items():
        db.execute("INSERT INTO uploads (id, provider, profile, target, path, phase, created_at, updated_at, note) "
                   "VALUES (?, 'otherpage', 'default', 't', ?, 'completed', 'x', 'x', ?)", (name, name, note))
    db.commit()
    db.close()
    journal = Journal(tmp_path)
    assert {name: journal.entry(name)["outcome"] for name in notes} == {
        "a": "adopted", "b": "possibly_orphaned", "c": None, "d": None}
    with pytest.raises(ValueError):
        journal.update("c", outcome="lost")


def test_the_summary_counts_outcomes_from_the_column_not_the_note():
    from mediactl.engine.batch import Outcome
    from mediactl.providers.summary import summarize

    items = [object(), object()]
    outcomes = [Outcome(item, {"local": {"size": 1}}) for item in items]
    rows = {id(items[0]): {"phase": "completed", "outcome": "adopted", "note": "x"},
            id(items[1]): {"phase": "completed", "outcome": None, "note": "adopted? no: just text"}}
    summary = summarize("nationbuilder", outcomes, rows, 1.0)
    assert (summary.uploaded, summary.adopted, summary.orphans) == (2, 1, 0)


def test_the_engine_imports_neither_typer_nor_rich():
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in ("typer", "rich", "click")], (path.name, names)


def test_an_item_that_finishes_after_the_interrupt_summary_prints_nothing(tmp_path):
    """The summary of an interrupted batch is its last word: items still in flight that finish while it is
    printed (or after) add no result and no progress line, and what it counts is what came out before it."""
    import _thread
    import io
    import signal
    import threading

    from mediactl import interrupts
    from mediactl.engine.batch import run_batch
    from mediactl.output import Progress
    from mediactl.runtime import Runtime

    stderr = io.StringIO()
    rt = Runtime(stdout=io.StringIO(), stderr=stderr, stderr_isatty=False, no_progress=False,
                 progress_interval=0.0)
    progress = Progress(rt, 6, None)
    release, finished = threading.Event(), threading.Semaphore(0)
    results: list[dict] = []
    silenced = []

    in_flight: list[int] = []

    def worker(item: int) -> dict:
        task = progress.task(f"f{item}", 10)
        if item == 0:
            task.done()
            return {"id": item}  # the one finished before the interrupt
        in_flight.append(item)
        if item == 1:
            while not results or len(in_flight) < 5:  # the first result out, the others in flight: interrupt
                threading.Event().wait(0.01)
            _thread.interrupt_main()
        release.wait(10)  # in flight while the summary is printed
        task(10)
        task.done()
        finished.release()
        return {"id": item}

    def on_interrupt() -> None:
        silenced.append(True)
        progress.silence()
        release.set()  # the in-flight items finish now, while the summary is being printed

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(rt, list(range(6)), worker, concurrency=6, on_result=results.append,
                      on_interrupt=on_interrupt)
        for _ in range(5):
            assert finished.acquire(timeout=10)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        interrupts.stopping.clear()
    assert silenced == [True]
    assert results == [{"id": 0}], results
    lines = stderr.getvalue().splitlines()
    assert lines[-1].startswith("interrupted: Ctrl-C; 1 of 6 finished"), lines
    assert [line for line in lines if line.startswith("uploaded ")] == ["uploaded f0 (10 B) [1/6]"], lines
