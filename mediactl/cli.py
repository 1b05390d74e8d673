"""The root command: global options, the error boundary, and one sub-app per verb group."""

import contextlib
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from mediactl import __version__
from mediactl.cli_names import subapps
from mediactl.errors import ExitCode, MediactlError, StdoutClosed
from mediactl.helptexts import GROUP_HELP
from mediactl.runtime import Runtime, env_defaults
from mediactl.typer_compat import (
    Command,
    CompletionItem,
    command_of,
    enable_shell_completion,
    parameter_source,
    use_plain_help,
)


class OutputMode(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    plain = "plain"


class MediactlGroup(TyperGroup):
    """Runs every command inside the one error boundary (exit codes of DESIGN.md §1)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def list_commands(self, ctx: typer.Context) -> list[str]:
        lazy = subapps()
        return [*lazy, *(name for name in super().list_commands(ctx) if name not in lazy)]

    def shell_complete(self, ctx: typer.Context, incomplete: str):
        """Complete the verb-group names without importing any of them."""
        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        return [CompletionItem(name) for name in self.list_commands(ctx) if name.startswith(incomplete)]

    def format_help(self, ctx: typer.Context, formatter) -> None:
        self._listing = True  # list the groups by their help text, without loading them
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: typer.Context, name: str) -> Command | None:
        help_text = group_help(name)
        if getattr(self, "_listing", False) and help_text and name not in self.commands:
            return TyperGroup(name=name, help=help_text)
        if name in subapps() and name not in self.commands:
            self.add_command(_load_subapp(name), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: typer.Context):
        code = int(ExitCode.OK)
        try:
            return self._invoke(ctx)
        except typer.Exit as exc:
            code = exc.exit_code
            raise
        finally:  # every way out of the run, Ctrl-C included, removes its copies of stdin
            from mediactl.spool import remove_all

            remove_all(_runtime_of(ctx))
            if _runtime_of(ctx).recorder is not None:  # a batch verb's CI report (mediactl/reports.py)
                from mediactl.reports import publish_run

                failed = publish_run(_runtime_of(ctx), code)
                if failed is not None and code == 0:
                    ctx.exit(failed)

    def _invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except MediactlError as exc:
            report_error(ctx, exc)
            ctx.exit(int(exc.code))
        except KeyboardInterrupt:
            rt = _runtime_of(ctx)
            rt.stderr_line("interrupted")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except (typer.Exit, typer.Abort, typer.TyperException):  # --help, usage errors: Typer reports them
            raise
        except (StdoutClosed, BrokenPipeError):
            # The reader of stdout went away (`| head -n1`): like the end of a listing, not a failure, so
            # `x=$(mediactl ... list | head -n1)` works under `set -o pipefail`. Batches never get here
            # (run_batch carries on and exits with its items' code).
            from mediactl.output import stdout_gone

            stdout_gone(_runtime_of(ctx))
            ctx.exit(int(ExitCode.OK))
        except Exception as exc:  # a bug: say so, briefly, and only show the traceback with -vv
            rt = _runtime_of(ctx)
            if rt.verbose >= 2:
                import traceback

                traceback.print_exc(file=rt.stderr)
            err = MediactlError(
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in mediactl; please report it with the output of -vv",
            )
            report_error(ctx, err)
            ctx.exit(int(ExitCode.INTERNAL))


# Global options a user may also write after the verb (`mediactl otherpage upload x.png -o json`).
_GLOBAL_FLAGS = {"--json", "-q", "--quiet", "--no-progress", "-y", "--yes"}
_GLOBAL_WITH_VALUE = {"-o", "--output", "--timeout", "--retries", "--profile", "--config-dir", "--report"}


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the command name to the front, so they work anywhere."""
    # skip the options before the command name (the token after one that takes a value is its value)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in _GLOBAL_WITH_VALUE else 1
    head, rest, tail, moved = list(args[:i]), args[i:], [], []
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--":
            tail.extend(rest[j:])
            break
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
            moved.append(arg)
        elif name in _GLOBAL_WITH_VALUE and "=" in arg:
            moved.append(arg)
        elif arg in _GLOBAL_WITH_VALUE and j + 1 < len(rest):
            moved.extend(rest[j:j + 2])
            j += 1
        else:
            tail.append(arg)
        j += 1
    return head + moved + tail


def _runtime_of(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Runtime) else Runtime()


def report_error(ctx: typer.Context, exc: MediactlError) -> None:
    from mediactl.output import render_error

    rt = _runtime_of(ctx)
    message = exc.message
    redactor = getattr(rt, "redactor", None)
    if redactor is not None:
        message = redactor.text(message)
    rt.error(message, exc.hint)
    body = exc.to_json()
    body["error"]["message"] = message
    with contextlib.suppress(StdoutClosed):  # stderr has it; nobody reads stdout any more
        render_error(rt, body)


app = typer.Typer(
    cls=MediactlGroup,
    name="mediactl",
    help="Upload, list, show, delete and complete media on Other Page, NationBuilder, OFAuth and BitBadges.",
    epilog="Examples:  mediactl sandbox demo  ·  mediactl otherpage upload logo.png -o json",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"mediactl {__version__}")
        raise typer.Exit()


def _complete_profile(incomplete: str) -> list[str]:
    from mediactl.config import ConfigStore

    try:
        names = ConfigStore(Runtime().resolved_config_dir()).profiles()
    except Exception:
        names = []
    return [n for n in ["default", *names] if n.startswith(incomplete)]


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option(
        "--profile", envvar="MEDIACTL_PROFILE", help="Named profile in the config.",
        autocompletion=_complete_profile)] = "default",
    config_dir: Annotated[Path | None, typer.Option(
        "--config-dir", envvar="MEDIACTL_CONFIG_DIR", help="Where config.toml and credentials.toml live.",
        file_okay=False)] = None,
    output: Annotated[OutputMode | None, typer.Option(
        "--output", "-o", help="table, json, jsonl or plain (env MEDIACTL_OUTPUT).",
        case_sensitive=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as -o json.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the primary value of each result (id, or URL for uploads).")] = False,
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True,
        help="Log requests on stderr, secrets redacted; -vv adds headers and bodies (env MEDIACTL_DEBUG=1).")] = 0,
    no_progress: Annotated[bool, typer.Option(
        "--no-progress", help="No progress display (env MEDIACTL_NO_PROGRESS=1).")] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", envvar="MEDIACTL_TIMEOUT", min=0.1, help="Per-request read timeout in seconds.")] = 30.0,
    retries: Annotated[int, typer.Option(
        "--retries", envvar="MEDIACTL_RETRIES", min=0, help="Retry budget for transient failures.")] = 5,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not prompt before deleting.")] = False,
    report: Annotated[str | None, typer.Option(
        "--report", envvar="MEDIACTL_REPORT", show_default=False,
        help="After a batch verb, write its report: JUnit XML (FILE.xml) or the summary as JSON (FILE.json).")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """mediactl: media uploads to four platforms, from a terminal, a script or CI."""
    env = env_defaults()
    mode = (OutputMode.json.value if json_ else None) or (output.value if output else None) \
        or env.get("output")
    if mode not in (None, "table", "json", "jsonl", "plain"):
        raise typer.BadParameter(f"MEDIACTL_OUTPUT must be table, json, jsonl or plain, not '{mode}'")
    if "progress_interval" in env and env["progress_interval"] is None:
        raise typer.BadParameter("MEDIACTL_PROGRESS_INTERVAL must be a number of seconds (0 or more), not '"
                                 + os.environ.get("MEDIACTL_PROGRESS_INTERVAL", "") + "'")
    settings = {
        "output": mode,
        "quiet": quiet,
        "verbose": max(verbose, env.get("verbose", 0)),
        "no_progress": no_progress or env.get("no_progress", False),
        "progress_interval": env.get("progress_interval", 10.0),
        "yes": yes,
        "profile": profile,
        "profile_explicit": parameter_source(ctx, "profile") not in (None, "default"),
        "config_dir": config_dir,
        "timeout": timeout,
        "retries": retries,
        "report_file": _report_file(report),
    }
    if isinstance(ctx.obj, Runtime):  # a test handed its own streams in
        for key, value in settings.items():
            setattr(ctx.obj, key, value)
    else:
        ctx.obj = Runtime(**settings)
    if mode is None:  # as gh does: a table for people, tab-separated rows for pipes and files
        ctx.obj.output = "table" if ctx.obj.stdout_isatty else "plain"


def _report_file(value: str | None) -> Path | None:
    from mediactl.errors import UsageError
    from mediactl.reports import check_report_path

    try:
        return check_report_path(value)
    except UsageError as exc:
        raise typer.BadParameter(exc.message) from None


# The verb groups, loaded only when asked for: completing `mediactl oth<TAB>` or running one provider's
# verb imports that group's module alone (start-up and completion speed, see bench/startup.py).
# Providers' groups come from the registry, the built-ins from cli_names.BUILTIN_SUBAPPS.


def group_help(name: str) -> str | None:
    from mediactl.registry import PROVIDERS

    return PROVIDERS[name].help if name in PROVIDERS else GROUP_HELP.get(name)


def _load_subapp(name: str) -> Command:
    from mediactl.spec import load

    target = load(subapps()[name])
    if isinstance(target, typer.Typer):
        from mediactl.verbs.roundtrip_commands import attach

        attach(target, name)  # download, verify, sync: the round-trip verbs of a provider's group
        command = command_of(target)
        command.name = name
        return command
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return command_of(single)


def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script (the same as the files in completions/).

    Examples: mediactl completion bash > ~/.local/share/bash-completion/completions/mediactl  ·
    mediactl completion fish > ~/.config/fish/completions/mediactl.fish
    """
    from mediactl import runtime
    from mediactl.completions_gen import SHELLS, script

    if shell not in SHELLS:
        raise typer.BadParameter(f"must be one of {', '.join(SHELLS)}", param_hint="SHELL")
    runtime.current().stdout.write(script(shell))


def main() -> None:
    if (not sys.stdout.isatty() or os.environ.get("NO_COLOR")) and "TYPER_USE_RICH" not in os.environ:
        # Help and usage errors as plain text when piped or captured (no box drawing in logs, and half the
        # start-up time), or with NO_COLOR (rich would drop the colours but keep bold and dim); rich panels
        # on a terminal.
        use_plain_help()
    if "_MEDIACTL_COMPLETE" in os.environ:
        # Typer's completion classes answer with plain values, as the scripts in completions/ expect.
        enable_shell_completion()
    try:
        app(prog_name="mediactl")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
