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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypedDict, cast

# "abandoned": a resume found it cannot be finished (its file changed or vanished); resume skips it.
# "deleted": completed, then deleted on the provider (by mediactl's own `delete`, or found gone by
# --skip-existing): it no longer counts as uploaded, and there is nothing to resume.
# "sending": a create is about to go out or is out (committed just before it is sent); found after an
# unclean end it is ambiguous: the provider is asked before anything is sent again.
PHASES = ("pending", "sending", "created", "sent", "completed", "failed", "interrupted", "abandoned", "deleted")
# Phases of an entry that a run is working on (or was, when it died).
IN_FLIGHT = ("pending", "sending", "created", "sent", "interrupted", "failed")
# What mediactl learned about an upload beyond its phase (the `outcome` column, migration m003):
# "adopted": a create's answer was lost, the provider was asked, and what had landed was adopted;
# "possibly_orphaned": a lost create may have left a record without bytes (the API cannot be asked);
# "refused" (phase abandoned): refused locally before anything was sent (over max_size, a bad max_size,
# an unreadable file, `--no-complete` on a single-PUT plan): resume leaves it be, it is not a failure to finish;
# "superseded" (phase abandoned): a LATER upload of the same file (provider, profile, target, name, bytes)
# completed, so resume did not send it again.
OUTCOMES = ("adopted", "possibly_orphaned", "refused", "superseded")


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
    run_id: str | None  # the run (mediactl/leases.py) that owns it
    unanswered: int  # requests sent for it whose answer never came back
    orphans: int  # records its lost creates may have left (Other Page), counted
    claimed_at: str | None  # when its run took it in hand
    batch: str | None  # the upload run that registered it (`resume --batch`)



def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Journal:
    def __init__(self, data_dir: Path) -> None:
        self._attach(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Switching a new database to WAL and creating the schema can fail at once with "database is
        # locked" when two processes start together (SQLite's busy handler does not cover it): serialize.
        from mediactl.config import file_lock
        from mediactl.journal_migrations import migrate

        with file_lock(data_dir / ".journal.lock"):
            migrate(self._writer(), self.path)

    def _attach(self, data_dir: Path) -> None:
        """The in-memory state of a journal on `data_dir` (shared with the read-only journal, mediactl/localfs.py)."""
        self.data_dir = data_dir
        self.path = data_dir / "journal.sqlite3"
        self.pending_dir = data_dir / "pending"
        self._local = threading.local()
        self._in_flight: set[str] = set()
        self._flight_lock = threading.Lock()
        # One writer at a time within this process: a batch's workers queue here (woken when the writer
        # before them is done) instead of meeting SQLite's lock, whose busy handler sleeps them 1, 2, 5, 10 ms
        # ... while it is free again. Other processes still meet SQLite's lock and its busy timeout.
        self._writing = threading.RLock()
        self._writer_conn: sqlite3.Connection | None = None
        self.run_id: str | None = None  # this process's lease (mediactl/leases.py), once it holds one

    def _connect(self, *, shared: bool = False) -> sqlite3.Connection:
        new = not self.path.exists()
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=not shared)
        if new:
            os.chmod(self.path, 0o600)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _db(self) -> sqlite3.Connection:
        """This thread's connection for reads (sqlite3 connections are not shared between threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _writer(self) -> sqlite3.Connection:
        """The one connection every write of this process goes through, used only under `_writing`. Its
        page cache stays current: when each thread wrote through its own connection, each write first
        re-read the pages the others had changed (about 60 reads from the file per uploaded file at -j 8)."""
        conn = self._writer_conn
        if conn is None:
            conn = self._writer_conn = self._connect(shared=True)
        return conn

    def _execute(self, sql: str, args: tuple | list = ()) -> sqlite3.Cursor:
        """Run one statement (a write through the writer, a SELECT on this thread's connection); retry the
        "database is locked" that SQLite reports without waiting in a few WAL cases (a snapshot gone stale
        under another process's write), for up to ~10 s."""
        if sql.startswith("SELECT"):
            return self._retrying(self._db, sql, args)
        with self._writing:
            return self._retrying(self._writer, sql, args)

    def _write_returning(self, sql: str, args: tuple | list = ()) -> list[sqlite3.Row]:
        """A write whose RETURNING rows are read before the writer is let go (the statement, and with it its
        transaction, ends only once they are)."""
        with self._writing:
            return self._retrying(self._writer, sql, args).fetchall()

    @staticmethod
    def _retrying(connection: Callable[[], sqlite3.Connection], sql: str, args: tuple | list) -> sqlite3.Cursor:
        delay = 0.01
        for _ in range(40):
            try:
                return connection().execute(sql, args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        return connection().execute(sql, args)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE: a deferred one that later upgrades can fail
        with "database is locked" whatever the busy timeout), committed on the way out."""
        with self._writing:
            self._execute("BEGIN IMMEDIATE")
            db = self._writer()
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- writes ---------------------------------------------------------------------------------------

    def start(self, *, provider: str, profile: str, target: str, path: Path | str, name: str | None = None,
              size: int | None = None, mtime_ns: int | None = None, sha256: str | None = None,
              entry: str | None = None) -> tuple[str, int, int]:
        """Record an upload about to begin (or, given `entry`, one registered earlier); returns its id, and
        the records its earlier creates may have left (`orphans`) and the requests sent for it whose answer
        never came (`unanswered`), read in the same statement."""
        if entry is None:
            entry = self.register(provider=provider, profile=profile, target=target, path=path, name=name,
                                  size=size, mtime_ns=mtime_ns, sha256=sha256)
            counts = (0, 0)
        else:
            fields = {k: v for k, v in (("size", size), ("mtime_ns", mtime_ns), ("sha256", sha256), ("name", name))
                      if v is not None}
            sql, args = self._update_statement(entry, {**fields, "claimed_at": _now()})
            rows = self._write_returning(sql + " RETURNING orphans, unanswered", args)
            counts = (rows[0]["orphans"] or 0, rows[0]["unanswered"] or 0) if rows else (0, 0)
        with self._flight_lock:
            self._in_flight.add(entry)
        return entry, *counts

    def register(self, *, provider: str, profile: str, target: str, path: Path | str, name: str | None = None,
                 size: int | None = None, mtime_ns: int | None = None, sha256: str | None = None,
                 batch: str | None = None) -> str:
        """Record an upload that has not started (a batch registers all its files first, so an interrupted
        batch can be resumed in full; `batch` names that run, for `resume --batch`)."""
        return self.register_all([dict(provider=provider, profile=profile, target=target, path=path, name=name,
                                       size=size, mtime_ns=mtime_ns, sha256=sha256, batch=batch)])[0]

    def register_all(self, items: Iterable[dict]) -> list[str]:
        """Register a whole batch in ONE transaction (each dict holds `register`'s arguments): an interrupted
        registration leaves nothing half-known, and a batch of thousands registers in milliseconds."""
        now = _now()
        rows, ids = [], []
        for item in items:
            entry_id = uuid.uuid4().hex[:12]
            ids.append(entry_id)
            rows.append((entry_id, item["provider"], item["profile"], item["target"], _stored_path(item["path"]),
                         item.get("name"), item.get("size"), item.get("mtime_ns"), item.get("sha256"), now, now,
                         self.run_id, item.get("batch")))
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO uploads (id, provider, profile, target, path, name, size, mtime_ns, sha256, phase,"
                " created_at, updated_at, run_id, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                rows)
        return ids

    def mark_sending(self, entry_id: str) -> None:
        """Committed immediately before a create goes out: from here until its answer is journalled, the
        entry is ambiguous (the create may have landed)."""
        self._execute("UPDATE uploads SET phase = 'sending', unanswered = unanswered + 1, updated_at = ? "
                      "WHERE id = ?", (_now(), entry_id))

    def update(self, entry_id: str, **fields: Any) -> None:
        allowed = {"phase", "remote_id", "url", "resume", "result", "error", "sha256", "size", "mtime_ns", "name",
                   "note", "outcome", "orphans", "unanswered", "run_id", "claimed_at"}
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
        self._execute(*self._update_statement(entry_id, fields))
        if fields.get("phase") in ("completed", "failed", "interrupted", "sent", "abandoned"):
            with self._flight_lock:
                self._in_flight.discard(entry_id)

    @staticmethod
    def _update_statement(entry_id: str, fields: dict[str, Any]) -> tuple[str, tuple]:
        fields = {**fields, "updated_at": _now()}
        return (f"UPDATE uploads SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                (*fields.values(), entry_id))

    def delete(self, entry_id: str) -> None:
        self._execute("DELETE FROM uploads WHERE id = ?", (entry_id,))
        self.drop_stash(entry_id)

    def mark_deleted(self, provider: str, remote_id: str, why: str) -> None:
        """The provider no longer has `remote_id`: its uploads stop counting as uploaded (--skip-existing)."""
        self._execute("UPDATE uploads SET phase = 'deleted', note = ?, updated_at = ? WHERE provider = ? AND "
                      "remote_id = ? AND phase = 'completed'", (why, _now(), provider, str(remote_id)))

    def interrupt_in_flight(self, why: str = "Ctrl-C") -> tuple[int, int]:
        """Mark every upload this process has under way as interrupted (Ctrl-C, SIGTERM, SIGHUP); returns
        (how many, how many of them had a create out whose answer had not come: the provider decides those)."""
        with self._flight_lock:
            entries = list(self._in_flight)
        if not entries:
            return 0, 0
        marks = ",".join("?" * len(entries))
        with self.transaction() as db:
            doubtful = db.execute(f"SELECT COUNT(*) FROM uploads WHERE id IN ({marks}) AND unanswered > 0 AND "
                                  "phase NOT IN ('completed', 'failed', 'abandoned', 'deleted')", entries).fetchone()[0]
            db.execute(f"UPDATE uploads SET phase = 'interrupted', error = ?, updated_at = ? WHERE id IN ({marks}) "
                       "AND phase NOT IN ('completed', 'failed', 'abandoned', 'deleted')",
                       (f"interrupted ({why})", _now(), *entries))
        with self._flight_lock:
            self._in_flight.difference_update(entries)
        return len(entries), doubtful

    def claim(self, entry_id: str, *, provider: str, target: str, name: str, path: Path | str,
              sha256: str | None, live: Callable[[str], bool]) -> JournalEntry | None:
        """Take an entry in hand for this run (--skip-existing), unless another live run has the same file in
        hand on the same target: then that run's entry is returned, and nothing is claimed."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM uploads WHERE provider = ? AND target = ? AND name = ? AND id != ? AND ("
                "(phase IN ('pending', 'sending', 'created', 'sent', 'failed', 'interrupted') AND "
                "claimed_at IS NOT NULL AND run_id IS NOT NULL AND run_id IS NOT ?) OR "
                "(phase = 'completed' AND sha256 = ?))",
                (provider, target, name, entry_id, self.run_id, sha256)).fetchall()
            for row in rows:
                if row["phase"] == "completed":  # landed since the caller looked: it looks again
                    return _row(row)
                same = (sha256 is not None and row["sha256"] == sha256) or row["path"] == _stored_path(path)
                if same and live(row["run_id"]):
                    return _row(row)
            db.execute("UPDATE uploads SET claimed_at = ?, sha256 = COALESCE(?, sha256) WHERE id = ?",
                       (_now(), sha256, entry_id))
        return None

    def adopt_entries(self, entries: list[dict]) -> list[dict]:
        """Make `entries` (found left by runs that are gone) this run's, each only if no other run took it
        meanwhile; returns those this run now owns."""
        mine = []
        with self.transaction() as db:
            for entry in entries:
                cur = db.execute("UPDATE uploads SET run_id = ? WHERE id = ? AND run_id IS ?",
                                 (self.run_id, entry["id"], entry.get("run_id")))
                if cur.rowcount:
                    mine.append({**entry, "run_id": self.run_id})
        return mine

    # -- the presigned form stash (0600, outside the database) -------------------------------------------

    def stash(self, entry_id: str, secret: dict) -> None:
        # one write of the whole document (json.dump to a file object writes it piece by piece), plain paths
        data = json.dumps(secret).encode()
        path = os.path.join(self.pending_dir, f"{entry_id}.json")
        tmp = path[: -len(".json")] + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError:  # the first stash (a batch's others find the folder made)
            self.pending_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def unstash(self, entry_id: str) -> dict | None:
        try:
            return json.loads((self.pending_dir / f"{entry_id}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def drop_stash(self, entry_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.pending_dir, f"{entry_id}.json"))

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, provider: str, key: str) -> JournalEntry | None:
        """An entry by journal id or by the provider's remote id (newest first)."""
        # two indexed look-ups (the primary key, then uploads_remote): an OR of both would scan the table
        row = self._execute("SELECT * FROM uploads WHERE id = ? AND provider = ?", (key, provider)).fetchone()
        if row is None:
            row = self._execute(
                "SELECT * FROM uploads WHERE provider = ? AND remote_id = ? ORDER BY created_at DESC, rowid DESC "
                "LIMIT 1", (provider, key)).fetchone()
        return _row(row)

    def entry(self, entry_id: str) -> JournalEntry | None:
        """An entry by its journal id, whatever its provider."""
        return _row(self._execute("SELECT * FROM uploads WHERE id = ?", (entry_id,)).fetchone())

    def summary_rows(self, entry_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What the end-of-batch summary reads of each entry (batch, phase, outcome, orphans), by journal id,
        looked up by primary key a few hundred at a time, without the results: a batch of 10,000 then holds
        10,000 small rows at its end, not 10,000 parsed results."""
        ids = list(entry_ids)
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found = self._execute("SELECT id, batch, phase, outcome, orphans FROM uploads WHERE id IN "
                                  f"({','.join('?' * len(chunk))})", chunk).fetchall()
            rows.update((row["id"], dict(row)) for row in found)
        return rows

    def completed_later(self, entry: Any) -> list[JournalEntry]:
        """Completed uploads registered AFTER `entry` with its provider, profile, target and name, newest
        first (does one of them supersede it? `resume` compares the bytes)."""
        rows = self._execute(
            "SELECT * FROM uploads WHERE provider = ? AND target = ? AND name IS ? AND phase = 'completed' AND "
            "profile = ? AND rowid > (SELECT rowid FROM uploads WHERE id = ?) ORDER BY rowid DESC",
            (entry["provider"], entry["target"], entry.get("name"), entry["profile"], entry["id"])).fetchall()
        return [row for row in map(_row, rows) if row is not None]

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
    from mediactl.localfs import check_journal_file, read_only_journal

    check_journal_file(rt.data_dir)  # damaged or truncated: exit 3 naming it, before SQLite half-reads it
    return read_only_journal(rt.data_dir, Journal) or Journal(rt.data_dir)  # read-only: `history`, --dry-run still work
