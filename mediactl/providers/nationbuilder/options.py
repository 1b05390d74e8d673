"""NationBuilder's part of its commands: the site/page target, its extra options, the help of each verb,
and `sites` / `pages` (extra commands, to find slugs). Kept free of heavy imports."""

from __future__ import annotations

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.providers.nationbuilder import NAME
from mediactl.verbs import Param

Site = Annotated[str | None, typer.Option("--site", help="Site slug (setting nationbuilder.site).",
                                          show_default=False)]
Page = Annotated[str, typer.Option("--page", help="Page slug (see `nationbuilder pages`).", show_default=False)]
Limit = Annotated[int | None, typer.Option("--limit", min=1, max=100, help="Results per request, 1..100.")]
All = Annotated[bool, typer.Option("--all", help="Follow `next` until every result is listed.")]
TARGET = [Param("page", Page), Param("site", Site, None)]

PARAMS = {
    "upload": [*TARGET, Param("content_type", Annotated[str | None, typer.Option(
        "--content-type", help="MIME type (default: from the name, else the first bytes).")], None),
        Param("name", Annotated[str | None, typer.Option("--name", help="File name to give a single file.")], None)],
    "list": [*TARGET, Param("limit", Limit, None), Param("all_pages", All, False)],
    "show": [Param("attachment_id", Annotated[str, typer.Argument(help="Attachment id.", show_default=False)]),
             *TARGET],
    "delete": [Param("attachment_ids", Annotated[list[str], typer.Argument(help="Attachment ids.",
                                                                            show_default=False)]), *TARGET],
    "download": TARGET, "verify": TARGET, "sync": TARGET,
}
ORDER = {"upload": ("page", "files", "site", "content_type", "name"),
         "delete": ("attachment_ids", "page", "site", "dry_run")}

HELP = {
    "upload": """Attach files to a page; each is sent as streamed base64 inside JSON (never whole in memory).

    Examples: mediactl nationbuilder upload flyer.pdf --site mysite --page events-2026  ·
    mediactl nationbuilder upload -r photos/ --page gallery -o jsonl  ·
    mediactl nationbuilder upload --files-from list.txt --page gallery --dry-run
    """,
    "list": """List a page's attachments; --all follows `next` (rows stream out as each page arrives).

    Example: mediactl nationbuilder list --page events-2026 --all -o jsonl
    """,
    "show": """Show one attachment's metadata and URL.

    Example: mediactl nationbuilder show 42 --page events-2026
    """,
    "delete": """Delete attachments (asks first unless --yes; without a terminal, --yes is required).

    --dry-run looks each attachment up and says what would be deleted, without asking or deleting.

    Examples: mediactl --yes nationbuilder delete 42 43 --page events-2026  ·
    mediactl nationbuilder delete 42 --page events-2026 --dry-run
    """,
    "download": """Download attachments (by id, or --all of a page) from their url: streamed to NAME.part,
    hashed, renamed; never over an existing file without --force.

    Example: mediactl nationbuilder download --all --page gallery -d out/
    """,
    "verify": """Compare local files with the page's attachments, by name, bytes hashed: match, differs or
    missing (and extra with --extra); exit 9 when anything differs or is missing.

    Example: mediactl nationbuilder verify -r site/files --page gallery --extra
    """,
    "sync": """Make the page's attachments match DIR: by name; other bytes = attach the new file, then delete
    the old; --delete removes attachments with no file. --dry-run prints the plan.

    Example: mediactl nationbuilder sync site/files --page gallery --delete --max-delete 5
    """,
}


def _stream(ctx: typer.Context, pages, columns, empty_note: str) -> None:
    from mediactl.output import ResultWriter
    from mediactl.verbs.list import with_provider

    with ResultWriter(AppContext.of(ctx), columns, primary="id", empty_note=empty_note) as out:
        for rows in pages:
            out.extend(with_provider(rows, NAME))


def sites(ctx: typer.Context, limit: Limit = None, all_pages: All = False) -> None:
    """List the nation's sites (to find --site slugs).

    Example: mediactl nationbuilder sites
    """
    service = AppContext.of(ctx).service(NAME)
    _stream(ctx, service.sites(limit, all_pages), [("SLUG", "slug"), ("NAME", "name"), ("DOMAIN", "domain")],
            "no sites")


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
    rt = AppContext.of(ctx)
    service = rt.service(NAME)
    site = rt.settings.require(NAME, "site", site, flag="--site")
    _stream(ctx, service.pages(site, page_type, limit, all_pages),
            [("SLUG", "slug"), ("NAME", "name"), ("STATUS", "status")], "no pages")


EXTRA_COMMANDS = {"sites": sites, "pages": pages}
