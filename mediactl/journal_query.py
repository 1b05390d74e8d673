"""Selecting journal entries for housekeeping: `history`'s filters, `history forget` in bulk, `history prune`
and `resume ID…`/`resume --batch ID`.

Dates and times compare with an entry's `updated_at` (when it last changed: for a completed upload, when it
completed), stored in UTC. A date or a time without a zone is read in the local time zone, as `git log
--since` does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mediactl.journal import Journal, JournalEntry, _row

DATE_EXAMPLE = "2026-11-01 or 2026-11-01T14:30Z"
AGE_EXAMPLE = "90d, 12w, 36h"
# What `history prune` drops: finished uploads (completed, or completed and later deleted), by default
# those last changed more than 90 days ago.
FINISHED_PHASES = ("completed", "deleted")
_AGE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_AGE_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def _stamp(moment: dt.datetime) -> str:
    """The journal's own timestamp format (journal._now), so bounds compare as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_moment(text: str) -> tuple[dt.datetime, bool]:
    """An ISO date or date-time (a bare date, or no zone: local time); returns it and whether it was a
    date alone. ValueError for anything else."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.datetime.fromisoformat(value).astimezone(), True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", value):
        raise ValueError(f"not an ISO date or time: {text!r}")
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.astimezone()), False


def since_bound(text: str) -> str:
    """`--since`: from this moment (a date: from its start)."""
    return _stamp(parse_moment(text)[0])


def until_bound(text: str) -> str:
    """`--until`, exclusive bound: a date includes its whole day; a time includes that second."""
    moment, date_only = parse_moment(text)
    return _stamp(moment + (dt.timedelta(days=1) if date_only else dt.timedelta(seconds=1)))


def before_bound(text: str) -> str:
    """`--before`, exclusive bound: strictly before the date's start, or the time."""
    return _stamp(parse_moment(text)[0])


def parse_age(text: str) -> dt.timedelta:
    """`90d`, `12w`, `36h`; ValueError otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"not an age: {text!r}")
    return int(match[1]) * _AGE_UNITS[match[2]]


def age_bound(text: str, now: dt.datetime | None = None) -> str:
    """Exclusive bound for `--older-than AGE`: last changed before now minus AGE."""
    return _stamp((now or dt.datetime.now(dt.UTC)) - parse_age(text))


@dataclass(frozen=True)
class EntryFilter:
    """Which entries: every field given narrows the selection (`None`/empty: no condition)."""

    provider: str | None = None
    phases: Sequence[str] = ()
    target: str | None = None
    name_glob: str | None = None  # shell-style, as SQLite's GLOB: `*.png`, `logo-?.jpg`, case-sensitive
    since: str | None = None  # updated_at >= since
    until: str | None = None  # updated_at < until
    batch: str | None = None
    profile: str | None = None

    def where(self) -> tuple[str, list]:
        sql, args = ["1 = 1"], []
        for column, value in (("profile", self.profile), ("provider", self.provider), ("target", self.target),
                              ("batch", self.batch)):
            if value is not None:
                sql.append(f"{column} = ?")
                args.append(value)
        if self.phases:
            sql.append(f"phase IN ({', '.join('?' * len(self.phases))})")
            args.extend(self.phases)
        if self.name_glob is not None:
            sql.append("name GLOB ?")
            args.append(self.name_glob)
        if self.since is not None:
            sql.append("updated_at >= ?")
            args.append(self.since)
        if self.until is not None:
            sql.append("updated_at < ?")
            args.append(self.until)
        return " AND ".join(sql), args


def select(journal: Journal, selection: EntryFilter, *, limit: int | None = None,
           oldest_first: bool = False) -> list[JournalEntry]:
    """The entries matching `selection`, newest first (or oldest first). Reads through the journal's own
    connection and row decoding, so it sees what the journal sees (WAL, retries on a busy database)."""
    where, args = selection.where()
    sql = f"SELECT * FROM uploads WHERE {where} ORDER BY rowid {'ASC' if oldest_first else 'DESC'}"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return [entry for row in journal._execute(sql, args).fetchall() if (entry := _row(row)) is not None]


def count(journal: Journal, selection: EntryFilter) -> int:
    """How many entries match `selection` (for `history`'s note when --limit cut the list short)."""
    where, args = selection.where()
    return journal._execute(f"SELECT COUNT(*) FROM uploads WHERE {where}", args).fetchone()[0]


def forget(journal: Journal, entry_ids: Sequence[str]) -> None:
    """Drop entries (and any stashed form) from the journal, a few hundred per statement."""
    for start in range(0, len(entry_ids), 500):
        chunk = list(entry_ids[start:start + 500])
        journal._execute(f"DELETE FROM uploads WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        for entry_id in chunk:
            journal.drop_stash(entry_id)


def history_row(entry: Mapping[str, Any]) -> dict:
    """An entry as `history` shows it: the journal's phase is `status` in the table, in JSON and for
    --status (one name everywhere)."""
    return {"status" if k == "phase" else k: v for k, v in entry.items()}
