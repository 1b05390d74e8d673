"""The verbs written once (mediactl/verbs/): their run() called with a test context, no CLI parsing and no
subprocess; a verb added from the test tree alone; a verb a provider lacks answered in one place."""

from __future__ import annotations

import io
import json

import pytest

from mediactl.app.context import AppContext, GlobalOptions, IOStreams
from mediactl.engine.batch import BatchExit
from mediactl.errors import ExitCode, NotFoundError, UsageError
from mediactl.verbs import VERB_MODULES, VerbOptions
from mediactl.verbs import delete as delete_verb
from mediactl.verbs import list as list_verb
from mediactl.verbs import upload as upload_verb
from tests.test_nationbuilder import page as new_page
from tests.test_registry import toy  # noqa: F401 - the fixture


def context(sandbox, tmp_path, **options) -> AppContext:
    """A run's context with its own streams and environment, as a test builds it."""
    env = {**sandbox.env, "MEDIACTL_CONFIG_DIR": str(tmp_path / "cfg"), "MEDIACTL_DATA_DIR": str(tmp_path / "data")}
    streams = IOStreams(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), stdout_isatty=False,
                        stderr_isatty=False, stdin_isatty=False)
    return AppContext(streams, GlobalOptions(**{"output": "json", **options}), env)


def test_upload_list_and_delete_run_with_a_test_context(sandbox, tmp_path):
    pg = new_page()
    (tmp_path / "a.txt").write_text("alpha")
    ctx = context(sandbox, tmp_path)
    upload_verb.run(VerbOptions("nationbuilder", {"files": [str(tmp_path / "a.txt")], "page": pg}), ctx)
    [uploaded] = json.loads(ctx.stdout.getvalue())
    assert uploaded["filename"] == "a.txt" and uploaded["provider"] == "nationbuilder"
    assert ctx.journal.get("nationbuilder", str(uploaded["id"]))["phase"] == "completed"

    listing = context(sandbox, tmp_path)
    list_verb.run(VerbOptions("nationbuilder", {"page": pg}), listing)
    assert [row["id"] for row in json.loads(listing.stdout.getvalue())] == [uploaded["id"]]

    refused = context(sandbox, tmp_path)  # no terminal and no --yes
    with pytest.raises(UsageError):
        delete_verb.run(VerbOptions("nationbuilder", {"attachment_ids": [str(uploaded["id"])], "page": pg}), refused)
    deleting = context(sandbox, tmp_path, yes=True)
    delete_verb.run(VerbOptions("nationbuilder", {"attachment_ids": [str(uploaded["id"])], "page": pg}), deleting)
    assert json.loads(deleting.stdout.getvalue()) == [{"id": str(uploaded["id"]), "deleted": True,
                                                       "provider": "nationbuilder"}]
    again = context(sandbox, tmp_path, yes=True)
    with pytest.raises(BatchExit) as failed:
        delete_verb.run(VerbOptions("nationbuilder", {"attachment_ids": [str(uploaded["id"])], "page": pg}), again)
    assert failed.value.code == ExitCode.NOT_FOUND


def test_otherpage_list_reads_the_journal_through_the_context(sandbox, tmp_path):
    ctx = context(sandbox, tmp_path)
    ctx.journal.register(provider="otherpage", profile="default", target="c-1", path=tmp_path / "x.png", name="x.png")
    list_verb.run(VerbOptions("otherpage", {"community": "c-1"}), ctx)
    assert [row["name"] for row in json.loads(ctx.stdout.getvalue())] == ["x.png"]
    with pytest.raises(NotFoundError):
        from mediactl.verbs import show as show_verb

        show_verb.run(VerbOptions("otherpage", {"file_id": "nope"}), context(sandbox, tmp_path))


def test_a_verb_is_one_module_and_one_method_per_provider(toy, cli, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setitem(VERB_MODULES, "count", "tests.toyprovider.count_verb")
    (tmp_path / "a.txt").write_text("a")
    assert cli("toy", "upload", str(tmp_path / "a.txt")).code == 0
    run = cli("toy", "count", "-o", "json")
    assert run.code == 0, run
    assert json.loads(run.stdout) == {"count": 1, "provider": "toy"}
    assert "Count the files" in cli("toy", "--help").stdout
    lacking = cli("otherpage", "count")  # offered by no one else: answered, not "No such command"
    assert lacking.code == 2 and "the Other Page API offers no count" in lacking.stderr


@pytest.mark.parametrize(("provider", "verb", "why"), [
    ("otherpage", "delete", "the Other Page API offers no delete"),
    ("ofauth", "delete", "the OFAuth Access API offers no delete"),
    ("nationbuilder", "complete", "nothing to complete"),
])
def test_a_missing_capability_is_answered_in_one_place(cli, provider, verb, why):
    run = cli(provider, verb, "some-id", "--page", "x")
    assert run.code == 2, run
    assert why in run.stderr and "No such command" not in run.stderr
