"""`mediactl PROVIDER sync DIR [--delete] [--max-delete N] [--dry-run]`: README "Round trip".

Every sync first computes ONE plan, a row per item: `create | replace | update | delete | unchanged`, with
why (the provider decides: mediactl/providers/*/api.py `*RoundTrip.plan`). `--dry-run` prints that plan
(JSON: `{"plan": [...], "totals": {...}}`) and changes nothing; the real run carries out the same plan:
- the files to send are registered in the journal first (an interrupted sync leaves a record of all of
  them, for `mediactl resume`), then sent through the provider's own upload (journal, reconcile of lost
  answers, one more pass for transient failures), as `upload` does;
- deletes come last: a replace deletes the old item once its new one is there (NationBuilder attachments
  cannot be edited); `--delete` rows follow, only when every send succeeded.
`--max-delete N`: a plan deleting more than N items changes nothing and exits 2, as does `--delete` for a
provider whose API has no delete (copy only), before anything is sent; a dry run prints the plan, then refuses.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mediactl.errors import MediactlError, NotFoundError, UsageError
from mediactl.providers.roundtrip import ACTIONS, LocalFile, PlanRow
from mediactl.verbs import Param
from mediactl.verbs.roundtrip_support import Concurrency, RoundTripDeps, local_files

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec
    from mediactl.verbs import VerbOptions

HELP = """Make the provider match a directory, from one plan: create, replace, update, delete or unchanged, with
why (--dry-run prints it and sends nothing).

Example: mediactl PROVIDER sync files/ --dry-run
"""

COLUMNS = [("ACTION", "action"), ("NAME", "name"), ("WHY", "why"), ("REMOTE ID", "remote.id")]
# A real run's table/plain rows: the item's id (a sent row's new one) and URL, as upload shows them.
RUN_COLUMNS = [("ACTION", "action"), ("NAME", "name"), ("WHY", "why"), ("ID", "shown.id"), ("URL", "shown.url")]
# Where each provider's upload answer has the new item's id and URL (its upload columns), default id / url.
RESULT_PATHS = {"bitbadges": ("listingId", "url"), "ofauth": ("media.id", "media.files.full.url")}
SENDS = ("create", "replace", "update")


@dataclass
class SyncOptions:
    directory: Path
    delete: bool = False
    max_delete: int | None = None
    dry_run: bool = False
    concurrency: int = 4
    include: list[str] | None = None
    exclude: list[str] | None = None


def totals(plan: list[PlanRow]) -> dict[str, int]:
    return {action: sum(1 for row in plan if row.action == action) for action in ACTIONS}


def make_plan(opts: SyncOptions, deps: RoundTripDeps) -> list[PlanRow]:
    """The checks that refuse a sync before anything is sent, then the provider's plan."""
    trip = deps.roundtrip
    if opts.delete and trip.copy_only:
        raise UsageError(f"the {deps.title} API offers no delete: sync is copy only, --delete is refused "
                         "(nothing was sent)")
    if not opts.directory.is_dir():
        raise UsageError(f"{opts.directory} is not a directory", hint="sync takes one directory: sync DIR")
    files = local_files(deps.rt, [str(opts.directory)], recursive=True,
                        include=opts.include or getattr(trip, "local_patterns", None), exclude=opts.exclude,
                        unique_names=True, allow_empty=True)
    plan = trip.plan(files, delete=opts.delete)
    refusal = max_delete_refusal(opts, plan)
    if refusal is not None and not opts.dry_run:
        raise refusal
    return plan


def max_delete_refusal(opts: SyncOptions, plan: list[PlanRow]) -> UsageError | None:
    """The --max-delete refusal of `plan` (exit 2), if it deletes too much. A dry run has printed the plan, so
    only the real run's refusal points at it."""
    deleting = sum(1 for row in plan if row.action == "delete")
    if opts.max_delete is None or deleting <= opts.max_delete:
        return None
    return UsageError(f"the plan deletes {deleting} item(s), more than --max-delete {opts.max_delete}; nothing "
                      "was changed", hint=None if opts.dry_run else "run with --dry-run to see the plan")


def params(spec: ProviderSpec) -> list[Param]:
    from mediactl.providers import options as o

    return [
        Param("directory", Annotated[Path, typer.Argument(help="The directory the provider is made to match.",
                                                          show_default=False, file_okay=False, metavar="DIR")]),
        Param("delete", Annotated[bool, typer.Option(
            "--delete", help="Also delete remote items with no file in DIR.")], False),
        Param("max_delete", Annotated[int | None, typer.Option(
            "--max-delete", min=0, metavar="N", help="Refuse (exit 2, nothing changed) a plan deleting more than N.")],
            None),
        Param("dry_run", Annotated[bool, typer.Option(
            "--dry-run", help="Print the plan (create/replace/update/delete/unchanged, with why); change nothing.")],
            False),
        Param("include", o.Include, None), Param("exclude", o.Exclude, None), Param("concurrency", Concurrency, 4),
    ]


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.verbs import VerbOptions as Options
    from mediactl.verbs.roundtrip_support import deps

    directory = Path(opts["directory"])
    # the provider's calls know which DIR they sync (BitBadges journals a sync's pages under it)
    values = {**dict(opts), "sync_dir": os.fsdecode(directory.absolute())}
    sync(SyncOptions(directory, bool(opts.get("delete")), opts.get("max_delete"), bool(opts.get("dry_run")),
                     int(opts.get("concurrency") or 4), opts.get("include"), opts.get("exclude")),
         deps(Options(opts.provider, values), ctx))


def sync(opts: SyncOptions, deps: RoundTripDeps) -> None:
    """Plan, then print the plan (--dry-run) or carry it out, with the provider's calls in `deps`."""
    plan = make_plan(opts, deps)
    if opts.dry_run:
        refusal = max_delete_refusal(opts, plan)
        print_plan(deps, plan, refusal)
        if refusal is not None:  # the plan is printed, then refused (stderr, exit 2) as the real run would be
            from mediactl.engine.batch import BatchExit
            from mediactl.reports import record_refusal

            deps.rt.error(refusal.message)
            record_refusal(deps.rt, refusal)  # the report: the plan's rows, then why it is refused
            raise BatchExit(int(refusal.code))
        return
    carry_out(opts, deps, plan)


def print_plan(deps: RoundTripDeps, plan: list[PlanRow], refusal: UsageError | None = None) -> None:
    """The plan on stdout; a plan `refusal` refuses (--max-delete) is in the JSON document as its `error`
    (jsonl: a last line), so stdout stays one document."""
    from mediactl import reports
    from mediactl.output import ResultWriter, _write_json

    rt = deps.rt
    rows = [row.to_json(deps.provider) for row in plan]
    counts = totals(plan)
    for row, shown in zip(plan, rows, strict=True):  # a dry run's report: a testcase per row of the plan
        reports.record(rt, id(row), row.name, shown, None, command=f"mediactl {deps.provider} sync")
    if rt.output == "json" and not rt.quiet:
        _write_json(rt, {"plan": rows, "totals": counts, **(refusal.to_json() if refusal else {})}, indent=2)
    else:
        with ResultWriter(rt, COLUMNS, primary="name", empty_note="nothing to sync") as out:
            out.extend(rows)
        if refusal is not None and rt.output == "jsonl":
            _write_json(rt, refusal.to_json(), indent=None)
    rt.info("plan: " + ", ".join(f"{n} {action}" for action, n in counts.items()) + " (dry run: nothing sent)")


def carry_out(opts: SyncOptions, deps: RoundTripDeps, plan: list[PlanRow]) -> None:
    from mediactl.engine.batch import _second_pass, batch_exit, run_batch, second_pass_worthy
    from mediactl.engine.summary import summarize_batch
    from mediactl.output import Progress, ResultWriter

    rt, trip, journal = deps.rt, deps.roundtrip, deps.journal
    started = time.monotonic()
    sends = [row for row in plan if row.action in SENDS]
    # Register every send first: an interrupted sync leaves a record of what never started too.
    entries = {id(row): journal.register(provider=deps.provider, profile=rt.profile, target=trip.target,
                                         path=_local(row).path, name=_local(row).name) for row in sends}
    total_bytes = sum(_local(row).digests.size for row in sends)
    with ResultWriter(rt, RUN_COLUMNS, primary="name") as out, Progress(rt, len(sends), total_bytes) as progress:
        def show(row: dict) -> None:  # JSON rows stay as they are (the new item is their `result`)
            out.add(row if rt.machine_output else _shown(deps.provider, row))

        def send(row: PlanRow) -> dict:
            if row.action not in SENDS:
                return row.to_json(deps.provider)
            task = progress.task(row.name, _local(row).digests.size)
            try:
                result = trip.upload(_local(row), progress=task, entry=entries[id(row)], row=row)
            except MediactlError:
                task.failed()
                raise
            task.done({"create": "created", "replace": "uploaded", "update": "updated"}[row.action])
            return {**row.to_json(deps.provider), "result": result}

        describe = _describe
        first = [row for row in plan if row.action != "delete"]  # sends, and the unchanged rows' lines
        outcomes = run_batch(rt, first, send, concurrency=opts.concurrency, on_result=show, describe=describe,
                             journal=journal, defer=second_pass_worthy, on_interrupt=progress.silence)
        outcomes = _second_pass(rt, deps.provider, journal, entries, outcomes, concurrency=opts.concurrency,
                                on_result=show, describe=describe)
        failed = [o for o in outcomes if o.error is not None]
        replaced = [o.item for o in outcomes if o.error is None and o.item.action == "replace"]
        deletes = _replaced_items(replaced) + ([] if failed else [row for row in plan if row.action == "delete"])
        withheld = sum(1 for row in plan if row.action == "delete") if failed else 0
        if withheld:
            rt.warn(f"{withheld} delete(s) of the plan not done: {len(failed)} item(s) failed")

        def remove(row: PlanRow) -> dict:
            try:
                assert row.remote is not None, "a delete row names its item"
                trip.remove(row.remote)
            except NotFoundError:  # gone already (a retried delete whose first answer was lost): done
                pass
            return {**row.to_json(deps.provider), "action": "delete", "result": {"deleted": True}}

        outcomes += run_batch(rt, deletes, remove, concurrency=1, on_result=show, describe=describe)
    counts = totals(plan)
    rt.info("sync: " + ", ".join(f"{n} {action}" for action, n in counts.items() if n)
            + (f"; {len([o for o in outcomes if o.error])} failed" if any(o.error for o in outcomes) else ""))
    send_outcomes = [o for o in outcomes if isinstance(o.item, PlanRow) and id(o.item) in entries]
    summarize_batch(rt, deps.provider, journal, entries, send_outcomes, time.monotonic() - started)
    batch_exit(outcomes)


def _local(row: PlanRow) -> LocalFile:
    assert row.local is not None, "a send row has its local file"
    return row.local


def _replaced_items(rows: list[PlanRow]) -> list[PlanRow]:
    """The old items of the replaces whose new upload is there (each replace finishes with their delete,
    whatever happened to other rows; --delete's own rows wait for a sync in which nothing failed)."""
    return [PlanRow("delete", row.name, "replaced by the new upload", None, remote)
            for row in rows for remote in row.extra.get("old", [])]


def _describe(row: PlanRow) -> str:
    return str(row.local.path) if row.local is not None else f"{row.name} ({row.remote.id if row.remote else '?'})"


def _shown(provider: str, row: dict) -> dict:
    """A result row with `shown: {id, url}` for table/plain: the new item of a send, else the remote one."""
    from mediactl.output import dig

    if "error" in row:
        return row
    id_path, url_path = RESULT_PATHS.get(provider, ("id", "url"))
    result = row.get("result")
    if isinstance(result, dict) and "deleted" not in result:
        return {**row, "shown": {"id": dig(result, id_path), "url": dig(result, url_path)}}
    return {**row, "shown": {"id": dig(row, "remote.id")}}
