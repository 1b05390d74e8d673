"""What every provider's commands share: picking the files of a batch, running a batch concurrently, and
the exit code of a batch."""

from __future__ import annotations

import contextlib
import fnmatch
import mimetypes
import os
import queue
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from mediactl.config import Settings
from mediactl.errors import ExitCode, LocalError, MediactlError, StdoutClosed, TransientError, UsageError
from mediactl.runtime import Runtime


def guess_type(name: str, path: Path | None = None) -> str:
    """Content type from the name, else from the first bytes, else application/octet-stream."""
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed
    if path is not None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError:
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
    from mediactl.output import printable

    return printable(path.name)


@dataclass
class Item:
    """One file of a batch: where it is and the name it is uploaded under."""

    path: Path
    name: str
    spooled: bool = False  # a copy of stdin or of a pipe (mediactl/spool.py)
    given: str | None = None  # what the command line said, when `path` is not it (a spooled pipe)


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    base = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(base, p) for p in patterns)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


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
    """
    include, exclude = list(include or []), list(exclude or [])
    if not paths:
        raise UsageError("no files given")
    if name is not None and (len(paths) > 1 or recursive):
        raise UsageError("--name applies to a single file")
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
        except FileNotFoundError:
            broken = " (a broken symbolic link)" if path.is_symlink() else ""
            raise LocalError(f"{raw}: no such file{broken}") from None
        except OSError as exc:
            raise LocalError(f"{raw}: {exc.strerror or exc}") from None
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
        items.append(Item(path.absolute(), name or display_name(path)))
    items = _once_per_file(rt, items)
    if not items:
        raise LocalError("no files matched")
    if check_name is not None:
        for item in items:
            check_name(item.name)
    for item in items:
        if item.spooled:
            item.path = _spool(rt, item)
    return items


def _walk(rt: Runtime, top: Path, include: list[str], exclude: list[str]) -> list[Item]:
    found = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for linked in [d for d in dirs if (Path(root) / d).is_symlink()]:
            rt.warn(f"skipping {Path(root) / linked}: a symbolic link to a directory (links found by -r are "
                    "followed only to files)")
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

    try:
        st = item.path.stat()
    except FileNotFoundError:
        raise LocalError("no such file") from None
    except OSError as exc:
        raise LocalError(exc.strerror or str(exc)) from None
    if not os.access(item.path, os.R_OK):
        raise LocalError("permission denied (cannot read the file)")
    limit = settings.value(provider, "max_size")
    if limit:
        max_size = parse_size(limit)
        if max_size is None:
            raise LocalError(f"{provider}.max_size must be {SIZE_EXAMPLES}, not '{limit}'")
        if st.st_size > max_size:
            raise LocalError(f"{st.st_size} bytes is over {provider}.max_size ({limit} = {max_size} bytes)")
    return st.st_size


@dataclass
class Outcome:
    item: Any
    result: dict | None = None
    error: MediactlError | None = None


def second_pass_worthy(error: MediactlError) -> bool:
    """A failure that one more pass at the end of the batch may fix: transient, and the host still up."""
    return error.code == ExitCode.TRANSIENT and not error.host_down


def run_batch(rt: Runtime, items: Sequence[Any], worker: Callable[[Any], dict], *, concurrency: int,
              on_result: Callable[[dict], None], describe: Callable[[Any], str] = str,
              journal=None, defer: Callable[[MediactlError], bool] | None = None) -> list[Outcome]:
    """Run `worker` on each item (in parallel up to `concurrency`), reporting results as they finish.

    A failed item is reported (stderr, and stdout in json/jsonl) and does not stop the batch, unless its
    host is down: then no new item starts and the rest are reported as not started. A failure `defer`
    accepts is kept in the outcomes unreported, for the caller's second pass. Ctrl-C stops starting new
    items, marks the in-flight ones interrupted in the journal, prints a summary and exits 130 (through
    the error boundary); a second Ctrl-C exits at once. A bug in one worker stops the batch once the
    others have finished their items.
    """
    from mediactl import reports

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    command = _command_path() if reports.wanted(rt.report_file, os.environ) else ""
    stopping = threading.Event()  # set on Ctrl-C, a bug or a host that is down: workers take no new item
    down: list[MediactlError] = []

    def emit(result: dict) -> None:
        _emit(on_result, result)

    def finish(item: Any, result: dict | None, error: MediactlError | None) -> None:
        with lock:
            outcomes.append(Outcome(item, result, error))
            if command:  # --report / GitHub Actions: every item's outcome (mediactl/reports.py)
                reports.record(rt, id(item), describe(item), result, error, command=command,
                               file=os.fsdecode(item.path) if isinstance(item, Item) else None)
            if result is not None:
                emit(result)
            if error is not None and error.host_down:
                down.append(error)
                stopping.set()
            if error is not None and not (defer and defer(error)):
                report_failure(rt, describe(item), error, emit, hint=len(items) == 1)

    bugs: list[BaseException] = []

    def call(item: Any) -> None:
        try:
            finish(item, worker(item), None)
        except MediactlError as exc:
            finish(item, None, exc)

    try:
        if concurrency <= 1 or len(items) <= 1:
            for item in items:
                if stopping.is_set():
                    break
                call(item)
        else:
            _run_threads(items, call, concurrency, stopping, bugs)
        if bugs:
            raise bugs[0]
    except KeyboardInterrupt:
        stopping.set()
        _interrupted(rt, outcomes, len(items), journal)
        raise
    if down:
        started = {id(o.item) for o in outcomes}
        skipped = [item for item in items if id(item) not in started]
        for item in skipped:
            error = TransientError("not started: the host is down", provider=down[0].provider)
            error.host_down = True
            outcomes.append(Outcome(item, None, error))
            if command:
                reports.record(rt, id(item), describe(item), None, error, command=command)
            if rt.machine_output:  # every item has its line in the JSON, not started ones too
                emit(_error_line(describe(item), error))
        if skipped:
            rt.error(f"{len(skipped)} not started: {down[0].message}")
    return outcomes


def _command_path() -> str:
    from mediactl.typer_compat import current_context

    try:
        return current_context().command_path
    except RuntimeError:  # called outside a command (a test driving the runner directly)
        return "mediactl batch"


def _run_threads(items: Sequence[Any], call: Callable[[Any], None], concurrency: int, stopping: threading.Event,
                 bugs: list[BaseException]) -> None:
    """Workers on daemon threads (on Ctrl-C the process may exit without waiting for in-flight transfers);
    the main thread waits in short steps so Ctrl-C reaches it at once."""
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)

    def work() -> None:
        while not stopping.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                call(item)
            except BaseException as exc:  # a bug: stop the batch; surface it in the main thread
                bugs.append(exc)
                stopping.set()
                return

    threads = [threading.Thread(target=work, name=f"upload-{n}", daemon=True)
               for n in range(min(concurrency, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def _emit(on_result: Callable[[dict], None], result: dict) -> None:
    """Hand one result to the output. A reader of stdout that went away (`| head -n1`) stops nothing: the
    items' work goes on, each is journalled, and the exit code says how they went."""
    with contextlib.suppress(StdoutClosed):
        on_result(result)


def _error_line(what: str, error: MediactlError) -> dict:
    """An item's failure as it appears among the results in json/jsonl (the contract's error object)."""
    body = error.to_json()
    body["error"]["item"] = what
    return body


def report_failure(rt: Runtime, what: str, error: MediactlError, on_result: Callable[[dict], None], *,
                   hint: bool = False) -> None:
    """One item's failure: on stderr, and (the contract) also on stdout in json/jsonl."""
    if rt.machine_output:
        _emit(on_result, _error_line(what, error))
    message = error.message if error.message.startswith(f"{what}:") else f"{what}: {error.message}"
    rt.error(message, error.hint if hint else None)


def _interrupted(rt: Runtime, outcomes: list[Outcome], total: int, journal) -> None:
    """First Ctrl-C: record in-flight uploads as interrupted, summarize; a second Ctrl-C exits at once."""
    import signal

    from mediactl.spool import remove_all

    signal.signal(signal.SIGINT, lambda *_: (remove_all(rt), os._exit(int(ExitCode.INTERRUPTED))))
    marked = journal.interrupt_in_flight() if journal is not None else 0
    done = sum(1 for o in outcomes if o.error is None)
    failed = len(outcomes) - done
    print(f"interrupted: {done} of {total} finished, {failed} failed, {marked} in flight (what reached the server "
          f"is recorded), {max(0, total - len(outcomes) - marked)} not started", file=rt.stderr, flush=True)
    if journal is not None:
        print("hint: `mediactl resume` checks with the provider what landed and finishes the rest",
              file=rt.stderr, flush=True)


def batch_exit(outcomes: Iterable[Outcome]) -> None:
    """0 when all succeeded, 8 when some failed, the failure's own code when all failed."""
    outcomes = list(outcomes)
    failed = [o for o in outcomes if o.error is not None]
    if not failed:
        return
    if len(failed) < len(outcomes):
        raise typer.Exit(int(ExitCode.PARTIAL))
    codes = {int(o.error.code) for o in failed}
    raise typer.Exit(codes.pop() if len(codes) == 1 else int(failed[0].error.code))


def _second_pass(rt: Runtime, provider: str, journal, entries: dict[int, str], outcomes: list[Outcome], *,
                 concurrency: int, on_result: Callable[[dict], None], describe: Callable[[Any], str]) -> list[Outcome]:
    """One more pass, at the end of the batch, for the items that failed transiently (like rclone's
    high-level retries): each goes through its provider's resume hook, which asks the provider what
    landed before sending anything again."""
    from mediactl import services
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load

    again = [o for o in outcomes if o.error is not None and second_pass_worthy(o.error)]
    if not again or any(o.error is not None and o.error.host_down for o in outcomes):
        if again:  # the host is down: no second pass; report what the first one deferred
            for o in again:
                report_failure(rt, describe(o.item), o.error, on_result)
        return outcomes
    rt.info(f"{len(again)} failed transiently; one more pass, checking first what reached the server")
    finish, service = load(PROVIDERS[provider].resume), services.current().service(provider)
    second = run_batch(rt, [o.item for o in again],
                       lambda item: finish(service, journal.get(provider, entries[id(item)])),
                       concurrency=concurrency, on_result=on_result, describe=describe, journal=journal)
    retried = {id(o.item) for o in again}
    return [o for o in outcomes if id(o.item) not in retried] + second


def confirm_delete(rt: Runtime, what: str) -> None:
    """Ask before deleting; without a TTY (or in JSON mode) and without --yes, refuse with exit 2."""
    if rt.yes:
        return
    if not rt.stdin_isatty or rt.machine_output:
        raise UsageError(f"refusing to delete {what} without confirmation", hint="pass --yes (-y)")
    answer = typer.prompt(f"Delete {what}? [y/N]", default="", show_default=False, err=True)
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not deleted")


def _existence_check(provider: str) -> Callable[[dict, Any], bool | None] | None:
    """The provider's `exists` hook bound to its service (built here, on the command's thread), or None
    when the provider has none."""
    from mediactl import services
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load

    try:
        hook = load(PROVIDERS[provider].exists)
    except (ImportError, AttributeError):
        return None
    service = services.current().service(provider)
    return lambda entry, digests: hook(service, entry, digests)


def upload_batch(rt: Runtime, settings: Settings, provider: str, items: Sequence[Item], *, target: str,
                 journal, upload: Callable[..., dict], columns, concurrency: int,
                 skip_existing: bool = False, precheck: Callable[..., dict | None] | None = None,
                 primary: str = "url", validate: Callable[[Item], None] | None = None,
                 dry_run: bool = False) -> None:
    """The shared shape of every provider's `upload`: size checks, --skip-existing against the journal,
    progress, results streamed to the output as they finish, one more pass for what failed transiently,
    a summary, and the batch exit code.

    `upload(item, size=..., sha256=..., progress=...)` does one file; with --skip-existing,
    `precheck(item, size, digests)` may answer for a file without uploading it (e.g. a provider-side
    dedupe check), given the hashes already computed for the journal check. `validate(item)` is the
    provider's own check of a name or document, run on every item before anything is sent. `dry_run`
    prints the plan instead (mediactl/providers/dryrun.py).
    """
    from mediactl.output import Progress, ResultWriter
    from mediactl.transfer.files import file_digests, local_info

    if dry_run:
        from mediactl.providers.dryrun import plan_upload

        plan_upload(rt, settings, provider, items, target=target, journal=journal, skip_existing=skip_existing,
                    precheck=precheck, validate=validate)
        return
    for item in items if validate is not None else ():
        try:
            validate(item)
        except MediactlError as exc:
            if len(items) > 1:  # say which file, and what fits a batch
                exc.message = f"{item.given or item.path}: {exc.message} (nothing was sent)"
                exc.hint = "leave it out with --exclude, or rename it"
            raise
    started = time.monotonic()
    still_there = _existence_check(provider) if skip_existing else None
    unconfirmed: list[Item] = []
    # Register every file first: an interrupted batch then leaves a record of what never started too.
    entries = {id(item): journal.register(provider=provider, profile=rt.profile, target=target, path=item.path,
                                          name=item.name) for item in items}
    sizes = {id(item): _stat_size(item.path) for item in items}
    total_bytes = sum(size or 0 for size in sizes.values())
    with ResultWriter(rt, columns, primary=primary) as out, Progress(rt, len(items), total_bytes) as progress:
        def one(item: Item) -> dict:
            file_progress = progress.task(item.name, sizes[id(item)])
            try:
                return upload_one(item, file_progress)
            except MediactlError:
                file_progress.failed()
                raise

        def upload_one(item: Item, file_progress) -> dict:
            entry = entries[id(item)]
            try:
                size = check_size(rt, settings, provider, item)
            except MediactlError as exc:
                journal.update(entry, phase="failed", error=exc.message)
                raise
            sha = None
            answered = None
            if skip_existing:
                digests = file_digests(item.path)  # one read serves the journal and the provider check
                sha = digests.sha256
                earlier = journal.completed_with(provider, target, sha)
                while earlier is not None:  # the journal is a cache: confirm with the provider where it can answer
                    there = still_there(earlier, digests) if still_there else None
                    if there is not False:
                        if there is None:
                            unconfirmed.append(item)
                        break
                    journal.update(earlier["id"], phase="deleted", note="gone from the provider (--skip-existing)")
                    earlier = journal.completed_with(provider, target, sha)
                if earlier is not None:
                    answered = {**earlier["result"], "local": local_info(item.path, size, sha), "skipped": True}
                elif precheck is not None:
                    answered = precheck(item, size, digests)
            if answered is not None:
                journal.delete(entry)
                file_progress.done("skipped")
                return answered
            result = upload(item, size=size, sha256=sha, progress=file_progress, entry=entry)
            file_progress.done()
            return result

        def describe(item: Item) -> str:
            return item.given or str(item.path)

        outcomes = run_batch(rt, items, one, concurrency=concurrency, on_result=out.add, describe=describe,
                             journal=journal, defer=second_pass_worthy)
        outcomes = _second_pass(rt, provider, journal, entries, outcomes, concurrency=concurrency,
                                on_result=out.add, describe=describe)
    if unconfirmed:
        from mediactl.registry import PROVIDERS

        rt.info(f"note: {len(unconfirmed)} file(s) skipped on the journal's word alone: "
                f"{PROVIDERS[provider].title} cannot be asked whether an upload is still there")
    _summarize(rt, provider, journal, entries, outcomes, time.monotonic() - started)
    batch_exit(outcomes)  # spooled stdin is removed by the error boundary, on every way out


def _summarize(rt: Runtime, provider: str, journal, entries: dict[int, str], outcomes: list[Outcome],
               elapsed: float) -> None:
    """The end-of-batch summary, for batches and for a single upload with something to tell (a lost answer
    adopted, a record left without bytes)."""
    from mediactl.providers.summary import print_summary, summarize

    rows = {key: journal.get(provider, entry) for key, entry in entries.items()}
    summary = summarize(provider, outcomes, rows, elapsed)
    if len(outcomes) > 1 or summary.adopted or summary.orphans:
        print_summary(rt, summary)


def _stat_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
