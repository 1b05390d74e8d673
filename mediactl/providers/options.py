"""Command-line options every provider's `upload` shares (mediactl/verbs/upload.py), kept apart from the
engine so that importing them for --help and completion costs nothing."""

from typing import Annotated

import typer

# Options shared by every provider's `upload` (issue: batch uploads).
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Upload the files inside directories.")]
Include = Annotated[list[str] | None, typer.Option(
    "--include", metavar="GLOB", help="Only files whose name or relative path matches this glob (repeatable).")]
Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", help="Skip files whose name or relative path matches this glob (repeatable).")]
Concurrency = Annotated[int, typer.Option(
    "--concurrency", "-j", min=1, max=64, metavar="N", help="Uploads in parallel.")]
SkipExisting = Annotated[bool, typer.Option(
    "--skip-existing", help="Skip files already uploaded (same SHA-256) to the same provider and target.")]
Files = Annotated[list[str] | None, typer.Argument(
    help="Files to upload; directories with -r; '-' reads stdin (needs --name). Optional with --files-from.",
    show_default=False)]
FilesFrom = Annotated[str | None, typer.Option(
    "--files-from", metavar="FILE",
    help="Also upload the paths listed in FILE, one per line ('-': stdin); blank lines and # comments ignored.")]
FilesFrom0 = Annotated[str | None, typer.Option(
    "--files-from0", metavar="FILE", help="Like --files-from, NUL-separated (find -print0).")]
Null = Annotated[bool, typer.Option("--null", help="--files-from's list is NUL-separated (as tar --null).")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Print what would be done, item by item, with totals; send and record nothing.")]
