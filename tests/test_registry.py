"""The provider registry: every registered provider appears wherever providers are listed, shared modules
never import a provider package, and a toy provider added by CONTRIBUTING.md's steps works end to end."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest

import mediactl
from mediactl import registry
from mediactl.sandbox.core import RunningSandbox, Sandbox
from mediactl.spec import load
from tests.toyprovider import SPEC as TOY

PACKAGE_ROOT = Path(mediactl.__file__).parent


@pytest.fixture
def toy(monkeypatch):
    """The toy provider registered, and a sandbox (which mounts every registered emulator) pointed at."""
    monkeypatch.setitem(registry.PROVIDERS, TOY.name, TOY)
    with RunningSandbox(Sandbox()) as running:
        for key, value in running.sandbox.env_settings().items():
            monkeypatch.setenv(key, value)
        yield running


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _package_of(module: str, packages: set[str]) -> str | None:
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def test_shared_modules_never_import_a_provider_package():
    packages = {spec.package for spec in registry.PROVIDERS.values()}
    assert len(packages) == 4
    offenders = []
    for path in PACKAGE_ROOT.rglob("*.py"):
        module = ".".join(("mediactl", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        own = _package_of(module, packages)
        for name in _imports(path):
            target = _package_of(name, packages)
            if target is not None and target != own and module != "mediactl.registry":
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_the_import_direction_check_sees_a_violation(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("from mediactl.providers.ofauth.api import OFAuth\nimport mediactl.output\n")
    packages = {spec.package for spec in registry.PROVIDERS.values()}
    found = [n for n in _imports(sample) if _package_of(n, packages)]
    assert found == ["mediactl.providers.ofauth.api", "mediactl.providers.ofauth.api.OFAuth"]


@pytest.mark.parametrize("name", [*registry.PROVIDERS, TOY.name])
def test_every_registered_provider_appears_everywhere(name, toy, cli):
    spec = registry.PROVIDERS[name]
    root_help = cli("--help")
    assert root_help.code == 0 and name in root_help.stdout and spec.help.split()[0] in root_help.stdout
    assert cli(name, "--help").code == 0
    listed = json.loads(cli("config", "list", "--provider", name, "-o", "json").stdout)
    assert {row["key"] for row in listed} == {f"{name}.{s.name}" for s in spec.all_settings}
    assert f"{name}.base_url" in registry.setting_keys()
    from mediactl.commands.config_cmd import _complete_key

    assert _complete_key(f"{name}.") == [f"{name}.{s.name}" for s in spec.all_settings]
    assert cli("history", "--provider", name, "-o", "json").code == 0
    for hook in (spec.service, spec.resume):
        assert callable(load(hook))
    env = toy.sandbox.env_settings()
    assert env[f"MEDIACTL_{name.upper()}_BASE_URL"].startswith(toy.sandbox.base_url)
    for setting in load(spec.emulator).CREDENTIALS:
        assert spec.setting(setting) is not None
        assert env[f"MEDIACTL_{name.upper()}_{setting.upper()}"]
    assert cli(name, "list", "-o", "json").code != 4  # the sandbox's credentials are accepted


def test_a_toy_provider_uploads_lists_and_resumes(toy, cli, tmp_path):
    from mediactl.journal import Journal
    from mediactl.runtime import Runtime

    first = tmp_path / "a.txt"
    first.write_bytes(b"toy bytes")
    run = cli("toy", "upload", str(first), "-o", "json")
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert result["id"] == "toy-a.txt" and result["provider"] == "toy"
    assert result["local"]["sha256"] == hashlib.sha256(b"toy bytes").hexdigest()
    history = json.loads(cli("history", "--provider", "toy", "-o", "json").stdout)
    assert [(h["name"], h["status"]) for h in history] == [("a.txt", "completed")]

    second = tmp_path / "b.txt"
    second.write_bytes(b"left for resume")
    Journal(Runtime().data_dir).register(provider="toy", profile="default", target="files", path=second,
                                         name="b.txt")
    run = cli("resume", "-o", "json")
    assert run.code == 0, run
    listed = json.loads(cli("toy", "list", "-o", "json").stdout)
    assert sorted((row["name"], row["size"]) for row in listed) == [("a.txt", 9), ("b.txt", 15)]
