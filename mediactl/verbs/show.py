"""`mediactl PROVIDER show ID...`: one object for one id; several ids are a batch (a missing one is reported
on its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediactl.verbs import VerbOptions, provider_verbs

if TYPE_CHECKING:
    from mediactl.app.context import AppContext

HELP = """Show one item.

Example: mediactl PROVIDER show ID
"""


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.output import ResultWriter, emit_one

    lookup = provider_verbs(ctx, opts.provider).show(opts)
    if len(lookup.ids) == 1:
        emit_one(ctx, {**lookup.find(lookup.ids[0]), "provider": opts.provider}, primary=lookup.primary)
        return
    with ResultWriter(ctx, lookup.columns, primary=lookup.primary) as out:
        outcomes = run_batch(ctx, lookup.ids, lambda one: {**lookup.find(one), "provider": opts.provider},
                             concurrency=1, on_result=out.add)
    batch_exit(outcomes)
