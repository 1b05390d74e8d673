"""`mediactl PROVIDER verify [FILES...] [-r DIR] [--files-from F] [--extra]`: README "Round trip".

Local files against what the provider holds, as rclone `check` does: a row per file,
`{"path", "status": "match|differs|missing", "remote": {...}, "provider"}`, and with `--extra` a row
`"status": "extra"` per remote item no local file accounts for. Exit 0 when all match, 9 when anything
differs or is missing (nothing failed: the provider holds something else), the usual codes when a request
fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from mediactl.errors import ExitCode
from mediactl.providers.roundtrip import LocalFile
from mediactl.verbs import Param
from mediactl.verbs.roundtrip_support import Concurrency, RoundTripDeps, local_files, shown_path

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec
    from mediactl.verbs import VerbOptions

HELP = """Compare local files with what the provider holds: match, differs or missing per file (and extra with
--extra). Exit 0 when everything matches, 9 when anything differs or is missing.

Example: mediactl PROVIDER verify -r files/
"""

COLUMNS = [("PATH", "path"), ("STATUS", "status"), ("REMOTE ID", "remote.id"), ("WHY", "why")]
DIFFERENT = ("differs", "missing")


@dataclass
class VerifyOptions:
    paths: Sequence[str] = field(default_factory=list)
    recursive: bool = False
    extra: bool = False
    include: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    concurrency: int = 4


def params(spec: ProviderSpec) -> list[Param]:
    from mediactl.providers import options as o

    return [
        Param("files", Annotated[list[str] | None, typer.Argument(
            help="Local files (directories with -r) to compare with the provider.", show_default=False,
            metavar="FILE")], None),
        Param("recursive", Annotated[bool, typer.Option("--recursive", "-r",
                                                        help="Compare the files inside directories.")], False),
        Param("files_from", o.FilesFrom, None),
        Param("extra", Annotated[bool, typer.Option(
            "--extra", help="Also list remote items with no local file (status extra).")], False),
        Param("include", o.Include, None), Param("exclude", o.Exclude, None), Param("concurrency", Concurrency, 4),
    ]


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.engine.items import batch_paths
    from mediactl.verbs.roundtrip_support import deps

    paths = batch_paths(ctx, opts.get("files"), files_from=opts.get("files_from"), files_from0=None, null=False)
    verify(VerifyOptions(paths, bool(opts.get("recursive")), bool(opts.get("extra")), opts.get("include"),
                         opts.get("exclude"), int(opts.get("concurrency") or 4)), deps(opts, ctx))


def verify(opts: VerifyOptions, deps: RoundTripDeps) -> None:
    """Compare the files `opts` names with the provider, through its calls in `deps`."""
    from mediactl.engine.batch import BatchExit, batch_exit, run_batch
    from mediactl.output import ResultWriter

    rt, trip = deps.rt, deps.roundtrip
    patterns = getattr(trip, "local_patterns", None) if opts.recursive else None
    files = local_files(rt, opts.paths, recursive=opts.recursive, include=opts.include or patterns,
                        exclude=opts.exclude)
    matched: set[str] = set()

    def one(local: LocalFile) -> dict:
        found = trip.check(local)
        if found.remote is not None:
            matched.add(found.remote.id)
        row = {"path": shown_path(local.path), "status": found.status,
               "remote": _remote_row(found.remote), "provider": deps.provider}
        if found.why:
            row["why"] = found.why
        return row

    with ResultWriter(rt, COLUMNS, primary="path", empty_note="nothing to verify") as out:
        outcomes = run_batch(rt, files, one, concurrency=opts.concurrency, on_result=out.add,
                             describe=lambda local: shown_path(local.path))
        if opts.extra:
            names = {f.name for f in files}
            for remote in trip.remote_files():
                if remote.id not in matched and remote.name not in names:
                    out.add({"path": None, "status": "extra", "remote": _remote_row(remote),
                             "provider": deps.provider, "why": "on the provider, with no local file"})
    counts = {s: sum(1 for o in outcomes if o.result and o.result["status"] == s) for s in
              ("match", *DIFFERENT)}
    rt.info(f"verify: {counts['match']} match, {counts['differs']} differ, {counts['missing']} missing"
            + (f", {len(outcomes) - sum(counts.values())} failed" if len(outcomes) > sum(counts.values()) else ""))
    batch_exit(outcomes)
    if counts["differs"] or counts["missing"]:
        raise BatchExit(int(ExitCode.DIFFERS))


def _remote_row(remote) -> dict:
    if remote is None:
        return {}
    return {**remote.record, "id": remote.id, "name": remote.name}
