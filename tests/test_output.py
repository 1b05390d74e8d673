"""The output layer's contract: server text never drives the terminal, plain rows when stdout is not a
terminal, and exactly one JSON document in json mode (README "Output")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import responses

# A file name that sets the terminal title (OSC 0, ended by BEL), clears the screen (CSI 2J), and holds a
# tab, a newline and a C1 CSI (U+009B): all legal in a Linux file name, all echoed back by the server.
HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\tcol\nrow\x9b1m.txt"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b")


def _no_raw_controls(text: str) -> None:
    assert not any(c in text for c in RAW_CONTROLS), repr(text)


def _upload_hostile(cli, tmp_path) -> tuple[str, dict]:
    page = "p-" + uuid.uuid4().hex[:8]
    path = tmp_path / HOSTILE
    path.write_bytes(b"hello")
    run = cli("-o", "json", "nationbuilder", "upload", str(path), "--page", page)
    assert run.code == 0, run
    [attachment] = json.loads(run.stdout)
    assert attachment["filename"] == HOSTILE  # the server really hands the name back as it is
    return page, attachment


def test_server_text_is_escaped_in_plain_table_and_quiet_but_exact_in_json(cli, sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # the table's width on a "terminal": no wrapping inside the name
    page, attachment = _upload_hostile(cli, tmp_path)

    plain = cli("-o", "plain", "nationbuilder", "list", "--page", page)
    assert plain.code == 0, plain
    _no_raw_controls(plain.stdout)
    [row] = plain.stdout.splitlines()  # one result stays one row, its fields tab-separated
    assert row.split("\t")[:2] == [str(attachment["id"]), "evil^[]0;pwned^G^[[2J\\tcol\\nrow^[[1m.txt"]

    table = cli("-o", "table", "nationbuilder", "list", "--page", page, tty=True)
    assert table.code == 0, table
    assert not any(s in table.stdout for s in ("\x1b]", "\x07", "\x1b[2J", "\x9b"))  # bold headers may stay
    assert "^[]0;pwned^G^[[2J" in table.stdout

    shown = cli("-o", "plain", "nationbuilder", "show", str(attachment["id"]), "--page", page)
    _no_raw_controls(shown.stdout)
    assert "filename\tevil^[]0;pwned^G^[[2J\\tcol\\nrow^[[1m.txt" in shown.stdout.splitlines()

    # the file itself has that name (--name refuses control characters)
    quiet = cli("-q", "nationbuilder", "upload", str(tmp_path / HOSTILE), "--page", page)
    assert quiet.code == 0, quiet
    _no_raw_controls(quiet.stdout)

    as_json = cli("-o", "json", "nationbuilder", "list", "--page", page)
    assert HOSTILE in [a["filename"] for a in json.loads(as_json.stdout)]
    _no_raw_controls(as_json.stdout)  # C0 escaped by json, C1 and DEL by mediactl: the same JSON value


def test_progress_and_error_messages_are_sanitized(cli, sandbox, tmp_path):
    path = tmp_path / HOSTILE
    path.write_bytes(b"x" * 5000)
    run = cli("nationbuilder", "upload", str(path), "--page", "p-" + uuid.uuid4().hex[:8])
    assert run.code == 0, run
    assert "evil^[]0;pwned^G" in run.stderr  # the progress line names the file...
    _no_raw_controls(run.stderr)  # ...escaped

    missing = cli("nationbuilder", "upload", str(tmp_path / ("gone\x1b[2J.txt")), "--page", "p")
    assert missing.code == 3 and "gone^[[2J.txt" in missing.stderr
    _no_raw_controls(missing.stderr)


@responses.activate
def test_server_error_message_is_sanitized_on_stderr(cli, monkeypatch):
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_NATION", "demo")
    responses.get("https://demo.nationbuilder.com/api/v1/sites/s/pages/p/attachments/7", status=404,
                  json={"code": "not_found", "message": "Record\x1b]52;c;cm0gLXJmIH4=\x07 not\nfound"})
    run = cli("-v", "nationbuilder", "show", "7", "--site", "s", "--page", "p")
    assert run.code == 5, run
    _no_raw_controls(run.stderr)
    assert "error: not_found: Record^[]52;c;cm0gLXJmIH4=^G not\\nfound" in run.stderr.splitlines()


def test_default_output_is_plain_rows_when_stdout_is_not_a_terminal(cli, monkeypatch):
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_COMMUNITY", "c-1")
    piped = cli("config", "list", "--provider", "otherpage")
    assert "otherpage.community\tc-1\tenv" in piped.stdout.splitlines()
    assert not any(c in piped.stdout for c in "┏━│┃")

    on_terminal = cli("config", "list", "--provider", "otherpage", tty=True)
    assert "┃" in on_terminal.stdout and "\t" not in on_terminal.stdout

    forced = cli("-o", "table", "config", "list", "--provider", "otherpage")
    assert "┃" in forced.stdout and "\t" not in forced.stdout

    monkeypatch.setenv("MEDIACTL_OUTPUT", "table")
    assert "┃" in cli("config", "list", "--provider", "otherpage").stdout


def test_default_output_is_plain_through_a_real_pipe(isolated_env):
    env = {**os.environ, "MEDIACTL_OTHERPAGE_COMMUNITY": "c-2"}
    proc = subprocess.run([sys.executable, "-m", "mediactl", "config", "list", "--provider", "otherpage"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "otherpage.community\tc-2\tenv" in proc.stdout.splitlines()


def test_json_mode_prints_only_the_error_document_when_a_listing_fails(cli, sandbox, monkeypatch):
    monkeypatch.setenv("MEDIACTL_OFAUTH_API_KEY", "wrong")
    run = cli("-o", "json", "ofauth", "list")
    assert run.code == 4, run
    assert json.loads(run.stdout)["error"]["code"] == 4  # the whole of stdout is one document

    table = cli("-o", "table", "ofauth", "list", tty=True)
    assert table.code == 4 and table.stdout == ""
    assert "no media" not in table.stderr and table.stderr.startswith("error: ")


def test_json_mode_prints_only_the_error_document_with_a_broken_config(cli, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[default.otherpage\ncommunity = 'x'\n")
    run = cli("-o", "json", "config", "list")
    assert run.code == 3, run
    assert "not valid TOML" in json.loads(run.stdout)["error"]["message"]
