"""The global options, declared once: the root command's Typer parameters, the environment variables and
the after-the-verb hoist (`mediactl config path --verbose`) are all derived from `GLOBAL_OPTIONS`.

Adding a global option = one `GlobalOption` row here and one field of `GlobalOptions`
(mediactl/app/context.py); `options_from_values` turns the parsed values into that dataclass.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from mediactl.app.context import AppContext, GlobalOptions, IOStreams
from mediactl.completers import profile_names  # Typer-free, so the launcher completes profiles too

OUTPUT_MODES = ("table", "json", "jsonl", "plain")


class OutputMode(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    plain = "plain"


def _env_flag(text: str) -> bool:
    return text.strip().lower() not in ("", "0", "false", "no", "off")


def _env_output(text: str) -> str:
    mode = text.strip().lower()
    if mode not in OUTPUT_MODES:
        import typer

        raise typer.BadParameter(f"MEDIACTL_OUTPUT must be table, json, jsonl or plain, not '{text}'")
    return mode


def _env_interval(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if value < 0:
        import typer

        raise typer.BadParameter(f"MEDIACTL_PROGRESS_INTERVAL must be a number of seconds (0 or more), not '{text}'")
    return value


def _check_report(value: Path | None) -> Path | None:
    """--report FILE must end in .xml or .json (mediactl/reports.py)."""
    if value is None:  # not asked for: no need to load the reports module
        return None
    import typer

    from mediactl.errors import UsageError
    from mediactl.reports import check_report_path

    try:
        return check_report_path(value)
    except UsageError as exc:
        raise typer.BadParameter(exc.message) from None


def complete_output(incomplete: str) -> list[str]:
    return [mode for mode in OUTPUT_MODES if mode.startswith(incomplete)]


@dataclass(frozen=True)
class GlobalOption:
    """One global option.

    `name` is the parameter's (and GlobalOptions') field; `flags` its spellings; `typer_env` an environment
    variable Typer reads for it; `env` one mediactl reads itself (`parse_env` turns its text into the value,
    used when the option is not on the command line); `count` for `-v -v`.
    """

    name: str
    flags: tuple[str, ...]
    help: str
    type: Any
    default: Any
    typer_env: str | None = None
    env: str | None = None
    parse_env: Callable[[str], Any] | None = None
    count: bool = False
    typer_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def takes_value(self) -> bool:
        return self.type is not bool and not self.count


GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption("profile", ("--profile",), "Named profile in the config.", str, "default",
                 typer_env="MEDIACTL_PROFILE", typer_kwargs={"autocompletion": profile_names, "metavar": "NAME"}),
    GlobalOption("config_dir", ("--config-dir",), "Where config.toml and credentials.toml live.", Path | None, None,
                 typer_env="MEDIACTL_CONFIG_DIR", typer_kwargs={"file_okay": False, "metavar": "DIR"}),
    GlobalOption("output", ("--output", "-o"), "table, json, jsonl or plain (env MEDIACTL_OUTPUT).",
                 OutputMode | None, None, env="MEDIACTL_OUTPUT", parse_env=_env_output,
                 typer_kwargs={"case_sensitive": False}),
    GlobalOption("json", ("--json",), "Same as -o json.", bool, False),
    GlobalOption("quiet", ("--quiet", "-q"),
                 "Print only the primary value of each result (id, or URL for uploads).", bool, False),
    GlobalOption("verbose", ("--verbose", "-v"),
                 "Log requests on stderr, secrets redacted; -vv adds headers and bodies (env MEDIACTL_DEBUG=1).",
                 int, 0, env="MEDIACTL_DEBUG", parse_env=lambda text: 1 if _env_flag(text) else 0, count=True),
    GlobalOption("no_progress", ("--no-progress",), "No progress display (env MEDIACTL_NO_PROGRESS=1).", bool,
                 False, env="MEDIACTL_NO_PROGRESS", parse_env=_env_flag),
    GlobalOption("progress_interval", (), "", float, 10.0, env="MEDIACTL_PROGRESS_INTERVAL",
                 parse_env=_env_interval),  # environment only
    GlobalOption("timeout", ("--timeout",), "Per-request read timeout in seconds.", float, 30.0,
                 typer_env="MEDIACTL_TIMEOUT", typer_kwargs={"min": 0.1, "metavar": "SECONDS"}),
    GlobalOption("retries", ("--retries",), "Retry budget for transient failures.", int, 5,
                 typer_env="MEDIACTL_RETRIES", typer_kwargs={"min": 0, "metavar": "N"}),
    GlobalOption("yes", ("--yes", "-y"), "Do not prompt before deleting.", bool, False),
    GlobalOption("report", ("--report",), "After a batch verb, write its report: JUnit XML (FILE.xml) or the "
                 "summary as JSON (FILE.json).", Path | None, None, typer_env="MEDIACTL_REPORT",
                 typer_kwargs={"metavar": "FILE", "dir_okay": False, "callback": _check_report}),
)

HOISTED_FLAGS = frozenset(f for o in GLOBAL_OPTIONS if not o.takes_value for f in o.flags)
HOISTED_WITH_VALUE = frozenset(f for o in GLOBAL_OPTIONS if o.takes_value for f in o.flags)
# the letters of the global short options (-q -v -y; -o takes a value), for clusters such as -vq or -qojson
SHORT_FLAG_LETTERS = frozenset(f[1] for f in HOISTED_FLAGS if len(f) == 2 and f[1] != "-")
SHORT_VALUE_LETTERS = frozenset(f[1] for f in HOISTED_WITH_VALUE if len(f) == 2 and f[1] != "-")


def all_flags() -> list[str]:
    """Every spelling of every global option (for "did you mean" and completion)."""
    return [f for o in GLOBAL_OPTIONS for f in o.flags] + ["--version"]


def typer_parameters() -> list[inspect.Parameter]:
    """The root callback's parameters, one per option with flags (keyword-only, Annotated for Typer)."""
    import typer

    params = []
    for option in GLOBAL_OPTIONS:
        if not option.flags:
            continue
        kwargs: dict[str, Any] = {"help": option.help, **option.typer_kwargs}
        if option.typer_env:
            kwargs["envvar"] = option.typer_env
        if option.count:
            kwargs["count"] = True
        annotation = Annotated[option.type, typer.Option(*option.flags, **kwargs)]  # type: ignore[name-defined]
        params.append(inspect.Parameter(_param_name(option), inspect.Parameter.KEYWORD_ONLY, default=option.default,
                                        annotation=annotation))
    return params


def _param_name(option: GlobalOption) -> str:
    return "json_" if option.name == "json" else option.name


def with_global_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Give the root callback `fn(ctx, version, **values)` the table's parameters (Typer reads the signature)."""
    base = inspect.signature(fn)
    fixed = [p if i == 0 else p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
             for i, p in enumerate(base.parameters.values()) if p.kind is not inspect.Parameter.VAR_KEYWORD]
    fn.__signature__ = base.replace(parameters=[*fixed[:1], *typer_parameters(), *fixed[1:]])  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in fn.__signature__.parameters.values()  # type: ignore[attr-defined]
                          if p.annotation is not inspect.Parameter.empty}
    return fn


def options_from_values(values: Mapping[str, Any], env: Mapping[str, str], *,
                        explicit: Sequence[str] = ()) -> GlobalOptions:
    """GlobalOptions from the parsed parameters, the environment filling in what the command line left.

    `explicit` names the parameters given on the command line or by their Typer environment variable.
    """
    out: dict[str, Any] = {}
    for option in GLOBAL_OPTIONS:
        value = values.get(_param_name(option), option.default)
        text = env.get(option.env, "").strip() if option.env else ""
        if text and option.parse_env is not None and (option.count or value in (option.default, False, None)):
            from_env = option.parse_env(text)
            value = max(value, from_env) if option.count else from_env
        out[option.name] = value
    mode = "json" if out.pop("json") else out["output"]
    out["output"] = mode.value if isinstance(mode, OutputMode) else mode
    out["profile_explicit"] = "profile" in explicit
    return GlobalOptions(**out)


def run_context(values: Mapping[str, Any], env: Mapping[str, str], *, explicit: Sequence[str] = (),
                given: Any = None) -> AppContext:
    """The run's AppContext from the parsed global options: what the root callback builds, and the launcher's
    fast upload path (mediactl/fast_upload.py) for the lines it parses itself. `given`: a test's Runtime."""
    options = options_from_values(values, env, explicit=explicit)
    if given is not None:
        given.options = options
        app = given if isinstance(given, AppContext) else AppContext.around(given)
    else:
        app = AppContext(IOStreams(), options, env)
    if options.output is None:  # as gh does: a table for people, tab-separated rows for pipes and files
        options.output = "table" if app.stdout_isatty else "plain"
    return app


def global_cluster(arg: str) -> int | None:
    """For a short-option cluster made only of global options (-vq, -qy, -qojson, -qo VALUE): how many of
    the words after it it takes (0 or 1); None for anything else (a cluster with a command's own letters)."""
    if len(arg) < 3 or arg[0] != "-" or arg[1] == "-":
        return None
    for k, letter in enumerate(arg[1:], 2):
        if letter in SHORT_VALUE_LETTERS:  # as Click: the rest of the cluster is its value, or the next word
            return 0 if k < len(arg) else 1
        if letter not in SHORT_FLAG_LETTERS:
            return None
    return 0


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the command name to the front, so they work anywhere. A cluster
    of short options is moved when all its letters are global ones; one mixing in a command's letters
    is left for the command (which names the global letter it does not know: cli.MediactlGroup)."""
    # skip the options before the command name (the token after one that takes a value is its value)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in HOISTED_WITH_VALUE else 1 + (global_cluster(args[i]) or 0)
    head, rest, tail, moved = list(args[:i]), args[i:], [], []
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--":
            tail.extend(rest[j:])
            break
        name = arg.split("=", 1)[0]
        takes = global_cluster(arg)
        if arg in HOISTED_FLAGS or takes == 0:
            moved.append(arg)
        elif name in HOISTED_WITH_VALUE and "=" in arg:
            moved.append(arg)
        elif (arg in HOISTED_WITH_VALUE or takes == 1) and j + 1 < len(rest):
            moved.extend(rest[j:j + 2])
            j += 1
        else:
            tail.append(arg)
        j += 1
    return head + moved + tail
