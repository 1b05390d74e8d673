"""One upload lifecycle for every provider: the journal entry, its phases, in-flight bookkeeping, what an
error or Ctrl-C leaves recorded, and the `local`/`provider` fields of the result.

A provider's upload is its protocol steps inside `track(...)`:

    with track(journal, provider=NAME, profile=..., target=..., path=path, name=name, size=size) as up:
        record = create(...)                       # phase 1
        up.created(record["id"], resume={...})     # what a resume needs
        digests = send_bytes(...)                  # phase 2
        return up.completed(record, digests)       # the result, journalled

Whatever the block raises is recorded (failed with the message, interrupted on Ctrl-C, or failed as an
internal error for a bug) before it propagates; the in-flight set is kept by the journal.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mediactl.errors import LocalError, MediactlError, UsageError
from mediactl.http import RetryPolicy
from mediactl.journal import Journal
from mediactl.spool import is_spool
from mediactl.transfer.files import local_info


class HasDigests(Protocol):
    size: int
    sha256: str


T = TypeVar("T")


@dataclass
class TrackedUpload:
    """The journal entry of one upload in progress; providers report their protocol steps to it."""

    journal: Journal
    entry: str
    provider: str
    path: Path
    notes: list[str] = field(default_factory=list)  # what reconciliation learned, journalled on completion
    orphans: int = 0  # records an unanswerable create may have left behind
    orphan_kind: str = "record"
    prior_unanswered: int = 0  # requests an earlier run sent for this entry whose answer never came back

    def create_once(self, create: Callable[[], T], landed: Callable[[], T | None] | None, *, retries: int,
                    what: str = "create") -> T:
        """Run a create exactly once, as far as the provider can tell.

        Immediately before each attempt goes out the entry is journalled `sending` (committed), so a run
        killed mid-create leaves an entry that `resume` reconciles instead of sending blindly. After an
        ambiguous failure (a 5xx, a dropped connection, a read timeout: the request may have been processed,
        its answer was lost) `landed()` asks the provider whether it went through: what it finds is adopted.
        Otherwise the create is sent again, with the same backoff and budget as any retry. `landed=None` is
        for an API that cannot be asked: each ambiguous failure may then have left a record behind, which
        is counted; after a read timeout such a create is not sent again at all (a server too slow to
        answer in time would only collect more records).
        """
        from mediactl.interrupts import check_not_stopping

        sent = 0
        for attempt in range(retries + 1):
            check_not_stopping()
            self.journal.mark_sending(self.entry)
            try:
                return create()
            except MediactlError as exc:
                sent += exc.attempts or 1
                if not exc.ambiguous:
                    raise
                if landed is None:
                    self.orphans += 1
                    self.orphan_kind = what
                    self.journal.update(self.entry, orphans=self.orphans, outcome="possibly_orphaned")
                else:
                    found = landed()
                    if found is not None:
                        self.notes.append(f"adopted: the {what}'s answer was lost but it had landed")
                        return found
                final = attempt == retries or (landed is None and exc.timed_out)
                if final:
                    checked = "each was checked and is not on the server" if landed else "the API cannot be asked"
                    exc.message = (f"{exc.message} ({sent} request{'s' if sent != 1 else ''} sent; a {what} is not "
                                   f"repeated blindly: {checked})")
                    if landed is None:
                        exc.repeatable = False  # no second pass: `resume` makes a new record, counted
                        self.journal.update(self.entry, unanswered=0, note=self.journal_note())
                    raise
                time.sleep(RetryPolicy.backoff(attempt))
        raise AssertionError("unreachable")

    def note(self, text: str) -> None:
        self.notes.append(text)

    def journal_note(self) -> str | None:
        """Everything learned about this upload's outcome, for the journal's `note` column."""
        notes = list(self.notes)
        if self.orphans:
            notes.append(f"{self.orphans} {self.orphan_kind}{'s' if self.orphans > 1 else ''} left without bytes "
                         f"(its create's answer was lost and the API cannot be asked)")
        return "; ".join(notes) or None

    def journal_outcome(self) -> str | None:
        """The journal's `outcome` column (mediactl/journal.py OUTCOMES) for what was learned, if anything."""
        if self.orphans:
            return "possibly_orphaned"
        if any(note.startswith("adopted") for note in self.notes):
            return "adopted"
        return None

    def created(self, remote_id: str | None, *, url: str | None = None, resume: Any = None,
                result: Any = None) -> None:
        """Phase 1 done: the provider knows the upload by `remote_id`; `resume` is what a resume needs."""
        fields: dict[str, Any] = {"phase": "created", "remote_id": remote_id, "error": None, "unanswered": 0}
        for key, value in (("url", url), ("resume", resume), ("result", result)):
            if value is not None:
                fields[key] = value
        self.journal.update(self.entry, **fields)

    def save_resume(self, resume: Any) -> None:
        """Keep what a resume needs up to date (the parts sent so far, the document to send)."""
        self.journal.update(self.entry, resume=resume)

    def sent(self, result: Any = None) -> Any:
        """The bytes are on the server but the upload is left unfinished on purpose (e.g. --no-complete)."""
        self.journal.update(self.entry, phase="sent", error=None,
                            **({"result": result, "sha256": (result.get("local") or {}).get("sha256")}
                               if result else {}))
        return result

    def result(self, fields: dict, digests: HasDigests) -> dict:
        """The provider's fields plus mediactl's `local` and `provider` keys."""
        return {**fields, "local": local_info(self.path, digests.size, digests.sha256), "provider": self.provider}

    def completed(self, fields: dict, digests: HasDigests, *, remote_id: str | None = None,
                  url: str | None = None, note: str | None = None) -> dict:
        """The upload is finished: record and return its result."""
        out = self.result(fields, digests)
        update: dict[str, Any] = {"phase": "completed", "sha256": digests.sha256, "size": digests.size,
                                  "result": out, "error": None, "unanswered": 0}
        if remote_id is not None:
            update["remote_id"] = remote_id
        if url is not None:
            update["url"] = url
        if note:
            self.notes.append(note)
        journal_note = self.journal_note()
        if journal_note:
            update["note"] = journal_note
        outcome = self.journal_outcome()
        if outcome:
            update["outcome"] = outcome
        if self.orphans:
            update["orphans"] = self.orphans
        self.journal.update(self.entry, **update)
        return out


@contextlib.contextmanager
def track(journal: Journal, *, provider: str, profile: str, target: str, path: Path | str,
          name: str | None, size: int | None = None, sha256: str | None = None,
          entry: str | None = None) -> Iterator[TrackedUpload]:
    """Record an upload (a new entry, or `entry` registered or started earlier) around the provider's steps."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        error = LocalError(f"{path}: {exc.strerror or 'cannot read'}")
        if entry is not None:
            journal.update(entry, phase="failed", error=error.message)
        raise error from None
    entry, orphans, unanswered = journal.start(
        provider=provider, profile=profile, target=target, path=path, name=name,
        size=size if size is not None else st.st_size, mtime_ns=st.st_mtime_ns, sha256=sha256, entry=entry)
    upload = TrackedUpload(journal, entry, provider, path, orphans=orphans, prior_unanswered=unanswered)
    try:
        yield upload
    except MediactlError as exc:
        if _refused_before_sending(journal, entry, exc):  # nothing went out for it: resume leaves it be
            journal.update(entry, phase="abandoned", outcome="refused", error=exc.message)
            raise
        note, outcome = upload.journal_note(), upload.journal_outcome()
        journal.update(entry, phase="failed", error=exc.message, **({"note": note} if note else {}),
                       **({"outcome": outcome} if outcome else {}))
        raise
    except KeyboardInterrupt as exc:
        from mediactl.interrupts import why

        journal.update(entry, phase="interrupted", error=f"interrupted ({why(exc)})")
        raise
    except BaseException as exc:  # a bug: the entry must not stay "in flight" forever
        journal.update(entry, phase="failed", error=f"internal error: {type(exc).__name__}: {exc}")
        raise


def _refused_before_sending(journal: Journal, entry: str, exc: MediactlError) -> bool:
    """A local refusal (the file, the settings, the options: LocalError, UsageError) of an upload that has
    created nothing: still `pending`, no create ever sent, no remote id (e.g. `--no-complete` on a
    single-PUT plan). Journalled `failed`, a later `resume` would send what the user was told was refused."""
    if not isinstance(exc, LocalError | UsageError):
        return False
    row = journal.entry(entry)
    return row is not None and row["phase"] == "pending" and not row["unanswered"] and not row["remote_id"]


def reopen(journal: Journal, row: Mapping[str, Any]) -> contextlib.AbstractContextManager[TrackedUpload]:
    """`track` for an existing journal entry (complete, resume)."""
    return track(journal, provider=row["provider"], profile=row["profile"], target=row["target"],
                 path=row["path"], name=row.get("name"), size=row.get("size"), sha256=row.get("sha256"),
                 entry=row["id"])


def check_unchanged(row: Mapping[str, Any], path: Path) -> None:
    """Refuse to resume an upload whose local file changed since it started (size or mtime)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if is_spool(path):
            raise LocalError(f"'{row.get('name')}' was read from stdin and its bytes are gone",
                             hint="pipe them in again with `upload - --name NAME`") from None
        raise LocalError(f"{path}: no such file (it was uploaded from there)") from None
    if (row.get("size") is not None and st.st_size != row["size"]) or \
            (row.get("mtime_ns") is not None and st.st_mtime_ns != row["mtime_ns"]):
        raise LocalError(f"{path} changed since the upload started (size or mtime differs)",
                         hint="upload it again as a new file")


def file_size(path: Path) -> int:
    """The size of a file a resume is about to send, or a LocalError saying it is gone."""
    try:
        return path.stat().st_size
    except OSError:
        if is_spool(path):
            raise LocalError("it was read from stdin and its bytes are gone; cannot resume",
                             hint="pipe them in again with `upload - --name NAME`") from None
        raise LocalError(f"{path}: no longer readable; cannot resume") from None
