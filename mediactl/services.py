"""What a provider's service is built from (the way gh hands a Factory to each command).

The run's `AppContext` (mediactl/app/context.py) owns what one run shares — its settings, its one journal
(so Ctrl-C anywhere marks every in-flight upload of the process) and one service per provider — and builds
a provider's service through its spec's `service` hook: `build(ctx) -> service`, where `ctx.context(...)`
gives the `ServiceContext` below. `Factory` is the name the providers' `build` hooks use for it.
"""

from __future__ import annotations

from mediactl.app.context import AppContext, ServiceContext

__all__ = ["Factory", "ProviderService", "ServiceContext"]

Factory = AppContext


class ProviderService:
    """What every provider's service starts from: the run, its HTTP client, the journal and the profile."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.rt = ctx.rt
        self.client = ctx.client
        self.journal = ctx.journal
        self.profile = ctx.profile
