"""The upload journal: a local SQLite record of every upload, written before and after each phase.

It lets `complete` and `resume` finish interrupted uploads, `--skip-existing` avoid re-sending a file,
`history` list what happened, and Other Page's `list`/`show` (its API has neither) work at all.

Secrets never go into it. The one thing a resume needs that is secret — Other Page's presigned form
(Policy, Signature, Credential, Security-Token) — is kept beside it in `pending/<id>.json`, mode 0600,
and deleted as soon as the upload completes.

WAL mode and a busy timeout make it safe across threads and concurrent processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict, cast

# "abandoned": a resume found it cannot be finished (its file changed or vanished); resume skips it.
# "deleted": completed, then deleted on the provider (by mediactl's own `delete`, or found gone by
# --skip-existing): it no longer counts as uploaded, and there is nothing to resume.
PHASES = ("pending", "created", "sent", "completed", "failed", "interrupted", "abandoned", "deleted")
# What mediactl learned about an upload beyond its phase (the `outcome` column, migration m003):
# "adopted": a create's answer was lost, the provider was asked, and what had landed was adopted;
# "possibly_orphaned": a lost create may have left a record without bytes (the API cannot be asked).
OUTCOMES = ("adopted", "possibly_orphaned")


class JournalEntry(TypedDict):
    """One row of the journal, as `get`, `entry` and `list` return it."""

    id: str
    provider: str
    profile: str
    target: str
    path: str
    name: str | None
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    phase: str
    remote_id: str | None
    url: str | None
    resume: Any  # what a resume needs (JSON), provider-specific
    result: Any  # the upload's result as it was printed (JSON)
    error: str | None
    created_at: str
    updated_at: str
    note: str | None
    outcome: str | None



def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Journal:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "journal.sqlite3"
        self.pending_dir = data_dir / "pending"
        self._local = threading.local()
        self._in_flight: set[str] = set()
        self._flight_lock = threading.Lock()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Switching a new database to WAL and creating the schema can fail at once with "database is
        # locked" when two processes start together (SQLite's busy handler does not cover it): serialize.
        from mediactl.config import file_lock
        from mediactl.journal_migrations import migrate

        with file_lock(data_dir / ".journal.lock"):
            migrate(self._db(), self.path)

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections are not shared between threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            new = not self.path.exists()
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            if new:
                os.chmod(self.path, 0o600)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _execute(self, sql: str, args: tuple | list = ()) -> sqlite3.Cursor:
        """Run one statement; retry the "database is locked" that SQLite reports without waiting in a few
        WAL cases (a snapshot gone stale under another process's write), for up to ~10 s."""
        delay = 0.01
        for _ in range(40):
            try:
                return self._db().execute(sql, args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        return self._db().execute(sql, args)

    # -- writes ---------------------------------------------------------------------------------------

    def start(self, *, provider: str, profile: str, target: str, path: Path | str, name: str | None = None,
              size: int | None = None, mtime_ns: int | None = None, sha256: str | None = None,
              entry: str | None = None) -> str:
        """Record an upload about to begin (or, given `entry`, one registered earlier); returns its id."""
        if entry is None:
            entry = self.register(provider=provider, profile=profile, target=target, path=path, name=name,
                                  size=size, mtime_ns=mtime_ns, sha256=sha256)
        else:
            self.update(entry, **{k: v for k, v in (("size", size), ("mtime_ns", mtime_ns), ("sha256", sha256),
                                                    ("name", name)) if v is not None})
        with self._flight_lock:
            self._in_flight.add(entry)
        return entry

    def register(self, *, provider: str, profile: str, target: str, path: Path | str, name: str | None = None,
                 size: int | None = None, mtime_ns: int | None = None, sha256: str | None = None) -> str:
        """Record an upload that has not started (a batch registers all its files first, so an interrupted
        batch can be resumed in full)."""
        entry_id = uuid.uuid4().hex[:12]
        now = _now()
        self._execute(
            "INSERT INTO uploads (id, provider, profile, target, path, name, size, mtime_ns, sha256, phase,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (entry_id, provider, profile, target, _stored_path(path), name, size, mtime_ns, sha256, now, now),
        )
        return entry_id

    def update(self, entry_id: str, **fields: Any) -> None:
        allowed = {"phase", "remote_id", "url", "resume", "result", "error", "sha256", "size", "mtime_ns", "name",
                   "note", "outcome"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown journal fields {unknown}")
        if "phase" in fields and fields["phase"] not in PHASES:
            raise ValueError(f"unknown phase {fields['phase']}")
        if fields.get("outcome") not in (None, *OUTCOMES):
            raise ValueError(f"unknown outcome {fields['outcome']}")
        for key in ("resume", "result"):
            if key in fields and fields[key] is not None and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key])
        fields["updated_at"] = _now()
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._execute(f"UPDATE uploads SET {sets} WHERE id = ?", (*fields.values(), entry_id))
        if fields.get("phase") in ("completed", "failed", "interrupted", "sent", "abandoned"):
            with self._flight_lock:
                self._in_flight.discard(entry_id)

    def delete(self, entry_id: str) -> None:
        self._execute("DELETE FROM uploads WHERE id = ?", (entry_id,))
        self.drop_stash(entry_id)

    def mark_deleted(self, provider: str, remote_id: str, why: str) -> None:
        """The provider no longer has `remote_id`: its uploads stop counting as uploaded (--skip-existing)."""
        self._execute("UPDATE uploads SET phase = 'deleted', note = ?, updated_at = ? WHERE provider = ? AND "
                      "remote_id = ? AND phase = 'completed'", (why, _now(), provider, str(remote_id)))

    def interrupt_in_flight(self) -> int:
        """Mark every upload this process has under way as interrupted (Ctrl-C); returns how many."""
        with self._flight_lock:
            entries = list(self._in_flight)
        for entry_id in entries:
            self.update(entry_id, phase="interrupted", error="interrupted (Ctrl-C)")
        return len(entries)

    # -- the presigned form stash (0600, outside the database) -------------------------------------------

    def stash(self, entry_id: str, secret: dict) -> None:
        self.pending_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.pending_dir / f"{entry_id}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(secret, fh)
        os.replace(tmp, path)

    def unstash(self, entry_id: str) -> dict | None:
        try:
            return json.loads((self.pending_dir / f"{entry_id}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def drop_stash(self, entry_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.pending_dir / f"{entry_id}.json").unlink()

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, provider: str, key: str) -> JournalEntry | None:
        """An entry by journal id or by the provider's remote id (newest first)."""
        row = self._execute(
            "SELECT * FROM uploads WHERE provider = ? AND (id = ? OR remote_id = ?) "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1", (provider, key, key)).fetchone()
        return _row(row)

    def entry(self, entry_id: str) -> JournalEntry | None:
        """An entry by its journal id, whatever its provider."""
        return _row(self._execute("SELECT * FROM uploads WHERE id = ?", (entry_id,)).fetchone())

    def completed_with(self, provider: str, target: str, sha256: str) -> JournalEntry | None:
        row = self._execute(
            "SELECT * FROM uploads WHERE provider = ? AND target = ? AND sha256 = ? AND phase = 'completed' "
            "ORDER BY rowid DESC LIMIT 1", (provider, target, sha256)).fetchone()
        return _row(row)

    def completed_all(self, provider: str, target: str, sha256: str) -> list[JournalEntry]:
        """Every completed upload of these bytes to this target, newest first (--skip-existing's candidates)."""
        rows = self._execute(
            "SELECT * FROM uploads WHERE provider = ? AND target = ? AND sha256 = ? AND phase = 'completed' "
            "ORDER BY rowid DESC", (provider, target, sha256)).fetchall()
        return [entry for entry in map(_row, rows) if entry is not None]

    def list(self, provider: str | None = None, phase: str | None = None, target: str | None = None,
             limit: int | None = None, incomplete: bool = False, profile: str | None = None) -> list[JournalEntry]:
        sql, args = "SELECT * FROM uploads WHERE 1 = 1", list[str | int]()
        if profile:
            sql += " AND profile = ?"
            args.append(profile)
        if provider:
            sql += " AND provider = ?"
            args.append(provider)
        if phase:
            sql += " AND phase = ?"
            args.append(phase)
        if target:
            sql += " AND target = ?"
            args.append(target)
        if incomplete:
            sql += " AND phase NOT IN ('completed', 'abandoned', 'deleted')"
        sql += " ORDER BY rowid DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._execute(sql, args).fetchall()
        return [entry for entry in map(_row, rows) if entry is not None]


def _stored_path(path: Path | str) -> str | bytes:
    """A path as SQLite can keep it: text, or the raw bytes when the name is not valid UTF-8."""
    text = os.fsdecode(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(path)


def _row(row: sqlite3.Row | None) -> JournalEntry | None:
    if row is None:
        return None
    out: dict[str, Any] = dict(row)
    if isinstance(out.get("path"), bytes):
        out["path"] = os.fsdecode(out["path"])
    for key in ("resume", "result"):
        if out.get(key):
            out[key] = json.loads(out[key])
    return cast(JournalEntry, out)


def open_journal(rt) -> Journal:
    return Journal(rt.data_dir)
