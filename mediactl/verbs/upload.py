"""`mediactl PROVIDER upload`: the files of the command line and manifests, planned and sent as one batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediactl.verbs import Param, VerbOptions, provider_verbs

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec

HELP = """Upload files.

Example: mediactl PROVIDER upload a.png
"""


def params(spec: ProviderSpec) -> list[Param]:
    from mediactl.providers import options as o

    return [Param("files", o.Files, None), Param("recursive", o.Recursive, False), Param("include", o.Include, None),
            Param("exclude", o.Exclude, None), Param("concurrency", o.Concurrency, 4),
            Param("skip_existing", o.SkipExisting, False), Param("dry_run", o.DryRun, False),
            Param("files_from", o.FilesFrom, None), Param("files_from0", o.FilesFrom0, None),
            Param("null", o.Null, False)]


def run(opts: VerbOptions, ctx: AppContext) -> None:
    """Collect the items, then let the provider's plan and sender carry the batch (engine.batch.upload_batch)."""
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import batch_paths, collect_items

    provider = provider_verbs(ctx, opts.provider)
    job = provider.upload(opts)  # the provider's part: target, checks, and how one item is sent
    paths = batch_paths(ctx, opts.get("files"), files_from=opts.get("files_from"),
                        files_from0=opts.get("files_from0"), null=bool(opts.get("null")))
    items = collect_items(ctx, paths, recursive=bool(opts.get("recursive")),
                          include=job.include if job.include is not None else opts.get("include"),
                          exclude=opts.get("exclude"), name=opts.get("name") if job.name_is_file_name else None,
                          check_name=None if opts.get("dry_run") else job.check_name)
    job.collected(items)
    upload_batch(ctx, ctx.settings, opts.provider, items, target=job.target, journal=ctx.journal, upload=job.send,
                 columns=job.columns, concurrency=int(opts.get("concurrency") or 1),
                 skip_existing=bool(opts.get("skip_existing")), precheck=job.precheck, primary=job.primary,
                 validate=job.validate, dry_run=bool(opts.get("dry_run")))
