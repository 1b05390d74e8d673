"""BitBadges' part of its commands: page documents' options and the help of each verb. Kept free of heavy
imports."""

from __future__ import annotations

from typing import Annotated

import typer

from mediactl.verbs import Param

ListingIds = Annotated[list[str], typer.Argument(help="Listing ids.", show_default=False)]

PARAMS = {
    "upload": [
        Param("update", Annotated[bool, typer.Option(
            "--update", help="Update an existing page (the document or --listing-id names it).")], False),
        Param("listing_id", Annotated[str | None, typer.Option("--listing-id", help="The page to update.")], None),
        Param("name", Annotated[str | None, typer.Option("--name", help="Override metadata.name.")], None),
        Param("visibility", Annotated[str | None, typer.Option(
            "--visibility", help="Override visibility: public, private or unlisted.")], None),
        Param("image", Annotated[str | None, typer.Option("--image", help="Override metadata.image (a URL).")], None)],
    "list": [
        Param("all_pages", Annotated[bool, typer.Option("--all", help="Follow the bookmark while hasMore.")], False),
        Param("bookmark", Annotated[str | None, typer.Option("--bookmark", help="Start from this bookmark.")], None)],
    "show": [Param("listing_ids", ListingIds)],
    "delete": [Param("listing_ids", ListingIds)],
}
# the documents are the `files` argument, under their own help
OVERRIDES = {"upload": {"files": Param("files", Annotated[list[str] | None, typer.Argument(
    metavar="PAGE_FILES",
    help="Utility page documents (.json, or .yaml/.yml with the yaml extra). Optional with --files-from.",
    show_default=False)], None)}}
ORDER = {"upload": ("files", "update", "listing_id", "name", "visibility", "image"),
         "delete": ("listing_ids", "dry_run")}

HELP = {
    "upload": """Create (or with --update / a listingId, update) utility pages from documents.

    Each document is checked locally against the API's request schema first; a missing or invalid field
    is named with its path (exit 3) before anything is sent. Images are URLs (no upload endpoint).

    Examples: mediactl bitbadges upload page.json  ·  mediactl bitbadges upload page.json --update --listing-id util-1
    ·  mediactl bitbadges upload -r pages/ --dry-run -o json
    """,
    "list": """List the signed-in user's utility pages (GET /utilityPages/search).

    Example: mediactl bitbadges list --all -o jsonl
    """,
    "show": """Show one page (GET) or several (one POST fetch); a missing id is reported on its own.

    Examples: mediactl bitbadges show util-1  ·  mediactl bitbadges show util-1 util-2 -o json
    """,
    "delete": """Delete utility pages (asks first unless --yes; without a terminal, --yes is required).

    --dry-run looks each page up and says what would be deleted, without asking or deleting.

    Examples: mediactl -y bitbadges delete util-1  ·  mediactl bitbadges delete util-1 util-2 --dry-run
    """,
    "download": """Download your pages (by listingId, or --all) as NAME.json documents, in the shape upload
    takes, with their listingId: edit them, then `bitbadges sync` or `upload --update`.

    Example: mediactl bitbadges download --all -d pages/
    """,
    "verify": """Compare page documents with your pages, over the fields upload sends (by listingId, else by
    metadata.name): match, differs or missing; exit 9 when anything differs or is missing.

    Example: mediactl bitbadges verify -r pages/
    """,
    "sync": """Make your pages match the documents in DIR: create, update or unchanged; --delete removes only
    pages an earlier sync of this DIR (and profile) created or updated.

    Example: mediactl bitbadges sync pages/ --delete --dry-run
    """,
}
