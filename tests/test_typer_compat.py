"""mediactl/typer_compat.py against the installed Typer: every name it offers, on a small real Typer app.

These are the places mediactl reaches past Typer's public API (and the public behaviour its error boundary
relies on); when a Typer upgrade moves one of them, a test here fails and names it.
"""

from __future__ import annotations

from typing import Annotated

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
