"""Other Page's part of its commands: the community target, its extra options, the help of each verb, and
`url` (an extra command). Kept free of heavy imports: --help and completion read it."""

from __future__ import annotations

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.completers import journal_id_completer
from mediactl.providers.otherpage import NAME
from mediactl.verbs import Param

Community = Annotated[str | None, typer.Option(
    "--community", help="Community id (setting otherpage.community).", show_default=False)]


complete_journal_id = journal_id_completer(NAME)  # Typer-free: the launcher calls it too


PARAMS = {
    "upload": [Param("community", Community, None), Param("name", Annotated[str | None, typer.Option(
        "--name", help="Name to upload under, with its extension (default: the file's name).")], None)],
    "list": [Param("community", Community, None), Param("limit", Annotated[int | None, typer.Option(
        "--limit", min=1, help="At most this many, newest first.")], None)],
    "show": [Param("file_id", Annotated[str, typer.Argument(
        help="File id (or journal id) of a recorded upload.", autocompletion=complete_journal_id,
        show_default=False)])],
    "complete": [Param("file_ids", Annotated[list[str], typer.Argument(
        help="File ids (or journal ids) whose S3 POST failed.", autocompletion=complete_journal_id,
        show_default=False)])],
    "download": [Param("community", Community, None)], "verify": [Param("community", Community, None)],
    "sync": [Param("community", Community, None)],
}
ORDER = {"upload": ("files", "community", "name")}

HELP = {
    "upload": """Upload files: create each file record, then POST its bytes to the presigned S3 form.

    The API key goes only to Other Page, never to S3. -q prints each file's URL.

    Examples: mediactl otherpage upload logo.png --community c-123  ·  mediactl otherpage upload -r assets/ -j 8
    ·  find assets -name '*.png' -print0 | mediactl otherpage upload --files-from0 - --dry-run
    """,
    "list": """List uploads recorded in the local journal (Other Page's API has no listing endpoint).

    Example: mediactl otherpage list --community c-123 -o json
    """,
    "show": """Show a recorded upload and its CDN URLs, from the local journal (the API has no get endpoint).

    Example: mediactl otherpage show 3f2a9c1e-...
    """,
    "complete": """Re-send the bytes of recorded uploads whose S3 POST failed, while their forms are still valid.

    The file must be unchanged since the upload started (same size and modification time).

    Example: mediactl otherpage complete 3f2a9c1e-...
    """,
    "download": """Download recorded uploads (file ids or journal ids) from the CDN original {cdn_url}/{key}:
    streamed to NAME.part, hashed, renamed; never over an existing file without --force.

    Example: mediactl otherpage download 3f2a9c0e-... -d out/
    """,
    "verify": """Compare local files with the journal's uploads of their names to the community, CDN bytes
    hashed: match, differs or missing; exit 9 when anything differs or is missing.

    Example: mediactl otherpage verify logo.png --community c-123
    """,
    "sync": """Upload the files of DIR that changed since their last upload (the journal's SHA-256), or were
    never uploaded. Copy only: the API has no delete, so --delete is refused.

    Example: mediactl otherpage sync assets/ --community c-123 --dry-run
    """,
}


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
    link = cdn_url(rt.settings.require(NAME, "cdn_url"), key, format, size)
    if rt.machine_output:
        emit_one(rt, {"key": key, "url": link, "provider": NAME}, primary="url")
    else:
        rt.stdout.write(link + "\n")


EXTRA_COMMANDS = {"url": url}
