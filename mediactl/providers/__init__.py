"""What each provider is called and which settings it takes (DESIGN.md §1).

Kept free of imports so that `--help`, completion and config commands stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    secret: bool = False
    default: str | None = None


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    settings: tuple[Setting, ...]

    @property
    def secrets(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.secret)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "otherpage",
            "Other Page",
            (
                Setting("api_key", "API key, sent as X-Api-Key", secret=True),
                Setting("community", "default community id for uploads"),
                Setting("base_url", "API base URL", default="https://api.other.page/v1"),
                Setting("cdn_url", "image CDN base URL", default="https://img.other.page"),
            ),
        ),
        Provider(
            "nationbuilder",
            "NationBuilder",
            (
                Setting("access_token", "API access token, sent as Authorization: Bearer", secret=True),
                Setting("nation", "nation slug: https://{nation}.nationbuilder.com"),
                Setting("site", "default site slug"),
                Setting("base_url", "API base URL", default="https://{nation}.nationbuilder.com/api/v1"),
            ),
        ),
        Provider(
            "ofauth",
            "OFAuth",
            (
                Setting("api_key", "API key, sent as the apiKey header", secret=True),
                Setting("connection_id", "connection id, sent as x-connection-id"),
                Setting("base_url", "API base URL", default="https://api-next.ofauth.com"),
            ),
        ),
        Provider(
            "bitbadges",
            "BitBadges",
            (
                Setting("api_key", "API key, sent as x-api-key", secret=True),
                Setting("access_token", "OAuth access token for writes and search", secret=True),
                Setting("refresh_token", "OAuth refresh token, used once when the access token expired",
                        secret=True),
                Setting("client_id", "OAuth client id (for token refresh)"),
                Setting("client_secret", "OAuth client secret (for token refresh)", secret=True),
                Setting("base_url", "API base URL", default="https://api.bitbadges.io/api/v0"),
            ),
        ),
    )
}

# Settings that every provider accepts on top of its own.
COMMON_SETTINGS = (
    Setting("ca_bundle", "path of a CA bundle to verify TLS with (like REQUESTS_CA_BUNDLE)"),
    Setting("max_size", "refuse larger files before uploading: bytes, or with a unit (100MB, 1GiB)"),
)


def all_settings(provider: str) -> tuple[Setting, ...]:
    return PROVIDERS[provider].settings + COMMON_SETTINGS


def find_setting(provider: str, name: str) -> Setting | None:
    return next((s for s in all_settings(provider) if s.name == name), None)


def setting_keys() -> list[str]:
    """Every `provider.setting` key, for `config set` and its completion."""
    return [f"{p}.{s.name}" for p in PROVIDERS for s in all_settings(p)]
