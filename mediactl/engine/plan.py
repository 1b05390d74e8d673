"""The plan of a batch: what happens to each item (upload, skip or refuse, and why), decided by ONE piece of
code that `--dry-run` prints and the real run carries out, so the two cannot drift apart.

A plan resolves the same files as the real command (globs, -r, include/exclude, size limits, name and
document checks, --skip-existing with its read-only lookups). Deciding writes nothing: what a decision
implies for the journal (an earlier upload found gone from the provider) is carried in the decision, and
only the real run records it. The dry run prints each item as one row of the command's output in every mode,
with an `action` ("upload", "skip", "refuse"; "delete" for deletes; "resume" for resumes) and `why`; the
totals go to stderr, so `-o json` stays the one array the contract promises.

Two rules hold in both runs: a file that cannot be read or is over max_size is refused on its own (the
others go ahead); a refused name or document (the provider's own check) stops the whole batch before
anything is sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediactl.engine.items import Item, check_size
from mediactl.errors import MediactlError, NotFoundError

if TYPE_CHECKING:
    from mediactl.config import Settings
    from mediactl.journal import Journal
    from mediactl.runtime import Runtime
    from mediactl.transfer.files import Digests

UPLOAD_PLAN_COLUMNS = [("ACTION", "action"), ("PATH", "local.path"), ("NAME", "name"), ("SIZE", "local.size"),
                       ("WHY", "why")]
RESUME_PLAN_COLUMNS = [("ACTION", "action"), ("PROVIDER", "provider"), ("PATH", "local.path"), ("PHASE", "phase"),
                       ("WHY", "why")]

# exists(entry, digests): is a journalled upload still on the provider? None: the provider cannot be asked.
ExistsCheck = Callable[[Mapping[str, Any], Any], "bool | None"]
# precheck(item, size, digests): the provider's own answer for a file it already holds, or None.
Precheck = Callable[[Item, int, Any], "dict | None"]


@dataclass
class Decision:
    """What happens to one item."""

    item: Item
    action: str = "upload"  # upload | skip | refuse
    why: str = "new upload"
    size: int | None = None
    digests: Digests | None = None
    answer: dict | None = None  # skip: the result reported for the item
    error: MediactlError | None = None  # refuse: why, as the real run reports it
    gone: list[str] = field(default_factory=list)  # earlier uploads of these bytes the provider no longer has
    unconfirmed: bool = False  # skipped on the journal's word alone (the provider cannot be asked)

    @property
    def sha256(self) -> str | None:
        return self.digests.sha256 if self.digests is not None else None


class UploadPlan:
    """Decides each item of an upload batch (see the module docstring)."""

    def __init__(self, rt: Runtime, settings: Settings, provider: str, *, target: str, journal: Journal,
                 skip_existing: bool = False, precheck: Precheck | None = None,
                 validate: Callable[[Item], None] | None = None, exists: ExistsCheck | None = None) -> None:
        self.rt, self.settings, self.provider, self.target = rt, settings, provider, target
        self.journal, self.skip_existing = journal, skip_existing
        self.precheck, self.validate, self.exists = precheck, validate, exists

    def check(self, items: Sequence[Item]) -> dict[int, MediactlError]:
        """The provider's name/document check of every readable item (id(item) -> refusal): any refusal
        stops the batch before anything is sent. Unreadable items are left to `decide`."""
        refused: dict[int, MediactlError] = {}
        if self.validate is None:
            return refused
        for item in items:
            try:
                check_size(self.rt, self.settings, self.provider, item)
            except MediactlError:
                continue
            try:
                self.validate(item)
            except MediactlError as exc:
                exc.item = item.given or str(item.path)  # type: ignore[attr-defined]  # json: an item's failure
                refused[id(item)] = exc
        return refused

    def decide(self, item: Item) -> Decision:
        """Upload, skip or refuse one item; reads the file, the journal and (read-only) the provider."""
        decision = Decision(item)
        try:
            decision.size = check_size(self.rt, self.settings, self.provider, item)
        except MediactlError as exc:
            decision.action, decision.why, decision.error = "refuse", exc.message, exc
            return decision
        if not self.skip_existing:
            return decision
        from mediactl.providers.skipping import earlier_uploads
        from mediactl.transfer.files import file_digests, local_info

        digests = decision.digests = file_digests(item.path)  # one read serves the journal and the provider
        for earlier in earlier_uploads(self.journal, self.provider, self.target, digests.sha256, item.name):
            # the journal is a cache: confirm with the provider where it can answer
            there = self.exists(earlier, digests) if self.exists is not None else None
            if there is False:
                decision.gone.append(earlier["id"])
                continue
            decision.unconfirmed = there is None
            decision.action = "skip"
            decision.why = f"already uploaded (same SHA-256) as {earlier.get('remote_id') or earlier['id']}"
            decision.answer = {**(earlier.get("result") or {}), "local": local_info(item.path, decision.size,
                                                                                    digests.sha256), "skipped": True}
            return decision
        answer = self.precheck(item, decision.size, digests) if self.precheck is not None else None
        if answer is not None:
            decision.action, decision.answer = "skip", answer
            decision.why = f"{self.provider} already has the same bytes"
            return decision
        decision.why = "not uploaded before (SHA-256 checked)"
        if decision.gone:
            decision.why += f"; its earlier upload is gone from {self.provider}"
        return decision

    def record(self, decision: Decision) -> None:
        """What a decision tells the journal (the real run only): earlier uploads found gone are deleted."""
        for entry_id in decision.gone:
            self.journal.update(entry_id, phase="deleted", note="gone from the provider (--skip-existing)")

    def show(self, items: Sequence[Item]) -> None:
        """The dry run: print each item's decision, and the totals."""
        from mediactl.output import human_bytes
        from mediactl.transfer.files import local_info

        refused = self.check(items)
        rows: list[dict[str, Any]] = []
        for item in items:
            if id(item) in refused:
                decision = Decision(item, "refuse", refused[id(item)].message, size=_size(item.path))
            else:
                decision = self.decide(item)
            size = decision.size if decision.size is not None else _size(item.path)
            rows.append({"action": decision.action, "why": decision.why, "name": item.name, "target": self.target,
                         "local": {**local_info(item.path, 0, decision.sha256), "size": size},  # None: unreadable
                         "provider": self.provider})
        record_plan(self.rt, [(item.given or str(item.path), row["action"], row["why"], row["local"]["path"])
                              for item, row in zip(items, rows, strict=True)])
        render_plan(self.rt, rows, UPLOAD_PLAN_COLUMNS, primary="local.path")
        counts = Counter(row["action"] for row in rows)
        upload_bytes = sum(row["local"]["size"] or 0 for row in rows if row["action"] == "upload")
        self.rt.info(f"dry run: {counts['upload']} to upload ({human_bytes(upload_bytes)}), {counts['skip']} to "
                     f"skip, {counts['refuse']} refused, of {len(rows)}; nothing was sent or recorded")
        if refused:
            self.rt.info("note: a real run checks every name and document first, and sends nothing while one is "
                         "refused")


def plan_delete(rt: Runtime, provider: str, ids: Sequence[str], *, key: str, lookup: Callable[[str], Any]) -> None:
    """Print what `delete` would do: each id is looked up (a read) and would be deleted, or refused if missing."""
    rows = []
    for one in ids:
        try:
            lookup(one)
        except NotFoundError as exc:
            rows.append({"action": "refuse", key: one, "why": f"not found, a delete would fail: {exc.message}",
                         "provider": provider})
            continue
        rows.append({"action": "delete", key: one, "why": "exists", "provider": provider})
    record_plan(rt, [(str(row[key]), row["action"], row["why"], None) for row in rows])
    render_plan(rt, rows, [("ACTION", "action"), (key.upper(), key), ("WHY", "why")], primary=key)
    counts = Counter(row["action"] for row in rows)
    rt.info(f"dry run: {counts['delete']} to delete, {counts['refuse']} refused, of {len(rows)}; nothing was deleted")


RESUME_WHY = {
    "pending": "never started: it would be uploaded",
    "created": "created on the provider, bytes not all sent: what landed is checked, the rest sent",
    "sent": "bytes sent, not completed: it would be completed",
    "sending": "its create went out unanswered: the provider is asked what landed, then it is finished",
    "interrupted": "interrupted: what landed is checked, then it is finished",
    "failed": "failed: what landed is checked, then it is finished",
}


def plan_resume(rt: Runtime, entries: Sequence[dict],
                superseded_by: Callable[[dict], dict | None] | None = None) -> None:
    """Print what `resume` would do with each incomplete journal entry (the journal is only read);
    `superseded_by(entry)` finds a later completed upload of the same file (it would be skipped)."""
    from mediactl.lifecycle import check_unchanged

    rows = []
    for entry in entries:
        done = superseded_by(entry) if superseded_by is not None else None
        phase = entry.get("phase") or ""
        row = {"action": "upload" if phase == "pending" else "resume", "why": RESUME_WHY.get(phase, phase),
               "provider": entry["provider"], "phase": phase, "id": entry["id"], "name": entry.get("name"),
               "target": entry.get("target"), "local": {"path": str(entry["path"]), "size": entry.get("size"),
                                                          "sha256": entry.get("sha256")}}
        if entry.get("error"):
            row["error"] = entry["error"]
        if done is not None:
            row.update(action="skip", why=f"superseded by a later upload of the same file "
                                          f"({done.get('remote_id') or done['id']}): not sent again")
            rows.append(row)
            continue
        try:
            check_unchanged(entry, Path(entry["path"]))
        except MediactlError as exc:
            row.update(action="refuse", why=exc.message)
        rows.append(row)
    record_plan(rt, [(f"{row['provider']} {row['local']['path']}", row["action"], row["why"], row["local"]["path"])
                     for row in rows])
    render_plan(rt, rows, RESUME_PLAN_COLUMNS, primary="local.path")
    counts = Counter(row["action"] for row in rows)
    skipped = f"{counts['skip']} superseded, " if counts["skip"] else ""
    rt.info(f"dry run: {counts['resume']} to resume, {counts['upload']} to upload, {skipped}{counts['refuse']} "
            f"refused, of {len(rows)}; nothing was sent or recorded")


def record_plan(rt: Runtime, rows: list[tuple[str, str, str, str | None]]) -> None:
    """The plan in the run's --report, a testcase per row (mediactl/reports.py), when one is kept: recorded
    before the plan is rendered, so a reader of stdout that goes away (`| head -1`) does not empty the report."""
    if rt.recorder is not None:
        from mediactl.reports import record_plan as record

        record(rt, rows)


def render_plan(rt: Runtime, rows: list[dict], columns: list[tuple[str, str]], *, primary: str) -> None:
    from mediactl.output import ResultWriter

    with ResultWriter(rt, columns, primary=primary, title="dry run", empty_note="nothing to do") as out:
        out.extend(rows)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
