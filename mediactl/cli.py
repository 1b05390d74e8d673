"""The root command: global options, the error boundary, and one sub-app per verb group."""

import contextlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mediactl import __version__
from mediactl.app import completion as app_completion
from mediactl.app.boundary import exit_code_for, finish_run
from mediactl.app.context import AppContext
from mediactl.app.options import all_flags, hoist_global_options, run_context, with_global_options
from mediactl.cli_names import subapps
from mediactl.errors import ExitCode, StdoutClosed
from mediactl.helptexts import GROUP_EXAMPLES, GROUP_HELP
from mediactl.runtime import Runtime
from mediactl.typer_compat import (
    ClickContext,
    ClickUsageError,
    Command,
    CompletionItem,
    NoSuchOption,
    command_context,
    command_of,
    enable_shell_completion,
    lean_coercion,
    parameter_source,
    readable_metavars,
    show_click_exception,
    use_plain_help,
)


class MediactlGroup(TyperGroup):
    """Runs every command inside the one error boundary (the exit codes of README "Exit codes")."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        lean_coercion()  # parameter values converted without Pydantic (exactly as Typer's own converter)
        readable_metavars(self)  # the root's own options; the groups get theirs when loaded
        args = hoist_global_options(args)
        ctx.meta["mediactl.args"] = list(args)
        try:
            return super().parse_args(ctx, args)
        except ClickUsageError as exc:
            usage_error_json(ctx, exc)
            raise

    def list_commands(self, ctx: ClickContext) -> list[str]:
        lazy = subapps()
        return [*lazy, *(name for name in super().list_commands(ctx) if name not in lazy)]

    def shell_complete(self, ctx: ClickContext, incomplete: str) -> list[CompletionItem]:
        """Complete the verb-group names without importing any of them."""
        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        return [CompletionItem(name) for name in self.list_commands(ctx) if name.startswith(incomplete)]

    def format_help(self, ctx: ClickContext, formatter: Any) -> None:
        self._listing = True  # list the groups by their help text, without loading them
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: ClickContext, name: str) -> Command | None:
        help_text = group_help(name)
        if getattr(self, "_listing", False) and help_text and name not in self.commands:
            return TyperGroup(name=name, help=help_text)
        if name in subapps() and name not in self.commands:
            self.add_command(readable_metavars(_load_subapp(name)), name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: ClickContext, args: list[str]) -> Any:
        """A misspelt command is answered with the closest names (the lazy groups included)."""
        if args and not args[0].startswith("-") and args[0] not in self.list_commands(ctx):
            import difflib

            close = difflib.get_close_matches(args[0], self.list_commands(ctx))
            if close:
                ctx.fail(f"No such command '{args[0]}'. Did you mean {', '.join(repr(c) for c in close)}?")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        from mediactl.interrupts import cleanup_on_exit
        from mediactl.spool import remove_all

        code = int(ExitCode.OK)
        # a second Ctrl-C, which exits at once, removes the copies of stdin too
        with cleanup_on_exit(lambda: remove_all(_runtime_of(ctx))):
            try:
                return self._invoke(ctx)
            except typer.Exit as exc:
                code = exc.exit_code
                raise
            finally:  # every way out of the run, Ctrl-C included (mediactl/app/boundary.py)
                final = finish_run(_runtime_of(ctx), code)
                if final != code:
                    ctx.exit(final)

    def _invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except NoSuchOption as exc:  # a misspelt global option after the verb: say which one was meant
            if exc.option_name in all_flags():  # a global letter in a cluster of the verb's own (-rv)
                exc.message, exc.possibilities = _global_in_cluster(ctx, exc.option_name), None
            elif not exc.possibilities:
                import difflib

                exc.possibilities = difflib.get_close_matches(exc.option_name, all_flags(), n=2, cutoff=0.7) or None
            usage_error_json(ctx, exc)
            raise
        except ClickUsageError as exc:  # Typer prints it on stderr; in json mode stdout has the error object
            usage_error_json(ctx, exc)
            raise
        except (typer.Exit, typer.Abort, typer.TyperException):  # --help, usage errors: Typer reports them
            raise
        except (Exception, KeyboardInterrupt) as exc:  # ours, Ctrl-C, a closed stdout, a bug: the shared boundary
            ctx.exit(exit_code_for(_runtime_of(ctx), exc, _provider_of(ctx)))


def _global_in_cluster(ctx: ClickContext, flag: str) -> str:
    """The message for a global short option the verb was handed: only inside a cluster mixing in the
    verb's own letters (a cluster of global letters alone is hoisted), or a value-taking one written last."""
    args = ctx.meta.get("mediactl.args", [])
    cluster = next((a for a in args if len(a) > 2 and a[0] == "-" and a[1] != "-" and flag[1] in a[1:]), None)
    if cluster is None:
        return f"Option '{flag}' requires an argument."
    apart = " ".join(f"-{letter}" for letter in cluster[1:])
    return (f"No such option: {flag} (in {cluster}: global options cannot share a cluster with the command's "
            f"own short options; write them apart: {apart})")


def _runtime_of(ctx: ClickContext) -> AppContext:
    return AppContext.of(ctx)


def _provider_of(ctx: ClickContext) -> str | None:
    """The provider whose verb ran (`mediactl otherpage delete ...` -> otherpage), or None for the built-ins."""
    from mediactl.registry import PROVIDERS

    name = getattr(ctx.find_root(), "invoked_subcommand", None)
    return name if name in PROVIDERS else None


def _json_mode(ctx: ClickContext) -> str | None:
    """json or jsonl when the run asked for it, even if parsing failed before the root callback set it up:
    the last -o/--output/--json of the command line wins, else MEDIACTL_OUTPUT."""
    args = ctx.find_root().meta.get("mediactl.args", [])
    mode = None
    for n, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--json":
            mode = "json"
        elif arg in ("-o", "--output") and n + 1 < len(args):
            mode = args[n + 1]
        elif arg.startswith("--output="):
            mode = arg.split("=", 1)[1]
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            mode = arg[2:].lstrip("=")
    if mode is None:
        obj = ctx.find_root().obj
        env = obj.env if isinstance(obj, Runtime) else os.environ
        mode = env.get("MEDIACTL_OUTPUT")
    mode = (mode or "").strip().lower()
    return mode if mode in ("json", "jsonl") else None


def usage_error_json(ctx: ClickContext, exc: Exception) -> None:
    """A usage error found by Typer (an option's value, a missing argument): in json/jsonl mode, stdout gets
    the contract's error object with code 2 (README "Output": exactly one JSON document), as for ours."""
    mode = _json_mode(ctx)
    if mode is None:
        return
    from mediactl.output import _write_json

    rt = _runtime_of(ctx)
    rt.options.output = mode
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if type(exc).__name__ == "NoArgsIsHelpError":  # its message is the whole help page, shown on stderr
        command = getattr(getattr(exc, "ctx", None), "command_path", "mediactl")
        message = f"Missing command (see `{command} --help`)."
    body = {"error": {"code": int(ExitCode.USAGE), "message": message, "status": None,
                      "provider": _provider_of(ctx)}}
    with contextlib.suppress(StdoutClosed):
        _write_json(rt, body, indent=2 if mode == "json" else None)


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


@app.callback()
@with_global_options
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    **values: Any,
) -> None:
    """mediactl: media uploads to four platforms, from a terminal, a script or CI."""
    given = ctx.obj if isinstance(ctx.obj, Runtime) else None  # a test handed its own streams in
    env = given.env if given is not None else os.environ
    explicit = [name for name in values if parameter_source(ctx, name) not in (None, "default")]
    ctx.obj = run_context(values, env, explicit=explicit, given=given)


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
        command = command_of(target)
        command.name = name
        if not command.epilog and name in GROUP_EXAMPLES:  # every group's help shows an example, as leaves do
            command.epilog = GROUP_EXAMPLES[name]
        return command
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return command_of(single)


def completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", show_default=False,
                                         autocompletion=app_completion.shells)],
) -> None:
    """Print the shell completion script (the same as the files in completions/).

    Examples: mediactl completion bash > ~/.local/share/bash-completion/completions/mediactl  ·
    mediactl completion fish > ~/.config/fish/completions/mediactl.fish
    """
    from mediactl.completion_scripts import SHELLS, script

    if shell not in SHELLS:
        raise typer.BadParameter(f"must be one of {', '.join(SHELLS)}", param_hint="SHELL")
    AppContext.of(ctx).stdout.write(script(shell))


def plain_help_if_piped() -> None:
    if (not sys.stdout.isatty() or os.environ.get("NO_COLOR")) and "TYPER_USE_RICH" not in os.environ:
        # Help and usage errors as plain text when piped or captured (no box drawing in logs, and half the
        # start-up time), or with NO_COLOR (rich would drop the colours but keep bold and dim); rich panels
        # on a terminal.
        use_plain_help()


def show_usage_error(argv: list[str], app_ctx: AppContext, exc: ClickUsageError) -> int:
    """A usage error raised by a verb that the launcher's fast upload path ran (mediactl/fast_upload.py),
    reported as this CLI reports it: in the command's own context (its usage line), the JSON error object in
    json mode, plain or rich as `main` chooses; the exit code."""
    plain_help_if_piped()
    exc.ctx = command_context(command_of(app), argv, app_ctx)
    usage_error_json(exc.ctx, exc)
    show_click_exception(exc)
    return int(exc.exit_code)


def main() -> None:
    plain_help_if_piped()
    if "_MEDIACTL_COMPLETE" in os.environ:
        # Typer's completion classes answer with plain values, as the scripts in completions/ expect.
        enable_shell_completion()
    from mediactl.interrupts import run_as_process

    run_as_process(lambda: app(prog_name="mediactl"))
