"""Forward migrations of the upload journal's schema (modelled on the llm CLI's migrations.py).

The schema version is SQLite's `PRAGMA user_version`: a journal at version N has had the first N
migrations applied. Each migration runs once, in order, in its own transaction. Never edit a released
migration: add a new one at the end. A journal written by the unversioned first release is version 0 with
its table already there, which `m001` leaves as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from mediactl.errors import LocalError

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_uploads(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE IF NOT EXISTS uploads (
            id          TEXT PRIMARY KEY,
            provider    TEXT NOT NULL,
            profile     TEXT NOT NULL,
            target      TEXT NOT NULL,
            path        TEXT NOT NULL,
            name        TEXT,
            size        INTEGER,
            mtime_ns    INTEGER,
            sha256      TEXT,
            phase       TEXT NOT NULL,
            remote_id   TEXT,
            url         TEXT,
            resume      TEXT,
            result      TEXT,
            error       TEXT,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX IF NOT EXISTS uploads_remote ON uploads (provider, remote_id)")
    db.execute("CREATE INDEX IF NOT EXISTS uploads_dedupe ON uploads (provider, target, sha256, phase)")


@migration
def m002_note(db: sqlite3.Connection) -> None:
    """What mediactl learned about an outcome beyond its phase: an upload adopted after an ambiguous
    failure, a file record left without bytes on a provider that cannot be asked."""
    db.execute("ALTER TABLE uploads ADD COLUMN note TEXT")


@migration
def m003_outcome(db: sqlite3.Connection) -> None:
    """The outcome of an upload as a value the code can count (the batch summary, `history -o json`):
    `adopted` (a create's answer was lost, the provider was asked and what had landed was adopted) or
    `possibly_orphaned` (a lost create may have left a record without bytes; the API cannot be asked).
    Filled in from the free-text note where an older mediactl wrote a recognisable one."""
    db.execute("ALTER TABLE uploads ADD COLUMN outcome TEXT")
    db.execute("UPDATE uploads SET outcome = 'possibly_orphaned' WHERE note LIKE '%left without bytes%'")
    db.execute("UPDATE uploads SET outcome = 'adopted' WHERE outcome IS NULL AND note LIKE '%adopted%'")


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, path: object = "journal") -> int:
    """Bring the journal to the newest schema; returns the version it is at."""
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise LocalError(f"{path} was written by a newer mediactl (journal schema {version}, this one knows "
                         f"{len(MIGRATIONS)})", hint="upgrade mediactl, or point MEDIACTL_DATA_DIR elsewhere")
    for number, fn in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
