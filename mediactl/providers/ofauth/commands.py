"""`mediactl ofauth ...`: vault media uploads (init, PUT or parts, complete), the vault listing."""

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.providers.ofauth import NAME, SPEC
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

app = typer.Typer(
    add_completion=False, help=SPEC.help, no_args_is_help=True)
UPLOAD_COLUMNS = [("MEDIA UPLOAD ID", "mediaUploadId"), ("MEDIA ID", "media.id"), ("TYPE", "media.type"),
                  ("SIZE", "local.size")]
MEDIA_COLUMNS = [("ID", "id"), ("TYPE", "type"), ("READY", "isReady"), ("CREATED", "createdAt"),
                 ("URL", "files.full.url")]
PartConcurrency = Annotated[int, typer.Option(
    "--part-concurrency", min=1, max=4, help="Parts of one multipart upload sent in parallel (1..4).")]




@app.command("upload")
def upload(
    ctx: typer.Context,
    files: Files = None,
    no_complete: Annotated[bool, typer.Option(
        "--no-complete", help="Stop after sending the parts; finish later with `ofauth complete`.")] = False,
    skip_existing: SkipExisting = False,
    name: Annotated[str | None, typer.Option("--name", help="File name to give a single file.")] = None,
    recursive: Recursive = False,
    include: Include = None,
    exclude: Exclude = None,
    concurrency: Concurrency = 4,
    part_concurrency: PartConcurrency = 2,
    dry_run: DryRun = False,
    files_from: FilesFrom = None,
    files_from0: FilesFrom0 = None,
    null: Null = False,
) -> None:
    """Upload files to the vault: init, then one PUT (small files) or byte-range parts plus complete.

    --skip-existing also asks OFAuth whether the vault already holds the same bytes. -q prints the
    mediaUploadId, which `ofauth show` and `ofauth complete` accept.

    Examples: mediactl ofauth upload clip.mp4  ·  mediactl ofauth upload big.mov --no-complete -q  ·
    mediactl ofauth upload --files-from clips.txt --skip-existing --dry-run
    """
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import batch_paths, collect_items, guess_type
    from mediactl.transfer.files import local_info

    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    paths = batch_paths(rt, files, files_from=files_from, files_from0=files_from0, null=null)
    items = collect_items(rt, paths, recursive=recursive, include=include, exclude=exclude, name=name)

    def one(item, **kw):
        return service.upload(item.path, item.name, content_type=guess_type(item.name, item.path),
                              complete=not no_complete, part_concurrency=part_concurrency, **kw)

    def already_in_vault(item, size, digests):
        found = service.check(digests.md5, size)
        if found.get("exists"):
            return {"mediaUploadId": None, "media": found.get("media"),
                    "local": local_info(item.path, size, digests.sha256), "provider": NAME, "skipped": True}
        return None

    upload_batch(rt, settings, NAME, items, target=service.target, journal=service.journal, upload=one,
                 columns=UPLOAD_COLUMNS, concurrency=concurrency, skip_existing=skip_existing,
                 precheck=already_in_vault, primary="mediaUploadId", dry_run=dry_run)


@app.command("complete")
def complete(
    ctx: typer.Context,
    upload_ids: Annotated[list[str], typer.Argument(help="mediaUploadId values (upload:<uuid>).",
                                                    show_default=False)],
    part_concurrency: PartConcurrency = 2,
) -> None:
    """Finalize uploads (POST /v2/access/uploads/complete), first sending any parts the journal says
    are missing, and print the media.

    Example: mediactl ofauth complete upload:3f1c...
    """
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    with ResultWriter(rt, UPLOAD_COLUMNS, primary="mediaUploadId") as out:
        outcomes = run_batch(rt, upload_ids, lambda uid: service.complete(uid, part_concurrency=part_concurrency),
                             concurrency=1, on_result=out.add, journal=service.journal)
    batch_exit(outcomes)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=40, help="Results per request, 1..40.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    all_pages: Annotated[bool, typer.Option("--all", help="Page with offset until hasMore is false.")] = False,
    media_type: Annotated[str | None, typer.Option("--type", help="photo, video, audio or gif.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="Search text.")] = None,
) -> None:
    """List vault media (newest first).

    Example: mediactl ofauth list --type photo --all -o jsonl
    """
    from mediactl.output import ResultWriter
    from mediactl.providers.ofauth.api import MEDIA_TYPES

    if media_type is not None and media_type not in MEDIA_TYPES:
        raise typer.BadParameter(f"must be one of {', '.join(MEDIA_TYPES)}", param_hint="--type")
    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    with ResultWriter(rt, MEDIA_COLUMNS, primary="id", empty_note="no media") as out:
        for rows in service.vault(limit=limit, offset=offset, media_type=media_type, query=query,
                                  follow=all_pages):
            out.extend({**row, "provider": NAME} for row in rows)


@app.command("show")
def show(ctx: typer.Context, media_id: Annotated[str, typer.Argument(
        help="Vault media id, or the mediaUploadId that `upload -q` prints.", show_default=False)]) -> None:
    """Show one vault media item, found in the vault listing or, failing that, the local journal.

    Accepts the vault media id or a journalled upload's mediaUploadId (what `upload -q` prints).

    Examples: mediactl ofauth show 1042  ·  mediactl ofauth show "$(mediactl -q ofauth upload clip.mp4)"
    """
    from mediactl.errors import NotFoundError
    from mediactl.output import emit_one

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    upload = service.journal.get(NAME, media_id)
    if upload is not None and upload.get("remote_id") == media_id:  # a mediaUploadId: show its media
        media = (upload.get("result") or {}).get("media") or {}
        if media.get("id") is None:
            raise NotFoundError(f"upload {media_id} has no vault media yet ({upload['phase']})", provider=NAME,
                                hint=f"finish it with `mediactl ofauth complete {media_id}`")
        media_id = str(media["id"])
    for rows in service.vault(limit=40, offset=0, media_type=None, query=None, follow=True):
        for row in rows:
            if str(row.get("id")) == media_id:
                emit_one(rt, {**row, "provider": NAME})
                return
    for entry in service.journal.list(provider=NAME, phase="completed"):
        media = (entry.get("result") or {}).get("media") or {}
        if str(media.get("id")) == media_id:
            emit_one(rt, {**media, "provider": NAME, "source": "journal"})
            return
    raise NotFoundError(f"media {media_id} is neither in the vault listing nor in the local journal",
                        provider=NAME)
