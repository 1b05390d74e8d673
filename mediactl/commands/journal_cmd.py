"""`mediactl history` and `mediactl resume`: read the upload journal, and finish what was left undone."""

from typing import Annotated

import typer

from mediactl import runtime, services
from mediactl.registry import PROVIDERS

HISTORY_COLUMNS = [("ID", "id"), ("PROVIDER", "provider"), ("STATUS", "status"), ("TARGET", "target"),
                   ("NAME", "name"), ("SIZE", "size"), ("REMOTE ID", "remote_id"), ("UPDATED", "updated_at")]


def _provider_option(value: str | None) -> str | None:
    if value is not None and value not in PROVIDERS:
        raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}")
    return value


ProviderOpt = Annotated[str | None, typer.Option(
    "--provider", help=f"Only this provider ({', '.join(PROVIDERS)}).", callback=_provider_option)]


def history(
    provider: ProviderOpt = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, created, sent, completed, failed, interrupted or deleted.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """List recorded uploads from the local journal, newest first.

    Examples: mediactl history  ·  mediactl history --provider ofauth --status failed -o json
    """
    from mediactl.journal import PHASES, open_journal
    from mediactl.output import ResultWriter

    if status is not None and status not in PHASES:
        raise typer.BadParameter(f"must be one of {', '.join(PHASES)}", param_hint="--status")
    rt = runtime.current()
    with ResultWriter(rt, HISTORY_COLUMNS, primary="id", empty_note="no recorded uploads") as out:
        # one name everywhere: the journal's phase is `status` in the table, in JSON and for --status
        out.extend({"status" if k == "phase" else k: v for k, v in row.items()}
                   for row in open_journal(rt).list(provider=provider, phase=status, limit=limit))


def resume(
    provider: ProviderOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="In parallel.")] = 4,
) -> None:
    """Finish every incomplete upload of the active profile that can still be finished.

    Each provider finishes its own kind: Other Page re-sends the bytes to a still-valid form (or uploads
    afresh if no record was made); OFAuth sends the missing parts, then completes; uploads that never
    started are uploaded. What cannot be finished is reported with why.

    Example: mediactl resume --provider otherpage
    """
    from mediactl.output import ResultWriter
    from mediactl.providers.common import batch_exit, run_batch
    from mediactl.spec import load
    from mediactl.spool import reclaim

    factory = services.current()
    rt, journal = factory.rt, factory.journal
    entries = [e for e in reversed(journal.list(provider=provider, incomplete=True))
               if e["profile"] == rt.profile and e["provider"] in PROVIDERS]
    if not entries:
        rt.info("nothing to resume")
        return
    # built here, in the command's context: the workers run on threads without one
    hooks = {name: (load(PROVIDERS[name].resume), factory.service(name)) for name in {e["provider"] for e in entries}}

    def one(entry: dict) -> dict:
        reclaim(rt, entry)  # an upload read from stdin needs its copy, or says it is gone
        finish, service = hooks[entry["provider"]]
        return {**finish(service, entry), "status": "completed"}

    columns = [("PROVIDER", "provider"), ("PATH", "local.path"), ("STATUS", "status")]
    with ResultWriter(rt, columns, primary="local.path") as out:
        outcomes = run_batch(rt, entries, one, concurrency=concurrency, on_result=out.add,
                             describe=lambda e: f"{e['provider']} {e['path']}", journal=journal)
    batch_exit(outcomes)
