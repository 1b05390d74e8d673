"""OFAuth's part of its commands: its extra options and the help of each verb. Kept free of heavy imports."""

from __future__ import annotations

from typing import Annotated

import typer

from mediactl.verbs import Param

PartConcurrency = Annotated[int, typer.Option(
    "--part-concurrency", min=1, max=4, help="Parts of one multipart upload sent in parallel (1..4).")]

PARAMS = {
    "upload": [
        Param("no_complete", Annotated[bool, typer.Option(
            "--no-complete", help="Stop after sending the parts; finish later with `ofauth complete`.")], False),
        Param("name", Annotated[str | None, typer.Option("--name", help="File name to give a single file.")], None),
        Param("part_concurrency", PartConcurrency, 2)],
    "complete": [
        Param("upload_ids", Annotated[list[str], typer.Argument(help="mediaUploadId values (upload:<uuid>).",
                                                                show_default=False)]),
        Param("part_concurrency", PartConcurrency, 2)],
    "list": [
        Param("limit", Annotated[int, typer.Option("--limit", min=1, max=40, help="Results per request, 1..40.")], 20),
        Param("offset", Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")], 0),
        Param("all_pages", Annotated[bool, typer.Option(
            "--all", help="Page with offset until hasMore is false.")], False),
        Param("media_type", Annotated[str | None, typer.Option("--type", help="photo, video, audio or gif.")], None),
        Param("query", Annotated[str | None, typer.Option("--query", help="Search text.")], None)],
    "show": [Param("media_id", Annotated[str, typer.Argument(
        help="Vault media id, or the mediaUploadId that `upload -q` prints.", show_default=False)])],
    "download": [Param("media_type", Annotated[str | None, typer.Option(
        "--type", help="With --all: photo, video, audio or gif.", show_default=False)], None)],
}
ORDER = {"upload": ("files", "no_complete", "skip_existing", "name", "recursive", "include", "exclude",
                    "concurrency", "part_concurrency")}

HELP = {
    "upload": """Upload files to the vault: init, then one PUT (small files) or byte-range parts plus complete.

    --skip-existing also asks OFAuth whether the vault already holds the same bytes. -q prints the
    mediaUploadId, which `ofauth show` and `ofauth complete` accept.

    Examples: mediactl ofauth upload clip.mp4  ·  mediactl ofauth upload big.mov --no-complete -q  ·
    mediactl ofauth upload --files-from clips.txt --skip-existing --dry-run
    """,
    "complete": """Finalize uploads (POST /v2/access/uploads/complete), first sending any parts the journal says
    are missing, and print the media.

    Example: mediactl ofauth complete upload:3f1c...
    """,
    "list": """List vault media (newest first).

    Example: mediactl ofauth list --type photo --all -o jsonl
    """,
    "show": """Show one vault media item, found in the vault listing or, failing that, the local journal.

    Accepts the vault media id or a journalled upload's mediaUploadId (what `upload -q` prints).

    Examples: mediactl ofauth show 1042  ·  mediactl ofauth show "$(mediactl -q ofauth upload clip.mp4)"
    """,
    "download": """Download vault media (by id, or --all with --type) from files.full.url: streamed to
    NAME.part, hashed, renamed; never over an existing file without --force.

    Example: mediactl ofauth download --all --type photo -d vault/
    """,
    "verify": """Compare local files with the vault through /uploads/check (MD5 and size): match, differs or
    missing; exit 9 when anything differs or is missing.

    Example: mediactl ofauth verify -r photos/
    """,
    "sync": """Upload the files of DIR the vault does not hold (/uploads/check). Copy only: the Access API
    has no delete, so --delete is refused.

    Example: mediactl ofauth sync photos/ --dry-run -o json
    """,
}
