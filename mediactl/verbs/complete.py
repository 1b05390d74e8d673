"""`mediactl PROVIDER complete ID...`: finish recorded uploads the provider left unfinished."""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from mediactl.verbs import VerbOptions, provider_verbs

if TYPE_CHECKING:
    from mediactl.app.context import AppContext

HELP = """Finish recorded uploads.

Example: mediactl PROVIDER complete ID
"""


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.output import Progress, ResultWriter

    job = provider_verbs(ctx, opts.provider).complete(opts)
    progress: Any = Progress(ctx, len(job.ids)) if job.progress else nullcontext()
    with ResultWriter(ctx, job.columns, primary=job.primary) as out, progress as shown:
        outcomes = run_batch(ctx, job.ids,
                             lambda one: job.finish(one, shown.task(one, None) if shown is not None else None),
                             concurrency=1, on_result=out.add, journal=ctx.journal)
    batch_exit(outcomes)
