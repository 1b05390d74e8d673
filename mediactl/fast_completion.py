"""TAB completion answered from the completion table, without Typer, Rich or Pydantic.

The table (mediactl/completion_table.json) is generated from the live command tree by
`python -m mediactl.completions_gen` and committed; tests/test_help_and_completions.py fails when it is
stale and checks that these answers equal the full CLI's, word for word, in bash, zsh and fish.

This module follows the steps of Click's own completion (typer._click.shell_completion: resolve the
command from the words typed, then the option or argument the incomplete word belongs to) over the table
instead of the command objects; global options written after the verb are taken out as the root group
takes them; the value of one written last after the verb (`mediactl otherpage list -o <TAB>`), which the
root group leaves in place, is completed as the root's, as the full CLI does (mediactl/typer_compat.py).
Whenever a command line leaves that well-trodden path (an option the table does not know at that point;
`--`; an option with a callback; a completer that needs the CLI), `answer` returns None and the launcher
hands the call to the full CLI, which is never wrong, only slower.
"""

from __future__ import annotations

import json
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("completion_table.json")
SHELL_COLUMN = {"bash": 0, "zsh": 1, "fish": 2}  # an item is [value, zsh line, fish line]


class NeedsFullCli(Exception):
    """The table cannot answer this command line exactly; the full CLI will."""


def answer(environ: dict[str, str], table: dict | None = None) -> tuple[str, int] | None:
    """(what to print, exit code) for a `_MEDIACTL_COMPLETE=complete_<shell>` call, or None for the full CLI."""
    instruction, _, shell = environ.get("_MEDIACTL_COMPLETE", "").partition("_")
    if instruction != "complete" or shell not in SHELL_COLUMN:
        return None
    try:
        args, incomplete = completion_args(shell, environ)
        items = complete(table if table is not None else load_table(), args, incomplete)
    except NeedsFullCli:
        return None
    return render(shell, items, environ)


def load_table() -> dict:
    try:
        return json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a broken install: the full CLI still completes
        raise NeedsFullCli from exc


def split_arg_string(string: str) -> list[str]:
    """Split like shlex.split, keeping a partial token (an open quote) as it is: Click's own function."""
    import shlex

    lex = shlex.shlex(string, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out = []
    try:
        for token in lex:
            out.append(token)
    except ValueError:
        out.append(lex.token)
    return out


def completion_args(shell: str, environ: dict[str, str]) -> tuple[list[str], str]:
    """The complete words after the program name, and the word being completed, as each shell sends them."""
    if shell == "bash":
        words = split_arg_string(environ.get("COMP_WORDS", ""))
        try:
            cword = int(environ.get("COMP_CWORD", ""))
        except ValueError as exc:
            raise NeedsFullCli from exc
        return words[1:cword], (words[cword] if cword < len(words) else "")
    line = environ.get("_TYPER_COMPLETE_ARGS", "")
    args = split_arg_string(line)[1:]
    if args and not line.endswith(" "):
        return args[:-1], args[-1]
    return args, ""


def complete(table: dict, args: list[str], incomplete: str) -> list[list[str]]:
    """The completion items for `incomplete` after `args`."""
    nodes = table["nodes"]
    path, used, positionals, values, root_values = _resolve(nodes, args)
    node = nodes[path]
    args = list(args)
    if incomplete == "=":
        incomplete = ""
    elif "=" in incomplete and incomplete.startswith("-"):
        name, _, incomplete = incomplete.partition("=")
        args.append(name)
    if "--" in args:
        raise NeedsFullCli
    if incomplete.startswith("-"):
        return _command_items(node, used, incomplete)
    if path and args and nodes[""]["hoisted"].get(args[-1]) and _knows(node, args[-1]) is None:
        # a global option written last after the verb: the root's value completion, with the root's values
        return _value_items(nodes[""]["options"][_option_index(nodes[""], args[-1])]["values"], incomplete,
                            root_values)
    if args and args[-1].startswith("-"):
        for option in node["options"]:
            if not option["flag"] and args[-1] in option["opts"]:
                return _value_items(option["values"], incomplete, values)
    for argument in _open_arguments(node, positionals):
        return _value_items(argument["values"], incomplete, values)
    return _command_items(node, used, incomplete)


def _resolve(nodes: dict, args: list[str]) -> tuple[str, set[int], int, dict[str, str], dict[str, str]]:
    """The command the words lead to, the options given on its part of the line (their indexes, and the values
    of those that take one, by parameter name), its count of positional words, and the values of the root's
    options (those written after the verb included)."""
    path, used, positionals, values, root_values = "", set(), 0, {}, {}
    i = 0
    while i < len(args):
        word = args[i]
        node = nodes[path]
        if word == "--":
            raise NeedsFullCli
        if word.startswith("-") and word != "-":
            name, has_value, _ = word.partition("=")
            if path and name in nodes[""]["hoisted"]:  # the root group takes it from here (a global option)
                takes_value = nodes[""]["hoisted"][name]
                if has_value and not takes_value:
                    raise NeedsFullCli
                if takes_value and not has_value and i + 1 >= len(args):
                    break  # written last: left where it is, for `complete` to give the root's values
                if takes_value:
                    option = nodes[""]["options"][_option_index(nodes[""], name)]
                    root_values[option["name"]] = word.partition("=")[2] if has_value else args[i + 1]
                i += 1 if has_value or not takes_value else 2
                continue
            index = _option_index(node, name)
            option = node["options"][index]
            if option["callback"] or (has_value and option["flag"]):
                raise NeedsFullCli
            used.add(index)
            if not option["flag"]:
                value = word.partition("=")[2] if has_value else (args[i + 1] if i + 1 < len(args) else None)
                if value is not None:
                    values[option["name"]] = value
            i += 1 if (option["flag"] or has_value) else 1 + option["nargs"]
            continue
        if node["children"] is not None:
            if word not in node["children"]:
                raise NeedsFullCli
            if not path:
                root_values = {**values, **root_values}
            path = f"{path} {word}".strip()
            used, positionals, values = set(), 0, {}
        else:
            positionals += 1
        i += 1
    return path, used, positionals, values, root_values if path else values


def _knows(node: dict, name: str) -> int | None:
    for index, option in enumerate(node["options"]):
        if name in option["names"]:
            return index
    return None


def _option_index(node: dict, name: str) -> int:
    index = _knows(node, name)
    if index is None:
        raise NeedsFullCli  # an option this command does not know: Click stops parsing the line there
    return index


def _open_arguments(node: dict, positionals: int):
    """Click's `_is_incomplete_argument`: arguments not yet given on the command line (or taking any number)."""
    taken = positionals
    for argument in node["arguments"]:
        if argument["nargs"] == -1:
            yield argument
        elif taken >= argument["nargs"]:
            taken -= argument["nargs"]
        else:
            yield argument


def _command_items(node: dict, used: set[int], incomplete: str) -> list[list[str]]:
    """A command's own completion: its subcommands, then (for an incomplete word like `-`) its options."""
    items = [item for item in node["commands"] or () if item[0].startswith(incomplete)]
    if incomplete and not incomplete[0].isalnum():
        for index, option in enumerate(node["options"]):
            if option["hidden"] or (index in used and not option["multiple"]):
                continue
            items.extend(item for item in option["items"] if item[0].startswith(incomplete))
    return items


class LineContext:
    """What a completer that takes `ctx` reads of Click's context: the values given on the command line."""

    def __init__(self, params: dict[str, str]) -> None:
        self.params = params


def _value_items(values: dict, incomplete: str, given: dict[str, str]) -> list[list[str]]:
    kind = values["kind"]
    if kind == "choices":
        if values["case_sensitive"]:
            return [item for item in values["items"] if item[0].startswith(incomplete)]
        return [item for item in values["items"] if item[0].lower().startswith(incomplete.lower())]
    if kind == "none":
        return []
    if kind == "echo":  # a file: the shell completes it
        return [_plain_item(incomplete)]
    if kind == "call":  # a Typer-free completer (mediactl/completers.py, mediactl/app/completion.py)
        import importlib

        completer = getattr(importlib.import_module(values["module"]), values["call"])
        context = (LineContext(given),) if values.get("ctx") else ()
        found = completer(*values["args"], *context, incomplete)
        if any(not isinstance(value, str) for value in found):
            raise NeedsFullCli  # (value, help) pairs: their help goes through Rich in zsh and fish
        return [_plain_item(value) for value in found if value.startswith(incomplete)]
    raise NeedsFullCli


def _plain_item(value: str) -> list[str]:
    """An item without help, as Typer's classes print it: bash and fish the value, zsh a quoted string."""
    escaped = (value.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`")
               .replace(":", r"\\:"))
    return [value, f'"{escaped}"', value]


def render(shell: str, items: list[list[str]], environ: dict[str, str]) -> tuple[str, int]:
    """The answer in the form the scripts in completions/ read (Typer's BashComplete, ZshComplete, FishComplete)."""
    lines = [item[SHELL_COLUMN[shell]] for item in items]
    if shell == "zsh":
        body = "_arguments '*: :((" + "\n".join(lines) + "))'" if lines else "_files"
        return body + "\n", 0
    if shell == "fish":
        action = environ.get("_TYPER_COMPLETE_FISH_ACTION", "")
        if action == "is-args":
            return "", 0 if lines else 1
        return ("\n".join(lines) if action == "get-args" else "") + "\n", 0
    return "\n".join(lines) + "\n", 0
