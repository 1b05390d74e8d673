"""The provider registry: the one place that names the provider packages.

Adding a provider is one new package under `mediactl/providers/` that defines `SPEC` (a
`mediactl.spec.ProviderSpec`) and one line in `PROVIDER_PACKAGES` below. No other shared module imports a
provider package (tests/test_registry.py checks the import direction).
"""

from __future__ import annotations

import importlib

from mediactl.spec import ProviderSpec, Setting

PROVIDER_PACKAGES = (
    "mediactl.providers.otherpage",
    "mediactl.providers.nationbuilder",
    "mediactl.providers.ofauth",
    "mediactl.providers.bitbadges",
)


def _load_specs() -> dict[str, ProviderSpec]:
    specs = {}
    for package in PROVIDER_PACKAGES:
        spec = importlib.import_module(package).SPEC
        specs[spec.name] = spec
    return specs


# name -> spec, in registration order. A dict the tests can extend (`register`) with a toy provider.
PROVIDERS: dict[str, ProviderSpec] = _load_specs()


def register(spec: ProviderSpec) -> None:
    """Add a provider at run time (tests, and a future plugin mechanism)."""
    PROVIDERS[spec.name] = spec


def get(name: str) -> ProviderSpec:
    return PROVIDERS[name]


def all_settings(provider: str) -> tuple[Setting, ...]:
    return PROVIDERS[provider].all_settings


def find_setting(provider: str, name: str) -> Setting | None:
    return PROVIDERS[provider].setting(name)


def setting_keys() -> list[str]:
    """Every `provider.setting` key, for `config set` and its completion."""
    return [f"{p}.{s.name}" for p, spec in PROVIDERS.items() for s in spec.all_settings]
