"""`mediactl history` and `mediactl resume`: read the upload journal, and finish what was left undone."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from mediactl.app import completion
from mediactl.app.context import AppContext
from mediactl.registry import PROVIDERS

HISTORY_COLUMNS = [("ID", "id"), ("PROVIDER", "provider"), ("STATUS", "status"), ("TARGET", "target"),
                   ("NAME", "name"), ("SIZE", "size"), ("REMOTE ID", "remote_id"), ("UPDATED", "updated_at")]


def _provider_option(value: str | None) -> str | None:
    if value is not None and value not in PROVIDERS:
        raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}")
    return value


ProviderOpt = Annotated[str | None, typer.Option(
    "--provider", help=f"Only this provider ({', '.join(PROVIDERS)}).", callback=_provider_option,
    autocompletion=completion.providers)]


HISTORY_HELP = """List recorded uploads from the local journal, newest first; `history forget` drops entries,
`history prune` drops old finished ones.

Examples: mediactl history  ·  mediactl history --provider ofauth --status failed -o json  ·
mediactl history --since 2026-11-01 --until 2026-11-30 --name '*.png'
"""
history_app = typer.Typer(add_completion=False, invoke_without_command=True, help=HISTORY_HELP)


def _bound(kind: str):
    """The Typer callback of a date option: its text turned into a journal bound (journal_query's
    `{kind}_bound`); anything but an ISO date or time is exit 2 with an example."""
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        from mediactl import journal_query

        try:
            return getattr(journal_query, f"{kind}_bound")(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not an ISO date or time "
                                     f"(e.g. {journal_query.DATE_EXAMPLE})") from None
    return check


def _age(value: str) -> str:
    from mediactl import journal_query

    try:
        return journal_query.age_bound(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an age (e.g. {journal_query.AGE_EXAMPLE})") from None


def _status_option(value: str | None) -> str | None:
    from mediactl.journal import PHASES

    if value is not None and value not in PHASES:
        raise typer.BadParameter(f"must be one of {', '.join(PHASES)}")
    return value


StatusOpt = Annotated[str | None, typer.Option(
    "--status", help="pending, created, sent, completed, failed, interrupted, abandoned or deleted.",
    callback=_status_option, autocompletion=completion.statuses)]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Print the entries that would be dropped; change nothing.")]
FORGET_COLUMNS = [("ID", "id"), ("PROVIDER", "provider"), ("STATUS", "status"), ("PATH", "path"),
                  ("FORGOTTEN", "forgotten")]


@history_app.callback()
def history(
    ctx: typer.Context,
    provider: ProviderOpt = None,
    status: StatusOpt = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only entries last changed at or after this ISO date or time (local time unless a "
                        "zone is given), e.g. 2026-11-01 or 2026-11-01T14:30Z.", callback=_bound("since"))] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Only entries last changed up to this ISO date (the whole day) or time.",
        callback=_bound("until"))] = None,
    target: Annotated[str | None, typer.Option(
        "--target", help="Only this target (community, site/page, ...: the TARGET column).")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Only names matching this shell pattern, e.g. '*.png' (case-sensitive).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """List recorded uploads (the group's help is HISTORY_HELP)."""
    if ctx.invoked_subcommand is not None:
        return
    from mediactl.journal_query import EntryFilter, count, history_row, select
    from mediactl.output import ResultWriter

    rt = AppContext.of(ctx)
    selection = EntryFilter(profile=rt.profile, provider=provider, phases=(status,) if status else (),
                            target=target, name_glob=name, since=since, until=until)
    rows = select(rt.journal, selection, limit=limit)
    with ResultWriter(rt, HISTORY_COLUMNS, primary="id", empty_note="no recorded uploads") as out:
        out.extend(history_row(row) for row in rows)
    if len(rows) == limit and (total := count(rt.journal, selection)) > limit:
        rt.info(f"note: showing the newest {limit} of {total} entries; --limit N shows more")


@history_app.command("forget")
def forget(
    ctx: typer.Context,
    entry_ids: Annotated[list[str] | None, typer.Argument(
        help="Journal ids (the ID column of `mediactl history`).", show_default=False,
        autocompletion=completion.journal_ids)] = None,
    status: StatusOpt = None,
    before: Annotated[str | None, typer.Option(
        "--before", help="Every entry last changed before this ISO date or time, e.g. 2026-11-01.",
        callback=_bound("before"))] = None,
    provider: ProviderOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Drop entries from the journal: by id, or in bulk by --status and/or --before (e.g. the uploads
    `resume` marked abandoned). Nothing is sent to a provider.

    Examples: mediactl history forget 3f2a9c1e0b7d  ·  mediactl history forget --status abandoned --dry-run
    ·  mediactl history forget --status failed --before 2026-11-01
    """
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.errors import NotFoundError, UsageError
    from mediactl.journal_query import EntryFilter, history_row, select
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    journal = factory.journal
    if entry_ids and (status or before or provider):
        raise UsageError("give journal ids or --status/--before/--provider, not both",
                         hint="e.g. `mediactl history forget --status abandoned`")
    if not entry_ids:
        if not (status or before):
            raise UsageError("nothing to forget: name journal ids, or select with --status and/or --before",
                             hint="e.g. `mediactl history forget --status abandoned --dry-run`")
        selection = EntryFilter(profile=factory.profile, provider=provider, phases=(status,) if status else (),
                                until=before)
        _drop(factory, journal, select(journal, selection, oldest_first=True), dry_run=dry_run)
        return

    def one(entry_id: str) -> dict:
        entry = journal.entry(entry_id)
        if entry is None:
            raise NotFoundError(f"no journal entry '{entry_id}'", hint="`mediactl history` lists the ids")
        if not dry_run:
            journal.delete(entry_id)
        return {**history_row(entry), "forgotten": not dry_run}

    with ResultWriter(factory, FORGET_COLUMNS, primary="id") as out:
        outcomes = run_batch(factory, entry_ids, one, concurrency=1, on_result=out.add)
    if dry_run:
        factory.info("dry run: nothing was forgotten")
    batch_exit(outcomes)


@history_app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Age of the finished entries to drop: Nh, Nd or Nw.", callback=_age)] = "90d",
    provider: ProviderOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Drop finished entries (completed, or completed then deleted) last changed more than --older-than ago
    (default 90 days), so a journal kept between runs (a CI cache) stays small. Unfinished, failed and
    abandoned entries are kept. A pruned upload no longer counts for --skip-existing, nor shows in Other
    Page's `list` (its API has no listing).

    Examples: mediactl history prune  ·  mediactl history prune --older-than 30d --dry-run -o json
    """
    from mediactl.journal_query import FINISHED_PHASES, EntryFilter, select

    factory = AppContext.of(ctx)
    selection = EntryFilter(profile=factory.profile, provider=provider, phases=FINISHED_PHASES,
                            until=older_than)  # --older-than's callback made it a bound
    _drop(factory, factory.journal, select(factory.journal, selection, oldest_first=True), dry_run=dry_run)


def _drop(rt, journal, entries: Sequence[Mapping[str, Any]], *, dry_run: bool) -> None:
    """Forget `entries` (or, with dry_run, only show them), as rows shaped like `history`'s plus `forgotten`."""
    from mediactl.journal_query import forget as forget_entries
    from mediactl.journal_query import history_row
    from mediactl.output import ResultWriter

    if not dry_run:
        forget_entries(journal, [e["id"] for e in entries])
    with ResultWriter(rt, FORGET_COLUMNS, primary="id") as out:
        out.extend({**history_row(e), "forgotten": not dry_run} for e in entries)
    what = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    rt.info(f"dry run: {what} would be forgotten; nothing was changed" if dry_run else f"forgot {what}")


def resume(
    ctx: typer.Context,
    entry_ids: Annotated[list[str] | None, typer.Argument(
        help="Only these journal ids (the ID column of `mediactl history`).", show_default=False)] = None,
    batch: Annotated[str | None, typer.Option(
        "--batch", help="Only the uploads of this batch (one `upload` run; its id is in the summary's hint "
                        "and `history -o json`).")] = None,
    provider: ProviderOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="In parallel.")] = 4,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would be resumed, item by item; send and record nothing.")] = False,
) -> None:
    """Finish every incomplete upload of the active profile that can still be finished; given journal ids
    or --batch, only those (e.g. the batch a summary's hint names).

    Each provider finishes its own kind: Other Page re-sends the bytes to a still-valid form (or uploads
    afresh if no record was made); OFAuth sends the missing parts, then completes; uploads that never
    started are uploaded. What cannot be finished is reported with why.

    Examples: mediactl resume --provider otherpage  ·  mediactl resume --batch 5c1e0b7d3f2a  ·
    mediactl resume 3f2a9c1e0b7d --dry-run -o json
    """
    from mediactl.resuming import resume_reported

    factory = AppContext.of(ctx)

    def narrow(entries: list) -> list:
        return _resume_selection(factory, factory.journal, entries, entry_ids or [], batch)

    resume_reported(factory, provider, concurrency, dry_run=dry_run, narrow=narrow)


def _resume_selection(rt, journal, entries: list, entry_ids: list[str], batch: str | None) -> list:
    """`resume ID…` / `resume --batch ID`: narrow the incomplete entries to those named; an id or batch
    the journal does not know is exit 5, one that is already finished is said and left out."""
    if not entry_ids and batch is None:
        return entries
    from mediactl.errors import NotFoundError

    wanted = set(entry_ids)
    for entry_id in entry_ids:
        entry = journal.entry(entry_id)
        if entry is None:
            raise NotFoundError(f"no journal entry '{entry_id}'", hint="`mediactl history` lists the ids")
        if entry_id not in {e["id"] for e in entries}:
            rt.info(f"{entry_id}: nothing to resume (it is {entry['phase']})")
    if batch is not None:
        from mediactl.journal_query import EntryFilter, select

        if not select(journal, EntryFilter(batch=batch), limit=1):
            raise NotFoundError(f"no batch '{batch}' in the journal",
                                hint="`mediactl history -o json` shows each upload's batch")
    return [e for e in entries if (not wanted or e["id"] in wanted) and (batch is None or e.get("batch") == batch)]
