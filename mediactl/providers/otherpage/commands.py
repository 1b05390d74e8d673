"""`mediactl otherpage ...`: community files (record + presigned S3 POST) and image CDN URLs."""

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.errors import NotFoundError
from mediactl.providers.options import (
    Concurrency,
    DryRun,
    Exclude,
    Files,
    FilesFrom,
    FilesFrom0,
    Include,
    Null,
    Recursive,
    SkipExisting,
)
from mediactl.providers.otherpage import NAME, SPEC

app = typer.Typer(
    add_completion=False,
    help=SPEC.help,
    no_args_is_help=True,
)

Community = Annotated[str | None, typer.Option(
    "--community", help="Community id (setting otherpage.community).", show_default=False)]
UPLOAD_COLUMNS = [("ID", "id"), ("NAME", "name"), ("SIZE", "local.size"), ("URL", "url")]
LIST_COLUMNS = [("ID", "id"), ("NAME", "name"), ("STATUS", "status"), ("SIZE", "local.size"),
                ("COMMUNITY", "communityId"), ("CREATED", "createdAt")]


def _complete_journal_id(incomplete: str) -> list[str]:
    try:
        from mediactl.journal import Journal
        from mediactl.runtime import Runtime

        entries = Journal(Runtime().data_dir).list(provider=NAME, limit=50)
    except Exception:
        return []
    ids = [e["remote_id"] or e["id"] for e in entries]
    return [i for i in ids if i.startswith(incomplete)]




@app.command("upload")
def upload(
    ctx: typer.Context,
    files: Files = None,
    community: Community = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Name to upload under, with its extension (default: the file's name).")] = None,
    recursive: Recursive = False,
    include: Include = None,
    exclude: Exclude = None,
    concurrency: Concurrency = 4,
    skip_existing: SkipExisting = False,
    dry_run: DryRun = False,
    files_from: FilesFrom = None,
    files_from0: FilesFrom0 = None,
    null: Null = False,
) -> None:
    """Upload files: create each file record, then POST its bytes to the presigned S3 form.

    The API key goes only to Other Page, never to S3. -q prints each file's URL.

    Examples: mediactl otherpage upload logo.png --community c-123  ·  mediactl otherpage upload -r assets/ -j 8
    ·  find assets -name '*.png' -print0 | mediactl otherpage upload --files-from0 - --dry-run
    """
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import batch_paths, collect_items
    from mediactl.providers.otherpage.api import require_extension

    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    target = settings.require(NAME, "community", community, flag="--community")
    paths = batch_paths(rt, files, files_from=files_from, files_from0=files_from0, null=null)
    items = collect_items(rt, paths, recursive=recursive, include=include, exclude=exclude, name=name,
                          check_name=None if dry_run else require_extension)  # a dry run lists refusals

    def one(item, **kw):
        return service.upload(item.path, item.name, target, **kw)

    upload_batch(rt, settings, NAME, items, target=target, journal=service.journal, upload=one,
                 columns=UPLOAD_COLUMNS, concurrency=concurrency, skip_existing=skip_existing,
                 validate=lambda item: require_extension(item.name), dry_run=dry_run)


@app.command("url")
def url(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The file's key, as returned by upload.", show_default=False)],
    format: Annotated[str | None, typer.Option(
        "--format", help="Image format: png, jpg, webp or auto.")] = None,
    size: Annotated[int | None, typer.Option("--size", min=1, max=4096, help="Maximum size in pixels.")] = None,
) -> None:
    """Print the image CDN URL of a file key, optionally converted and resized (no request is made).

    Example: mediactl otherpage url c-123/logo-png --format png --size 100
    """
    from mediactl.output import emit_one
    from mediactl.providers.otherpage.api import CDN_FORMATS, cdn_url

    rt = AppContext.of(ctx)
    if format is not None and format not in CDN_FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(CDN_FORMATS)}", param_hint="--format")
    settings = rt.settings
    link = cdn_url(settings.require(NAME, "cdn_url"), key, format, size)
    if rt.machine_output:
        emit_one(rt, {"key": key, "url": link, "provider": NAME}, primary="url")
    else:
        rt.stdout.write(link + "\n")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    community: Community = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many, newest first.")] = None,
) -> None:
    """List uploads recorded in the local journal (Other Page's API has no listing endpoint).

    Example: mediactl otherpage list --community c-123 -o json
    """
    from mediactl.output import ResultWriter
    from mediactl.providers.otherpage.api import journal_record

    rt = AppContext.of(ctx)
    settings = rt.settings
    cdn = settings.require(NAME, "cdn_url")
    entries = rt.journal.list(provider=NAME, target=community, limit=limit)
    with ResultWriter(rt, LIST_COLUMNS, primary="id", empty_note="no recorded uploads") as out:
        for entry in entries:
            out.add(journal_record(entry, cdn))


@app.command("show")
def show(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(
        help="File id (or journal id) of a recorded upload.", autocompletion=_complete_journal_id,
        show_default=False)],
) -> None:
    """Show a recorded upload and its CDN URLs, from the local journal (the API has no get endpoint).

    Example: mediactl otherpage show 3f2a9c1e-...
    """
    from mediactl.output import emit_one
    from mediactl.providers.otherpage.api import journal_record

    rt = AppContext.of(ctx)
    entry = rt.journal.get(NAME, file_id)
    if entry is None:
        raise NotFoundError(f"no recorded Other Page upload '{file_id}' in the journal",
                            hint="`mediactl otherpage list` shows recorded uploads", provider=NAME)
    emit_one(rt, journal_record(entry, rt.settings.require(NAME, "cdn_url")), primary="url")


@app.command("complete")
def complete(
    ctx: typer.Context,
    file_ids: Annotated[list[str], typer.Argument(
        help="File ids (or journal ids) whose S3 POST failed.", autocompletion=_complete_journal_id,
        show_default=False)],
) -> None:
    """Re-send the bytes of recorded uploads whose S3 POST failed, while their forms are still valid.

    The file must be unchanged since the upload started (same size and modification time).

    Example: mediactl otherpage complete 3f2a9c1e-...
    """
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.output import Progress, ResultWriter

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    with ResultWriter(rt, UPLOAD_COLUMNS, primary="url") as out, Progress(rt, len(file_ids)) as progress:
        outcomes = run_batch(rt, file_ids, lambda key: service.complete(key, progress.task(key, None)),
                             concurrency=1, on_result=out.add, journal=service.journal)
    batch_exit(outcomes)
