"""Rendering results (stdout) and progress (stderr).

Modes (README "Output"): `table` (rich, for people), `json` (one document: an object for `show`, an array for
list/upload/delete), `jsonl` (one object per line, written as soon as it is known), `plain` (tab-separated
rows, no header) and `-q` (the primary value of each result, one per line). Nothing but results goes to
stdout.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO, cast

from mediactl.errors import StdoutClosed
from mediactl.runtime import Runtime, to_devnull
from mediactl.ui.textsafe import printable, sanitize

Column = tuple[str, str]  # (header, dotted path into the result)


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def _cell(value: Any, *, one_line: bool = False) -> str:
    return sanitize(_text(value), one_line=one_line)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _write(rt: Runtime, text: str) -> None:
    """Write results to stdout. When its reader has gone away (EPIPE) stdout is pointed at /dev/null and
    `StdoutClosed` is raised once: a listing stops there (exit 0), a batch carries on (run_batch)."""
    if rt.stdout_closed:
        return
    try:
        rt.stdout.write(printable(text))
        rt.stdout.flush()
    except BrokenPipeError:
        stdout_gone(rt)
        raise StdoutClosed() from None


def stdout_gone(rt: Runtime) -> None:
    """stdout's reader went away: drop every later result (and Python's flush at exit) into /dev/null."""
    rt.stdout_closed = True
    to_devnull(rt.stdout)


# json.dumps escapes C0 controls but, with ensure_ascii=False, writes DEL and C1 (e.g. U+009B, an 8-bit CSI)
# raw; the \\u form is the same JSON value and cannot reach a terminal.
_JSON_RAW_CONTROLS = {code: f"\\u{code:04x}" for code in [0x7F, *range(0x80, 0xA0)]}


def _write_json(rt: Runtime, obj: Any, *, indent: int | None) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    _write(rt, text.translate(_JSON_RAW_CONTROLS) + "\n")


class ResultWriter:
    """Collects the results of one command and renders them per the output mode.

    jsonl, plain and -q rows are written as each result arrives and not kept (a batch of thousands holds
    none of them); json and table keep them for `close()`. Thread-safe, so batch workers may add results
    as they finish.
    """

    def __init__(
        self,
        rt: Runtime,
        columns: Sequence[Column],
        *,
        primary: str = "id",
        title: str | None = None,
        single: bool = False,
        empty_note: str | None = None,
    ) -> None:
        self.rt = rt
        self.empty_note = empty_note
        self.columns = list(columns)
        self.primary = primary
        self.title = title
        self.single = single
        self.items: list[dict] = []
        self._lock = threading.Lock()
        self._closed = False

    def add(self, item: dict) -> None:
        with self._lock:
            rt = self.rt
            if not (rt.quiet or rt.output in ("jsonl", "plain")):
                self.items.append(item)
            if rt.quiet:
                value = dig(item, self.primary)
                if value is not None:
                    _write(rt, f"{_cell(value, one_line=True)}\n")
            elif rt.output == "jsonl":
                _write_json(rt, item, indent=None)
            elif rt.output == "plain":
                _write(rt, "\t".join(_cell(dig(item, path), one_line=True) for _, path in self.columns) + "\n")

    def extend(self, items: Iterable[dict]) -> None:
        for item in items:
            self.add(item)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(StdoutClosed):  # every result is known: nothing left to stop
                self._render()

    def _render(self) -> None:
        rt = self.rt
        if rt.quiet or rt.output in ("jsonl", "plain"):
            return
        if rt.output == "json":
            if self.single:
                _write_json(rt, self.items[0] if self.items else None, indent=2)
            else:
                _write_json(rt, self.items, indent=2)
            return
        if self.single and self.items:
            render_record(rt, self.items[0], title=self.title)
        else:
            render_table(rt, self.columns, self.items, title=self.title, empty_note=self.empty_note)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()  # interrupted: what finished is still worth printing (the error boundary adds none)
        else:
            self.discard()

    def discard(self) -> None:
        """The command failed: render nothing, so stdout holds the error document alone (json) and no
        'no media' note precedes the error. jsonl/plain/-q rows already written stay (they are streams)."""
        with self._lock:
            self._closed = True


class _ResultStream:
    """stdout as a file for rich, writing through `_write` (so a closed pipe is handled in one place)."""

    encoding = "utf-8"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def write(self, text: str) -> int:
        _write(self.rt, text)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return bool(self.rt.stdout_isatty)


def _console(rt: Runtime, stream: Any = None) -> Any:
    from rich.console import Console

    return Console(
        file=stream or cast(TextIO, _ResultStream(rt)),
        no_color=not rt.color,
        force_terminal=bool(rt.color),
        highlight=False,
        soft_wrap=False,
        width=None if rt.stdout_isatty else 200,
    )


def _rich_cell(value: Any):
    """A sanitized cell as rich Text, so brackets in server text are not read as rich markup; newlines are
    shown escaped, so a field stays one field (a long value still folds)."""
    from rich.text import Text

    return Text(_cell(value, one_line=True))


# Columns a table never shortens: what happened to each result is the point of the row.
NEVER_SHORTENED = frozenset({"STATUS", "PHASE", "ACTION", "READY"})
MIN_SHORTENED_WIDTH = 4  # `eb3…`: below that a cell says nothing


def fit_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], available: int) -> list[int]:
    """Column widths (in terminal cells) for a table of `available` cells: each column's natural width,
    then the widest shortenable column (URL, id...) taken down one cell at a time until the table fits.
    Columns in NEVER_SHORTENED keep their width; none goes below MIN_SHORTENED_WIDTH (headers too)."""
    from rich.cells import cell_len

    widths = [max([cell_len(h), *(cell_len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    floor = [w if h in NEVER_SHORTENED else min(w, MIN_SHORTENED_WIDTH) for h, w in zip(headers, widths, strict=True)]
    budget = available - (1 + 3 * len(headers))  # `│ a │ b │`: one edge, then padding and a rule per column
    while sum(widths) > budget:
        shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
        if not shrinkable:
            break  # too many columns for this terminal: rich wraps what is left
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def render_table(rt: Runtime, columns: Sequence[Column], items: Sequence[dict], *, title: str | None,
                 empty_note: str | None = None) -> None:
    """One row per result, one line per row: control characters (newlines too) shown escaped, and the
    table fitted to the terminal's width by shortening its longest columns with `…` (fit_widths)."""
    if not items:
        if empty_note:
            rt.info(empty_note)
        return
    from rich.table import Table
    from rich.text import Text

    headers = [header for header, _ in columns]
    rows = [[_cell(dig(item, path), one_line=True) for _, path in columns] for item in items]
    console = _console(rt)
    widths = fit_widths(headers, rows, console.width)
    table = Table(title=title, show_lines=False, title_justify="left")
    for header, width in zip(headers, widths, strict=True):
        table.add_column(header, width=width, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def render_record(rt: Runtime, item: dict, *, title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in item.items():
        table.add_row(_rich_cell(str(key)), _rich_cell(value))
    _console(rt).print(table)


def emit_one(rt: Runtime, item: dict, *, primary: str = "id", title: str | None = None) -> None:
    """Render one record (`show`): an object in json, one line in jsonl, key/value table for people."""
    if rt.output == "plain" and not rt.quiet:
        for key, value in item.items():
            _write(rt, f"{_cell(key, one_line=True)}\t{_cell(value, one_line=True)}\n")
        return
    with ResultWriter(rt, [], primary=primary, title=title, single=True) as writer:
        writer.add(item)


def render_error(rt: Runtime, error_json: dict | list) -> None:
    """In json/jsonl mode an error also goes to stdout, so a pipeline reading stdout sees it."""
    if rt.machine_output:
        _write_json(rt, error_json, indent=2 if rt.output == "json" else None)


# --- progress -------------------------------------------------------------------------------------------


class Progress:
    """Byte progress for one transfer or a batch, on stderr only; nothing with --no-progress/-q.

    On a TTY: one rich display. For a batch, an overall line (files done/total, bytes, rate, ETA) with the
    files in flight beneath it; for one file, that file's bar.

    Otherwise (CI logs, `2> file`) lines that stay few however many files or percents there are: one per
    finished file (failed files get the batch's `error:` line), a batch line at most every
    `rt.progress_interval` seconds (MEDIACTL_PROGRESS_INTERVAL, default 10), and a line for a file still in
    flight at the same interval (a single large file). Never one line per percent.
    """

    def __init__(self, rt: Runtime, total_files: int = 1, total_bytes: int | None = None) -> None:
        self.rt = rt
        self.enabled = rt.show_progress
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.interval = rt.progress_interval
        self.done_files = 0
        self.done_bytes = 0  # the sizes of the files finished (uploaded, completed)
        self.in_flight: set[FileProgress] = set()
        self.started = time.monotonic()
        self._last_batch_line = self.started
        self._lock = threading.Lock()
        self._rich = None
        self._overall = None
        if self.enabled and rt.stderr_isatty:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=_console(rt, rt.stderr),
                transient=False,
            )
            self._rich.start()
            if total_files > 1:
                self._overall = self._rich.add_task(self._files_text(), total=total_bytes)

    def task(self, name: str, total: int | None) -> FileProgress:
        """Start tracking one transfer; the returned FileProgress is the callback transfer.py calls with
        each chunk size, and says when its file is done."""
        name = sanitize(name, one_line=True)
        task_id = None
        with self._lock:
            if self.enabled and self._rich is not None:
                task_id = self._rich.add_task(name, total=total)
        return FileProgress(self, name, total, task_id)

    # -- called by FileProgress, under no lock -------------------------------------------------------------

    def _advance(self, file: FileProgress, n: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            file.sent += n
            self.in_flight.add(file)
            if not self.enabled:  # silenced while this call waited for the lock
                return
            if self._rich is not None:
                self._rich.update(file.task_id, completed=file.shown())
                if self._overall is not None:
                    self._rich.update(self._overall, completed=self.sent)
                return
            now = time.monotonic()
            if now - file.last_line >= self.interval:
                file.last_line = now
                self._print(file.line(now))
            self._maybe_batch_line(now)

    def _finish(self, file: FileProgress, verb: str | None) -> None:
        """`verb` None: the file failed (its error line is the batch's). A failed or skipped file leaves the
        batch's total; a finished one counts its whole size (even if a lost answer was adopted)."""
        with self._lock:
            self.done_files += 1
            self.in_flight.discard(file)
            if verb in (None, "skipped"):  # what was not sent (skipped, failed) leaves the batch's total
                if self.total_bytes is not None:
                    self.total_bytes = max(self.sent, self.total_bytes - (file.total or 0))
            else:
                self.done_bytes += file.total if file.total is not None else file.shown()
            if not self.enabled:
                return
            if self._rich is not None:
                if self._overall is not None:  # a batch shows the files in flight; a single file keeps its bar
                    if file.task_id is not None:
                        self._rich.remove_task(file.task_id)
                    self._rich.update(self._overall, description=self._files_text(), total=self.total_bytes,
                                      completed=self.sent)
                elif verb is not None and file.task_id is not None and file.total is not None:
                    self._rich.update(file.task_id, completed=file.total)
                return
            if verb is not None:
                size = f" ({human_bytes(file.total)})" if file.total is not None else ""
                counter = f" [{self.done_files}/{self.total_files}]" if self.total_files > 1 else ""
                self._print(f"{verb} {file.name}{size}{counter}")
            self._maybe_batch_line(time.monotonic())

    def _maybe_batch_line(self, now: float) -> None:
        if self.total_files > 1 and now - self._last_batch_line >= self.interval \
                and self.done_files < self.total_files:
            self._last_batch_line = now
            self._print(self.batch_line(now))

    @property
    def sent(self) -> int:
        """The batch's bytes: the whole size of each finished file plus what the files in flight have sent
        (each counted at most once and never beyond its size, however often its requests were retried)."""
        return self.done_bytes + sum(file.shown() for file in self.in_flight)

    def batch_line(self, now: float | None = None) -> str:
        """`batch: 12/50 files, 4.2 MiB of 10.0 MiB, 1.2 MiB/s, ETA 5s`."""
        now = time.monotonic() if now is None else now
        rate = self.sent / max(now - self.started, 1e-6)
        parts = [f"batch: {self._files_text()}"]
        if self.total_bytes is not None:
            parts.append(f"{human_bytes(self.sent)} of {human_bytes(self.total_bytes)}")
        else:
            parts.append(human_bytes(self.sent))
        parts.append(f"{human_bytes(rate)}/s")
        if self.total_bytes is not None and rate > 0:
            parts.append(f"ETA {human_duration(max(0, self.total_bytes - self.sent) / rate)}")
        return ", ".join(parts)

    def _files_text(self) -> str:
        return f"{self.done_files}/{self.total_files} files"

    def _print(self, line: str) -> None:
        self.rt.stderr_line(line)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def silence(self) -> None:
        """No line or bar from here on: an interrupted batch's summary is its last word (engine/batch.py)."""
        with self._lock:
            self.enabled = False
            self.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileProgress:
    """One file's transfer: call it with each chunk size (negative to take bytes back), then `done()`."""

    def __init__(self, progress: Progress, name: str, total: int | None, task_id: Any) -> None:
        self.progress = progress
        self.name = name
        self.total = total
        self.task_id = task_id
        self.sent = 0  # as reported: a failed request's bytes are taken back (negative calls)
        self.started = self.last_line = time.monotonic()
        self.finished = False

    def shown(self) -> int:
        """The bytes to show: what was reported, within 0..size."""
        return max(0, min(self.sent, self.total)) if self.total is not None else max(0, self.sent)

    def __call__(self, n: int) -> None:
        self.progress._advance(self, n)

    def done(self, verb: str = "uploaded") -> None:
        """The file is finished: `uploaded`, `skipped`, `completed`..., one line in logs."""
        if not self.finished:
            self.finished = True
            self.progress._finish(self, verb)

    def failed(self) -> None:
        if not self.finished:
            self.finished = True
            self.progress._finish(self, None)

    def line(self, now: float) -> str:
        """`big.mov: 40% 4.0 MiB/10.0 MiB, 1.0 MiB/s, ETA 6s`."""
        sent = self.shown()
        rate = sent / max(now - self.started, 1e-6)
        if self.total:
            pct = int(sent * 100 / self.total)
            text = f"{self.name}: {pct}% {human_bytes(sent)}/{human_bytes(self.total)}, {human_bytes(rate)}/s"
            if rate > 0:
                text += f", ETA {human_duration(max(0, self.total - sent) / rate)}"
            return text
        return f"{self.name}: {human_bytes(sent)}, {human_bytes(rate)}/s"


def human_duration(seconds: float) -> str:
    """`0.4s`, `45s`, `3m05s`, `1h02m`."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
