"""The end-of-batch summary: each item's outcome with its journal entry after the batch, counted and told
on stderr (the counting and the wording live in mediactl/providers/summary.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediactl.engine.batch import Outcome
    from mediactl.journal import Journal
    from mediactl.runtime import Runtime


def summarize_batch(rt: Runtime, provider: str, journal: Journal, entries: Mapping[int, str],
                    outcomes: Sequence[Outcome], elapsed: float) -> None:
    """The summary, for batches and for a single upload with something to tell (a lost answer adopted, a
    record left without bytes)."""
    from mediactl.providers.summary import print_summary, summarize

    found = journal.summary_rows(entries.values())  # by primary key, only the columns the summary reads
    rows = {key: found.get(entry) for key, entry in entries.items()}
    summary = summarize(provider, outcomes, rows, elapsed, profile=rt.profile)
    if len(outcomes) > 1 or summary.adopted or summary.orphans:
        print_summary(rt, summary)
