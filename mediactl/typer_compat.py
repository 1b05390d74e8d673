"""The one module where mediactl reaches past Typer's public API.

Since 0.26 Typer vendors Click as the private package `typer._click` and no longer supports using Click
directly. mediactl needs a few things Typer has no public name for: the command object of a Typer app (to
load verb groups lazily), the context of the running command, where an option's value came from, the
completion item type and shell completion classes, plain-text help, and a walk of the whole command tree
(for the help test and the man pages). They all live here, so a Typer upgrade that moves one of them
breaks this module alone, and tests/test_typer_compat.py, which exercises each of them against the
installed Typer, says which. Everything else in mediactl uses `typer`'s public names only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
import typer.main
from typer._click import Command
from typer._click import Context as ClickContext
from typer._click.exceptions import NoSuchOption
from typer._click.exceptions import UsageError as ClickUsageError
from typer._click.globals import get_current_context
from typer._click.shell_completion import CompletionItem

__all__ = ["ClickContext", "ClickUsageError", "Command", "CommandDoc", "CompletionItem", "NoSuchOption", "ParamDoc",
           "autocompletion_of", "command_context", "command_of", "completion_line", "completion_script",
           "current_context", "enable_shell_completion", "parameter_source", "readable_metavars",
           "show_click_exception", "use_plain_help", "walk_commands"]


def command_of(app: typer.Typer) -> Command:
    """The command object Typer builds for `app` (what `app()` runs), e.g. to add it to a group later."""
    return typer.main.get_command(app)


def command_context(root: Command, argv: list[str], obj: Any) -> ClickContext:
    """The context of the leaf command `argv` names under `root`, parsed as Typer would but nothing invoked
    (resilient: no errors, no callbacks), each group's invoked_subcommand set, the root's obj `obj`."""
    ctx = root.make_context("mediactl", list(argv), resilient_parsing=True, obj=obj)
    command: Any = root
    while hasattr(command, "resolve_command"):
        name, sub, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        if sub is None:
            break
        ctx.invoked_subcommand = name
        ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=True)
        command = sub
    return ctx


def show_click_exception(exc: Any) -> None:
    """Print a usage error as Typer's standalone mode does (rich panel or plain text)."""
    if typer.core.HAS_RICH:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    else:
        exc.show()


def current_context() -> ClickContext:
    """The context of the command being run; RuntimeError outside one."""
    return get_current_context()


def parameter_source(ctx: typer.Context, name: str) -> str | None:
    """Where parameter `name` got its value: 'commandline', 'environment', 'default', 'default_map' or
    'prompt'; None if the parameter has not been processed."""
    source = ctx.get_parameter_source(name)
    return None if source is None else source.name.lower()


def use_plain_help() -> None:
    """Help and usage errors as plain text instead of rich panels, for every command built afterwards
    and every one already built (Typer reads this flag when it formats)."""
    typer.core.HAS_RICH = False


def enable_shell_completion() -> None:
    """Register Typer's completion classes, which answer `_<PROG>_COMPLETE=complete_<shell>` with plain
    values (what the scripts in completions/ read); Typer does it itself only with add_completion=True."""
    from typer._click.shell_completion import add_completion_class, get_completion_class
    from typer.completion import completion_init

    completion_init()
    for shell in ("bash", "zsh", "fish"):
        base = get_completion_class(shell)
        if base is not None and not issubclass(base, _RootOptionLast):
            add_completion_class(type(base.__name__, (_RootOptionLast, base), {}), shell)


class _RootOptionLast:
    """Completes the value of a root option written last after a command (`mediactl otherpage list -o <TAB>`),
    which the root group leaves in place for the command, which does not know it: as the root's option, with
    the root's context (its values, those written after the command included). README "Global options"."""

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        from typer._click.shell_completion import _resolve_context, _start_of_option

        ctx = _resolve_context(self.cli, self.ctx_args, self.prog_name, args)  # type: ignore[attr-defined]
        root, words = ctx.find_root(), list(args)
        if incomplete != "=" and "=" in incomplete and _start_of_option(ctx, incomplete):
            name, _, value = incomplete.partition("=")
            words.append(name)
        else:
            value = "" if incomplete == "=" else incomplete
        if ctx is not root and words and "--" not in words and not _start_of_option(ctx, value):
            last = words[-1]
            known = {n for p in ctx.command.get_params(ctx) for n in (*p.opts, *p.secondary_opts)}
            for param in root.command.get_params(root):
                if (param.param_type_name == "option" and not getattr(param, "is_flag", False)
                        and last in param.opts and last not in known):
                    return param.shell_complete(root, value)
        return super().get_completions(args, incomplete)  # type: ignore[misc]


def completion_script(prog_name: str, complete_var: str, shell: str) -> str:
    """The shell script that calls `prog_name` back with `complete_var` set to complete a command line."""
    from typer.completion import get_completion_script

    return get_completion_script(prog_name=prog_name, complete_var=complete_var, shell=shell)


def autocompletion_of(param) -> Callable | None:
    """The function given as a parameter's `autocompletion=`, unwrapped from Typer's adapters; None if it has
    none (for the completion table, mediactl/completions_gen.py)."""
    custom = getattr(param, "_custom_shell_complete", None)
    if custom is None:
        return None
    for cell in custom.__closure__ or ():
        if callable(cell.cell_contents):
            return inspect.unwrap(cell.cell_contents)
    return custom


def completion_line(shell: str, value: str, help_text: str | None) -> str:
    """One completion answer as Typer's completion class for `shell` prints it (zsh and fish show help)."""
    from typer._completion_classes import BashComplete, FishComplete, ZshComplete

    formatter = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}[shell]
    # format_completion uses no instance state; an instance would need a command and a context
    return formatter.format_completion(None, CompletionItem(value, help=help_text))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ParamDoc:
    name: str  # the Python name ("community")
    label: str  # as --help shows it: "--community <str>", "FILES..."
    help: str  # the parameter's own help text
    details: str  # the help text with what --help adds: env var, default, range, required
    is_option: bool


@dataclass(frozen=True)
class CommandDoc:
    path: tuple[str, ...]  # () for the root command
    usage: str  # "mediactl otherpage upload [OPTIONS] FILES..."
    help: str
    epilog: str  # printed after the options in --help
    short_help: str  # the help's first sentence
    params: tuple[ParamDoc, ...]  # including the help option
    subcommands: tuple[str, ...]  # empty for a leaf command


def walk_commands(app: typer.Typer, prog_name: str) -> Iterator[CommandDoc]:
    """Every command of `app`, depth first, parents before children, lazily loaded groups loaded."""
    root = command_of(app)
    yield from _walk(root, _context(root, prog_name, None), ())


def _context(command: Command, name: str, parent: typer.Context | None) -> typer.Context:
    """The context `command` would run in, without parsing anything (its settings: -h, width, ...)."""
    return typer.Context(command, info_name=name, parent=parent, **(command.context_settings or {}))


def _walk(command: Command, ctx: typer.Context, path: tuple[str, ...]) -> Iterator[CommandDoc]:
    names = tuple(command.list_commands(ctx)) if isinstance(command, typer.core.TyperGroup) else ()
    params = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        params.append(ParamDoc(name=param.name or "", label=record[0], help=(getattr(param, "help", None) or ""),
                               details=record[1], is_option=param.param_type_name == "option"))
    usage = f"{ctx.command_path} {' '.join(command.collect_usage_pieces(ctx))}".rstrip()
    yield CommandDoc(path=path, usage=usage, help=command.help or "", epilog=command.epilog or "",
                     short_help=command.get_short_help_str(300),
                     params=tuple(params), subcommands=names)
    for name in names:
        sub = command.get_command(ctx, name) if isinstance(command, typer.core.TyperGroup) else None
        if sub is not None:
            yield from _walk(sub, _context(sub, name, ctx), (*path, name))


class _ReadableArgumentNames:
    """Arguments named in upper case without Typer's type names: `FILES...`, `[FILES]...`, `KEY` (Typer shows
    `{key}`, `[files]...` and `key <str>`). Installed on Typer's argument class by `readable_metavars`."""

    @staticmethod
    def usage(arg: Any) -> str:
        name = arg.display_name_raw.upper()
        name = name if arg.required else f"[{name}]"
        return f"{name}..." if arg.nargs != 1 else name

    @staticmethod
    def listed(arg: Any) -> str:
        name = arg.display_name_raw.upper()
        return f"{name}..." if arg.nargs != 1 else name

    @staticmethod
    def install() -> None:
        argument = typer.core.TyperArgument
        argument._usage_display_name = _ReadableArgumentNames.usage  # type: ignore[method-assign,assignment]
        argument._rich_display_name = _ReadableArgumentNames.listed  # type: ignore[method-assign,assignment]
        argument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]


def readable_metavars(command: Command) -> Command:
    """Name each value in help by what it is (`--page PAGE`, `FILES...`) instead of Typer's internal type
    names (`<str>`, `<list[str]>`, `<int range>`); choices keep their `<a|b|c>`. Walks the subcommands too."""
    for param in command.params:
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        if getattr(param, "count", False):  # -v -v: no value to name (Typer would show `<int>`)
            param.metavar = ""
            continue
        if getattr(getattr(param, "type_descriptor", None), "is_choice", False):
            continue
        if param.param_type_name != "argument":  # arguments: _ReadableArgumentNames
            param.metavar = (param.name or "value").upper()
    if isinstance(command, typer.core.TyperGroup):
        for sub in command.commands.values():
            readable_metavars(sub)
    _ReadableArgumentNames.install()
    return command
