"""The run as every layer sees it: its streams (`IOStreams`), its global options (`GlobalOptions`), its
environment mapping, and `Runtime`, which holds the three with the stderr helpers. A leaf: it imports only
mediactl/ui/textsafe.py, so the HTTP client, the config, the journal and the renderers can all take one.

The root callback builds a `mediactl.app.context.AppContext` (a Runtime with the run's settings, journal and
services) once per run; a test builds either with its own streams and environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Generic, TextIO, TypeVar, overload

from mediactl.ui.textsafe import sanitize

T = TypeVar("T")
ProgressFn = Callable[[int], None]  # told each count of bytes sent (negative: taken back for a retry)


def no_progress(_: int) -> None:
    """The progress callback that reports nothing."""
    return None


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass
class IOStreams:
    """The run's three standard streams and what is known about them."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    stdin_isatty: bool | None = None
    color: bool | None = None
    stdout_closed: bool = False  # its reader went away (EPIPE): results are dropped from then on

    def fill_in(self, env: Mapping[str, str]) -> None:
        """Ask the streams what was not given (a test gives its StringIO's answers)."""
        if self.stdout_isatty is None:
            self.stdout_isatty = isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = isatty(self.stderr)
        if self.stdin_isatty is None:
            self.stdin_isatty = isatty(self.stdin)
        if self.color is None:
            self.color = not env.get("NO_COLOR") and bool(self.stdout_isatty)


@dataclass
class GlobalOptions:
    """The global options' values for one run (declared once, in mediactl/app/options.py)."""

    output: Any = "table"  # None only between parsing and the root callback's default (table or plain)
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
    report: Path | None = None  # --report FILE (mediactl/reports.py)


class _Part(Generic[T]):
    """An attribute of the context kept in one of its parts (`ctx.stdout` is `ctx.streams.stdout`)."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _Part[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> T | _Part[T]:
        if obj is None:
            return self
        value: T = getattr(getattr(obj, self.part), self.name)
        return value

    def __set__(self, obj: object, value: T) -> None:
        setattr(getattr(obj, self.part), self.name, value)


_STREAM_FIELDS = {f.name for f in fields(IOStreams)}
_OPTION_FIELDS = {f.name for f in fields(GlobalOptions)}


class Runtime:
    """The run's streams, global options and environment: what every layer may read about the run.

    `mediactl.app.context.AppContext` adds the dependencies built from them (settings, journal, services).
    """

    stdout: _Part[TextIO] = _Part("streams")
    stderr: _Part[TextIO] = _Part("streams")
    stdin: _Part[TextIO] = _Part("streams")
    stdout_isatty: _Part[bool | None] = _Part("streams")
    stderr_isatty: _Part[bool | None] = _Part("streams")
    stdin_isatty: _Part[bool | None] = _Part("streams")
    color: _Part[bool | None] = _Part("streams")
    stdout_closed: _Part[bool] = _Part("streams")
    output: _Part[str] = _Part("options")
    quiet: _Part[bool] = _Part("options")
    verbose: _Part[int] = _Part("options")
    no_progress: _Part[bool] = _Part("options")
    progress_interval: _Part[float] = _Part("options")
    yes: _Part[bool] = _Part("options")
    profile: _Part[str] = _Part("options")
    profile_explicit: _Part[bool] = _Part("options")
    config_dir: _Part[Path | None] = _Part("options")
    timeout: _Part[float] = _Part("options")
    retries: _Part[int] = _Part("options")

    def __init__(self, streams: IOStreams | None = None, options: GlobalOptions | None = None,
                 env: Mapping[str, str] | None = None, **flat: Any) -> None:
        """`Runtime(streams, options, env)`; a test may also name single fields (`stdout=`, `verbose=`)."""
        unknown = set(flat) - _STREAM_FIELDS - _OPTION_FIELDS
        if unknown:
            raise TypeError(f"Runtime got unknown fields {sorted(unknown)}")
        self.streams = streams or IOStreams(**{k: v for k, v in flat.items() if k in _STREAM_FIELDS})
        self.options = options or GlobalOptions(**{k: v for k, v in flat.items() if k in _OPTION_FIELDS})
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.streams.fill_in(self.env)
        self.redactor: Any = None  # a mediactl.http.Redactor, set by the first client; the error boundary uses it
        self.spools: list[Path] = []  # copies of stdin this run owns (mediactl/spool.py)
        self.recorder: Any = None  # the batch's reports.RunRecorder, when a report is wanted

    # -- what the options mean ------------------------------------------------------------------------

    @property
    def machine_output(self) -> bool:
        return self.options.output in ("json", "jsonl")

    @property
    def show_progress(self) -> bool:
        return not (self.options.no_progress or self.options.quiet)

    @property
    def data_dir(self) -> Path:
        return data_dir(self.env)

    def resolved_config_dir(self) -> Path:
        if self.options.config_dir is not None:
            return Path(self.options.config_dir).expanduser()
        return config_dir(self.env)

    # -- stderr ---------------------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        self._note(f"warning: {message}")

    def info(self, message: str) -> None:
        """A human note on stderr; silent with -q."""
        if not self.options.quiet:
            self._note(message)

    def error(self, message: str, hint: str | None = None) -> None:
        """A failure on stderr: `error: ...` and, if any, `hint: ...`."""
        self._note(f"error: {message}")
        if hint:
            self._note(f"hint: {hint}")

    def _note(self, line: str) -> None:
        """One line on stderr; messages quote file names and server text, so they are sanitized."""
        self.stderr_line(sanitize(line, one_line=True))

    def stderr_line(self, text: str) -> None:
        """Write a line on stderr in one write, so that lines from several workers (-v logs, progress) do not
        run into each other (print writes the text and its newline apart); a stderr whose reader went away
        (`2>&1 | head`) is not a failure."""
        stderr = self.streams.stderr
        try:
            stderr.write(text + "\n")
            stderr.flush()
        except BrokenPipeError:
            to_devnull(stderr)


def reports_wanted(report_file: Path | None, env: Mapping[str, str]) -> bool:
    """Whether this run writes a CI report (mediactl/reports.py): --report, or GitHub Actions; nothing changes
    for anyone who asked for nothing (and reports.py is not even imported)."""
    return report_file is not None or env.get("GITHUB_ACTIONS") == "true"


def data_dir(env: Mapping[str, str]) -> Path:
    """Where the journal lives: MEDIACTL_DATA_DIR, else the platform's user data dir."""
    given = env.get("MEDIACTL_DATA_DIR")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("mediactl", appauthor=False))


def config_dir(env: Mapping[str, str]) -> Path:
    """Where config.toml lives without --config-dir: MEDIACTL_CONFIG_DIR, else the platform's user config dir."""
    given = env.get("MEDIACTL_CONFIG_DIR")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("mediactl", appauthor=False))


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
