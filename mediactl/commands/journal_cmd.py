"""`mediactl history` and `mediactl resume`: read the upload journal, and finish what was left undone."""

from typing import Annotated

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


history_app = typer.Typer(add_completion=False, invoke_without_command=True,
                          help="List recorded uploads from the local journal; forget entries.")


@history_app.callback()
def history(
    ctx: typer.Context,
    provider: ProviderOpt = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, created, sent, completed, failed, interrupted, abandoned or deleted.",
        autocompletion=completion.statuses)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """List recorded uploads from the local journal, newest first; `history forget ID` drops entries.

    Examples: mediactl history  ·  mediactl history --provider ofauth --status failed -o json
    """
    if ctx.invoked_subcommand is not None:
        return
    from mediactl.journal import PHASES
    from mediactl.output import ResultWriter

    if status is not None and status not in PHASES:
        raise typer.BadParameter(f"must be one of {', '.join(PHASES)}", param_hint="--status")
    rt = AppContext.of(ctx)
    with ResultWriter(rt, HISTORY_COLUMNS, primary="id", empty_note="no recorded uploads") as out:
        # one name everywhere: the journal's phase is `status` in the table, in JSON and for --status
        out.extend({"status" if k == "phase" else k: v for k, v in row.items()}
                   for row in rt.journal.list(provider=provider, phase=status, limit=limit, profile=rt.profile))


@history_app.command("forget")
def forget(
    ctx: typer.Context,
    entry_ids: Annotated[list[str], typer.Argument(
        help="Journal ids (the ID column of `mediactl history`).", show_default=False,
        autocompletion=completion.journal_ids)],
) -> None:
    """Drop entries from the journal, e.g. an upload `resume` cannot finish. Nothing is sent to a provider.

    Example: mediactl history forget 3f2a9c1e0b7d
    """
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.errors import NotFoundError
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    journal = factory.journal

    def one(entry_id: str) -> dict:
        entry = journal.entry(entry_id)
        if entry is None:
            raise NotFoundError(f"no journal entry '{entry_id}'", hint="`mediactl history` lists the ids")
        journal.delete(entry_id)
        return {"id": entry_id, "provider": entry["provider"], "path": entry["path"], "forgotten": True}

    columns = [("ID", "id"), ("PROVIDER", "provider"), ("PATH", "path"), ("FORGOTTEN", "forgotten")]
    with ResultWriter(factory, columns, primary="id") as out:
        outcomes = run_batch(factory, entry_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)


def resume(
    ctx: typer.Context,
    provider: ProviderOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="In parallel.")] = 4,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would be resumed, item by item; send and record nothing.")] = False,
) -> None:
    """Finish every incomplete upload of the active profile that can still be finished.

    Each provider finishes its own kind: Other Page re-sends the bytes to a still-valid form (or uploads
    afresh if no record was made); OFAuth sends the missing parts, then completes; uploads that never
    started are uploaded. What cannot be finished is reported with why.

    Examples: mediactl resume --provider otherpage  ·  mediactl resume --dry-run -o json
    """
    from mediactl.engine.batch import run_batch
    from mediactl.errors import ExitCode, LocalError, RejectedError
    from mediactl.output import ResultWriter
    from mediactl.spec import load
    from mediactl.spool import reclaim

    factory = AppContext.of(ctx)
    rt, journal = factory, factory.journal
    entries = [e for e in reversed(journal.list(provider=provider, incomplete=True))
               if e["profile"] == rt.profile and e["provider"] in PROVIDERS]
    if not entries:
        rt.info("nothing to resume")
        return
    if dry_run:
        from mediactl.engine.plan import plan_resume

        return plan_resume(rt, entries)
    # built here, in the command's context: the workers run on threads without one
    hooks = {name: (load(PROVIDERS[name].resume), factory.service(name)) for name in {e["provider"] for e in entries}}

    def one(entry: dict) -> dict:
        finish, service = hooks[entry["provider"]]
        try:
            reclaim(rt, entry)  # an upload read from stdin needs its copy, or says it is gone
            return {**finish(service, entry), "status": "completed"}
        except (LocalError, RejectedError) as exc:  # its file changed or vanished, or the provider refused it
            # for good: say so once, then leave it be
            journal.update(entry["id"], phase="abandoned", error=f"cannot be resumed: {exc.message}")
            exc.message += (f" (marked abandoned: later resumes leave it be; `mediactl history forget {entry['id']}` "
                            "drops it)")
            raise

    columns = [("PROVIDER", "provider"), ("PATH", "local.path"), ("STATUS", "status")]
    with ResultWriter(rt, columns, primary="local.path") as out:
        outcomes = run_batch(rt, entries, one, concurrency=concurrency, on_result=out.add,
                             describe=lambda e: f"{e['provider']} {e['path']}", journal=journal)
    if any(o.error is not None for o in outcomes):
        # the outcome of remote work: 8 (some not finished), never a "local error" 3 for the whole run
        raise typer.Exit(int(ExitCode.PARTIAL))
