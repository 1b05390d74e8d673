"""An upload imports what its transfer needs and nothing else: no Rich when no progress display is on a
terminal, no schema validators (jsonschema), no werkzeug or sandbox, no other provider's code (speed:
bench/startup.py's time to first byte)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mediactl.registry import PROVIDERS

UNNEEDED = ("rich", "jsonschema", "werkzeug", "mediactl.sandbox")
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
