"""The root command: help, version, global options, the error boundary."""

from __future__ import annotations

import json
import subprocess
import sys

from mediactl.cli import hoist_global_options


def test_help_lists_providers_and_global_options(cli):
    run = cli("--help")
    assert run.code == 0
    for word in ("otherpage", "nationbuilder", "ofauth", "bitbadges", "--profile", "--output", "--json",
                 "--quiet", "--verbose", "--no-progress", "--timeout", "--retries", "--yes", "--version"):
        assert word in run.stdout, word


def test_version_as_module():
    proc = subprocess.run([sys.executable, "-m", "mediactl", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("mediactl ")


def test_error_in_json_mode_also_goes_to_stdout(cli):
    run = cli("-o", "json", "config", "get", "otherpage.community")
    assert run.code == 3
    err = json.loads(run.stdout)["error"]
    assert err["code"] == 3 and "otherpage.community" in err["message"] and err["status"] is None
    assert run.stderr.startswith("error: ")


def test_global_options_accepted_after_the_verb(cli):
    run = cli("config", "path", "-o", "json")
    assert run.code == 0 and json.loads(run.stdout)["config_dir"]


def test_hoist_keeps_values_and_stops_at_double_dash():
    assert hoist_global_options(["otherpage", "upload", "a.png", "-o", "json", "-vv"]) == [
        "-o", "json", "-vv", "otherpage", "upload", "a.png"]
    assert hoist_global_options(["--profile", "x", "config", "set", "k", "--", "-q"]) == [
        "--profile", "x", "config", "set", "k", "--", "-q"]


def test_env_output_mode(cli, monkeypatch):
    monkeypatch.setenv("MEDIACTL_OUTPUT", "jsonl")
    run = cli("config", "path")
    assert json.loads(run.stdout.splitlines()[0])["config_dir"]


def test_internal_error_is_one_line_without_traceback(cli, monkeypatch):
    from mediactl import output

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(output, "emit_one", boom)
    run = cli("config", "path")
    assert run.code == 1
    assert "internal error: RuntimeError: kaboom" in run.stderr and "Traceback" not in run.stderr
    run = cli("-vv", "config", "path")
    assert "Traceback" in run.stderr


def test_clustered_global_short_flags_work_after_the_verb(cli, sandbox, tmp_path):
    # they were handed to the verb, which answered "No such option: -v (Possible options: -v)"
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    upload = cli("otherpage", "upload", str(tmp_path / "a.png"), "-vq")
    assert upload.code == 0 and "POST" in upload.stderr and "uploaded a.png" not in upload.stderr, upload
    assert cli("otherpage", "upload", str(tmp_path / "a.png"), "-qy").code == 0
    listed = cli("otherpage", "list", "-vo", "json")
    assert listed.code == 0 and isinstance(json.loads(listed.stdout), list), listed
    assert hoist_global_options(["otherpage", "list", "-qojson", "-yq"]) == ["-qojson", "-yq", "otherpage", "list"]


def test_a_cluster_mixing_a_verbs_and_a_global_short_flag_says_to_write_them_apart(cli, sandbox, tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    run = cli("otherpage", "upload", str(tmp_path / "a.png"), "-rv")
    assert run.code == 2 and "write them apart: -r -v" in run.stderr and "Possible options" not in run.stderr, run
    last = cli("otherpage", "list", "-o")
    assert last.code == 2 and "Option '-o' requires an argument." in last.stderr, last
