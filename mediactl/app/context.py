"""The run's context: its streams, its global options, its environment, and the dependencies built from them.

The root callback builds one `AppContext` per run and hands it to each verb's `run(opts, ctx)` (as gh hands
its Factory to `NewCmdX(f, runF)` and httpie's `main(args, env)` takes its environment); a test builds one
directly with its own streams and environment mapping. Nothing looks it up through a global.

- `IOStreams`: stdout, stderr, stdin, whether each is a terminal, colour, and whether stdout's reader left.
- `GlobalOptions`: the values of the global options (mediactl/app/options.py declares them).
- `AppContext`: both of those, the environment mapping (settings, config and data dirs read it, not
  `os.environ`), and, made on first use, the settings, the one journal and one service per provider.

`mediactl.runtime.Runtime` is the older name of `AppContext`; modules that only need the streams and the
options take either.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar, overload

if TYPE_CHECKING:
    import requests

    from mediactl.config import Settings
    from mediactl.http import Redactor
    from mediactl.journal import Journal
    from mediactl.services import ServiceContext

T = TypeVar("T")


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


class AppContext:
    """Everything a verb needs from the run, built once (see the module docstring)."""

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
        """`AppContext(streams, options, env)`; a test may also name single fields (`stdout=`, `verbose=`)."""
        unknown = set(flat) - _STREAM_FIELDS - _OPTION_FIELDS
        if unknown:
            raise TypeError(f"AppContext got unknown fields {sorted(unknown)}")
        self.streams = streams or IOStreams(**{k: v for k, v in flat.items() if k in _STREAM_FIELDS})
        self.options = options or GlobalOptions(**{k: v for k, v in flat.items() if k in _OPTION_FIELDS})
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.streams.fill_in(self.env)
        self.redactor: Redactor | None = None  # set by the first provider client; the error boundary uses it
        self.spools: list[Path] = []  # copies of stdin this run owns (mediactl/spool.py)
        self.recorder: Any = None  # the batch's reports.RunRecorder, when a report is wanted
        self._settings: Settings | None = None
        self._journal: Journal | None = None
        self._services: dict[str, Any] = {}

    @classmethod
    def of(cls, click_ctx: Any) -> AppContext:
        """The run's context, from the Typer/Click context of a command (the root callback put it there)."""
        root = click_ctx.find_root()
        if not isinstance(root.obj, cls):
            root.obj = cls()
        return root.obj

    @property
    def rt(self) -> AppContext:
        """This context, under the name the providers' `build(factory)` hooks use for the run."""
        return self

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
        from mediactl.ui.textsafe import sanitize

        self.stderr_line(sanitize(line, one_line=True))

    def stderr_line(self, text: str) -> None:
        """Write a line on stderr; a stderr whose reader went away (`2>&1 | head`) is not a failure."""
        try:
            print(text, file=self.streams.stderr, flush=True)
        except BrokenPipeError:
            to_devnull(self.streams.stderr)

    # -- dependencies, made on first use ----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The active profile's settings; an unknown `--profile` is refused here, for every command."""
        if self._settings is None:
            from mediactl.config import Settings

            settings = Settings(self)
            settings.check_profile()
            self._settings = settings
        return self._settings

    @property
    def journal(self) -> Journal:
        """The run's one journal; like the settings, refused for an unknown `--profile`."""
        if self._journal is None:
            from mediactl.journal import Journal

            self.settings  # noqa: B018 - checks the profile

            self._journal = Journal(self.data_dir)
        return self._journal

    def context(self, provider: str, *, base_url: str, auth_headers: dict[str, str], api_root: str = "",
                error_message: Callable[[requests.Response], str] | None = None,
                pool_size: int = 16) -> ServiceContext:
        """A provider's ServiceContext, with its ApiClient; every configured secret is registered for redaction."""
        from mediactl.http import ApiClient, Redactor, default_error_message
        from mediactl.services import ServiceContext

        settings = self.settings
        if self.redactor is None:
            self.redactor = Redactor(settings.secret_values())
        client = ApiClient(
            self, provider=provider, base_url=base_url, auth_headers=auth_headers, api_root=api_root,
            redactor=self.redactor, error_message=error_message or default_error_message,
            ca_bundle=settings.value(provider, "ca_bundle"), pool_size=pool_size,
        )
        return ServiceContext(self, settings, client, self.journal, self.options.profile)

    def service(self, provider: str) -> Any:
        """The provider's service object, built once per run by its spec's `service` hook."""
        if provider not in self._services:
            from mediactl.registry import PROVIDERS
            from mediactl.spec import load

            self._services[provider] = load(PROVIDERS[provider].service)(self)
        return self._services[provider]


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
