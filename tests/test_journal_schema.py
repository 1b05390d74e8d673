"""The journal's schema version and forward migrations, and the shared upload lifecycle's records."""

from __future__ import annotations

import sqlite3

import pytest

from mediactl.errors import ExitCode, LocalError, RejectedError
from mediactl.journal import Journal
from mediactl.journal_migrations import MIGRATIONS, schema_version
from mediactl.lifecycle import track

# The schema of the first release, which carried no version (user_version 0): a user's journal from then.
UNVERSIONED_SCHEMA = """
CREATE TABLE uploads (
    id TEXT PRIMARY KEY, provider TEXT NOT NULL, profile TEXT NOT NULL, target TEXT NOT NULL,
    path TEXT NOT NULL, name TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT, phase TEXT NOT NULL,
    remote_id TEXT, url TEXT, resume TEXT, result TEXT, error TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX uploads_remote ON uploads (provider, remote_id);
CREATE INDEX uploads_dedupe ON uploads (provider, target, sha256, phase);
INSERT INTO uploads VALUES ('abc123', 'ofauth', 'default', 'conn', '/tmp/a.png', 'a.png', 3, 1, 'f00',
    'completed', 'upload:1', NULL, NULL, '{"mediaUploadId": "upload:1"}', NULL, '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Z');
"""


def test_a_journal_written_by_the_unversioned_schema_is_migrated_and_kept(tmp_path):
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.executescript(UNVERSIONED_SCHEMA)
    db.close()
    journal = Journal(tmp_path)
    old = journal.get("ofauth", "upload:1")
    assert old["result"] == {"mediaUploadId": "upload:1"} and old["phase"] == "completed"
    assert old["note"] is None  # the column m002 added
    journal.update("abc123", note="adopted")
    assert journal.get("ofauth", "abc123")["note"] == "adopted"
    with sqlite3.connect(tmp_path / "journal.sqlite3") as check:
        assert schema_version(check) == len(MIGRATIONS) >= 2


def test_a_new_journal_starts_at_the_newest_version_and_reopens_unchanged(tmp_path):
    Journal(tmp_path).register(provider="otherpage", profile="p", target="c", path=tmp_path / "x.png", name="x.png")
    Journal(tmp_path)  # a second open applies nothing twice
    with sqlite3.connect(tmp_path / "journal.sqlite3") as check:
        assert schema_version(check) == len(MIGRATIONS)
        assert check.execute("SELECT count(*) FROM uploads").fetchone()[0] == 1


def test_a_journal_from_a_newer_mediactl_is_refused_not_damaged(tmp_path):
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.executescript(UNVERSIONED_SCHEMA)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(LocalError) as caught:
        Journal(tmp_path)
    assert caught.value.code == ExitCode.LOCAL and "newer mediactl" in caught.value.message


@pytest.mark.parametrize("raised, phase", [
    (RejectedError("refused"), "failed"),
    (KeyboardInterrupt(), "interrupted"),
    (ZeroDivisionError("a bug"), "failed"),
])
def test_track_records_every_way_an_upload_can_end_and_leaves_nothing_in_flight(tmp_path, raised, phase):
    journal = Journal(tmp_path / "data")
    source = tmp_path / "a.bin"
    source.write_bytes(b"abc")
    with pytest.raises(type(raised)):
        with track(journal, provider="toy", profile="default", target="t", path=source, name="a.bin") as up:
            up.created("remote-1", resume={"step": 1})
            raise raised
    [entry] = journal.list(provider="toy")
    assert entry["phase"] == phase and entry["remote_id"] == "remote-1" and entry["error"]
    assert entry["mtime_ns"] == source.stat().st_mtime_ns and entry["size"] == 3
    assert journal.interrupt_in_flight() == (0, 0)
