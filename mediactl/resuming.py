"""`mediactl resume`: finish what interrupted batches left, reported like a batch.

Only entries no live run owns are taken (their lease is gone or stale, mediactl/leases.py): a `resume`
from cron next to a running batch leaves that batch's entries alone. Each entry taken is made this run's
in one transaction, so two resumes never finish the same entry. An entry whose create went out unanswered
(`sending`, or interrupted with `unanswered` > 0) is reconciled with the provider by its resume hook
before anything is sent again; Other Page cannot be asked, so the possible orphan is counted.

Before anything is sent, an entry superseded by a LATER completed upload of the same file (same provider,
profile, target, name and bytes: the user ran `upload` again after the failure) is marked `abandoned`
(outcome `superseded`) and said so, never sent: a re-run `upload` and a cron `resume` make one copy.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediactl.errors import MediactlError
from mediactl.registry import PROVIDERS

RESUME_COLUMNS = [("PROVIDER", "provider"), ("ID", "remoteId"), ("URL", "url"), ("PATH", "local.path"),
                  ("STATUS", "status")]


def resume_reported(factory: Any, provider: str | None, concurrency: int, *, dry_run: bool = False,
                    narrow: Callable[[list], list] | None = None) -> None:
    """`mediactl resume` as the batch verb it is: reported like one (--report, GitHub Actions; a refusal
    before the first entry, a bad id or a read-only journal, is the report's one error and "nothing to
    resume" an empty report: mediactl/reports.py `batch_reported`), and the real run under its lease with
    SIGTERM and SIGHUP handled like Ctrl-C."""
    from mediactl.reports import batch_reported

    with batch_reported(factory, "mediactl resume"):
        if dry_run:
            resume_all(factory, provider, concurrency, dry_run=True, narrow=narrow)
            return
        from mediactl.engine.batch import signals_handled
        from mediactl.leases import holding

        with signals_handled(factory), holding(factory.journal, "resume"):
            resume_all(factory, provider, concurrency, narrow=narrow)


def resume_all(factory: Any, provider: str | None, concurrency: int, *, dry_run: bool = False,
               narrow: Callable[[list], list] | None = None) -> None:
    """Finish the incomplete entries of the active profile; `narrow` picks some of them (`resume ID…`, `--batch`)."""
    from mediactl.engine.batch import BatchExit, run_batch
    from mediactl.errors import ExitCode, LocalError, RejectedError
    from mediactl.leases import live_checker
    from mediactl.output import ResultWriter
    from mediactl.spec import load
    from mediactl.spool import reclaim

    rt, journal = factory.rt, factory.journal
    entries = [e for e in reversed(journal.list(provider=provider, incomplete=True))
               if e["profile"] == rt.profile and e["provider"] in PROVIDERS]
    if narrow is not None:
        entries = narrow(entries)
    live = live_checker(journal)
    busy = [e for e in entries if e.get("run_id") and e["run_id"] != journal.run_id and live(e["run_id"])]
    free = [e for e in entries if not (e.get("run_id") and e["run_id"] != journal.run_id and live(e["run_id"]))]
    if dry_run:
        if not free:
            _busy_note(rt, busy)
            rt.info("nothing to resume")
            return
        from mediactl.engine.plan import plan_resume

        return plan_resume(rt, free, superseded_by=lambda entry: superseded_by(journal, entry))
    mine = journal.adopt_entries(free)
    mine = _drop_superseded(rt, journal, mine)
    busy += [e for e in free if e["id"] not in {m["id"] for m in mine}]  # taken by another resume meanwhile
    _busy_note(rt, busy)
    if not mine:
        rt.info("nothing to resume")
        return
    started = time.monotonic()
    # built here, in the command's context: the workers run on threads without one
    hooks = {name: (load(PROVIDERS[name].resume), factory.service(name)) for name in {e["provider"] for e in mine}}

    def one(entry: dict) -> dict:
        finish, service = hooks[entry["provider"]]
        try:
            reclaim(rt, entry)  # an upload read from stdin needs its copy, or says it is gone
            result = finish(service, entry)
        except (LocalError, RejectedError) as exc:  # its file changed or vanished, or the provider refused it
            # for good: say so once, then leave it be
            journal.update(entry["id"], phase="abandoned", error=f"cannot be resumed: {exc.message}")
            exc.message += (f" (marked abandoned: later resumes leave it be; `mediactl history forget {entry['id']}` "
                            "drops it)")
            raise
        row = journal.entry(entry["id"]) or {}
        return {**result, "remoteId": row.get("remote_id"), "url": result.get("url") or row.get("url"),
                "status": "completed"}

    with ResultWriter(rt, RESUME_COLUMNS, primary="local.path") as out:
        outcomes = run_batch(rt, mine, one, concurrency=concurrency, on_result=out.add,
                             describe=lambda e: f"{e['provider']} {e['path']}", journal=journal)
    _summaries(rt, journal, outcomes, time.monotonic() - started)
    if any(o.error is not None for o in outcomes):
        # the outcome of remote work: 8 (some not finished), never a "local error" 3 for the whole run
        raise BatchExit(int(ExitCode.PARTIAL))


def superseded_by(journal: Any, entry: dict) -> dict | None:
    """The LATER completed upload of the same file that makes `entry` unneeded (same provider, profile,
    target and name, same SHA-256 and size), or None. The file is hashed only when such an upload exists
    and the entry never recorded its digest (e.g. it failed before it was read)."""
    later = journal.completed_later(entry)
    if not later:
        return None
    sha256, size = entry.get("sha256"), entry.get("size")
    if sha256 is None:
        from mediactl.transfer.files import file_digests

        try:
            digests = file_digests(Path(entry["path"]))
        except (OSError, MediactlError):  # gone or unreadable: resume itself says so
            return None
        sha256, size = digests.sha256, digests.size
    for done in later:
        if done.get("sha256") == sha256 and (size is None or done.get("size") in (None, size)):
            return dict(done)
    return None


def _drop_superseded(rt, journal, entries: list[dict]) -> list[dict]:
    """Mark the entries a later upload superseded (and say so); return the others, to be finished."""
    left = []
    for entry in entries:
        done = superseded_by(journal, entry)
        if done is None:
            left.append(entry)
            continue
        by = done.get("remote_id") or done["id"]
        journal.update(entry["id"], phase="abandoned", outcome="superseded",
                       note=f"superseded by {by} (journal {done['id']}), a later upload of the same file")
        rt.info(f"{entry['path']}: superseded by a later upload of the same file ({entry['provider']} {by}): "
                f"not sent again (marked abandoned; `mediactl history forget {entry['id']}` drops it)")
    return left


def _busy_note(rt, busy: list[dict]) -> None:
    if not busy:
        return
    runs = Counter(e.get("run_id") for e in busy)
    if rt.recorder is not None:  # --report: each is a skipped testcase, a run that is still going owns it
        from mediactl.reports import record_skipped

        for entry in busy:
            record_skipped(rt, ("busy", entry["id"]), f"{entry['provider']} {entry['path']}",
                           "left alone: a run that is still going owns it", file=str(entry["path"]))
    rt.info(f"note: {len(busy)} upload{'s' if len(busy) != 1 else ''} left alone: "
            f"{'a run that is' if len(runs) == 1 else f'{len(runs)} runs that are'} still going own"
            f"{'s' if len(runs) == 1 else ''} them (they finish them, or a resume after they end does)")


def _summaries(rt, journal, outcomes, elapsed: float) -> None:
    """One summary per provider, as a batch prints it: counts, possible orphans, hints."""
    from mediactl.providers.summary import print_summary, summarize

    by_provider: dict[str, list] = {}
    for outcome in outcomes:
        by_provider.setdefault(outcome.item["provider"], []).append(outcome)
    for name, group in sorted(by_provider.items()):
        rows = {id(o.item): journal.entry(o.item["id"]) for o in group}
        summary = summarize(name, group, rows, elapsed)
        print_summary(rt, summary)
