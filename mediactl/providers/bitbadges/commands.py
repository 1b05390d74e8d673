"""`mediactl bitbadges ...`: utility pages managed from JSON/YAML documents."""

from typing import Annotated

import typer

from mediactl import runtime
from mediactl.helptexts import GROUP_HELP
from mediactl.providers.options import Concurrency, Exclude, Include, Recursive, SkipExisting

PROVIDER = "bitbadges"
app = typer.Typer(
    add_completion=False,
    help=GROUP_HELP["bitbadges"],
    no_args_is_help=True,
)
COLUMNS = [("LISTING ID", "listingId"), ("NAME", "metadata.name"), ("VISIBILITY", "visibility"),
           ("TYPE", "type"), ("UPDATED", "lastUpdated")]


def _service():
    from mediactl.config import Settings
    from mediactl.providers.bitbadges.api import BitBadges, error_message, refresh_tokens
    from mediactl.providers.common import make_client

    rt = runtime.current()
    settings = Settings(rt)
    settings.check_profile()
    client = make_client(rt, PROVIDER, settings, base_url=settings.require(PROVIDER, "base_url"),
                         auth_headers={"x-api-key": settings.require(PROVIDER, "api_key")},
                         error_message=error_message, pool_size=8)
    refresh = settings.value(PROVIDER, "refresh_token")

    def refresher() -> str:
        tokens = refresh_tokens(client, refresh_token=refresh, client_id=settings.value(PROVIDER, "client_id"),
                                client_secret=settings.value(PROVIDER, "client_secret"))
        changes = {"access_token": tokens["access_token"]}
        if tokens.get("refresh_token"):
            changes["refresh_token"] = tokens["refresh_token"]
        settings.store.update(True, rt.profile, PROVIDER, changes)
        if settings.resolve(PROVIDER, "access_token").source == "env":
            rt.warn("refreshed the BitBadges access token and saved it to credentials.toml, but "
                    "MEDIACTL_BITBADGES_ACCESS_TOKEN (still the old token) takes precedence there")
        else:
            rt.info("refreshed the BitBadges access token (saved to credentials.toml)")
        return tokens["access_token"]

    service = BitBadges(client, access_token=settings.value(PROVIDER, "access_token"),
                        refresher=refresher if refresh else None)
    return rt, settings, service


@app.command("upload")
def upload(
    page_files: Annotated[list[str], typer.Argument(
        help="Utility page documents (.json, or .yaml/.yml with the yaml extra).", show_default=False)],
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
) -> None:
    """Create (or with --update / a listingId, update) utility pages from documents.

    Each document is checked locally against the API's request schema first; a missing or invalid field
    is named with its path (exit 3) before anything is sent. Images are URLs (no upload endpoint).

    Examples: mediactl bitbadges upload page.json  ·  mediactl bitbadges upload page.json --update --listing-id util-1
    """
    from mediactl.journal import open_journal
    from mediactl.providers.bitbadges.api import load_document, prepare
    from mediactl.providers.common import collect_items, upload_batch
    from mediactl.transfer.files import file_digests, local_info

    if visibility is not None and visibility not in ("public", "private", "unlisted"):
        raise typer.BadParameter("must be public, private or unlisted", param_hint="--visibility")
    rt, settings, service = _service()
    items = collect_items(rt, page_files, recursive=recursive, include=include or ["*.json", "*.yaml", "*.yml"]
                          if recursive else include, exclude=exclude)
    if listing_id and len(items) > 1:
        raise typer.BadParameter("applies to a single document", param_hint="--listing-id")
    overrides = {"name": name, "visibility": visibility, "image": image, "listing_id": listing_id}
    prepared = {item.path: prepare(load_document(item.path), update=update, overrides=overrides,
                                   source=str(item.path)) for item in items}  # all validated before sending
    journal = open_journal(rt)

    def one(item, size, sha256, progress, entry=None):
        schema, payload = prepared[item.path]
        entry = journal.start(provider=PROVIDER, profile=rt.profile, target="utilityPages", path=item.path,
                              name=item.name, size=size, sha256=sha256, entry=entry)
        with journal.recording(entry):
            doc = service.update(payload) if schema == "iUpdateUtilityPagePayload" else service.create(payload)
        progress(size)
        out = {**doc, "local": local_info(item.path, size, sha256 or file_digests(item.path).sha256),
               "provider": PROVIDER}
        journal.update(entry, phase="completed", remote_id=doc.get("listingId"), sha256=out["local"]["sha256"],
                       result=out)
        return out

    upload_batch(rt, settings, PROVIDER, items, target="utilityPages", journal=journal, upload=one,
                 columns=COLUMNS, concurrency=concurrency, skip_existing=skip_existing, primary="listingId")


@app.command("list")
def list_cmd(
    all_pages: Annotated[bool, typer.Option("--all", help="Follow the bookmark while hasMore.")] = False,
    bookmark: Annotated[str | None, typer.Option("--bookmark", help="Start from this bookmark.")] = None,
) -> None:
    """List the signed-in user's utility pages (GET /utilityPages/search).

    Example: mediactl bitbadges list --all -o jsonl
    """
    from mediactl.output import ResultWriter

    rt, _, service = _service()
    with ResultWriter(rt, COLUMNS, primary="listingId", empty_note="no utility pages") as out:
        for docs in service.search(bookmark, all_pages):
            out.extend({**doc, "provider": PROVIDER} for doc in docs)


@app.command("show")
def show(listing_ids: Annotated[list[str], typer.Argument(help="Listing ids.", show_default=False)]) -> None:
    """Show one page (GET) or several (one POST fetch); a missing id is reported on its own.

    Examples: mediactl bitbadges show util-1  ·  mediactl bitbadges show util-1 util-2 -o json
    """
    from mediactl.errors import NotFoundError
    from mediactl.output import ResultWriter, emit_one
    from mediactl.providers.common import batch_exit, run_batch

    rt, _, service = _service()
    if len(listing_ids) == 1:
        emit_one(rt, {**service.get(listing_ids[0]), "provider": PROVIDER}, primary="listingId")
        return
    docs = {doc.get("listingId"): doc for doc in service.fetch(listing_ids)}

    def one(listing_id: str) -> dict:
        if listing_id not in docs:
            raise NotFoundError(f"utility page {listing_id} not found", provider=PROVIDER)
        return {**docs[listing_id], "provider": PROVIDER}

    with ResultWriter(rt, COLUMNS, primary="listingId") as out:
        outcomes = run_batch(rt, listing_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)


@app.command("delete")
def delete(listing_ids: Annotated[list[str], typer.Argument(help="Listing ids.", show_default=False)]) -> None:
    """Delete utility pages (asks first unless --yes; without a terminal, --yes is required).

    Example: mediactl -y bitbadges delete util-1
    """
    from mediactl.output import ResultWriter
    from mediactl.providers.common import batch_exit, confirm_delete, run_batch

    rt, _, service = _service()
    confirm_delete(rt, f"{len(listing_ids)} utility page(s)")

    def one(listing_id: str) -> dict:
        service.delete(listing_id)
        return {"listingId": listing_id, "deleted": True, "provider": PROVIDER}

    with ResultWriter(rt, [("LISTING ID", "listingId"), ("DELETED", "deleted")], primary="listingId") as out:
        outcomes = run_batch(rt, listing_ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)
