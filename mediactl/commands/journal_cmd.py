"""`mediactl history` and `mediactl resume`: read the upload journal, and finish what was left undone."""

from pathlib import Path
from typing import Annotated

import typer

from mediactl import runtime
from mediactl.providers import PROVIDERS

HISTORY_COLUMNS = [("ID", "id"), ("PROVIDER", "provider"), ("STATUS", "phase"), ("TARGET", "target"),
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
        "--status", help="pending, created, sent, completed, failed or interrupted.")] = None,
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
        out.extend(open_journal(rt).list(provider=provider, phase=status, limit=limit))


def resume(
    provider: ProviderOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="In parallel.")] = 4,
) -> None:
    """Finish every incomplete upload of the active profile that can still be finished.

    Other Page: re-send the bytes to a still-valid form (or upload afresh if no record was made);
    OFAuth: send the missing parts, then complete; uploads that never started are uploaded. What cannot
    be finished is reported with why.

    Example: mediactl resume --provider otherpage
    """
    from mediactl.journal import open_journal
    from mediactl.output import ResultWriter
    from mediactl.providers.common import batch_exit, run_batch

    rt = runtime.current()
    journal = open_journal(rt)
    entries = [e for e in reversed(journal.list(provider=provider, incomplete=True)) if e["profile"] == rt.profile]
    if not entries:
        rt.info("nothing to resume")
        return
    services = {p: _service(p) for p in {e["provider"] for e in entries}}  # built here: workers have no context
    columns = [("PROVIDER", "provider"), ("PATH", "local.path"), ("STATUS", "status")]
    with ResultWriter(rt, columns, primary="local.path") as out:
        outcomes = run_batch(rt, entries, lambda e: _resume_one(services, e), concurrency=concurrency,
                             on_result=out.add, describe=lambda e: f"{e['provider']} {e['path']}", journal=journal)
    batch_exit(outcomes)


def _resume_one(services: dict, entry: dict) -> dict:
    from mediactl.errors import LocalError

    provider = entry["provider"]
    service = services[provider]
    path = Path(entry["path"])
    phase, remote = entry["phase"], entry.get("remote_id")
    # no remote id: the provider never acknowledged it (NationBuilder's one request may still have landed)
    never_sent = phase == "pending" or (not remote and phase in ("failed", "interrupted")
                                        and provider != "nationbuilder")

    def size() -> int:
        try:
            return path.stat().st_size
        except OSError:
            raise LocalError(f"{path}: no longer readable; cannot resume") from None

    if provider == "otherpage":
        if remote and service.journal.unstash(entry["id"]) is not None:
            result = service.complete(entry["id"])
        elif never_sent:
            result = service.upload(path, entry["name"], entry["target"], size=size(), entry=entry["id"])
        else:
            raise LocalError("its upload form was not kept; upload the file again")
    elif provider == "ofauth":
        if remote and entry.get("resume"):
            result = service.complete(remote)
        elif never_sent:
            from mediactl.providers.common import guess_type

            result = service.upload(path, entry["name"], content_type=guess_type(entry["name"], path), size=size(),
                                    entry=entry["id"])
        else:
            raise LocalError("no upload plan was recorded; upload the file again")
    elif provider == "nationbuilder" and phase == "pending":
        from mediactl.providers.common import guess_type

        site, _, page = entry["target"].partition("/")
        result = service.upload(path, entry["name"], site, page, content_type=guess_type(entry["name"], path),
                                size=size(), entry=entry["id"])
    elif provider == "nationbuilder":
        raise LocalError("NationBuilder takes a file in one request and this one may or may not have arrived; "
                         "check `mediactl nationbuilder list` and upload it again if it is missing")
    else:
        raise LocalError("page documents are not kept in the journal; run `mediactl bitbadges upload` again")
    return {**result, "status": "completed"}


def _service(provider: str):
    if provider == "otherpage":
        from mediactl.providers.otherpage.commands import _service as make
    elif provider == "ofauth":
        from mediactl.providers.ofauth.commands import _service as make
    elif provider == "nationbuilder":
        from mediactl.providers.nationbuilder.commands import _service as make
    else:
        return None
    return make()[2]
