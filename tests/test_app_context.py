"""The run's context (mediactl/app/context.py) and the one table of global options (mediactl/app/options.py):
an unknown --profile is refused by every command that reads settings or the journal, `history` shows the
active profile's uploads, hints name the profile, and every global option works after every verb."""

from __future__ import annotations

import io
import json

import pytest

from mediactl.app.context import AppContext, GlobalOptions, IOStreams
from mediactl.app.options import GLOBAL_OPTIONS, hoist_global_options, options_from_values
from mediactl.journal import Journal
from mediactl.providers.summary import BatchSummary


@pytest.mark.parametrize("args", [
    ("otherpage", "list"), ("otherpage", "url", "c-1/logo-png"), ("otherpage", "show", "x"), ("history",),
    ("otherpage", "upload", "nothing.png"),
])
def test_an_unknown_profile_is_refused_by_every_command(cli, args):
    run = cli("--profile", "nosuch", *args)
    assert run.code == 3, run
    assert "unknown profile 'nosuch'" in run.stderr


def test_history_shows_the_active_profiles_uploads(cli, isolated_env, tmp_path):
    assert cli("--profile", "ci", "config", "set", "otherpage.community", "c-ci").code == 0
    journal = Journal(tmp_path / "data")
    mine = journal.register(provider="otherpage", profile="ci", target="c-ci", path=tmp_path / "a.png", name="a.png")
    journal.register(provider="otherpage", profile="default", target="c", path=tmp_path / "b.png", name="b.png")
    for entry in (mine, *(e["id"] for e in journal.list(profile="default"))):
        journal.update(entry, phase="failed", error="x")
    run = cli("--profile", "ci", "history", "--status", "failed", "-o", "json")
    assert run.code == 0, run
    assert [row["id"] for row in json.loads(run.stdout)] == [mine]
    default = json.loads(cli("history", "-o", "json").stdout)
    assert [row["name"] for row in default] == ["b.png"]


def test_the_resume_hint_names_the_profile():
    assert "`mediactl --profile ci resume --provider otherpage`" in BatchSummary(
        "otherpage", failed=1, resumable=1, profile="ci").lines()[-1]
    assert "`mediactl resume --provider otherpage`" in BatchSummary("otherpage", resumable=1).lines()[-1]


def _after_the_verb_args() -> list[list[str]]:
    values = {"--profile": "default", "--config-dir": None, "--output": "json", "-o": "plain", "--timeout": "5",
              "--retries": "1", "--report": "report.json"}
    out = []
    for option in GLOBAL_OPTIONS:
        for flag in option.flags:
            out.append([flag] if not option.takes_value else [flag, values[flag] or "CONFIG"])
    return out


@pytest.mark.parametrize("option", _after_the_verb_args(), ids=lambda a: " ".join(a))
def test_every_global_option_works_after_the_verb(cli, isolated_env, option):
    if option[-1] == "CONFIG":
        option = [option[0], str(isolated_env)]
    run = cli("config", "path", *option)
    assert run.code == 0, run
    assert str(isolated_env) in run.stdout


def test_the_hoist_is_derived_from_the_table():
    assert hoist_global_options(["config", "path", "--verbose", "--no-progress", "--timeout=3"]) == [
        "--verbose", "--no-progress", "--timeout=3", "config", "path"]
    assert hoist_global_options(["history", "--", "--yes"]) == ["history", "--", "--yes"]


def test_options_come_from_an_injected_environment_not_os_environ():
    env = {"MEDIACTL_OUTPUT": "jsonl", "MEDIACTL_DEBUG": "1", "MEDIACTL_PROGRESS_INTERVAL": "2.5"}
    options = options_from_values({}, env)
    assert (options.output, options.verbose, options.progress_interval) == ("jsonl", 1, 2.5)
    assert options_from_values({"output": "table"}, env).output == "table"  # the command line wins


def test_a_context_reads_settings_and_dirs_from_its_own_environment(tmp_path):
    env = {"MEDIACTL_CONFIG_DIR": str(tmp_path / "c"), "MEDIACTL_DATA_DIR": str(tmp_path / "d"),
           "MEDIACTL_OTHERPAGE_COMMUNITY": "from-env"}
    ctx = AppContext(IOStreams(stdout=io.StringIO(), stderr=io.StringIO()), GlobalOptions(), env)
    assert ctx.resolved_config_dir() == tmp_path / "c" and ctx.data_dir == tmp_path / "d"
    assert ctx.settings.require("otherpage", "community") == "from-env"
    assert ctx.journal.path == tmp_path / "d" / "journal.sqlite3"


def test_did_you_mean_for_a_misspelt_command_and_a_global_option_after_the_verb(cli):
    run = cli("otherpge", "list")
    assert run.code == 2 and "Did you mean 'otherpage'?" in run.stderr
    run = cli("config", "path", "--verbos")
    assert run.code == 2 and "--verbose" in run.stderr


def test_completion_of_ids_statuses_providers_shells_output_and_profiles(isolated_env, cli, tmp_path):
    from tests.test_help_and_completions import _complete

    entry = Journal(tmp_path / "data").register(provider="otherpage", profile="default", target="c",
                                                 path=tmp_path / "a.png", name="a.png")
    assert _complete(f"mediactl history forget {entry[:3]}", 3) == [entry]
    assert _complete("mediactl history --status fa", 3) == ["failed"]
    assert _complete("mediactl history --provider of", 3) == ["ofauth"]
    assert _complete("mediactl completion f", 2) == ["fish"]
    assert _complete("mediactl -o js", 2) == ["json", "jsonl"]
    assert cli("--profile", "default", "config", "set", "otherpage.community", "c").code == 0
    assert _complete("mediactl --profile ", 2).count("default") == 1


@pytest.mark.parametrize("command", [("nationbuilder", "upload"), ("config", "set"), ("history",),
                                     ("bitbadges", "upload"), ("ofauth", "list"), ()])
def test_help_names_values_without_internal_type_names(cli, command):
    run = cli(*command, "--help")
    assert run.code == 0, run
    for internal in ("<str>", "<int>", "<float>", "list[", "range>", "{key}", "{", "<path>"):
        assert internal not in run.stdout, (internal, run.stdout)


def _leaf_commands() -> list[tuple[str, ...]]:
    from mediactl.cli import app
    from mediactl.typer_compat import walk_commands

    return [tuple(c.path) for c in walk_commands(app, "mediactl") if c.path and not c.subcommands]


@pytest.mark.parametrize("option", [["-o", "json"], ["--verbose"], ["--profile=default"], ["-y"]],
                         ids=lambda a: a[0])
def test_global_options_are_accepted_after_every_verb(cli, option):
    refused = [" ".join(path) for path in _leaf_commands() if cli(*path, *option, "--help").code != 0]
    assert refused == []
