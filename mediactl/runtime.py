"""The run's environment: streams, TTY flags, colour, output mode, verbosity and where files live.

One `Runtime` is built by the root callback (or handed in by a test through the context's `obj`) and read by
every command, so no module looks at `sys.stdout` or the environment on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ProgressFn = Callable[[int], None]  # told each count of bytes sent (negative: taken back for a retry)


def no_progress(_: int) -> None:
    """The progress callback that reports nothing."""
    return None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass
class Runtime:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    stdin_isatty: bool | None = None
    output: str = "table"
    quiet: bool = False
    verbose: int = 0
    no_progress: bool = False
    progress_interval: float = 10.0  # seconds between batch progress lines when stderr is not a TTY
    yes: bool = False
    profile: str = "default"
    profile_explicit: bool = False
    config_dir: Path | None = None
    timeout: float = 30.0
    retries: int = 5
    color: bool | None = None
    redactor: Any = None  # set by the first provider client, so the error boundary redacts with it
    factory: Any = None  # the run's services.Factory, made on first use
    stdout_closed: bool = False  # its reader went away (EPIPE): results are dropped from then on
    spools: list[Path] = field(default_factory=list)  # copies of stdin this run owns (mediactl/spool.py)
    report_file: Path | None = None  # --report / MEDIACTL_REPORT (mediactl/reports.py)
    recorder: Any = None  # the batch's reports.RunRecorder, made by the first item when a report is wanted

    def __post_init__(self) -> None:
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.color is None:
            self.color = not os.environ.get("NO_COLOR") and bool(self.stdout_isatty)

    @property
    def machine_output(self) -> bool:
        return self.output in ("json", "jsonl")

    @property
    def show_progress(self) -> bool:
        return not (self.no_progress or self.quiet)

    @property
    def data_dir(self) -> Path:
        env = os.environ.get("MEDIACTL_DATA_DIR")
        if env:
            return Path(env).expanduser()
        import platformdirs

        return Path(platformdirs.user_data_dir("mediactl", appauthor=False))

    def resolved_config_dir(self) -> Path:
        if self.config_dir is not None:
            return Path(self.config_dir).expanduser()
        env = os.environ.get("MEDIACTL_CONFIG_DIR")
        if env:
            return Path(env).expanduser()
        import platformdirs

        return Path(platformdirs.user_config_dir("mediactl", appauthor=False))

    def warn(self, message: str) -> None:
        self._note(f"warning: {message}")

    def info(self, message: str) -> None:
        """A human note on stderr; silent with -q."""
        if not self.quiet:
            self._note(message)

    def error(self, message: str, hint: str | None = None) -> None:
        """A failure on stderr: `error: ...` and, if any, `hint: ...`."""
        self._note(f"error: {message}")
        if hint:
            self._note(f"hint: {hint}")

    def _note(self, line: str) -> None:
        """One line on stderr; messages quote file names and server text, so they are sanitized."""
        from mediactl.output import sanitize

        self.stderr_line(sanitize(line, one_line=True))

    def stderr_line(self, text: str) -> None:
        """Write a line on stderr; a stderr whose reader went away (`2>&1 | head`) is not a failure."""
        try:
            print(text, file=self.stderr, flush=True)
        except BrokenPipeError:
            to_devnull(self.stderr)


def to_devnull(stream: TextIO) -> None:
    """Point a stream whose pipe broke at /dev/null, so later writes and Python's own flush at exit do not
    fail again (the recipe of Python's signal docs, "Note on SIGPIPE")."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a file descriptor (a test's StringIO): nothing will flush it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def env_defaults() -> dict:
    """Global option defaults taken from the environment (DESIGN.md §1)."""
    out: dict = {}
    if os.environ.get("MEDIACTL_OUTPUT"):
        out["output"] = os.environ["MEDIACTL_OUTPUT"].strip().lower()
    if _env_flag("MEDIACTL_DEBUG"):
        out["verbose"] = 1
    if _env_flag("MEDIACTL_NO_PROGRESS"):
        out["no_progress"] = True
    interval = os.environ.get("MEDIACTL_PROGRESS_INTERVAL", "").strip()
    if interval:
        try:
            out["progress_interval"] = float(interval)
        except ValueError:
            out["progress_interval"] = None  # the root callback reports it as a usage error
        else:
            if out["progress_interval"] < 0:
                out["progress_interval"] = None
    return out


def current() -> Runtime:
    """The Runtime of the command being run (set up by the root callback)."""
    from mediactl.typer_compat import current_context

    ctx = current_context()
    obj = ctx.find_root().obj
    if not isinstance(obj, Runtime):
        obj = Runtime()
        ctx.find_root().obj = obj
    return obj
