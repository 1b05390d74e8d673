"""The one module where mediactl reaches past Typer's public API.

Since 0.26 Typer vendors Click as the private package `typer._click` and no longer supports using Click
directly. mediactl needs a few things Typer has no public name for: the command object of a Typer app (to
load verb groups lazily), the context of the running command, where an option's value came from, the
completion item type and shell completion classes, plain-text help, a walk of the whole command tree
(for the help test and the man pages), and a Pydantic-free coercion of parameter values (`lean_coercion`).
They all live here, so a Typer upgrade that moves one of them
breaks this module alone, and tests/test_typer_compat.py, which exercises each of them against the
installed Typer, says which. Everything else in mediactl uses `typer`'s public names only.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
import typer.core
import typer.main
from typer._click import Command
from typer._click import Context as ClickContext
from typer._click.exceptions import NoSuchOption
from typer._click.exceptions import UsageError as ClickUsageError
from typer._click.globals import get_current_context
from typer._click.shell_completion import CompletionItem
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path

__all__ = ["ClickContext", "ClickUsageError", "Command", "CommandDoc", "CompletionItem", "NoSuchOption", "ParamDoc",
           "autocompletion_of", "command_context", "command_of", "completion_line", "completion_script",
           "current_context", "enable_shell_completion", "lean_coercion", "lean_converter", "parameter_source",
           "readable_metavars", "show_click_exception", "use_plain_help", "walk_commands"]


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
    has_callback: bool = False  # for a group: code of its own runs before a subcommand's (Typer's callback)


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
                     params=tuple(params), subcommands=names, has_callback=command.callback is not None)
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


# Typer 0.29 converts every parameter's value through a Pydantic TypeAdapter, and building the first one
# imports Pydantic (about as long as the rest of a --help). mediactl's parameters are all of a few simple
# types, whose values Typer's adapters turn into what the few lines below do: `lean_coercion` gives those
# parameters a converter that answers the values it can prove it converts exactly as Typer would (a CLI
# string of digits for an int, one of the boolean words, ...), and hands every other value, every error
# and every out-of-range number to Typer's own converter (built, with Pydantic, only then), so the values
# and the error messages are Typer's. tests/test_typer_compat.py runs both over every parameter of the CLI.

_NOT_MINE = object()  # a value the lean converter leaves to Typer's
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII digits: Pydantic reads more (" 1", "1_0", "1.0"), never less
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?")
_BOOLEAN = {"1": True, "on": True, "t": True, "true": True, "y": True, "yes": True,
            "0": False, "off": False, "f": False, "false": False, "n": False, "no": False}  # Pydantic's words


def _lean_kind(descriptor: TypeDescriptor) -> str | None:
    """Which lean converter fits a parameter, in the order Typer picks its adapter
    (typer/_adapters.py build_leaf_adapter); None for anything else, which keeps Typer's."""
    info, annotation = descriptor.parameter_info, descriptor.annotation
    if descriptor.file_annotation is not None or info.parser is not None:
        return None
    if get_origin(annotation) is list:
        return "list[str]" if get_args(annotation) == (str,) else None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice"
    if annotation is int or annotation is float:
        return None if info.clamp else annotation.__name__
    if annotation is bool or annotation is str:
        return annotation.__name__
    if annotation is Path and info.path_type is None:
        return "path"
    return None


def _in_range(number: int | float, descriptor: TypeDescriptor) -> Any:
    info = descriptor.parameter_info
    if (info.min is not None and not number >= info.min) or (info.max is not None and not number <= info.max):
        return _NOT_MINE  # Typer's converter says why
    return number


def _lean_value(kind: str, value: Any, descriptor: TypeDescriptor, param: Any, ctx: ClickContext) -> Any:
    """`value` converted as Typer's adapter converts it, or _NOT_MINE."""
    kind_of = type(value)
    if kind == "str":
        return _NOT_MINE if isinstance(value, bytes) else str(value)
    if kind == "bool":
        if kind_of is bool:
            return value
        word = value.strip() if kind_of is str else None
        if word == "":
            return False
        return _BOOLEAN.get(word.lower(), _NOT_MINE) if word is not None and word.isascii() else _NOT_MINE
    if kind == "int":
        if kind_of is int:
            return _in_range(value, descriptor)
        return _in_range(int(value), descriptor) if kind_of is str and _INTEGER.fullmatch(value) else _NOT_MINE
    if kind == "float":
        if kind_of is float or (kind_of is int and abs(value) < 2 ** 53):
            return _in_range(float(value), descriptor)
        return _in_range(float(value), descriptor) if kind_of is str and _DECIMAL.fullmatch(value) else _NOT_MINE
    if kind == "list[str]":
        if kind_of in (list, tuple) and all(type(item) is str for item in value):
            return list(value)
        return _NOT_MINE
    if kind == "choice":  # the function Typer's choice adapter calls
        choices = tuple(descriptor.annotation)
        return coerce_cli_choice(value, choices=choices, case_sensitive=descriptor.parameter_info.case_sensitive,
                                 ctx=ctx)
    if kind == "path":  # Typer's path adapter's function, given the Path that Pydantic would make of a string
        if kind_of is str:
            value = Path(value)
        elif not isinstance(value, Path):
            return _NOT_MINE
        return coerce_cli_path(value, descriptor.parameter_info, path_type=Path, param=param, ctx=ctx)
    return _NOT_MINE


@dataclass(frozen=True)
class _LeanRuntimeParam(RuntimeParam):
    """Typer's runtime parameter (None and multi-value checks included), converting without Pydantic."""

    kind: str
    descriptor: TypeDescriptor

    @cached_property
    def typer_coercion(self) -> RuntimeParam:
        return build_runtime_param(self.descriptor)

    def _coerce_value(self, value: Any, param: Any, ctx: ClickContext) -> Any:
        try:
            result = _lean_value(self.kind, value, self.descriptor, param, ctx)
        except Exception:  # an invalid value: Typer's converter raises its own error for it
            result = _NOT_MINE
        if result is _NOT_MINE:
            return self.typer_coercion._coerce_value(value, param=param, ctx=ctx)
        return result


def lean_converter(param: Any) -> RuntimeParam | None:
    """The lean converter for one Typer parameter, or None where Typer's own is kept."""
    descriptor: TypeDescriptor | None = getattr(param, "type_descriptor", None)
    kind = None if descriptor is None else _lean_kind(descriptor)
    if descriptor is None or kind is None:
        return None
    return _LeanRuntimeParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation,
                             kind=kind, descriptor=descriptor)


def _lean_or_typer_converter(param: Any) -> RuntimeParam:
    """Typer's `get_runtime_param` (which builds a parameter's converter on first use), lean where exact."""
    if param._runtime_param is None:
        param._runtime_param = lean_converter(param) or build_runtime_param(param.type_descriptor)
    return param._runtime_param


def lean_coercion() -> None:
    """Convert parameter values without Pydantic where that is exact (see above), for every Typer parameter
    from now on (the help options Typer adds included); a converter already built is kept."""
    typer.core._TyperParameter.get_runtime_param = _lean_or_typer_converter  # type: ignore[method-assign,assignment]
