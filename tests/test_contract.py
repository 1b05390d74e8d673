"""Contract consistency across commands (issue 19 §10): sizes with units, one mention of the path in a size
error, NO_COLOR in help, --image as a URL, NationBuilder's derived base_url in `config list`."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from mediactl.config import parse_size
from tests.tty import on_a_terminal


@pytest.mark.parametrize("text, size", [("1024", 1024), ("10MB", 10_000_000), ("10 mb", 10_000_000),
                                        ("1GiB", 2**30), ("1.5KiB", 1536), ("7B", 7)])
def test_sizes_with_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["ten", "0", "10XB", "-5", "", "1e9"])
def test_sizes_refused(text):
    assert parse_size(text) is None


def test_max_size_with_units_in_config_set_and_upload(cli, sandbox, tmp_path, monkeypatch):
    assert cli("config", "set", "nationbuilder.max_size", "1GiB").code == 0
    assert cli("config", "set", "nationbuilder.max_size", "10MB").code == 0
    refused = cli("config", "set", "nationbuilder.max_size", "ten")
    assert refused.code == 2 and "100MB or 1GiB" in refused.stderr, refused

    path = tmp_path / "big.png"
    path.write_bytes(b"x" * 2000)
    page = "p-" + uuid.uuid4().hex[:8]
    assert cli("nationbuilder", "upload", str(path), "--page", page).code == 0  # under 10MB
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", "1KB")
    run = cli("nationbuilder", "upload", str(path), "--page", page)
    assert run.code == 3, run
    [error] = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert error.count(str(path)) == 1 and "over nationbuilder.max_size (1KB = 1000 bytes)" in error, error


def _on_a_terminal(*args: str, env: dict) -> bytes:
    """Run mediactl with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    return on_a_terminal(list(args), env={**os.environ, **env}, columns=100)[1]


@pytest.mark.parametrize("args", [["--help"], ["config", "--bogus"]], ids=["help", "usage error"])
def test_no_color_turns_off_bold_and_dim_in_help_and_usage_errors(args):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    styled = _on_a_terminal(*args, env={**env, "TERM": "xterm"})
    assert b"\x1b[" in styled  # on a terminal, help is styled...
    plain = _on_a_terminal(*args, env={**env, "TERM": "xterm", "NO_COLOR": "1"})
    assert b"Usage" in plain and b"\x1b[" not in plain  # ...and not at all with NO_COLOR


def test_bitbadges_image_must_be_a_web_url(cli, tmp_path):
    doc = tmp_path / "page.json"
    doc.write_text("{}")
    for image in ("logo.png", "javascript:alert(1)", "file:///etc/passwd", "https://"):
        run = cli("bitbadges", "upload", str(doc), "--image", image)
        assert run.code == 2 and "--image" in run.stderr and "http(s) URL" in run.stderr, (image, run)


def test_config_list_shows_nationbuilders_base_url_derived_from_the_nation(cli, monkeypatch):
    def base_url() -> dict:
        rows = json.loads(cli("-o", "json", "config", "list", "--provider", "nationbuilder").stdout)
        return next(r for r in rows if r["key"] == "nationbuilder.base_url")

    assert (base_url()["value"], base_url()["source"]) == (None, "unset")
    assert cli("config", "set", "nationbuilder.nation", "mynation").code == 0
    assert (base_url()["value"], base_url()["source"]) == ("https://mynation.nationbuilder.com/api/v1", "default")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", "http://127.0.0.1:9/nb/api/v1")
    assert (base_url()["value"], base_url()["source"]) == ("http://127.0.0.1:9/nb/api/v1", "env")
