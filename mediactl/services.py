"""The service factory: how a command gets its dependencies (the way gh hands a Factory to each command).

`Factory(rt)` owns what one run shares — its settings, its one journal (so Ctrl-C anywhere marks every
in-flight upload of the process), and one service per provider — and builds a provider's service through
its spec's `service` hook. Tests build a `Factory` from a `Runtime` directly, with no click context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mediactl.runtime import Runtime

if TYPE_CHECKING:
    import requests

    from mediactl.config import Settings
    from mediactl.http import ApiClient
    from mediactl.journal import Journal


@dataclass
class ServiceContext:
    """What every provider service holds: the run, its HTTP client, the journal and the active profile."""

    rt: Runtime
    settings: Settings
    client: ApiClient
    journal: Journal
    profile: str


class ProviderService:
    """What every provider's service starts from: the run, its HTTP client, the journal and the profile."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.rt = ctx.rt
        self.client = ctx.client
        self.journal = ctx.journal
        self.profile = ctx.profile


class Factory:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._settings: Settings | None = None
        self._journal: Journal | None = None
        self._services: dict[str, Any] = {}

    @classmethod
    def of(cls, rt: Runtime) -> Factory:
        """The run's one factory (kept on the Runtime)."""
        factory = getattr(rt, "factory", None)
        if factory is None:
            factory = rt.factory = cls(rt)
        return factory

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from mediactl.config import Settings

            settings = Settings(self.rt)
            settings.check_profile()
            self._settings = settings
        return self._settings

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            from mediactl.journal import open_journal

            self._journal = open_journal(self.rt)
        return self._journal

    def context(self, provider: str, *, base_url: str, auth_headers: dict[str, str], api_root: str = "",
                error_message: Callable[[requests.Response], str] | None = None,
                pool_size: int = 16) -> ServiceContext:
        """A provider's ServiceContext, with its ApiClient; every configured secret is registered for redaction."""
        from mediactl.http import ApiClient, Redactor, default_error_message

        settings = self.settings
        if self.rt.redactor is None:
            self.rt.redactor = Redactor(settings.secret_values())  # the error boundary redacts with it too
        client = ApiClient(
            self.rt, provider=provider, base_url=base_url, auth_headers=auth_headers, api_root=api_root,
            redactor=self.rt.redactor, error_message=error_message or default_error_message,
            ca_bundle=settings.value(provider, "ca_bundle"), pool_size=pool_size,
        )
        return ServiceContext(self.rt, settings, client, self.journal, self.rt.profile)

    def service(self, provider: str) -> Any:
        """The provider's service object, built once per run by its spec's `service` hook."""
        if provider not in self._services:
            from mediactl.registry import PROVIDERS
            from mediactl.spec import load

            self._services[provider] = load(PROVIDERS[provider].service)(self)
        return self._services[provider]


def current() -> Factory:
    """The factory of the command being run."""
    from mediactl import runtime

    return Factory.of(runtime.current())
