"""Journal housekeeping through the CLI (issue 28): `history` filters by date, target and name; `history
forget` in bulk by --status/--before with --dry-run; `history prune`'s default (finished entries older than
90 days); `resume ID…` / `resume --batch ID` finish one batch only."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

from mediactl.journal import Journal
from tests.test_batch import make_files


def _backdate(tmp_path, entry_id: str, when: str) -> None:
    """Set an entry's last change, as if it had happened then (the journal's own UTC format)."""
    with sqlite3.connect(tmp_path / "data" / "journal.sqlite3") as db:
        db.execute("UPDATE uploads SET updated_at = ? WHERE id = ?", (when, entry_id))


def _json(run) -> list[dict]:
    assert run.code == 0, run
    return json.loads(run.stdout)


def _ids(run) -> set[str]:
    return {row["id"] for row in _json(run)}


def _said(stderr: str) -> str:
    """stderr as words: a usage error's box and wrapping taken out."""
    return " ".join(stderr.replace("│", " ").split())


def _days_ago(days: int) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _upload(cli, tmp_path, name: str, page: str) -> str:
    path = tmp_path / name
    path.write_bytes(name.encode())
    [row] = _json(cli("-o", "json", "nationbuilder", "upload", str(path), "--page", page))
    return next(e["id"] for e in Journal(tmp_path / "data").list() if e["remote_id"] == str(row["id"]))


def test_history_filters_by_date_target_and_name(cli, sandbox, tmp_path):
    old = _upload(cli, tmp_path, "old.png", "hk-one")
    png = _upload(cli, tmp_path, "new.png", "hk-one")
    txt = _upload(cli, tmp_path, "notes.txt", "hk-two")
    _backdate(tmp_path, old, "2026-01-15T12:00:00Z")

    assert _ids(cli("-o", "json", "history", "--since", "2026-02-01")) == {png, txt}
    assert _ids(cli("-o", "json", "history", "--until", "2026-01-15")) == {old}  # the whole day
    assert _ids(cli("-o", "json", "history", "--since", "2026-01-15T11:00Z", "--until", "2026-01-15T12:00Z")) == {old}
    assert _ids(cli("-o", "json", "history", "--until", "2026-01-15T11:59:59Z")) == set()
    assert _ids(cli("-o", "json", "history", "--target", "sandbox/hk-two")) == {txt}
    assert _ids(cli("-o", "json", "history", "--name", "*.png")) == {old, png}
    assert _ids(cli("-o", "json", "history", "--name", "*.png", "--since", "2026-02-01")) == {png}
    rows = _json(cli("-o", "json", "history", "--name", "notes.txt"))
    assert rows[0]["status"] == "completed" and rows[0]["batch"]  # the same shape as before, with the batch

    for bad in (["--since", "last tuesday"], ["--until", "2026-13-01"], ["--since", "01/11/2026"]):
        run = cli("history", *bad)
        assert run.code == 2, run
        assert "e.g. 2026-11-01" in _said(run.stderr), run


def _seed(tmp_path, phase: str, name: str, updated_at: str | None = None) -> str:
    journal = Journal(tmp_path / "data")
    entry = journal.register(provider="otherpage", profile="default", target="c", path=tmp_path / name, name=name)
    journal.update(entry, phase=phase)
    if updated_at:
        _backdate(tmp_path, entry, updated_at)
    return entry


def test_forget_in_bulk_by_status_and_date_with_a_dry_run(cli, tmp_path):
    abandoned = {_seed(tmp_path, "abandoned", f"gone{n}.png") for n in range(3)}
    old_failed = _seed(tmp_path, "failed", "old.png", "2026-01-02T00:00:00Z")
    recent_failed = _seed(tmp_path, "failed", "recent.png")
    everything = abandoned | {old_failed, recent_failed}

    plan = _json(cli("-o", "json", "history", "forget", "--status", "abandoned", "--dry-run"))
    assert {r["id"] for r in plan} == abandoned and not any(r["forgotten"] for r in plan)
    assert {r["status"] for r in plan} == {"abandoned"}  # rows shaped as history's
    assert _ids(cli("-o", "json", "history")) == everything  # a dry run changes nothing

    done = _json(cli("-o", "json", "history", "forget", "--status", "abandoned"))
    assert {r["id"] for r in done} == abandoned and all(r["forgotten"] for r in done)
    assert _ids(cli("-o", "json", "history")) == {old_failed, recent_failed}

    run = cli("history", "forget", "--status", "failed", "--before", "2026-02-01")
    assert run.code == 0 and "forgot 1 entry" in run.stderr, run
    assert _ids(cli("-o", "json", "history")) == {recent_failed}

    assert cli("history", "forget").code == 2  # nothing selected: a usage error, not "forget everything"
    assert cli("history", "forget", "--before", "yesterday").code == 2
    assert cli("history", "forget", recent_failed, "--status", "failed").code == 2


def test_prune_drops_finished_entries_older_than_90_days_by_default(cli, tmp_path):
    old_done = _seed(tmp_path, "completed", "old.png", _days_ago(120))
    old_deleted = _seed(tmp_path, "deleted", "deleted.png", _days_ago(100))
    month_done = _seed(tmp_path, "completed", "month.png", _days_ago(30))
    old_failed = _seed(tmp_path, "failed", "failed.png", _days_ago(200))  # unfinished work is kept
    old_pending = _seed(tmp_path, "pending", "pending.png", _days_ago(200))

    plan = _json(cli("-o", "json", "history", "prune", "--dry-run"))
    assert {r["id"] for r in plan} == {old_done, old_deleted} and not any(r["forgotten"] for r in plan)
    assert len(_json(cli("-o", "json", "history"))) == 5

    pruned = _json(cli("-o", "json", "history", "prune"))
    assert {r["id"] for r in pruned} == {old_done, old_deleted}
    assert _ids(cli("-o", "json", "history")) == {month_done, old_failed, old_pending}
    assert _ids(cli("-o", "json", "history", "prune", "--older-than", "2w")) == {month_done}

    run = cli("history", "prune", "--older-than", "3 months")
    assert run.code == 2 and "e.g. 90d" in _said(run.stderr), run
    assert "90 days" in _said(cli("history", "prune", "--help").stdout)


def test_resume_finishes_one_batch_or_the_named_entries_only(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(s3_fail_next=1000)  # every byte transfer fails: both batches are left to resume
    batches = {}
    for batch in ("first", "second"):
        make_files(tmp_path / batch, 2, prefix=batch)
        run = cli("--retries", "0", "otherpage", "upload", "-r", str(tmp_path / batch), "-j", "1",
                  "--community", "hk-resume")
        assert run.code == 7, run
        [batches[batch]] = re.findall(r"mediactl resume --batch ([0-9a-f]{12})", run.stderr)
    server.control(s3_fail_next=0)

    def by_status() -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for row in _json(cli("-o", "json", "history")):
            out.setdefault(row["batch"], set()).add(row["status"])
        return out

    resumed = cli("-o", "json", "resume", "--batch", batches["first"])
    assert resumed.code == 0, resumed
    assert sorted(r["local"]["path"].rsplit("/", 1)[1] for r in _json(resumed)) == ["first000.bin", "first001.bin"]
    assert by_status() == {batches["first"]: {"completed"}, batches["second"]: {"failed"}}

    one = next(r["id"] for r in _json(cli("-o", "json", "history", "--name", "second001.bin")))
    assert len(_json(cli("-o", "json", "resume", one))) == 1
    assert {r["name"]: r["status"] for r in _json(cli("-o", "json", "history", "--name", "second*"))} == {
        "second000.bin": "failed", "second001.bin": "completed"}

    assert cli("resume", "--batch", "000000000000").code == 5
    assert cli("resume", "nosuchentry0").code == 5
    again = cli("resume", one)
    assert again.code == 0 and "nothing to resume" in again.stderr, again
