"""Progress figures stay truthful when requests are retried or reconciled (issue 28): a file's line never
shows more bytes than the file has, and the batch line counts finished files plus what is in flight."""

from __future__ import annotations

import re

from tests.test_batch import make_files
from tests.test_batch_ci import _page

SIZE = 1045
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}
FILE_LINE = re.compile(r"^(?P<name>f\d{3}\.bin): (?P<pct>\d+)% (?P<sent>[\d.]+) (?P<su>\w+)/(?P<total>[\d.]+) "
                       r"(?P<tu>\w+), (?P<rate>[\d.]+) (?P<ru>\w+)/s")
BATCH_LINE = re.compile(r"^batch: (?P<done>\d+)/(?P<files>\d+) files, (?P<sent>[\d.]+) (?P<su>\w+) of "
                        r"(?P<total>[\d.]+) (?P<tu>\w+), ")


def _bytes(number: str, unit: str) -> float:
    return float(number) * UNITS[unit]


def test_retried_and_reconciled_creates_do_not_count_bytes_twice(cli, sandbox_factory, tmp_path, monkeypatch):
    server = sandbox_factory("--fail-rate", "0.2", "--drop-rate", "0.1", "--seed", "1")
    monkeypatch.setenv("MEDIACTL_PROGRESS_INTERVAL", "0")  # a line at every occasion
    make_files(tmp_path / "batch", 40, size=SIZE - 1)  # make_files appends the file's number: SIZE bytes
    jobs = 4
    run = cli("--retries", "6", "nationbuilder", "upload", "-r", str(tmp_path / "batch"), "--page", _page(),
              "-j", str(jobs))
    assert run.code in (0, 8), run
    assert len(server.state()["faults"]) > 5  # faults really were injected
    lines = run.stderr.splitlines()
    file_lines = [m for m in map(FILE_LINE.match, lines) if m]
    batch_lines = [m for m in map(BATCH_LINE.match, lines) if m]
    assert file_lines and batch_lines
    for m in file_lines:
        assert int(m["pct"]) <= 100, m.string
        assert _bytes(m["sent"], m["su"]) <= _bytes(m["total"], m["tu"]) + 0.5, m.string
    for m in batch_lines:
        sent, total = _bytes(m["sent"], m["su"]), _bytes(m["total"], m["tu"])
        assert sent <= total + 51, m.string  # within the rounding of one decimal KiB
        # finished files plus at most `jobs` files in flight: never bytes far ahead of the files
        assert sent <= (int(m["done"]) + jobs) * SIZE + 51, m.string


def test_terminal_display_ends_at_the_batch_total_under_faults(cli, sandbox_factory, tmp_path):
    sandbox_factory("--fail-rate", "0.2", "--drop-rate", "0.1", "--seed", "1")
    make_files(tmp_path / "tty", 20, size=SIZE - 1)
    run = cli("--retries", "6", "-o", "jsonl", "nationbuilder", "upload", "-r", str(tmp_path / "tty"), "--page",
              _page(), "-j", "4", tty=True)
    assert run.code == 0, run
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run.stderr)  # colours and cursor moves out
    frames = re.findall(r"(\d+)/20 files\s+\S+\s+([\d.]+)/([\d.]+) kB", screen)
    assert frames, run.stderr
    done, sent, total = frames[-1]
    assert done == "20" and sent == total == f"{20 * SIZE / 1000:.1f}", frames[-1]  # every byte once, no more
