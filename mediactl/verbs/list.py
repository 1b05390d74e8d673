"""`mediactl PROVIDER list`: rows stream out as each page arrives, each with its `provider` key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediactl.verbs import VerbOptions, provider_verbs

if TYPE_CHECKING:
    from mediactl.app.context import AppContext

HELP = """List what the provider holds.

Example: mediactl PROVIDER list -o json
"""


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.output import ResultWriter

    listing = provider_verbs(ctx, opts.provider).list(opts)
    with ResultWriter(ctx, listing.columns, primary=listing.primary, empty_note=listing.empty_note) as out:
        for rows in listing.pages:
            out.extend(with_provider(rows, opts.provider))
    if getattr(listing.pages, "more", False):  # one page was asked for, and the API has more
        ctx.info("note: the provider has more; --all lists every page (--limit N: more per page)")


def with_provider(rows, provider: str) -> list[dict]:
    """Results as the contract prints them: the provider's own fields plus a `provider` key."""
    return [{**row, "provider": provider} for row in rows]
