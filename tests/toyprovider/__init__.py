"""A toy provider, built by following CONTRIBUTING.md's "Adding a provider" steps; tests/test_registry.py
registers it and drives it end to end, so those steps stay true."""

from mediactl.spec import Capabilities, ProviderSpec, Setting

NAME = "toy"

SPEC = ProviderSpec(
    name=NAME,
    title="Toy",
    help="Toy files: upload (one PUT), list.",
    settings=(
        Setting("api_key", "API key, sent as X-Toy-Key", secret=True),
        Setting("base_url", "API base URL", default="https://toy.invalid/v1"),
    ),
    package=__name__,
    capabilities=Capabilities(upload=True, list=True, more=frozenset({"count"})),  # count: test_verbs.py
)
