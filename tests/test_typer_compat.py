"""mediactl/typer_compat.py against the installed Typer: every name it offers, on a small real Typer app.

These are the places mediactl reaches past Typer's public API (and the public behaviour its error boundary
relies on); when a Typer upgrade moves one of them, a test here fails and names it.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from mediactl import typer_compat


def _tiny_app(seen: dict) -> typer.Typer:
    app = typer.Typer(add_completion=False, help="A tiny app.", epilog="Examples: tiny greet")

    @app.command("greet")
    def greet(
        ctx: typer.Context,
        name: Annotated[str, typer.Option("--name", envvar="TINY_NAME", help="Who to greet.")] = "world",
        times: Annotated[int, typer.Argument(help="How often.")] = 1,
    ) -> None:
        """Greet someone.

        Example: tiny greet --name you 2
        """
        seen["source"] = typer_compat.parameter_source(ctx, "name")
        seen["same_context"] = typer_compat.current_context() is ctx
        print(f"hello {name}" * times)

    @app.command("part")
    def part(bad: Annotated[int, typer.Option("--bad", help="A number.")] = 0) -> None:
        """Fail on purpose."""
        if bad:
            raise typer.BadParameter("bad is bad")

    return app


def test_command_of_builds_the_group_typer_runs():
    command = typer_compat.command_of(_tiny_app({}))
    assert isinstance(command, typer.core.TyperGroup) and isinstance(command, typer_compat.Command)
    assert command.main(["greet", "--name", "x"], prog_name="tiny", standalone_mode=False) is None


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["greet", "--name", "x"], {}, "commandline"),
    (["greet"], {"TINY_NAME": "x"}, "environment"),
    (["greet"], {}, "default"),
])
def test_parameter_source_and_current_context(args, env, expected, monkeypatch):
    monkeypatch.delenv("TINY_NAME", raising=False)
    seen: dict = {}
    result = CliRunner().invoke(_tiny_app(seen), args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen == {"source": expected, "same_context": True}


def test_current_context_outside_a_command_raises():
    with pytest.raises(RuntimeError):
        typer_compat.current_context()


def test_usage_errors_exits_and_aborts_are_the_public_exceptions_the_error_boundary_re_raises():
    command = typer_compat.command_of(_tiny_app({}))
    for args in (["part", "--bad", "1"], ["part", "--bad", "x"], ["nope"]):
        with pytest.raises(typer.TyperException):
            command.main(args, prog_name="tiny", standalone_mode=False)
    ctx = typer.Context(command)
    with pytest.raises(typer.Exit):
        ctx.exit(3)
    with pytest.raises(typer.Abort):
        ctx.abort()


def test_use_plain_help_turns_rich_panels_into_plain_text(monkeypatch):
    monkeypatch.setattr(typer.core, "HAS_RICH", True)  # restored after the test
    app = _tiny_app({})
    rich = CliRunner().invoke(app, ["greet", "--help"])
    assert "╭" in rich.output
    typer_compat.use_plain_help()
    plain = CliRunner().invoke(app, ["greet", "--help"])
    assert plain.exit_code == 0 and "╭" not in plain.output and "--name" in plain.output
    error = CliRunner().invoke(app, ["greet", "--nope"])
    assert error.exit_code == 2 and "╭" not in error.output and "No such option" in error.output


def test_shell_completion_answers_with_the_completion_items_of_a_group(monkeypatch, capsys):
    class Names(typer.core.TyperGroup):
        def shell_complete(self, ctx, incomplete):
            return [typer_compat.CompletionItem(name) for name in ("alpha", "beta") if name.startswith(incomplete)]

    app = typer.Typer(cls=Names, add_completion=False)
    app.command("alpha")(lambda: None)
    app.command("beta")(lambda: None)
    typer_compat.enable_shell_completion()
    monkeypatch.setenv("_TINY_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "tiny b")
    monkeypatch.setenv("COMP_CWORD", "1")
    with pytest.raises(SystemExit) as exited:
        typer_compat.command_of(app).main([], prog_name="tiny", complete_var="_TINY_COMPLETE")
    assert exited.value.code == 0
    assert capsys.readouterr().out.split() == ["beta"]


def test_completion_script_calls_the_program_back_with_the_variable():
    for shell in ("bash", "zsh", "fish"):
        text = typer_compat.completion_script(prog_name="tiny", complete_var="_TINY_COMPLETE", shell=shell)
        assert "_TINY_COMPLETE" in text and "tiny" in text


def test_walk_commands_describes_every_command_and_parameter():
    docs = {doc.path: doc for doc in typer_compat.walk_commands(_tiny_app({}), "tiny")}
    assert list(docs) == [(), ("greet",), ("part",)]
    assert docs[()].subcommands == ("greet", "part") and docs[()].help == "A tiny app."
    assert docs[()].epilog == "Examples: tiny greet" and docs[("greet",)].epilog == ""
    greet = docs[("greet",)]
    assert greet.usage.startswith("tiny greet [OPTIONS]") and greet.subcommands == ()
    assert greet.short_help == "Greet someone." and "Example: tiny greet" in greet.help
    params = {p.name: p for p in greet.params}
    assert set(params) == {"name", "times", "help"}
    assert params["name"].is_option and params["name"].label.startswith("--name")
    assert params["name"].help == "Who to greet." and "TINY_NAME" in params["name"].details
    assert not params["times"].is_option and params["times"].help == "How often."


# The lean converter (typer_compat.lean_coercion) against Typer's own, over every parameter of the live
# command tree: the same value (and type) or the same error message for every input below.

def _live_parameters():
    """(command path, parameter, its context) for every Typer parameter of mediactl, help options included."""
    from mediactl.cli import app

    def walk(command, ctx, path):
        for param in command.get_params(ctx):
            if hasattr(param, "type_descriptor"):
                yield path, param, ctx
        if isinstance(command, typer.core.TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(sub, typer.Context(sub, info_name=name, parent=ctx), (*path, name))

    root = typer_compat.command_of(app)
    yield from walk(root, typer.Context(root, info_name="mediactl"), ())


def _inputs(param, tmp_path):
    from enum import Enum
    from pathlib import Path

    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir(exist_ok=True)
    strings = ["", " ", "0", "1", "-1", "+3", "007", " 5", "5 ", "1_0", "1.0", "1.5", "-2.5", "1e3", "1E-2", ".5",
               "1.", "0.05", "0.1", "inf", "-inf", "nan", "1e400", "abc", "٣", "99999999999999999999999", "4", "5",
               "64", "65", "100", "101", "4096", "4097", "40", "41", "65535", "65536", "true", "FALSE", "Yes",
               "no", "on", "OFF", "t", "f", "y", "n", "2", " true ", "trüe", "a\tb", "--", "-",
               str(tmp_path / "file"), str(tmp_path / "dir"), str(tmp_path / "missing")]
    values = [*strings, None, True, False, 0, 1, 5, 2**60, 2.5, 1.0, float("nan"), b"bytes", ["a", "b"], ("a",),
              [], ["a", 1], tmp_path / "file", tmp_path / "dir", tmp_path / "missing", Path("")]
    annotation = param.type_descriptor.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        for member in annotation:
            values += [member, member.value, str(member.value).upper(), f" {member.value}"]
    return values


def _outcome(converter, value, param, ctx):
    try:
        result = converter.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 - the outcome compared is the exception and its message
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return ("raises", type(exc), message)
    return ("returns", type(result), repr(result))


def test_lean_coercion_gives_typers_values_and_messages_for_every_parameter_of_the_cli(tmp_path):
    from typer._coercion import build_runtime_param

    compared, lean_params = 0, 0
    for path, param, ctx in _live_parameters():
        lean = typer_compat.lean_converter(param)
        if lean is None:
            continue
        lean_params += 1
        typers = build_runtime_param(param.type_descriptor)
        for value in _inputs(param, tmp_path):
            expected = _outcome(typers, value, param, ctx)
            assert _outcome(lean, value, param, ctx) == expected, (path, param.name, value)
            compared += 1
    assert lean_params > 250 and compared > 15000  # the whole tree was walked


def test_every_parameter_of_the_cli_gets_the_lean_converter():
    """What keeps Pydantic off the CLI's paths: a new parameter of another type would bring it back."""
    others = [(path, param.name, param.type_descriptor.annotation) for path, param, _ in _live_parameters()
              if typer_compat.lean_converter(param) is None]
    assert others == []


def test_parameters_of_other_types_keep_typers_converter():
    app = typer.Typer(add_completion=False)

    @app.command()
    def run(when: datetime.datetime, mode: Literal["a", "b"] = "a", n: Annotated[int, typer.Option(parser=int)] = 1,
            ids: list[int] | None = None, clamped: Annotated[int, typer.Option(min=0, max=3, clamp=True)] = 0) -> None:
        pass

    command = typer_compat.command_of(app)
    assert [typer_compat.lean_converter(p) for p in command.params] == [None] * 5


@pytest.mark.parametrize("args", [["otherpage", "--help"], ["otherpage", "list", "--help"], ["history"],
                                  ["--timeout", "5", "-o", "json", "history"]])
def test_the_cli_converts_its_values_without_pydantic(args, isolated_env):
    import json
    import os
    import subprocess
    import sys

    code = ("import sys\nsys.argv = ['mediactl', *sys.argv[1:]]\nimport mediactl.cli\n"  # the full CLI
            "try:\n    mediactl.cli.main()\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "typer" in modules and [m for m in modules if m.split(".")[0] == "pydantic"] == []


def test_an_invalid_value_gets_typers_message(cli):
    result = cli("--timeout", "soon", "history")
    assert result.code == 2
    assert "Invalid value for '--timeout'" in result.stderr and "unable to parse string as a number" in result.stderr
