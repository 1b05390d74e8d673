"""The items of a batch: the command line's paths and `--files-from` manifests expanded into files
(directory walks, include/exclude globs, links, the same file named twice, stdin and pipes spooled), each
file's content type and its size check.

Manifests (`--files-from FILE` / `--files-from0 FILE`), as rclone's --files-from and `find -print0 | xargs -0`
do: newline-separated lists ignore blank lines and `#` comments and accept CRLF line ends; NUL-separated lists
(`find -print0`) take every name as it is, newlines and leading `#` included. `-` reads stdin. Relative
paths resolve against the current directory. Names are read as bytes and decoded as the file system does,
so any name the OS allows comes through.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mediactl.errors import LocalError, MediactlError, UsageError
from mediactl.ui.textsafe import printable

if TYPE_CHECKING:
    from mediactl.config import Settings
    from mediactl.runtime import Runtime


def guess_type(name: str, path: Path | None = None) -> str:
    """Content type from the name, else from the first bytes, else application/octet-stream."""
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed
    if path is not None:
        from mediactl.transfer.files import open_for_upload

        try:
            with open_for_upload(path) as fh:  # non-blocking: a FIFO swapped in cannot hang it
                head = fh.read(16)
        except (OSError, LocalError):
            head = b""
        for magic, ctype in ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                             (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"),
                             (b"PK\x03\x04", "application/zip"), (b"ID3", "audio/mpeg"),
                             (b"OggS", "audio/ogg"), (b"\x1aE\xdf\xa3", "video/webm")):
            if head.startswith(magic):
                return ctype
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if head[4:8] == b"ftyp":
            return "video/mp4"
    return "application/octet-stream"


def display_name(path: Path) -> str:
    """The file's base name as text; undecodable bytes become U+FFFD rather than breaking JSON or HTTP."""
    return printable(path.name)


@dataclass
class Item:
    """One file of a batch: where it is and the name it is uploaded under."""

    path: Path
    name: str
    spooled: bool = False  # a copy of stdin or of a pipe (mediactl/spool.py)
    given: str | None = None  # what the command line or manifest said (`path` is absolute, or a spooled copy)
    problem: str | None = None  # why it cannot be sent (missing, a directory -r could not list): it fails alone


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    base = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(base, p) for p in patterns)


def _kind(mode: int) -> str:
    from mediactl.transfer.files import special_kind

    return special_kind(mode)


_STDIN = Path("-")  # the path of an item read from stdin, until it is spooled (compared by identity)


def _anonymous_pipe(path: Path) -> bool:
    """`<(cmd)`, `/dev/stdin` on a pipe: /proc shows them as `pipe:[inode]`, a name that means nothing."""
    return os.path.realpath(path).rsplit("/", 1)[-1].startswith(("pipe:", "socket:", "anon_inode:"))


def collect_items(rt: Runtime, paths: Sequence[str], *, recursive: bool = False,
                  include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                  name: str | None = None, check_name: Callable[[str], None] | None = None) -> list[Item]:
    """Expand the command line into files.

    - `-`, and a pipe or FIFO given by name (`<(cmd)`, `/dev/stdin`, `mkfifo`), are spooled to a file
      (every provider needs a length): after `check_name` has accepted every name, so a refused name
      costs no copy.
    - Symbolic links given on the command line are followed. Inside a directory (`-r`), links to files
      are followed and uploaded under the link's name; links to directories are not descended and
      broken links are skipped, each with a warning. Special files found by `-r` (FIFOs, sockets,
      devices) are skipped with a warning, as rclone does; given by name, only a pipe or FIFO is read.
    - The same file named twice (`a.png ./a.png`, or a link to it) is uploaded once, with a note.
    - A path that does not exist (or cannot be stat'ed) is an item with a `problem`: it fails alone, in the
      dry run as in the real run (engine/plan.py), and the rest are sent.
    """
    include, exclude = list(include or []), list(exclude or [])
    if not paths:
        raise UsageError("no files given")
    if name is not None and (len(paths) > 1 or recursive):
        raise UsageError("--name applies to a single file")
    if name is not None:
        check_name_option(name)
    items: list[Item] = []
    for raw in paths:
        if raw == "-":
            if name is None:
                raise UsageError("reading stdin ('-') needs --name NAME")
            items.append(Item(_STDIN, name, spooled=True, given="stdin"))
            continue
        path = Path(raw)
        try:
            mode = path.stat().st_mode
        except OSError as exc:  # it fails alone, and the rest are sent (README "Reliability")
            why = exc.strerror or str(exc)
            if isinstance(exc, FileNotFoundError):
                why = "no such file" + (" (a broken symbolic link)" if path.is_symlink() else "")
            items.append(Item(path.absolute(), name or display_name(path), given=raw, problem=why))
            continue
        if stat.S_ISDIR(mode):
            if not recursive:
                raise LocalError(f"{raw} is a directory", hint="pass -r/--recursive to upload the files in it")
            items.extend(_walk(rt, path, include, exclude))
            continue
        if stat.S_ISFIFO(mode):
            if name is None and _anonymous_pipe(path):
                raise UsageError(f"{raw} is a pipe without a name of its own; pass --name NAME")
            items.append(Item(path, name or display_name(path), spooled=True, given=raw))
            continue
        if not stat.S_ISREG(mode):
            raise LocalError(f"{raw}: a {_kind(mode)}, not a regular file or a pipe; not uploaded")
        if (include and not _matches(path.name, include)) or (exclude and _matches(path.name, exclude)):
            continue
        items.append(Item(path.absolute(), name or display_name(path), given=raw))
    items = _once_per_file(rt, items)
    if not items:
        raise LocalError("no files matched")
    if check_name is not None:
        for item in items:
            if item.problem is None:
                try:
                    check_name(item.name)
                except MediactlError as exc:  # a failure of this item: json shows it as an element, with "item"
                    exc.item = item.given or str(item.path)  # type: ignore[attr-defined]
                    raise
    for item in items:
        if item.spooled:
            item.path = _spool(rt, item)
    return items


def check_name_option(name: str) -> None:
    """`--name` is a file name, never a path: `/`, `\\`, control characters, `.` and `..` are refused (exit 2)."""
    why = None
    if not name:
        why = "is empty"
    elif name in (".", ".."):
        why = f"cannot be '{name}'"
    elif "/" in name or "\\" in name:
        why = "must be a file name, without '/' or '\\'"
    elif any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        why = "must not hold control characters"
    if why is not None:
        raise UsageError(f"--name {why}: {printable(name)!r}", hint="pass the name the file gets, e.g. --name logo.png")


def _walk(rt: Runtime, top: Path, include: list[str], exclude: list[str]) -> list[Item]:
    found = []

    def unlisted(exc: OSError) -> None:
        """A directory -r cannot list: warned about, and an item of the batch that fails (exit 8 or 3)."""
        where = Path(exc.filename or top)
        why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        rt.warn(f"cannot list {where}: {why}; its files are not uploaded")
        found.append(Item(where.absolute(), display_name(where), problem=f"cannot list the directory: {why}"))

    for root, dirs, files in os.walk(top, onerror=unlisted):
        dirs.sort()
        for linked in [d for d in dirs if (Path(root) / d).is_symlink()]:
            target = os.readlink(Path(root) / linked)  # named: `/nonexistent` may well be a directory here
            rt.warn(f"skipping {Path(root) / linked}: a symbolic link to a directory ({printable(target)}; links "
                    "found by -r are followed only to files)")
            dirs.remove(linked)
        for file in sorted(files):
            full = Path(root) / file
            rel = full.relative_to(top).as_posix()
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            try:
                mode = full.stat().st_mode
            except OSError:
                rt.warn(f"skipping {full}: a broken symbolic link" if full.is_symlink() else
                        f"skipping {full}: cannot read it")
                continue
            if not stat.S_ISREG(mode):
                rt.warn(f"skipping {full}: a {_kind(mode)}, not a regular file")
                continue
            found.append(Item(full.absolute(), display_name(full)))
    return found


def _once_per_file(rt: Runtime, items: list[Item]) -> list[Item]:
    """One upload per real file, however many times (or through which links) it was named."""
    seen: dict[str, Item] = {}
    kept = []
    for item in items:
        if item.spooled:
            kept.append(item)
            continue
        real = os.path.realpath(item.path)
        if real in seen:
            rt.info(f"note: {item.path} is the same file as {seen[real].path}; uploading it once")
            continue
        seen[real] = item
        kept.append(item)
    return kept


def _spool(rt: Runtime, item: Item) -> Path:
    from mediactl.spool import spool

    if item.path is _STDIN:
        return spool(rt, getattr(rt.stdin, "buffer", None) or sys.stdin.buffer, item.name)
    try:
        with open(item.path, "rb") as source:
            return spool(rt, source, item.name)
    except OSError as exc:
        raise LocalError(f"{item.given}: cannot read: {exc.strerror or exc}") from None


def check_size(rt: Runtime, settings: Settings, provider: str, item: Item) -> int:
    """The file's size, refused over max_size. Messages leave out the path: the batch names the item."""
    from mediactl.config import SIZE_EXAMPLES, parse_size

    if item.problem:
        raise LocalError(item.problem, provider=provider)
    try:
        st = item.path.stat()
    except FileNotFoundError:
        raise LocalError("no such file", provider=provider) from None
    except OSError as exc:
        raise LocalError(exc.strerror or str(exc), provider=provider) from None
    if not os.access(item.path, os.R_OK):
        raise LocalError("permission denied (cannot read the file)", provider=provider)
    limit = settings.value(provider, "max_size")
    if limit:
        max_size = parse_size(limit)
        if max_size is None:
            raise LocalError(f"{provider}.max_size must be {SIZE_EXAMPLES}, not '{limit}'", provider=provider)
        if st.st_size > max_size:
            raise LocalError(f"{st.st_size} bytes is over {provider}.max_size ({limit} = {max_size} bytes)",
                             provider=provider)
    return st.st_size


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
    """The positional paths followed by those of --files-from/--files-from0; a usage error if there are none,
    and empty when the lists given are empty (the caller says `nothing_to_upload`).

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
        return []  # the lists are empty: nothing_to_upload
    return paths


def nothing_to_upload(rt: Runtime) -> None:
    """What an upload whose --files-from lists are empty prints: it is not a failure (`git diff --name-only >
    changed.txt` when nothing changed, as the README's CI pattern does): a note and the empty result (`[]` in
    json); the command then exits 0."""
    from mediactl.output import ResultWriter

    rt.info("nothing to upload: the --files-from list is empty")
    with ResultWriter(rt, [("PATH", "local.path")], primary="local.path"):
        pass
