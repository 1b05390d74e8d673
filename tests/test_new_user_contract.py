"""What a new user's trial of the integration branch found in the CLI's contract and output (README "Output",
"Batches"): batches where one file is missing, JSON on every way out, broken config files, providers named in
errors, notes on lists cut short, --name as a file name only, and the warnings of `-r`. Through the CLI
against the sandbox."""

from __future__ import annotations

import json
import uuid

import pytest


def page() -> str:
    return "p-" + uuid.uuid4().hex[:8]


def community() -> str:
    return "c-" + uuid.uuid4().hex[:8]


@pytest.mark.parametrize("name", ["../../evil.png", "a/b.png", "a\\b.png", ".", "..", "a\nb.png", "a\x1b[2Jb.png"])
def test_name_is_a_file_name_never_a_path(sandbox, cli, tmp_path, name):
    (tmp_path / "f.png").write_bytes(b"png")
    pg = page()
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "f.png"), "--page", pg, "--name", name)
    assert run.code == 2, run
    assert "--name" in run.stderr
    assert json.loads(run.stdout)["error"]["code"] == 2
    assert json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout) == []  # nothing sent
    ok = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "f.png"), "--page", pg, "--name", "ok.png")
    assert ok.code == 0, ok


def test_recursive_warnings_tell_a_broken_link_from_a_link_to_a_directory(sandbox, cli, tmp_path):
    folder = tmp_path / "lnk"
    folder.mkdir()
    (folder / "broken.png").symlink_to(tmp_path / "no" / "such" / "target")
    (tmp_path / "adir").mkdir()
    (folder / "dir.png").symlink_to(tmp_path / "adir", target_is_directory=True)
    run = cli("otherpage", "upload", "-r", str(folder), "--community", community(), "--dry-run")
    assert "broken.png: a broken symbolic link" in run.stderr, run
    assert f"dir.png: a symbolic link to a directory ({tmp_path / 'adir'}" in run.stderr, run


def test_errors_name_the_provider_of_the_verb(sandbox, cli, tmp_path, monkeypatch):
    run = cli("-y", "-o", "json", "otherpage", "delete", "x")
    assert run.code == 2, run
    assert json.loads(run.stdout)["error"]["provider"] == "otherpage"
    (tmp_path / "big.png").write_bytes(b"x" * 3000)
    (tmp_path / "small.png").write_bytes(b"x")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", "1000")
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / "big.png"), str(tmp_path / "small.png"),
              "--page", page())
    assert run.code == 8, run
    errors = [row["error"] for row in json.loads(run.stdout) if "error" in row]
    assert len(errors) == 1 and "max_size" in errors[0]["message"]
    assert errors[0]["provider"] == "nationbuilder"


@pytest.mark.parametrize("args", [
    ["ofauth", "list", "--limit", "41", "-o", "json"],
    ["-o", "json", "ofauth", "list", "--bogus"],
    ["--json", "--no-such-global"],
    ["ofauth", "list", "--output=json", "--limit", "0"],
])
def test_json_usage_errors_are_one_json_document(sandbox, cli, args):
    run = cli(*args)
    assert run.code == 2, run
    body = json.loads(run.stdout)
    assert set(body) == {"error"} and body["error"]["code"] == 2 and body["error"]["message"], body


def test_jsonl_usage_error_is_one_line_and_env_output_counts(sandbox, cli, monkeypatch):
    run = cli("-o", "jsonl", "ofauth", "list", "--limit", "41")
    assert run.code == 2, run
    [line] = run.stdout.splitlines()
    assert json.loads(line)["error"]["provider"] == "ofauth"
    monkeypatch.setenv("MEDIACTL_OUTPUT", "json")
    run = cli("ofauth", "list", "--limit", "41")
    assert run.code == 2 and json.loads(run.stdout)["error"]["code"] == 2, run
    monkeypatch.setenv("MEDIACTL_OUTPUT", "xml")  # not a mode: nothing claims json, and -o json still wins
    run = cli("-o", "json", "ofauth", "list", "--limit", "41")
    assert run.code == 2 and json.loads(run.stdout)["error"]["code"] == 2, run


def test_a_missing_file_fails_alone_and_the_rest_are_sent(sandbox, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sp ace.png").write_bytes(b"png")
    pg = page()
    run = cli("-o", "json", "nationbuilder", "upload", "--files-from", "-", "--page", pg,
              input="sp ace.png\nmissing.png\n")
    assert run.code == 8, run
    assert "missing.png: no such file" in run.stderr
    rows = json.loads(run.stdout)
    assert [r["error"]["item"] for r in rows if "error" in r] == ["missing.png"]
    assert [r["error"]["provider"] for r in rows if "error" in r] == ["nationbuilder"]
    assert [r["filename"] for r in json.loads(cli("-o", "json", "nationbuilder", "list", "--page", pg).stdout)] \
        == ["sp ace.png"]
    dry = cli("-o", "json", "nationbuilder", "upload", "sp ace.png", "missing.png", "--page", pg, "--dry-run")
    assert [(r["action"], r["name"]) for r in json.loads(dry.stdout)] == [("upload", "sp ace.png"),
                                                                         ("refuse", "missing.png")], dry


@pytest.mark.parametrize("name", ["missing.png", "noext"])
def test_one_item_failing_is_an_element_of_the_array(sandbox, cli, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "noext").write_bytes(b"png")
    run = cli("-o", "json", "otherpage", "upload", name, "--community", community())
    assert run.code == 3, run
    [row] = json.loads(run.stdout)
    assert row["error"]["item"] == name and row["error"]["code"] == 3 and row["error"]["provider"] == "otherpage"
    run = cli("-o", "jsonl", "otherpage", "upload", name, "--community", community())
    [line] = run.stdout.splitlines()
    assert json.loads(line)["error"]["item"] == name


@pytest.mark.parametrize("text", ["[default.otherpage\n", "community = 5\n"])
def test_every_command_reading_settings_or_the_journal_refuses_a_broken_config(sandbox, cli, tmp_path, isolated_env,
                                                                               text):
    (tmp_path / "a.png").write_bytes(b"png")
    assert cli("otherpage", "upload", str(tmp_path / "a.png"), "--community", community()).code == 0
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(text)
    for args in (["otherpage", "list"], ["history"], ["-o", "json", "history"],
                 ["nationbuilder", "list", "--page", "p"]):
        run = cli(*args)
        assert run.code == 3, (args, run)
        assert "config.toml" in run.stderr
        assert "a.png" not in run.stdout, (args, run)  # refused before any row


def test_lists_cut_short_say_so(sandbox, cli, tmp_path):
    """One page of a listing, or history's --limit, notes on stderr that more exist (never with -q)."""
    pg = page()
    for n in range(3):
        (tmp_path / f"f{n}.png").write_bytes(b"png%d" % n)
    assert cli("nationbuilder", "upload", *(str(tmp_path / f"f{n}.png") for n in range(3)), "--page", pg).code == 0
    cut = cli("-o", "json", "nationbuilder", "list", "--page", pg, "--limit", "2")
    assert cut.code == 0 and len(json.loads(cut.stdout)) == 2, cut
    assert "note: the provider has more; --all lists every page" in cut.stderr
    whole = cli("-o", "json", "nationbuilder", "list", "--page", pg, "--limit", "2", "--all")
    assert len(json.loads(whole.stdout)) == 3 and "has more" not in whole.stderr, whole
    exact = cli("nationbuilder", "list", "--page", pg, "--limit", "3")
    assert "has more" not in exact.stderr, exact
    assert "has more" not in cli("-q", "nationbuilder", "list", "--page", pg, "--limit", "2").stderr

    history = cli("-o", "json", "history", "--limit", "2")
    assert len(json.loads(history.stdout)) == 2
    assert "note: showing the newest 2 of 3 entries; --limit N shows more" in history.stderr, history
    assert "showing the newest" not in cli("history", "--limit", "3").stderr
