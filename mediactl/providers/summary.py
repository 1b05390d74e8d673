"""The end-of-batch summary on stderr: what was uploaded, skipped, adopted and failed, how many bytes and how
fast, and whether `mediactl resume` has something to finish."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mediactl.errors import ExitCode
from mediactl.runtime import Runtime

# Journal phases an upload is left in that `mediactl resume` can finish.
RESUMABLE_PHASES = ("pending", "sending", "created", "sent", "interrupted")


@dataclass
class BatchSummary:
    provider: str
    uploaded: int = 0
    skipped: int = 0
    adopted: int = 0  # a create's answer was lost, the provider was asked and what had landed was adopted
    orphans: int = 0  # records lost creates may have left without bytes (the API cannot be asked), counted
    failed: int = 0
    resumable: int = 0
    batch: str | None = None  # the journal's id of this run, for `resume --batch`
    bytes: int = 0
    elapsed: float = 0.0
    profile: str = "default"  # the run's profile: the resume hint names it, so it resumes this profile's uploads

    def lines(self) -> list[str]:
        from mediactl.output import human_bytes, human_duration

        counts = [f"{self.uploaded} uploaded" + (f" ({self.adopted} adopted after a lost answer)"
                                                 if self.adopted else "")]
        if self.skipped:
            counts.append(f"{self.skipped} skipped")
        counts.append(f"{self.failed} failed")
        rate = self.bytes / self.elapsed if self.elapsed > 0 else 0.0
        out = [f"summary: {', '.join(counts)}; {human_bytes(self.bytes)} in {human_duration(self.elapsed)} "
               f"({human_bytes(rate)}/s)"]
        if self.orphans:
            out.append(f"note: {self.orphans} record{_s(self.orphans)} may have been left without bytes on "
                       f"{self.provider} (a create's answer was lost or its run ended while it was out, and the "
                       f"API cannot be asked; `mediactl history -o json` shows each upload's note)")
        if self.resumable:
            out.append(f"hint: {self.resumable} upload{_s(self.resumable)} can be finished with "
                       f"`mediactl {profile_flag(self.profile)}resume "
                       f"{f'--batch {self.batch}' if self.batch else f'--provider {self.provider}'}`")
        return out


def profile_flag(profile: str) -> str:
    """`--profile NAME ` for a hint's command line, or nothing for the default profile."""
    return "" if profile == "default" else f"--profile {shlex.quote(profile)} "


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def summary_fields(result: dict) -> dict:
    """What `summarize` reads of an upload's result; a batch keeps only this of each result once it is
    printed, so its memory does not grow with every record the provider answered."""
    local = result.get("local") or {}
    return {"skipped": result.get("skipped"), "local": {"size": local.get("size")}}


def summarize(provider: str, outcomes: Iterable[Any], journal_rows: Mapping[int, Any],
              elapsed: float, *, profile: str = "default") -> BatchSummary:
    """`journal_rows` maps id(item) to the item's journal entry after the batch (None if it was removed)."""
    summary = BatchSummary(provider, elapsed=elapsed, profile=profile)
    for outcome in outcomes:
        row = journal_rows.get(id(outcome.item)) or {}
        summary.batch = summary.batch or row.get("batch")
        if row.get("outcome") == "adopted":
            summary.adopted += 1
        if row.get("outcome") == "possibly_orphaned":  # counted records; an older journal kept no count
            summary.orphans += int(row.get("orphans") or 1)
        if outcome.error is not None:
            summary.failed += 1
            if row.get("phase") in RESUMABLE_PHASES or (row and outcome.error.code == ExitCode.TRANSIENT):
                summary.resumable += 1
            continue
        result = outcome.result or {}
        if result.get("skipped"):
            summary.skipped += 1
            continue
        summary.uploaded += 1
        summary.bytes += int((result.get("local") or {}).get("size") or 0)
        if row.get("phase") in RESUMABLE_PHASES:  # e.g. ofauth --no-complete: the bytes are sent, not completed
            summary.resumable += 1
    return summary


def print_summary(rt: Runtime, summary: BatchSummary) -> None:
    """On stderr, never stdout (json stays one document); nothing with -q."""
    for line in summary.lines():
        rt.info(line)
