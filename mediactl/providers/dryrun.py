"""`--dry-run`: what an upload, a delete or a resume would do, item by item, and the totals.

A plan resolves the same files as the real command (globs, -r, include/exclude, size limits, name and
document checks, --skip-existing with its read-only lookups) but sends no create, no delete and no bytes,
and writes nothing to the journal. Each item is one row of the command's output in every mode, with an
`action` ("upload", "skip", "refuse"; "delete" for deletes; "resume" for resumes) and `why`; the totals go to
stderr, so `-o json` stays the one array the contract promises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mediactl.config import Settings
from mediactl.errors import MediactlError, NotFoundError
from mediactl.runtime import Runtime

UPLOAD_PLAN_COLUMNS = [("ACTION", "action"), ("PATH", "local.path"), ("NAME", "name"), ("SIZE", "local.size"),
                       ("WHY", "why")]
RESUME_PLAN_COLUMNS = [("ACTION", "action"), ("PROVIDER", "provider"), ("PATH", "local.path"), ("PHASE", "phase"),
                       ("WHY", "why")]


def plan_upload(rt: Runtime, settings: Settings, provider: str, items: Sequence[Any], *, target: str, journal,
                skip_existing: bool, precheck: Callable[..., dict | None] | None,
                validate: Callable[[Any], None] | None) -> None:
    """Print what `upload` would do with each item, and the totals."""
    from mediactl.providers.common import check_size
    from mediactl.providers.skipping import earlier_upload
    from mediactl.transfer.files import file_digests, local_info

    rows = []
    stopped_by_check = False  # a real run checks names/documents first and sends nothing if one is refused
    for item in items:
        row = {"action": "upload", "why": "new upload", "name": item.name, "target": target,
               "local": local_info(item.path, _size(item.path), None), "provider": provider}
        rows.append(row)
        try:
            size = check_size(rt, settings, provider, item)
        except MediactlError as exc:
            row.update(action="refuse", why=exc.message)
            continue
        try:
            if validate is not None:
                validate(item)
        except MediactlError as exc:
            row.update(action="refuse", why=exc.message)
            stopped_by_check = True
            continue
        if not skip_existing:
            continue
        digests = file_digests(item.path)
        row["local"] = local_info(item.path, size, digests.sha256)
        earlier = earlier_upload(journal, provider, target, digests.sha256, item.name)
        if earlier is not None:
            uploaded_as = earlier.get("remote_id") or earlier["id"]
            row.update(action="skip", why=f"already uploaded (same SHA-256) as {uploaded_as}")
        elif precheck is not None and precheck(item, size, digests) is not None:
            row.update(action="skip", why=f"{provider} already has the same bytes")
        else:
            row["why"] = "not uploaded before (SHA-256 checked)"
    _render(rt, rows, UPLOAD_PLAN_COLUMNS, primary="local.path")
    counts = Counter(row["action"] for row in rows)
    upload_bytes = sum(row["local"]["size"] or 0 for row in rows if row["action"] == "upload")
    from mediactl.output import human_bytes

    rt.info(f"dry run: {counts['upload']} to upload ({human_bytes(upload_bytes)}), {counts['skip']} to skip, "
            f"{counts['refuse']} refused, of {len(rows)}; nothing was sent or recorded")
    if stopped_by_check:
        rt.info("note: a real run checks every name and document first, and sends nothing while one is refused")


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
    _render(rt, rows, [("ACTION", "action"), (key.upper(), key), ("WHY", "why")], primary=key)
    counts = Counter(row["action"] for row in rows)
    rt.info(f"dry run: {counts['delete']} to delete, {counts['refuse']} refused, of {len(rows)}; nothing was deleted")


RESUME_WHY = {
    "pending": "never started: it would be uploaded",
    "created": "created on the provider, bytes not all sent: what landed is checked, the rest sent",
    "sent": "bytes sent, not completed: it would be completed",
    "interrupted": "interrupted: what landed is checked, then it is finished",
    "failed": "failed: what landed is checked, then it is finished",
}


def plan_resume(rt: Runtime, entries: Sequence[dict]) -> None:
    """Print what `resume` would do with each incomplete journal entry (the journal is only read)."""
    from mediactl.lifecycle import check_unchanged

    rows = []
    for entry in entries:
        phase = entry.get("phase") or ""
        row = {"action": "upload" if phase == "pending" else "resume", "why": RESUME_WHY.get(phase, phase),
               "provider": entry["provider"], "phase": phase, "id": entry["id"], "name": entry.get("name"),
               "target": entry.get("target"), "local": {"path": str(entry["path"]), "size": entry.get("size"),
                                                          "sha256": entry.get("sha256")}}
        if entry.get("error"):
            row["error"] = entry["error"]
        try:
            check_unchanged(entry, Path(entry["path"]))
        except MediactlError as exc:
            row.update(action="refuse", why=exc.message)
        rows.append(row)
    _render(rt, rows, RESUME_PLAN_COLUMNS, primary="local.path")
    counts = Counter(row["action"] for row in rows)
    rt.info(f"dry run: {counts['resume']} to resume, {counts['upload']} to upload, {counts['refuse']} refused, "
            f"of {len(rows)}; nothing was sent or recorded")


def _render(rt: Runtime, rows: list[dict], columns, *, primary: str) -> None:
    from mediactl.output import ResultWriter

    with ResultWriter(rt, columns, primary=primary, title="dry run", empty_note="nothing to do") as out:
        out.extend(rows)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
