"""`mediactl PROVIDER download ID... [-d DIR] [--force]` / `--all`: README "Round trip".

Each item is streamed to `DIR/NAME.part`, hashed, fsynced and renamed (mediactl/transfer/receiving.py);
BitBadges pages are written as the documents `upload` takes. A result row is the provider's record plus
`local: {path, size, sha256}`; an existing file is left alone (`skipped: exists`) unless `--force`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mediactl.errors import UsageError
from mediactl.providers.roundtrip import Remote
from mediactl.verbs import Param
from mediactl.verbs.roundtrip_support import Concurrency, RoundTripDeps

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec
    from mediactl.verbs import VerbOptions

HELP = """Download items to a directory: streamed to NAME.part, hashed, renamed; never over an existing file
without --force.

Example: mediactl PROVIDER download ID -d out/
"""

COLUMNS = [("ID", "id"), ("NAME", "name"), ("PATH", "local.path"), ("SIZE", "local.size"),
           ("SKIPPED", "skipped")]


@dataclass
class DownloadOptions:
    ids: Sequence[str]
    all: bool = False
    directory: Path = Path(".")
    force: bool = False
    concurrency: int = 4


def params(spec: ProviderSpec) -> list[Param]:
    return [
        Param("ids", Annotated[list[str] | None, typer.Argument(help="Ids of the items to download.",
                                                                show_default=False, metavar="ID")], None),
        Param("all_items", Annotated[bool, typer.Option("--all", help="Every item at the target.")], False),
        Param("directory", Annotated[Path, typer.Option("--dir", "-d", metavar="DIR", file_okay=False,
                                                        help="Where to write the files (made if missing).")],
              Path(".")),
        Param("force", Annotated[bool, typer.Option("--force", help="Overwrite existing files.")], False),
        Param("concurrency", Concurrency, 4),
    ]


def run(opts: VerbOptions, ctx: AppContext) -> None:
    from mediactl.verbs.roundtrip_support import deps

    download(DownloadOptions(opts.get("ids") or [], bool(opts.get("all_items")), opts.get("directory") or Path("."),
                             bool(opts.get("force")), int(opts.get("concurrency") or 4)), deps(opts, ctx))


def download(opts: DownloadOptions, deps: RoundTripDeps) -> None:
    """Download the items `opts` names, with the provider's calls in `deps`."""
    from mediactl.engine.batch import batch_exit, run_batch
    from mediactl.output import Progress, ResultWriter
    from mediactl.transfer.receiving import NamePicker, prepare_dir, target_in

    rt, trip = deps.rt, deps.roundtrip
    if opts.all and opts.ids:
        raise UsageError("give IDs or --all, not both")
    if not opts.all and not opts.ids:
        raise UsageError("nothing to download", hint="give IDs, or --all")
    # an id given twice (or two spellings of one item) is downloaded once, as upload treats a path given twice
    remotes = list({r.id: r for r in (trip.remote_files() if opts.all
                                      else trip.lookup(list(dict.fromkeys(opts.ids))))}.values())
    directory = prepare_dir(opts.directory)
    names = NamePicker()
    planned = []
    for remote in remotes:
        name = remote.name if remote.document is None else f"{remote.name or remote.id}.json"
        planned.append((remote, target_in(directory, names.pick(name, remote.id))))
    total = sum(r.size or 0 for r, _ in planned) or None
    with ResultWriter(rt, COLUMNS, primary="local.path", empty_note="nothing to download") as out, \
            Progress(rt, len(planned), total) as progress:

        def one(item: tuple[Remote, Path]) -> dict:
            remote, target = item
            task = progress.task(target.name, remote.size)
            try:
                received = _receive(deps, remote, target, opts.force, task)
            except BaseException:
                task.failed()
                raise
            task.done("skipped" if received.skipped else "downloaded")
            row = {**remote.record, "provider": deps.provider, "local": received.local()}
            row.setdefault("id", remote.id)
            row.setdefault("name", remote.name)
            if received.skipped:
                row["skipped"] = received.skipped
            return row

        outcomes = run_batch(rt, planned, one, concurrency=opts.concurrency, on_result=out.add,
                             describe=lambda item: item[0].id, on_interrupt=progress.silence)
    batch_exit(outcomes)


def _receive(deps: RoundTripDeps, remote: Remote, target: Path, force: bool, progress):
    from mediactl.errors import RejectedError
    from mediactl.transfer.receiving import download, write_bytes

    if remote.document is not None:
        data = (json.dumps(remote.document, indent=2, ensure_ascii=False) + "\n").encode()
        return write_bytes(target, data, force=force, progress=progress)
    if not remote.url:
        raise RejectedError(f"{remote.id}: the provider gives no URL to download it from", provider=deps.provider)
    return download(deps.client, remote.url, target, force=force, progress=progress, expected_size=remote.size)
