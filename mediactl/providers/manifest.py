"""`--files-from FILE` / `--files-from0 FILE`: the files of a batch read from a list (a manifest), as rclone's
--files-from and `find -print0 | xargs -0` do.

Newline-separated lists ignore blank lines and `#` comments and accept CRLF line ends; NUL-separated lists
(`find -print0`) take every name as it is, newlines and leading `#` included. `-` reads stdin. Relative
paths resolve against the current directory. Names are read as bytes and decoded as the file system does,
so any name the OS allows comes through.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from mediactl.errors import LocalError, UsageError
from mediactl.runtime import Runtime


def read_manifest(rt: Runtime, source: str, *, null: bool = False) -> list[str]:
    """The paths listed in `source` (a file, or `-` for stdin)."""
    try:
        if source == "-":
            stream = getattr(rt.stdin, "buffer", None) or sys.stdin.buffer
            data = stream.read()
        else:
            with open(source, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise LocalError(f"--files-from {source}: {exc.strerror or exc}") from None
    return parse_manifest(data, null=null)


def parse_manifest(data: bytes, *, null: bool = False) -> list[str]:
    paths = []
    if null:
        entries = data.split(b"\0")
    else:
        entries = [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")]
    for raw in entries:
        if not null and (not raw.strip() or raw.lstrip().startswith(b"#")):
            continue
        if not raw:
            continue
        path = os.fsdecode(raw)
        # a listed "-" is a file of that name, not stdin
        paths.append(os.path.join(".", path) if path == "-" else path)
    return paths


def batch_paths(rt: Runtime, files: Sequence[str] | None, *, files_from: str | None = None,
                files_from0: str | None = None, null: bool = False) -> list[str]:
    """The positional paths followed by those of --files-from/--files-from0; a usage error if there are none.

    `null` (`--null`) makes --files-from NUL-separated, as `tar --null -T` does.
    """
    paths = list(files or [])
    sources = [("--files-from", files_from, null), ("--files-from0", files_from0, True)]
    if sum(1 for _, source, _ in sources if source == "-") + (1 if "-" in paths else 0) > 1:
        raise UsageError("stdin can be read once: give '-' to one of FILES, --files-from and --files-from0")
    if null and files_from is None:
        raise UsageError("--null applies to --files-from", hint="or use --files-from0 FILE")
    empty = []
    for option, source, nul in sources:
        if source is not None:
            listed = read_manifest(rt, source, null=nul)
            if not listed:
                empty.append(f"{option} {source}")
            paths.extend(listed)
    for which in empty if paths else ():
        rt.warn(f"{which} lists no files")
    if not paths:
        if files_from is None and files_from0 is None:
            raise UsageError("no files given", hint="pass FILES, or --files-from FILE ('-' for stdin)")
        nothing_to_upload(rt)
    return paths


def nothing_to_upload(rt: Runtime) -> None:
    """An empty list is not a failure (`git diff --name-only > changed.txt` when nothing changed, as the
    README's CI pattern does): a note, the empty result (`[]` in json), exit 0."""
    import typer

    from mediactl.output import ResultWriter

    rt.info("nothing to upload: the --files-from list is empty")
    with ResultWriter(rt, [("PATH", "local.path")], primary="local.path"):
        pass
    raise typer.Exit(0)
