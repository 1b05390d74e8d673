"""`mediactl PROVIDER delete ID...`: asks first unless --yes (without a terminal, --yes is required);
--dry-run looks each id up and says what would be deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediactl.verbs import Param, VerbOptions, provider_verbs

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec

HELP = """Delete items (asks first unless --yes; without a terminal, --yes is required).

Example: mediactl --yes PROVIDER delete ID
"""


def params(spec: ProviderSpec) -> list[Param]:
    from mediactl.providers import options as o

    return [Param("dry_run", o.DryRun, False)]


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.engine.batch import batch_exit, confirm_delete, run_batch
    from mediactl.engine.plan import plan_delete
    from mediactl.output import ResultWriter

    job = provider_verbs(ctx, opts.provider).delete(opts)
    if opts.get("dry_run"):
        plan_delete(ctx, opts.provider, job.ids, key=job.key, lookup=job.find)
        return
    confirm_delete(ctx, job.what)

    def one(item_id: str) -> dict:
        job.delete(item_id)
        return {job.key: item_id, "deleted": True, "provider": opts.provider}

    with ResultWriter(ctx, [(job.header, job.key), ("DELETED", "deleted")], primary=job.key) as out:
        outcomes = run_batch(ctx, job.ids, one, concurrency=1, on_result=out.add)
    batch_exit(outcomes)
