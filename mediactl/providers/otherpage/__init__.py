"""Other Page: community files (a file record, then a presigned S3 POST) and the image CDN."""

from mediactl.spec import Capabilities, ProviderSpec, Setting

NAME = "otherpage"

SPEC = ProviderSpec(
    name=NAME,
    title="Other Page",
    help="Other Page community files: upload (file record + presigned S3 POST), CDN URLs, and the local "
         "record of uploads (the API has no listing).",
    settings=(
        Setting("api_key", "API key, sent as X-Api-Key", secret=True),
        Setting("community", "default community id for uploads"),
        Setting("base_url", "API base URL", default="https://api.other.page/v1"),
        Setting("cdn_url", "image CDN base URL", default="https://img.other.page"),
    ),
    package=__name__,
    capabilities=Capabilities(upload=True, list=True, show=True, complete=True,
                              download=True, verify=True, sync=True, why_not={
        "delete": "the Other Page API offers no delete; a file record stays until it is removed on other.page"}),
)
