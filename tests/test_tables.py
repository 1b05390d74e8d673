"""Tables for people (issue 28): one line per result whatever its names hold, fitted to the terminal's
width by shortening the longest columns with `…`, never the status. Driven in a real pty of 80 columns."""

from __future__ import annotations

import os

from rich.cells import cell_len

from tests.tty import run_in_tty


def _env(sandbox) -> dict[str, str]:
    return {**os.environ, **sandbox.env}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("│┃").replace("┃", "│").split("│")]


def test_table_on_80_columns_escapes_newlines_and_shortens_ids_not_status(cli, sandbox, tmp_path):
    page = "tables-80"
    (tmp_path / "plain.txt").write_bytes(b"one")
    (tmp_path / "two\nlines.txt").write_bytes(b"two")  # a file of that name (--name refuses control characters)
    assert cli("-q", "nationbuilder", "upload", str(tmp_path / "plain.txt"), "--page", page).code == 0
    assert cli("-q", "nationbuilder", "upload", str(tmp_path / "two\nlines.txt"), "--page", page).code == 0

    for args in (["history"], ["nationbuilder", "list", "--page", page]):
        code, screen = run_in_tty(["-o", "table", *args], env=_env(sandbox))
        assert code == 0, screen
        lines = [line for line in screen.splitlines() if line.strip()]
        assert lines and all(cell_len(line) <= 80 for line in lines), screen
        header = next(_cells(line) for line in lines if line.startswith("┃"))
        rows = [_cells(line) for line in lines if line.startswith("│")]
        assert len(rows) == 2, screen  # one line per result: the newline did not split a row
        assert any(cell.startswith("two\\n") for row in rows for cell in row), screen
        assert "…" in screen, screen  # the longest columns (ids, URLs) were shortened...
        if "STATUS" in header:
            assert {row[header.index("STATUS")] for row in rows} == {"completed"}, screen  # ...not the status


def test_upload_table_shortens_the_url_first(cli, sandbox, tmp_path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG logo")
    code, screen = run_in_tty(["-o", "table", "otherpage", "upload", str(tmp_path / "logo.png"), "--community",
                               "tables-url", "--no-progress"], env=_env(sandbox))
    assert code == 0, screen
    assert all(cell_len(line) <= 80 for line in screen.splitlines()), screen
    header = next(_cells(line) for line in screen.splitlines() if line.startswith("┃"))
    [row] = [_cells(line) for line in screen.splitlines() if line.startswith("│")]
    assert header == ["ID", "NAME", "SIZE", "URL"], screen
    assert row[1] == "logo-png" and row[2] == "9", screen  # the short columns are whole
    assert row[3].endswith("…") and row[3].startswith("http://127.0.0.1:"), screen
