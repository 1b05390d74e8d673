"""BitBadges: utility pages managed from JSON/YAML documents (images are URLs)."""

from mediactl.spec import Capabilities, ProviderSpec, Setting

NAME = "bitbadges"

SPEC = ProviderSpec(
    name=NAME,
    title="BitBadges",
    help="BitBadges utility pages: create or update from JSON/YAML documents, list, show, delete. Images "
         "are URLs in the document: BitBadges has no public media upload endpoint.",
    settings=(
        Setting("api_key", "API key, sent as x-api-key", secret=True),
        Setting("access_token", "OAuth access token for writes and search", secret=True),
        Setting("refresh_token", "OAuth refresh token, used once when the access token expired", secret=True),
        Setting("client_id", "OAuth client id (for token refresh)"),
        Setting("client_secret", "OAuth client secret (for token refresh)", secret=True),
        Setting("base_url", "API base URL", default="https://api.bitbadges.io/api/v0"),
    ),
    package=__name__,
    capabilities=Capabilities(upload=True, list=True, show=True, delete=True, exists=True,
                              download=True, verify=True, sync=True, why_not={
        "complete": "BitBadges pages are created in one request; there is nothing to complete"}),
)
