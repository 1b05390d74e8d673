"""The run's context: its streams, global options and environment (a `mediactl.runtime.Runtime`), and the
dependencies built from them.

The root callback builds one `AppContext` per run and hands it to each verb's `run(opts, ctx)` (as gh hands
its Factory to `NewCmdX(f, runF)` and httpie's `main(args, env)` takes its environment); a test builds one
directly with its own streams and environment mapping. Nothing looks it up through a global.

- `IOStreams`: stdout, stderr, stdin, whether each is a terminal, colour, and whether stdout's reader left.
- `GlobalOptions`: the values of the global options (mediactl/app/options.py declares them).
- `AppContext`: both of those, the environment mapping (settings, config and data dirs read it, not
  `os.environ`), and, made on first use, the settings, the one journal and one service per provider.

IOStreams, GlobalOptions and Runtime live in mediactl/runtime.py, a leaf, so that the lower layers (HTTP,
config, journal, output) can take them without importing this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mediactl.runtime import GlobalOptions, IOStreams, Runtime, config_dir, data_dir, isatty, to_devnull

if TYPE_CHECKING:
    import requests

    from mediactl.config import Settings
    from mediactl.http import ApiClient
    from mediactl.journal import Journal

__all__ = ["AppContext", "GlobalOptions", "IOStreams", "ServiceContext", "config_dir", "data_dir", "isatty",
           "to_devnull"]


@dataclass
class ServiceContext:
    """What every provider service holds: the run, its HTTP client, the journal and the active profile."""

    rt: AppContext
    settings: Settings
    client: ApiClient
    journal: Journal
    profile: str


class AppContext(Runtime):
    """Everything a verb needs from the run, built once (see the module docstring)."""

    def __init__(self, streams: IOStreams | None = None, options: GlobalOptions | None = None,
                 env: Mapping[str, str] | None = None, **flat: Any) -> None:
        super().__init__(streams, options, env, **flat)
        self._settings: Settings | None = None
        self._journal: Journal | None = None
        self._services: dict[str, Any] = {}

    @classmethod
    def of(cls, click_ctx: Any) -> AppContext:
        """The run's context, from the Typer/Click context of a command (the root callback put it there)."""
        root = click_ctx.find_root()
        if not isinstance(root.obj, cls):
            root.obj = cls.around(root.obj) if isinstance(root.obj, Runtime) else cls()
        return root.obj

    @classmethod
    def around(cls, rt: Runtime) -> AppContext:
        """An AppContext with a plain Runtime's streams, options and environment (a test's)."""
        return cls(rt.streams, rt.options, rt.env)

    @property
    def rt(self) -> AppContext:
        """This context, under the name the providers' `build(factory)` hooks use for the run."""
        return self

    # -- dependencies, made on first use ----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The active profile's settings; a broken config or credentials file (exit 3, naming it) and an unknown
        `--profile` are refused here, for every command that reads settings or the journal, before any row."""
        if self._settings is None:
            from mediactl.config import Settings

            settings = Settings(self)
            settings.store.load()  # even a command that reads no setting from it (history, otherpage list)
            settings.check_profile()
            self._settings = settings
        return self._settings

    @property
    def journal(self) -> Journal:
        """The run's one journal; like the settings, refused for an unknown `--profile`."""
        if self._journal is None:
            from mediactl.journal import open_journal

            self.settings  # noqa: B018 - checks the profile

            self._journal = open_journal(self)  # read-only on a data dir that cannot be written
        return self._journal

    def context(self, provider: str, *, base_url: str, auth_headers: dict[str, str], api_root: str = "",
                error_message: Callable[[requests.Response], str] | None = None,
                pool_size: int = 16) -> ServiceContext:
        """A provider's ServiceContext, with its ApiClient; every configured secret is registered for redaction."""
        from mediactl.http import ApiClient, Redactor, default_error_message

        settings = self.settings
        if self.redactor is None:
            self.redactor = Redactor(settings.secret_values())
        client = ApiClient(
            self, provider=provider, base_url=base_url, auth_headers=auth_headers, api_root=api_root,
            redactor=self.redactor, error_message=error_message or default_error_message,
            ca_bundle=settings.value(provider, "ca_bundle"), pool_size=pool_size,
        )
        return ServiceContext(self, settings, client, self.journal, self.options.profile)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """What `make()` returns, made once per run under `key` (a provider's verbs, its service)."""
        if key not in self._services:
            self._services[key] = make()
        return self._services[key]

    def service(self, provider: str) -> Any:
        """The provider's service object, built once per run by its spec's `service` hook."""
        if provider not in self._services:
            from mediactl.registry import PROVIDERS
            from mediactl.spec import load

            self._services[provider] = load(PROVIDERS[provider].service)(self)
        return self._services[provider]
