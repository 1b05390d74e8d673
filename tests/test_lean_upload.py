"""An upload imports what its transfer needs and nothing else: no Typer, Pydantic or Rich (the launcher's fast
path parses the line, mediactl/fast_upload.py), no schema validators (jsonschema), no werkzeug or sandbox, no
other provider's code (speed: bench/startup.py's time to first byte). The fast path's parse is Typer's for
every line it takes, and an upload through it ends as one through the full CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mediactl.registry import PROVIDERS
from tests.test_bitbadges import PAGE as BITBADGES_PAGE

UNNEEDED = ("rich", "typer", "pydantic", "jsonschema", "werkzeug", "mediactl.sandbox")
MODULES_AT_EXIT = ("import sys, runpy\nsys.argv = ['mediactl', *sys.argv[1:]]\n"
                   "try:\n    runpy.run_module('mediactl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                   "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")


@pytest.mark.parametrize("provider, args", [
    ("otherpage", ["--community", "lean"]),
    ("nationbuilder", ["--site", "lean", "--page", "lean"]),
    ("ofauth", []),
])
def test_an_upload_imports_only_what_its_transfer_needs(provider, args, sandbox, isolated_env, tmp_path):
    path = tmp_path / "logo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    proc = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, "-q", provider, "upload", str(path), *args],
                          capture_output=True, text=True, env=dict(os.environ))
    assert proc.stdout.strip(), proc.stderr[-2000:]  # it uploaded: the id or URL is printed
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    others = tuple(f"mediactl.providers.{name}." for name in PROVIDERS if name != provider)
    assert [m for m in modules if m.split(".")[0] in UNNEEDED or m.startswith(UNNEEDED) or m.startswith(others)] == []


# -- the launcher's fast upload path (mediactl/fast_upload.py) ------------------------------------------------

def test_committed_upload_table_is_current():
    from mediactl.completions_gen import upload_table_text
    from mediactl.fast_upload import TABLE_PATH

    assert TABLE_PATH.read_text(encoding="utf-8") == upload_table_text(), (
        "mediactl/upload_table.json is stale: run python -m mediactl.completions_gen")


VERB_OPTIONS = {
    "otherpage": [["--community", "c1"], ["--community=c2"]],
    "nationbuilder": [["--page", "p1"], ["--page=p2"], ["--site", "s1"], ["--content-type", "image/png"]],
    "ofauth": [["--no-complete"], ["--part-concurrency", "3"], ["--part-concurrency", "9"], ["--part-concurrency=1"]],
    "bitbadges": [["--update"], ["--listing-id", "L1"], ["--visibility", "public"], ["--image", "https://x/y.png"]],
}
SHARED_OPTIONS = [["--name", "n.png"], ["--name=m.png"], ["-r"], ["--recursive"], ["--include", "*.png"],
                  ["--include=*.jpg"], ["--exclude", "tmp*"], ["-j", "8"], ["--concurrency", "64"],
                  ["--concurrency", "65"], ["-j", "0"], ["-j", "x"], ["-j8"], ["--concurrency=2"], ["--skip-existing"],
                  ["--dry-run"], ["--files-from", "list.txt"], ["--files-from0", "list0"], ["--null"],
                  ["--dry-run=1"], ["--bogus"], ["--name"], ["--name", "-q"], ["--name", ""], ["-rj", "2"],
                  ["--help"], ["-h"], ["--"], ["-"]]
GLOBAL_OPTIONS = [["-q"], ["--quiet"], ["-v"], ["-vv"], ["--verbose"], ["--json"], ["-o", "json"], ["-o", "JSONL"],
                  ["--output=plain"], ["-o", "xml"], ["-ojson"], ["--no-progress"], ["--timeout", "2.5"],
                  ["--timeout", "0.05"], ["--timeout=7"], ["--timeout", "1e3"], ["--retries", "0"],
                  ["--retries", "-1"], ["--retries=3"], ["-y"], ["--yes"], ["--profile", "work"], ["--profile=x"],
                  ["--config-dir", "cfg"], ["--report", "r.json"], ["--version"], ["-qv"], ["-yq"], ["-qo", "json"]]
ENVIRONMENTS = [{}, {"GITHUB_ACTIONS": "true"}, {"MEDIACTL_PROFILE": "envp"}, {"MEDIACTL_TIMEOUT": "3"},
                {"MEDIACTL_RETRIES": "2"},
                {"MEDIACTL_OUTPUT": "jsonl"}, {"MEDIACTL_DEBUG": "1"}, {"MEDIACTL_NO_PROGRESS": "1"},
                {"MEDIACTL_REPORT": "r.xml"}, {"MEDIACTL_TIMEOUT": "x"}, {"MEDIACTL_RETRIES": ""},
                {"MEDIACTL_PROFILE": ""}, {"MEDIACTL_CONFIG_DIR": "other"}]


def upload_lines(provider: str, count: int):
    """Command lines of an upload: options of every kind, in random orders, the global ones before the provider
    and after the verb, with and without `=`, repeated, some malformed; and an environment for each."""
    import random

    rng = random.Random(f"fast-upload-{provider}")
    verb_options = [*VERB_OPTIONS[provider], *SHARED_OPTIONS]
    required = ["--page", "p0"] if provider == "nationbuilder" else []
    for n in range(count):
        head = [t for _ in range(rng.choice([0, 0, 1, 2])) for t in rng.choice(GLOBAL_OPTIONS)]
        tail: list[list[str]] = [["a.png"]] if n % 5 else [["a.png"], ["b.png"]]
        tail += [rng.choice(verb_options) for _ in range(rng.choice([0, 1, 2, 3]))]
        tail += [rng.choice(GLOBAL_OPTIONS) for _ in range(rng.choice([0, 0, 1, 2]))]
        if required and n % 7:
            tail.append(required)
        rng.shuffle(tail)
        env = rng.choice(ENVIRONMENTS) if n % 3 == 0 else {}
        yield [*head, provider, "upload", *[t for group in tail for t in group]], env


def typer_parse(argv, env, monkeypatch):
    """What the Typer path hands the root callback and the upload command for `argv`, from the real command
    objects (their contexts' params, normalized as Typer's callback wrapper does), or None if it refuses."""
    from mediactl.cli import app
    from mediactl.typer_compat import command_of, parameter_source

    def normalized(command, ctx) -> dict:
        params = {p.name: p for p in command.get_params(ctx)}
        out = {}
        for name, value in ctx.params.items():
            multi = params[name].nargs == -1 or getattr(params[name], "multiple", False)
            out[name] = value if value is None or not multi else (None if not value and params[name].default is None
                                                                  else list(value))
        return out

    with monkeypatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        try:
            root = command_of(app)
            root_ctx = root.make_context("mediactl", list(argv))
            name, group, rest = root.resolve_command(root_ctx, [*root_ctx._protected_args, *root_ctx.args])
            group_ctx = group.make_context(name, rest, parent=root_ctx)
            verb, command, rest = group.resolve_command(group_ctx, [*group_ctx._protected_args, *group_ctx.args])
            command_ctx = command.make_context(verb, rest, parent=group_ctx)
        except BaseException:  # noqa: BLE001 - usage errors, --help and --version (Exit): Typer's own answer
            return None
        if verb != "upload" or command_ctx.args:
            return None
        root_values = {k: v for k, v in normalized(root, root_ctx).items() if k != "version"}
        explicit = [k for k in root_values if parameter_source(root_ctx, k) not in (None, "default")]
        return root_values, explicit, normalized(command, command_ctx)


def typed(values: dict) -> dict:
    """Values with their types (an Enum by its value: the root's -o, which GlobalOptions keeps as its text)."""
    from enum import Enum

    return {k: ("str", v.value) if isinstance(v, Enum) else (type(v).__name__, v) for k, v in values.items()}


@pytest.mark.parametrize("provider", [name for name, spec in PROVIDERS.items() if spec.capabilities.offers("upload")])
def test_fast_parser_declines_or_agrees_with_typer(provider, monkeypatch):
    import mediactl.fast_upload as fast
    from mediactl.app.options import options_from_values

    table, taken = fast.load_table(), 0
    for argv, env in upload_lines(provider, 400):
        full_env = {**os.environ, **env}
        line = fast.parse(argv, full_env, table)
        if line is None:
            continue
        expected = typer_parse(argv, env, monkeypatch)
        assert expected is not None, f"the fast path took a line Typer refuses: {argv} {env}"
        root_values, explicit, values = expected
        assert (line.provider, typed(line.values)) == (provider, typed(values)), (argv, env)
        assert typed(line.root_values) == typed(root_values), (argv, env)
        assert sorted(line.explicit) == sorted(explicit), (argv, env)
        assert options_from_values(line.root_values, full_env, explicit=line.explicit) == options_from_values(
            root_values, full_env, explicit=explicit), (argv, env)
        taken += 1
    assert taken >= 100  # the fast path takes the ordinary lines, it does not just decline


def test_fast_parser_takes_what_the_bench_runs_and_declines_what_needs_typer():
    from mediactl.fast_upload import parse

    env = {"MEDIACTL_CONFIG_DIR": "c"}
    line = parse(["--retries", "0", "nationbuilder", "upload", "f.bin", "--site", "s", "--page", "p", "-q"], env)
    assert line is not None and line.values["page"] == "p" and line.root_values["quiet"] is True
    for argv in (["nationbuilder", "upload", "f", "--page", "p", "--help"],
                 ["--report", "r.json", "otherpage", "upload", "f"], ["otherpage", "upload", "--", "-f"],
                 ["otherpage", "upload", "f", "-j", "65"], ["nationbuilder", "upload", "f"],
                 ["otherpage", "list"], ["config", "path", "upload"]):
        assert parse(argv, env) is None, argv


FULL_CLI = "import sys; from mediactl.cli import main; sys.argv[0] = 'mediactl'; main()"
LAUNCHER = ("import sys, runpy\nsys.argv = ['mediactl', *sys.argv[1:]]\ncode = 0\n"
            "try:\n    runpy.run_module('mediactl', run_name='__main__')\n"
            "except SystemExit as exc:\n    code = exc.code\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr); sys.exit(code)")


def through(door: str, args: list[str], env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`mediactl ARGS` through the launcher (its fast path takes an upload) or straight into the full CLI."""
    code = LAUNCHER if door == "launcher" else FULL_CLI
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, input=stdin)


def stable(document):
    """A JSON result without what differs between two uploads of the same bytes (ids, times, URLs)."""
    if isinstance(document, list):
        return [stable(d) for d in document]
    if isinstance(document, dict):
        return {k: stable(v) for k, v in document.items() if k in ("provider", "local", "error", "code", "message",
                                                                      "status", "item", "path", "size", "sha256",
                                                                      "name", "skipped", "dry_run")}
    return document


PAGE_DOC = BITBADGES_PAGE


@pytest.mark.parametrize("provider, args", [
    ("otherpage", ["--community", "door"]),
    ("nationbuilder", ["--site", "door", "--page", "door"]),
    ("ofauth", []),
    ("bitbadges", []),
])
def test_both_doors_upload_alike(provider, args, sandbox, isolated_env, tmp_path):
    from mediactl.app.context import AppContext, IOStreams
    from mediactl.runtime import GlobalOptions

    env = dict(os.environ)
    results, summaries = {}, {}
    for door in ("launcher", "full"):
        path = tmp_path / door / ("page.json" if provider == "bitbadges" else "logo.png")
        path.parent.mkdir()
        if provider == "bitbadges":
            path.write_text(json.dumps({**PAGE_DOC, "metadata": {**PAGE_DOC["metadata"], "name": f"Page {door}"}}))
        else:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"same bytes" * 100)
        summary = tmp_path / door / "summary.md"  # under GitHub Actions: the report names the command
        run = through(door, ["-o", "json", provider, "upload", str(path), *args, "--no-progress"],
                      {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
        assert run.returncode == 0, run.stderr[-2000:]
        results[door] = run
        summaries[door] = re.sub(r"[0-9]+(\.[0-9]+)?", "N", summary.read_text().replace(str(path.parent), "DIR"))
        modules = json.loads(run.stderr.strip().splitlines()[-1]) if door == "launcher" else []
        assert [m for m in modules if m.split(".")[0] in ("typer", "rich", "pydantic")] == []
    fast, full = (json.loads(results[d].stdout) for d in ("launcher", "full"))
    assert len(fast) == len(full) == 1
    fast[0]["local"].pop("path"), full[0]["local"].pop("path")
    if provider == "bitbadges":
        fast[0]["local"].pop("sha256"), full[0]["local"].pop("sha256"), fast[0]["local"].pop("size")
        full[0]["local"].pop("size")
    assert stable(fast) == stable(full) and sorted(fast[0]) == sorted(full[0])
    assert summaries["launcher"] == summaries["full"] and f"mediactl {provider} upload" in summaries["full"]
    entries = AppContext(IOStreams(), GlobalOptions(), env).journal.list(provider=provider)
    assert [e["phase"] for e in entries] == ["completed", "completed"]
    assert {Path(e["path"]).parent.name for e in entries} == {"launcher", "full"}


@pytest.mark.parametrize("args, extra_env", [
    (["-o", "json", "nationbuilder", "upload", "{file}", "--page", "p"], {}),   # no access token: exit 3
    (["ofauth", "upload", "{missing}"], {}),                                   # no such file
    (["-o", "json", "bitbadges", "upload", "{file}", "--visibility", "secret"], {}),  # the provider's usage error
    (["otherpage", "upload", "{file}", "--community", "c", "--dry-run", "-q"], {}),
    (["otherpage", "upload", "{file}", "--community", "c"], {"MEDIACTL_OUTPUT": "xml"}),  # the full CLI's error
    (["ofauth", "upload", "{missing}"], {"GITHUB_ACTIONS": "true"}),  # CI: the report's annotation names the command
])
def test_both_doors_fail_alike(args, extra_env, isolated_env, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(PAGE_DOC))
    line = [a.format(file=path, missing=tmp_path / "missing.png") for a in args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_") or k.endswith("_DIR")}
    env.update(extra_env)
    fast, full = through("launcher", line, env), through("full", line, env)
    fast_err = "\n".join(fast.stderr.strip().splitlines()[:-1])  # the last line: the modules it imported
    assert (fast.returncode, fast.stdout, fast_err) == (full.returncode, full.stdout, full.stderr.strip())
    assert fast.returncode != 0 or "--dry-run" in line
    modules = json.loads(fast.stderr.strip().splitlines()[-1])
    took_it = "typer" not in modules  # the fast path ran it (only the provider's usage error loads Typer, to show it)
    assert took_it == ("--visibility" not in line and "MEDIACTL_OUTPUT" not in extra_env)
