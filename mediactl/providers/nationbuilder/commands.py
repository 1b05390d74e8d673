"""`mediactl nationbuilder ...`: page attachments (base64 JSON upload, paged list, show, delete)."""

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.providers.nationbuilder import NAME, SPEC
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

Site = Annotated[str | None, typer.Option("--site", help="Site slug (setting nationbuilder.site).",
                                          show_default=False)]
Page = Annotated[str, typer.Option("--page", help="Page slug (see `nationbuilder pages`).", show_default=False)]
Limit = Annotated[int | None, typer.Option("--limit", min=1, max=100, help="Results per request, 1..100.")]
All = Annotated[bool, typer.Option("--all", help="Follow `next` until every result is listed.")]
COLUMNS = [("ID", "id"), ("FILENAME", "filename"), ("TYPE", "content_type"), ("UPDATED", "updated_at"),
           ("URL", "url")]




def _site(settings, site: str | None) -> str:
    return settings.require(NAME, "site", site, flag="--site")


@app.command("upload")
def upload(
    ctx: typer.Context,
    page: Page,
    files: Files = None,
    site: Site = None,
    content_type: Annotated[str | None, typer.Option(
        "--content-type", help="MIME type (default: from the name, else the first bytes).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="File name to give a single file.")] = None,
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
    """Attach files to a page; each is sent as streamed base64 inside JSON (never whole in memory).

    Examples: mediactl nationbuilder upload flyer.pdf --site mysite --page events-2026  ·
    mediactl nationbuilder upload -r photos/ --page gallery -o jsonl  ·
    mediactl nationbuilder upload --files-from list.txt --page gallery --dry-run
    """
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import batch_paths, collect_items, guess_type

    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    site = _site(settings, site)
    paths = batch_paths(rt, files, files_from=files_from, files_from0=files_from0, null=null)
    items = collect_items(rt, paths, recursive=recursive, include=include, exclude=exclude, name=name)

    def one(item, **kw):
        ctype = content_type or guess_type(item.name, item.path)
        return service.upload(item.path, item.name, site, page, content_type=ctype, **kw)

    upload_batch(rt, settings, NAME, items, target=f"{site}/{page}", journal=service.journal, upload=one,
                 columns=COLUMNS, concurrency=concurrency, skip_existing=skip_existing, dry_run=dry_run)


def _stream(ctx: typer.Context, pages, columns, empty_note: str) -> None:
    from mediactl.output import ResultWriter

    rt = AppContext.of(ctx)
    with ResultWriter(rt, columns, primary="id", empty_note=empty_note) as out:
        for rows in pages:
            out.extend({**row, "provider": NAME} for row in rows)


@app.command("list")
def list_cmd(ctx: typer.Context, page: Page, site: Site = None, limit: Limit = None, all_pages: All = False) -> None:
    """List a page's attachments; --all follows `next` (rows stream out as each page arrives).

    Example: mediactl nationbuilder list --page events-2026 --all -o jsonl
    """
    factory = AppContext.of(ctx)
    settings, service = factory.settings, factory.service(NAME)
    _stream(ctx, service.attachments(_site(settings, site), page, limit, all_pages), COLUMNS, "no attachments")


@app.command("show")
def show(
    ctx: typer.Context,
    attachment_id: Annotated[str, typer.Argument(help="Attachment id.", show_default=False)],
    page: Page,
    site: Site = None,
) -> None:
    """Show one attachment's metadata and URL.

    Example: mediactl nationbuilder show 42 --page events-2026
    """
    from mediactl.output import emit_one

    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    emit_one(rt, {**service.show(_site(settings, site), page, attachment_id), "provider": NAME})


@app.command("delete")
def delete(
    ctx: typer.Context,
    attachment_ids: Annotated[list[str], typer.Argument(help="Attachment ids.", show_default=False)],
    page: Page,
    site: Site = None,
    dry_run: DryRun = False,
) -> None:
    """Delete attachments (asks first unless --yes; without a terminal, --yes is required).

    --dry-run looks each attachment up and says what would be deleted, without asking or deleting.

    Examples: mediactl --yes nationbuilder delete 42 43 --page events-2026  ·
    mediactl nationbuilder delete 42 --page events-2026 --dry-run
    """
    from mediactl.engine.batch import batch_exit, confirm_delete, run_batch
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    site = _site(settings, site)
    if dry_run:
        from mediactl.engine.plan import plan_delete

        plan_delete(rt, NAME, attachment_ids, key="id", lookup=lambda one: service.show(site, page, one))
        return
    confirm_delete(rt, f"{len(attachment_ids)} attachment(s) from {site}/{page}")

    def one(attachment_id: str) -> dict:
        service.delete(site, page, attachment_id)
        return {"id": attachment_id, "deleted": True, "provider": NAME}

    with ResultWriter(rt, [("ID", "id"), ("DELETED", "deleted")], primary="id") as out:
        outcomes = run_batch(rt, attachment_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)


@app.command("sites")
def sites(ctx: typer.Context, limit: Limit = None, all_pages: All = False) -> None:
    """List the nation's sites (to find --site slugs).

    Example: mediactl nationbuilder sites
    """
    factory = AppContext.of(ctx)
    service = factory.service(NAME)
    _stream(ctx, service.sites(limit, all_pages), [("SLUG", "slug"), ("NAME", "name"), ("DOMAIN", "domain")],
            "no sites")


@app.command("pages")
def pages(
    ctx: typer.Context,
    site: Site = None,
    page_type: Annotated[str, typer.Option(
        "--type", help="basic_pages, blogs, events, calendars, petitions, surveys or donations.")] = "basic_pages",
    limit: Limit = None,
    all_pages: All = False,
) -> None:
    """List a site's pages of one type (to find --page slugs).

    Example: mediactl nationbuilder pages --site mysite --type blogs
    """
    from mediactl.providers.nationbuilder.api import PAGE_TYPES

    if page_type not in PAGE_TYPES:
        raise typer.BadParameter(f"must be one of {', '.join(PAGE_TYPES)}", param_hint="--type")
    factory = AppContext.of(ctx)
    settings, service = factory.settings, factory.service(NAME)
    _stream(ctx, service.pages(_site(settings, site), page_type, limit, all_pages),
            [("SLUG", "slug"), ("NAME", "name"), ("STATUS", "status")], "no pages")
