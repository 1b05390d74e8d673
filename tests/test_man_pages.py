"""The man pages as `man` shows them (issue 28): EXIT STATUS from ExitCode, ENVIRONMENT with every
MEDIACTL_* variable the code knows, FILES. Rendered with `man -l` (man-db; scripts/test installs it)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from mediactl.config import env_name
from mediactl.errors import ExitCode
from mediactl.registry import PROVIDERS

ROOT = Path(__file__).resolve().parent.parent


def _generate(target: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_man", ROOT / "scripts" / "gen_man.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(target)


def _man(page: Path) -> str:
    man = shutil.which("man")
    assert man, "man (man-db) is needed: scripts/test installs it (apt-get install man-db)"
    run = subprocess.run([man, "-l", str(page)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "MANWIDTH": "200", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    assert run.returncode == 0, run.stderr
    text = re.sub(r".\x08", "", run.stdout)  # overstrike bold/underline, if the formatter left any
    return text.replace("\u2010", "-").replace("\u2212", "-")


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^{heading}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", text, re.M | re.S)
    assert match, f"no {heading} section"
    return match[1]


def _mediactl_names_in_source() -> set[str]:
    names = set()
    for source in (ROOT / "mediactl").rglob("*.py"):
        names |= set(re.findall(r"(?<![A-Za-z0-9_])MEDIACTL_[A-Z0-9]+(?:_[A-Z0-9]+)*", source.read_text()))
    return names


def test_man_pages_render_with_exit_status_environment_and_files(tmp_path):
    _generate(tmp_path)
    top = _man(tmp_path / "mediactl.1")

    exit_status = _section(top, "EXIT STATUS")
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", exit_status, re.M), (code, exit_status)
    assert "transient failure" in exit_status and "interrupted (Ctrl-C)" in exit_status

    environment = " ".join(_section(top, "ENVIRONMENT").split())
    expected = _mediactl_names_in_source() | {env_name(spec.name, s.name) for spec in PROVIDERS.values()
                                              for s in spec.settings}
    assert {"MEDIACTL_DATA_DIR", "MEDIACTL_OTHERPAGE_API_KEY", "MEDIACTL_RETRIES"} <= expected
    for name in sorted(expected):
        assert name in environment, name
    assert "Same as --retries" in environment and "(setting otherpage.api_key, a secret)" in environment

    files = " ".join(_section(top, "FILES").split())
    for path in ("config.toml", "credentials.toml", "journal.sqlite3", "pending/", "spool/"):
        assert path in files, path

    upload = _man(tmp_path / "mediactl-otherpage-upload.1")
    assert "EXIT STATUS" in upload and "mediactl(1) for the ENVIRONMENT and FILES" in " ".join(upload.split())


def test_generated_man_directory_is_ignored_by_git():
    if not (ROOT / ".git").exists():
        assert "man/" in (ROOT / ".gitignore").read_text().split()
        return
    run = subprocess.run(["git", "check-ignore", "-q", "man/mediactl.1"], cwd=ROOT)
    assert run.returncode == 0, "man/ is generated: .gitignore must list it"
