"""NationBuilder v1: page attachments (base64 content inside JSON)."""

from mediactl.spec import Capabilities, ProviderSpec, Setting

NAME = "nationbuilder"

SPEC = ProviderSpec(
    name=NAME,
    title="NationBuilder",
    help="NationBuilder page attachments: upload, list, show, delete; sites and pages to find slugs.",
    settings=(
        Setting("access_token", "API access token, sent as Authorization: Bearer", secret=True),
        Setting("nation", "nation slug: https://{nation}.nationbuilder.com"),
        Setting("site", "default site slug"),
        Setting("base_url", "API base URL", default="https://{nation}.nationbuilder.com/api/v1"),
    ),
    package=__name__,
    capabilities=Capabilities(upload=True, list=True, show=True, delete=True, exists=True,
                              download=True, verify=True, sync=True, why_not={
        "complete": "NationBuilder uploads finish in one request; there is nothing to complete"}),
)
