"""OFAuth Access API: vault media (init, PUT single or parts, complete)."""

from mediactl.spec import Capabilities, ProviderSpec, Setting

NAME = "ofauth"

SPEC = ProviderSpec(
    name=NAME,
    title="OFAuth",
    help="OFAuth vault media: upload (init, PUT single or parts, complete), complete, list, show.",
    settings=(
        Setting("api_key", "API key, sent as the apiKey header", secret=True),
        Setting("connection_id", "connection id, sent as x-connection-id"),
        Setting("base_url", "API base URL", default="https://api-next.ofauth.com"),
    ),
    package=__name__,
    capabilities=Capabilities(upload=True, list=True, show=True, complete=True, exists=True,
                              download=True, verify=True, sync=True, why_not={
        "delete": "the OFAuth Access API offers no delete; remove media in the vault on OnlyFans"}),
)
