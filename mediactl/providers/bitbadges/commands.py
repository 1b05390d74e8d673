"""`mediactl bitbadges ...`: utility pages managed from JSON/YAML documents."""

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.providers.bitbadges import NAME, SPEC
from mediactl.providers.options import (
    Concurrency,
    DryRun,
    Exclude,
    FilesFrom,
    FilesFrom0,
    Include,
    Null,
    Recursive,
    SkipExisting,
)

app = typer.Typer(
    add_completion=False,
    help=SPEC.help,
    no_args_is_help=True,
)
COLUMNS = [("LISTING ID", "listingId"), ("NAME", "metadata.name"), ("VISIBILITY", "visibility"),
           ("TYPE", "type"), ("UPDATED", "lastUpdated")]




@app.command("upload")
def upload(
    ctx: typer.Context,
    page_files: Annotated[list[str] | None, typer.Argument(
        help="Utility page documents (.json, or .yaml/.yml with the yaml extra). Optional with --files-from.",
        show_default=False)] = None,
    update: Annotated[bool, typer.Option(
        "--update", help="Update an existing page (the document or --listing-id names it).")] = False,
    listing_id: Annotated[str | None, typer.Option("--listing-id", help="The page to update.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Override metadata.name.")] = None,
    visibility: Annotated[str | None, typer.Option(
        "--visibility", help="Override visibility: public, private or unlisted.")] = None,
    image: Annotated[str | None, typer.Option("--image", help="Override metadata.image (a URL).")] = None,
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
    """Create (or with --update / a listingId, update) utility pages from documents.

    Each document is checked locally against the API's request schema first; a missing or invalid field
    is named with its path (exit 3) before anything is sent. Images are URLs (no upload endpoint).

    Examples: mediactl bitbadges upload page.json  ·  mediactl bitbadges upload page.json --update --listing-id util-1
    ·  mediactl bitbadges upload -r pages/ --dry-run -o json
    """
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import batch_paths, collect_items
    from mediactl.providers.bitbadges.api import TARGET, load_document, prepare

    if visibility is not None and visibility not in ("public", "private", "unlisted"):
        raise typer.BadParameter("must be public, private or unlisted", param_hint="--visibility")
    if image is not None and not _is_web_url(image):
        raise typer.BadParameter(f"must be an http(s) URL such as https://example.com/logo.png, not '{image}'",
                                 param_hint="--image")
    factory = AppContext.of(ctx)
    rt, settings, service = factory, factory.settings, factory.service(NAME)
    paths = batch_paths(rt, page_files, files_from=files_from, files_from0=files_from0, null=null)
    items = collect_items(rt, paths, recursive=recursive, include=include or ["*.json", "*.yaml", "*.yml"]
                          if recursive else include, exclude=exclude)
    if listing_id and len(items) > 1:
        raise typer.BadParameter("applies to a single document", param_hint="--listing-id")
    overrides = {"name": name, "visibility": visibility, "image": image, "listing_id": listing_id}
    prepared = {}

    def validate(item) -> None:  # upload_batch validates every document before sending any
        prepared[item.path] = prepare(load_document(item.path), update=update, overrides=overrides,
                                      source=str(item.path))

    def one(item, **kw):
        schema, payload = prepared[item.path]
        return service.upload(item.path, item.name, schema, payload, **kw)

    upload_batch(rt, settings, NAME, items, target=TARGET, journal=service.journal, upload=one,
                 columns=COLUMNS, concurrency=concurrency, skip_existing=skip_existing, primary="listingId",
                 validate=validate, dry_run=dry_run)


def _is_web_url(text: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow the bookmark while hasMore.")] = False,
    bookmark: Annotated[str | None, typer.Option("--bookmark", help="Start from this bookmark.")] = None,
) -> None:
    """List the signed-in user's utility pages (GET /utilityPages/search).

    Example: mediactl bitbadges list --all -o jsonl
    """
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    with ResultWriter(rt, COLUMNS, primary="listingId", empty_note="no utility pages") as out:
        for docs in service.search(bookmark, all_pages):
            out.extend({**doc, "provider": NAME} for doc in docs)


@app.command("show")
def show(ctx: typer.Context,
         listing_ids: Annotated[list[str], typer.Argument(help="Listing ids.", show_default=False)]) -> None:
    """Show one page (GET) or several (one POST fetch); a missing id is reported on its own.

    Examples: mediactl bitbadges show util-1  ·  mediactl bitbadges show util-1 util-2 -o json
    """
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.errors import NotFoundError
    from mediactl.output import ResultWriter, emit_one

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    if len(listing_ids) == 1:
        emit_one(rt, {**service.get(listing_ids[0]), "provider": NAME}, primary="listingId")
        return
    docs = {doc.get("listingId"): doc for doc in service.fetch(listing_ids)}

    def one(listing_id: str) -> dict:
        if listing_id not in docs:
            raise NotFoundError(f"utility page {listing_id} not found", provider=NAME)
        return {**docs[listing_id], "provider": NAME}

    with ResultWriter(rt, COLUMNS, primary="listingId") as out:
        outcomes = run_batch(rt, listing_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)


@app.command("delete")
def delete(ctx: typer.Context,
           listing_ids: Annotated[list[str], typer.Argument(help="Listing ids.", show_default=False)],
           dry_run: DryRun = False) -> None:
    """Delete utility pages (asks first unless --yes; without a terminal, --yes is required).

    --dry-run looks each page up and says what would be deleted, without asking or deleting.

    Examples: mediactl -y bitbadges delete util-1  ·  mediactl bitbadges delete util-1 util-2 --dry-run
    """
    from mediactl.engine.batch import batch_exit, confirm_delete, run_batch
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    if dry_run:
        from mediactl.engine.plan import plan_delete

        plan_delete(rt, NAME, listing_ids, key="listingId", lookup=service.get)
        return
    confirm_delete(rt, f"{len(listing_ids)} utility page(s)")

    def one(listing_id: str) -> dict:
        service.delete(listing_id)
        return {"listingId": listing_id, "deleted": True, "provider": NAME}

    with ResultWriter(rt, [("LISTING ID", "listingId"), ("DELETED", "deleted")], primary="listingId") as out:
        outcomes = run_batch(rt, listing_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)
