"""The launcher's second door to `mediactl [GLOBAL OPTIONS] PROVIDER upload ARGS...`: the command line parsed
without Typer (whose start-up, with Pydantic, is most of an upload's time to its first byte: bench/startup.py),
from `upload_table.json`, which `python -m mediactl.completions_gen` generates from the live command tree.

`parse(argv, env)` takes only the lines it understands exactly and returns what the Typer path would hand on:
the root callback's values (and which of them came from the line or the environment) and the upload's
values. Anything else returns None and the full CLI runs, unchanged: `--help`, `--version`, `--`, an unknown
option, a short-option cluster, a value Typer would refuse or would have to convert (an int out of range, a
path of the wrong kind, an empty value, a value that starts with `-`), a missing required option, an option
with a callback (`--report`, MEDIACTL_REPORT) and an environment variable the root callback refuses
(MEDIACTL_OUTPUT=xml). GitHub Actions runs take the fast path too: their reports come from the same code.
tests/test_lean_upload.py compares `parse` with Typer's own parse of several hundred lines per provider.

`run(line, env)` then goes through the code the Typer path uses: the AppContext from `app.options.run_context`,
the verb through `verbs.run_verb`, inside `app.boundary.run_guarded`. One implementation, two front doors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).with_name("upload_table.json")
VALUE_KINDS = ("str", "path", "int", "float", "choice")
_INT = re.compile(r"(0|[1-9][0-9]{0,17})\Z")
_FLOAT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?\Z")


@dataclass
class UploadLine:
    """A command line the fast path parsed: what the root callback and the upload command would be given."""

    provider: str
    root_values: dict[str, Any]
    explicit: list[str]
    values: dict[str, Any]
    argv: list[str] = field(default_factory=list)


class _Decline(Exception):  # noqa: N818 - not an error: the full CLI takes this line
    pass


def load_table() -> dict:
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


def parse(argv: Sequence[str], env: Mapping[str, str], table: dict | None = None) -> UploadLine | None:
    """The upload this line asks for, or None for the full CLI (see the module docstring)."""
    if "upload" not in argv or "--" in argv:
        return None
    table = load_table() if table is None else table
    try:
        return _parse(list(argv), env, table)
    except _Decline:
        return None


def _parse(argv: list[str], env: Mapping[str, str], table: dict) -> UploadLine:
    from mediactl.app.options import hoist_global_options

    args = hoist_global_options(argv)
    root_params = table["root"]
    given: dict[str, Any] = {}
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        i = _option(args, i, root_params, given)
    if i + 1 >= len(args) or args[i] not in table["upload"] or args[i + 1] != "upload":
        raise _Decline
    provider, command = args[i], table["upload"][args[i]]
    if command.get("unsupported"):
        raise _Decline
    verb_given: dict[str, Any] = {}
    files: list[str] = []
    j = i + 2
    while j < len(args):
        if args[j].startswith("-") and args[j] != "-":
            j = _option(args, j, command["params"], verb_given)
        else:
            files.append(args[j])
            j += 1
    root_values, explicit = _values(root_params, given, env)
    values, _ = _values(command["params"], verb_given, env, files=files)
    _check_environment(root_values, env, explicit)
    return UploadLine(provider, root_values, explicit, values, argv)


def _check_environment(root_values: dict[str, Any], env: Mapping[str, str], explicit: list[str]) -> None:
    """Decline when the variables the root callback reads itself (MEDIACTL_OUTPUT, MEDIACTL_PROGRESS_INTERVAL)
    hold what it refuses: Typer reports that as a usage error."""
    from mediactl.app.options import options_from_values

    try:
        options_from_values(root_values, env, explicit=explicit)
    except Exception:  # typer.BadParameter, which only the full CLI shows as Typer does
        raise _Decline from None


def _option(args: list[str], i: int, params: list[dict], given: dict[str, Any]) -> int:
    """Parse the option at args[i] into `given` (name -> value, or list of values); the index after it."""
    arg = args[i]
    by_name = {name: p for p in params for name in p["names"]}
    if arg.startswith("--"):
        name, eq, inline = arg.partition("=")
        param = by_name.get(name)
        if param is None:
            raise _Decline
        if param["kind"] in ("flag", "count"):
            if eq:
                raise _Decline
            _give(param, given, None)
            return i + 1
        if eq:
            _give(param, given, inline)
            return i + 1
    elif len(arg) == 2:
        param = by_name.get(arg)
        if param is None:
            raise _Decline
        if param["kind"] in ("flag", "count"):
            _give(param, given, None)
            return i + 1
    else:  # a cluster (-vv): flags and counts only
        for letter in arg[1:]:
            param = by_name.get(f"-{letter}")
            if param is None or param["kind"] not in ("flag", "count"):
                raise _Decline
            _give(param, given, None)
        return i + 1
    if i + 1 >= len(args):
        raise _Decline
    _give(param, given, args[i + 1])
    return i + 2


def _give(param: dict, given: dict[str, Any], text: str | None) -> None:
    if param.get("callback") or param["kind"] not in ("flag", "count", "multi", *VALUE_KINDS):
        raise _Decline
    name, kind = param["name"], param["kind"]
    if kind == "flag":
        given[name] = True
    elif kind == "count":
        given[name] = given.get(name, 0) + 1
    elif kind == "multi":
        given.setdefault(name, []).append(_convert({**param, "kind": "str"}, text))
    else:
        given[name] = _convert(param, text)


def _convert(param: dict, text: str | None) -> Any:
    """The value Typer would give for `text`, or _Decline for anything it would refuse or need to convert."""
    if text is None or text == "" or text.startswith("-") or not text.isprintable():
        raise _Decline
    kind = param["kind"]
    if kind == "str":
        return text
    if kind == "path":
        path = Path(text)
        if not param.get("dir_okay", True) and path.is_dir() or not param.get("file_okay", True) and path.is_file():
            raise _Decline  # Typer's "is a directory" / "is a file"
        return path
    if kind == "choice":
        folded = text if param.get("case_sensitive", True) else text.lower()
        if not text.isascii() or folded not in param["choices"]:
            raise _Decline
        return folded
    if not (_INT if kind == "int" else _FLOAT).match(text):
        raise _Decline
    value = int(text) if kind == "int" else float(text)
    if (param.get("min") is not None and value < param["min"]) or (param.get("max") is not None
                                                                   and value > param["max"]):
        raise _Decline
    return value


def _values(params: list[dict], given: dict[str, Any], env: Mapping[str, str], *,
            files: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Every parameter's value (the line's, else its environment variable's, else its default), and the names
    of those not from the default."""
    values: dict[str, Any] = {}
    explicit: list[str] = []
    for param in params:
        name = param["name"]
        if param["kind"] == "args":
            values[name] = files or None
            if files:
                explicit.append(name)
            continue
        if name in given:
            values[name] = given[name]
            explicit.append(name)
            continue
        text = env.get(param["envvar"]) if param.get("envvar") else None
        if text:
            if param.get("callback") or param["kind"] not in VALUE_KINDS:
                raise _Decline
            values[name] = _convert(param, text)
            explicit.append(name)
        elif param.get("required"):
            raise _Decline  # Typer's "Missing option"
        else:
            values[name] = param["default"]
    return values, explicit


def run(line: UploadLine, env: Mapping[str, str]) -> int:
    """The upload, through the same code as the Typer path (module docstring); the exit code."""
    from mediactl.app.boundary import run_guarded
    from mediactl.app.options import run_context
    from mediactl.verbs import run_verb

    app = run_context(line.root_values, env, explicit=line.explicit)
    error: list[BaseException] = []

    def upload() -> None:
        try:
            run_verb(line.provider, "upload", line.values, app)
        except Exception as exc:
            if not _is_usage_error(exc):
                raise
            error.append(exc)  # an option value the provider refused the way Typer reports it

    code = run_guarded(app, line.provider, upload)
    if error:
        from mediactl.cli import show_usage_error

        return show_usage_error(line.argv, app, error[0])  # type: ignore[arg-type]
    return code


def _is_usage_error(exc: BaseException) -> bool:
    """A Typer usage error (typer.BadParameter) raised by the verb: only if Typer is loaded at all."""
    import sys

    if "typer" not in sys.modules:
        return False
    from mediactl.typer_compat import ClickUsageError

    return isinstance(exc, ClickUsageError)


def main(argv: Sequence[str]) -> None:
    """The launcher's hook: runs the upload and exits with its code (the launcher runs this inside
    mediactl/interrupts.py `run_as_process`, as it does the full CLI); returns only when the full CLI should
    take the line."""
    line = parse(argv, os.environ)
    if line is None:
        return
    import sys

    sys.exit(run(line, os.environ))
