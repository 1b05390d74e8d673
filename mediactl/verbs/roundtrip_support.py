"""What the round-trip verbs (download, verify, sync) share: their dependencies (`deps`: the provider's
`roundtrip(opts)` calls for the verb's target, the journal, the HTTP client), the parameters they share,
and the local side of a comparison (files with their digests)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mediactl.errors import LocalError
from mediactl.providers.roundtrip import LocalFile, RoundTrip
from mediactl.runtime import Runtime

if TYPE_CHECKING:
    from mediactl.app.context import AppContext

NO_FILES = "no files matched"  # collect_items' error for a selection with no file in it


@dataclass
class RoundTripDeps:
    """A round-trip verb's dependencies: the run, the journal, the provider's calls and its HTTP client."""

    rt: AppContext
    provider: str
    title: str
    journal: Any
    roundtrip: RoundTrip
    client: Any


def local_files(rt: Runtime, paths: Sequence[str], *, recursive: bool, include=None, exclude=None,
                unique_names: bool = False, allow_empty: bool = False) -> list[LocalFile]:
    """The local side: the files named (directories with `recursive`), each hashed once (MD5 and SHA-256).
    `unique_names`: two files with one name (in different folders) are refused, since the provider keys
    items by name. `allow_empty`: a directory with no files is an empty side (sync), not an error."""
    from mediactl.engine.items import collect_items
    from mediactl.transfer.files import file_digests

    try:
        items = collect_items(rt, list(paths), recursive=recursive, include=include, exclude=exclude)
    except LocalError as exc:
        if allow_empty and exc.message == NO_FILES:
            return []
        raise
    if unique_names:
        seen: dict[str, Path] = {}
        for item in items:
            if item.name in seen:
                raise LocalError(f"{seen[item.name]} and {item.path} have the same name, and the provider "
                                 "keeps one item per name", hint="rename one, or leave it out with --exclude")
            seen[item.name] = item.path
    return [LocalFile(item.path, item.name, file_digests(item.path)) for item in items]


def shown_path(path: Path) -> str:
    return os.fsdecode(path)


def deps(opts, ctx) -> RoundTripDeps:
    """The dependencies of a round-trip verb run for `opts.provider` (its verbs class's `roundtrip(opts)`)."""
    from mediactl.registry import PROVIDERS
    from mediactl.verbs import provider_verbs

    trip = provider_verbs(ctx, opts.provider).roundtrip(opts)
    service = ctx.service(opts.provider)
    return RoundTripDeps(ctx, opts.provider, PROVIDERS[opts.provider].title, ctx.journal, trip,
                         getattr(service, "client", None))


Concurrency = Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="Items in parallel.")]
