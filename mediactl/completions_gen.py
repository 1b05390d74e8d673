"""The generator of the shell completion scripts (mediactl/completion_scripts.py) and of the completion table.

    python -m mediactl.completions_gen            # rewrite completions/, mediactl/completion_table.json,
                                                  # mediactl/upload_table.json and mediactl/help_pages.json
                                                  # (tests fail when one is stale)

The scripts call `mediactl` back with _MEDIACTL_COMPLETE set. The launcher answers from the completion
table (mediactl/fast_completion.py), which this module builds by walking the live command tree: every
command, option and fixed option value, each answer pre-formatted the way Typer's completion classes
print it, and for values looked up at run time the Typer-free function in mediactl/completers.py that
finds them. What the table cannot answer goes to the Typer app itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mediactl.completion_scripts import SHELLS, script
from mediactl.fast_completion import TABLE_PATH
from mediactl.fast_upload import TABLE_PATH as UPLOAD_TABLE_PATH

__all__ = ["SHELLS", "build_table", "build_upload_table", "script", "table_text", "upload_table_text", "write_all",
           "write_table", "write_upload_table"]


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, filename in SHELLS.items():
        path = directory / filename
        path.write_text(script(shell))
        written.append(path)
    return written


def table_text() -> str:
    """The completion table of the command tree as it is now, as the committed file holds it."""
    from mediactl.cli import app
    from mediactl.typer_compat import command_of

    return json.dumps(build_table(command_of(app)), indent=0, ensure_ascii=False, sort_keys=True) + "\n"


def build_table(root) -> dict:
    """Every command of the tree under `root` (a Click command), keyed by its path ("" for the root)."""
    import typer

    nodes: dict[str, dict] = {}

    def visit(command, ctx, path: str) -> None:
        children = list(command.list_commands(ctx)) if hasattr(command, "list_commands") else None
        node: dict[str, Any] = {"children": children, "commands": None, "options": [], "arguments": []}
        if children is not None:  # what the group itself answers for an empty word: its visible commands
            node["commands"] = [_item(i.value, i.help) for i in command.shell_complete(ctx, "")]
        for param in command.get_params(ctx):
            if param.param_type_name == "option":
                opts, names = list(param.opts), [*param.opts, *param.secondary_opts]
                if param is command.get_help_option(ctx):  # Click orders these names by a set's hash
                    opts.sort()
                    names.sort()
                node["options"].append({
                    "name": param.name, "names": names, "opts": opts, "items": [_item(n, param.help) for n in names],
                    "flag": bool(param.is_flag or param.count), "multiple": bool(param.multiple),
                    "hidden": bool(param.hidden), "nargs": param.nargs, "callback": param.callback is not None,
                    "values": _values(param, ctx)})
            elif param.param_type_name == "argument":
                node["arguments"].append({"nargs": param.nargs, "values": _values(param, ctx)})
        nodes[path] = node
        for name in children or ():
            sub = command.get_command(ctx, name)
            if sub is not None:
                sub_ctx = typer.Context(sub, info_name=name, parent=ctx, resilient_parsing=True,
                                        **(sub.context_settings or {}))
                visit(sub, sub_ctx, f"{path} {name}".strip())

    root_ctx = typer.Context(root, info_name="mediactl", resilient_parsing=True, **(root.context_settings or {}))
    visit(root, root_ctx, "")
    nodes[""]["hoisted"] = _hoisted(root, nodes[""])
    return {"nodes": nodes}


def _hoisted(root, node: dict) -> dict[str, bool]:
    """The root's options it also takes after a command (`mediactl otherpage upload x -q`), found by parsing
    such a line: name -> whether it takes a value. Options with a callback are left out (--version exits)."""
    from mediactl.typer_compat import parameter_source

    child = next(iter(node["children"] or ()), None)
    hoisted: dict[str, bool] = {}
    for option in node["options"] if child else ():
        if option["callback"]:
            continue
        values = option["values"].get("items") or [["1"]]
        for name in option["names"]:
            tail = [name] if option["flag"] else [name, values[0][0]]
            ctx = root.make_context("mediactl", [child, "x", *tail], resilient_parsing=True)
            if parameter_source(ctx, option["name"]) == "commandline":
                hoisted[name] = not option["flag"]
    return hoisted


def _item(value: str, help_text: str | None) -> list[str]:
    from mediactl.typer_compat import completion_line

    return [value, completion_line("zsh", value, help_text), completion_line("fish", value, help_text)]


def _values(param, ctx) -> dict:
    """How the value of an option or argument completes, found by asking the parameter itself."""
    from mediactl.typer_compat import autocompletion_of

    if param.nargs not in (1, -1) or (param.param_type_name == "option" and param.nargs != 1):
        return {"kind": "full"}
    completer = autocompletion_of(param)
    if completer is not None:
        call = _light_call(completer)
        return {"kind": "call", **call} if call else {"kind": "full"}
    probe = "\x01probe"
    if [i.value for i in param.shell_complete(ctx, probe)] == [probe]:
        return {"kind": "echo"}
    items = param.shell_complete(ctx, "")
    if not items:
        return {"kind": "none"}
    if any(i.help for i in items):
        return {"kind": "full"}
    flipped = next((i.value.swapcase() for i in items if i.value.swapcase() != i.value), None)
    case_sensitive = flipped is None or not param.shell_complete(ctx, flipped)
    return {"kind": "choices", "case_sensitive": case_sensitive, "items": [_item(i.value, None) for i in items]}


def _light_call(completer) -> dict | None:
    """How the launcher calls `completer` without the CLI, or None when it cannot: a module-level function
    of a module that imports no Typer, Rich or Pydantic, or a completer made by a factory that says which
    function of mediactl/completers.py it calls (`light_call`)."""
    import inspect

    wants_ctx = next(iter(inspect.signature(completer).parameters), None) == "ctx"
    light = getattr(completer, "light_call", None)
    if light is not None and completer.__module__ == "mediactl.completers":
        return {"module": "mediactl.completers", "call": light[0], "args": list(light[1]), "ctx": wants_ctx}
    if "<locals>" not in completer.__qualname__ and _imports_no_cli(completer.__module__):
        return {"module": completer.__module__, "call": completer.__qualname__, "args": [], "ctx": wants_ctx}
    return None


_LIGHT_MODULES: dict[str, bool] = {}


def _imports_no_cli(module: str) -> bool:
    """Whether importing `module` in a fresh interpreter leaves Typer, Rich and Pydantic out."""
    if module not in _LIGHT_MODULES:
        import subprocess

        code = (f"import importlib, sys; importlib.import_module({module!r}); "
                "print(any(m.split('.')[0] in ('typer', 'rich', 'pydantic') for m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        _LIGHT_MODULES[module] = out.strip() == "False"
    return _LIGHT_MODULES[module]


def write_table(path: Path = TABLE_PATH) -> Path:
    path.write_text(table_text(), encoding="utf-8")
    return path


def upload_table_text() -> str:
    """The launcher's table of the upload commands' options (mediactl/fast_upload.py), as committed."""
    from mediactl.cli import app
    from mediactl.typer_compat import command_of

    return json.dumps(build_upload_table(command_of(app)), indent=0, sort_keys=True) + "\n"


def build_upload_table(root) -> dict:
    """The root's options and each provider's upload command's parameters, as mediactl/fast_upload.py reads
    them: names, kind (flag, count, multi, args, str, path, int, float, choice; "unsupported" for a type the
    fast path does not convert, which sends that provider's uploads to the full CLI), default, envvar,
    required, range, choices, and whether a callback runs (the fast path declines such an option)."""
    import typer

    from mediactl.registry import PROVIDERS

    root_ctx = typer.Context(root, info_name="mediactl", resilient_parsing=True, **(root.context_settings or {}))
    upload: dict[str, dict] = {}
    for name, spec in PROVIDERS.items():
        if not spec.capabilities.offers("upload"):
            continue
        group = root.get_command(root_ctx, name)
        group_ctx = typer.Context(group, info_name=name, parent=root_ctx, resilient_parsing=True)
        command = group.get_command(group_ctx, "upload")
        ctx = typer.Context(command, info_name="upload", parent=group_ctx, resilient_parsing=True)
        params = _upload_params(command, ctx)
        upload[name] = {"params": params, "unsupported": any(p["kind"] == "unsupported" for p in params)}
    return {"root": [p for p in _upload_params(root, root_ctx) if p["name"] != "version"], "upload": upload}


def _upload_params(command, ctx) -> list[dict]:
    import enum
    from pathlib import Path as PathType

    out = []
    for param in command.get_params(ctx):
        if not param.expose_value:  # --help
            continue
        annotation = param.type_descriptor.annotation
        info = param.type_descriptor.parameter_info
        entry: dict[str, Any] = {"name": param.name, "names": [*param.opts, *param.secondary_opts],
                                 "default": param.default, "envvar": param.envvar, "required": bool(param.required),
                                 "callback": param.callback is not None or bool(getattr(param, "prompt", None))}
        if param.param_type_name == "argument":
            kind = "args" if param.nargs == -1 and annotation == list[str] else "unsupported"
        elif param.count:
            kind = "count"
        elif param.is_flag and not param.secondary_opts and annotation is bool:
            kind = "flag"
        elif param.multiple:
            kind = "multi" if annotation == list[str] else "unsupported"
        elif param.nargs != 1:
            kind = "unsupported"
        elif annotation is str:
            kind = "str"
        elif annotation is PathType:
            kind = "path"
            entry.update(file_okay=info.file_okay, dir_okay=info.dir_okay)
            if info.exists or info.resolve_path or info.writable or info.readable is False or info.allow_dash:
                kind = "unsupported"
        elif annotation in (int, float):
            kind = annotation.__name__
            entry.update(min=param.min, max=param.max)
            if getattr(info, "clamp", False):
                kind = "unsupported"
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            kind = "choice" if command is ctx.find_root().command else "unsupported"  # the verb would get the Enum
            entry.update(choices=[m.value for m in annotation], case_sensitive=info.case_sensitive)
        else:
            kind = "unsupported"
        entry["kind"] = kind
        if not isinstance(entry["default"], (str, int, float, bool, type(None))):
            entry.update(kind="unsupported", default=None)
        out.append(entry)
    return out


def write_upload_table(path: Path = UPLOAD_TABLE_PATH) -> Path:
    path.write_text(upload_table_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "completions"
    for path in write_all(target):
        print(path)
    print(write_table())
    print(write_upload_table())
    from mediactl.help_pages import write_pages  # the plain --help pages the launcher prints

    print(write_pages())
