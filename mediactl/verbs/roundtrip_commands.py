"""The per-provider commands of the round-trip verbs (download, verify, sync), generated from one table:
each provider's target options and how they resolve. Registered in ONE place (`attach`, called where a
provider's verb group is loaded), so they move onto the generated-commands layer with little change.

Each command only parses; the verb module (`mediactl/verbs/{download,verify,sync}.py`) does the work in
`run(opts, deps)` against the provider's `roundtrip(service, target)` (mediactl/providers/roundtrip.py).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mediactl.providers.options import Exclude, Include

# -- each provider's target options --------------------------------------------------------------------

Site = Annotated[str | None, typer.Option("--site", help="Site slug (setting nationbuilder.site).",
                                          show_default=False)]
Page = Annotated[str | None, typer.Option("--page", help="Page slug (see `nationbuilder pages`).",
                                          show_default=False)]
Community = Annotated[str | None, typer.Option("--community", help="Community id (setting otherpage.community).",
                                               show_default=False)]
MediaType = Annotated[str | None, typer.Option("--type", help="With --all: photo, video, audio or gif.",
                                               show_default=False)]


def _nationbuilder(settings, values: dict, verb: str) -> dict:
    site = settings.require("nationbuilder", "site", values.get("site"), flag="--site")
    if not values.get("page"):
        raise typer.BadParameter("is required", param_hint="--page")
    return {"site": site, "page": values["page"]}


def _otherpage(settings, values: dict, verb: str) -> dict:
    # download by id reads the journal's record, whatever its community: the setting is not needed there
    community = settings.value("otherpage", "community", values.get("community")) if verb == "download" else \
        settings.require("otherpage", "community", values.get("community"), flag="--community")
    return {"community": community, "cdn_url": settings.require("otherpage", "cdn_url")}


def _ofauth(settings, values: dict, verb: str) -> dict:
    media_type = values.get("type")
    if media_type is not None and media_type not in ("photo", "video", "audio", "gif"):
        raise typer.BadParameter("must be photo, video, audio or gif", param_hint="--type")
    return {"type": media_type}


def _bitbadges(settings, values: dict, verb: str) -> dict:
    return {"sync_dir": values.get("sync_dir")}


# provider -> (target options, per verb; how they resolve to the provider's `roundtrip` target)
TARGETS: dict[str, tuple[dict[str, list[tuple[str, Any]]], Callable[..., dict]]] = {
    "nationbuilder": ({"*": [("page", Page), ("site", Site)]}, _nationbuilder),
    "otherpage": ({"*": [("community", Community)]}, _otherpage),
    "ofauth": ({"download": [("type", MediaType)]}, _ofauth),
    "bitbadges": ({}, _bitbadges),
}

EXAMPLES = {
    "nationbuilder": {"download": "mediactl nationbuilder download --all --page gallery -d out/",
                      "verify": "mediactl nationbuilder verify -r site/files --page gallery --extra",
                      "sync": "mediactl nationbuilder sync site/files --page gallery --delete --max-delete 5"},
    "otherpage": {"download": "mediactl otherpage download 3f2a... -d out/",
                  "verify": "mediactl otherpage verify logo.png --community c-123",
                  "sync": "mediactl otherpage sync assets/ --community c-123 --dry-run"},
    "ofauth": {"download": "mediactl ofauth download --all --type photo -d vault/",
               "verify": "mediactl ofauth verify -r photos/",
               "sync": "mediactl ofauth sync photos/ --dry-run -o json"},
    "bitbadges": {"download": "mediactl bitbadges download --all -d pages/",
                  "verify": "mediactl bitbadges verify -r pages/",
                  "sync": "mediactl bitbadges sync pages/ --delete --dry-run"},
}

# -- the verbs' own options -----------------------------------------------------------------------------

Ids = Annotated[list[str] | None, typer.Argument(help="Ids of the items to download.", show_default=False,
                                                 metavar="ID")]
AllItems = Annotated[bool, typer.Option("--all", help="Every item at the target.")]
Directory = Annotated[Path, typer.Option("--dir", "-d", help="Where to write the files (made if missing).",
                                         file_okay=False, metavar="DIR")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite existing files.")]
VerifyFiles = Annotated[list[str] | None, typer.Argument(
    help="Local files (directories with -r) to compare with the provider.", show_default=False,
    metavar="FILE")]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Compare the files inside directories.")]
FilesFrom = Annotated[str | None, typer.Option(
    "--files-from", metavar="FILE", help="Also the paths listed in FILE, one per line ('-': stdin).")]
Extra = Annotated[bool, typer.Option("--extra", help="Also list remote items with no local file (status extra).")]
SyncDir = Annotated[Path, typer.Argument(help="The directory the provider is made to match.", show_default=False,
                                         file_okay=False, metavar="DIR")]
Delete = Annotated[bool, typer.Option("--delete", help="Also delete remote items with no file in DIR.")]
MaxDelete = Annotated[int | None, typer.Option(
    "--max-delete", min=0, metavar="N", help="Refuse (exit 2, nothing changed) a plan deleting more than N.")]
Concurrency = Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="Items in parallel.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan (create/replace/update/delete/unchanged, "
                                                        "with why) and change nothing.")]

HELP = {
    "download": "Download items to a directory: streamed to NAME.part, hashed, renamed; never over an existing "
                "file without --force.",
    "verify": "Compare local files with what the provider holds: match, differs or missing per file (exit 9 "
              "when anything differs).",
    "sync": "Make the provider match a directory, from one plan (--dry-run prints it).",
}
VERB_PARAMS: dict[str, list[tuple[str, Any, Any]]] = {
    "download": [("ids", Ids, None), ("all_items", AllItems, False), ("directory", Directory, Path(".")),
                 ("force", Force, False), ("concurrency", Concurrency, 4)],
    "verify": [("files", VerifyFiles, None), ("recursive", Recursive, False), ("files_from", FilesFrom, None),
               ("extra", Extra, False), ("include", Include, None), ("exclude", Exclude, None),
               ("concurrency", Concurrency, 4)],
    "sync": [("directory", SyncDir, inspect.Parameter.empty), ("delete", Delete, False),
             ("max_delete", MaxDelete, None), ("dry_run", DryRun, False), ("include", Include, None),
             ("exclude", Exclude, None), ("concurrency", Concurrency, 4)],
}


def _deps(app_ctx, provider: str, values: dict, verb: str):
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load
    from mediactl.verbs.roundtrip_support import RoundTripDeps

    _, resolve = TARGETS[provider]
    target = resolve(app_ctx.settings, values, verb)
    service = app_ctx.service(provider)
    make = load(f"{PROVIDERS[provider].package}.api:roundtrip")
    return RoundTripDeps(app_ctx, provider, PROVIDERS[provider].title, app_ctx.journal, make(service, target),
                         service.client)


def _run(app_ctx, provider: str, verb: str, values: dict) -> None:
    if verb == "download":
        from mediactl.verbs import download

        opts = download.DownloadOptions(values.get("ids") or [], values["all_items"], values["directory"],
                                        values["force"], values["concurrency"])
        download.run(opts, _deps(app_ctx, provider, values, verb))
    elif verb == "verify":
        from mediactl.engine.items import batch_paths
        from mediactl.verbs import verify

        deps = _deps(app_ctx, provider, values, verb)
        paths = batch_paths(deps.rt, values.get("files"), files_from=values.get("files_from"), files_from0=None,
                            null=False)
        verify.run(verify.VerifyOptions(paths, values["recursive"], values["extra"], values.get("include"),
                                        values.get("exclude"), values["concurrency"]), deps)
    else:
        from mediactl.verbs import sync

        directory = values["directory"]
        values = {**values, "sync_dir": os.fsdecode(directory.absolute())}
        opts = sync.SyncOptions(directory, values["delete"], values["max_delete"], values["dry_run"],
                                values["concurrency"], values.get("include"), values.get("exclude"))
        sync.run(opts, _deps(app_ctx, provider, values, verb))


def make_command(provider: str, verb: str) -> Callable[..., None]:
    options, _ = TARGETS[provider]
    target_params = options.get("*", []) + options.get(verb, [])
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
               for name, annotation, default in VERB_PARAMS[verb]]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)
               for name, annotation in target_params]

    def command(ctx: typer.Context, **values: Any) -> None:
        from mediactl.app.context import AppContext

        _run(AppContext.of(ctx), provider, verb, values)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = f"{HELP[verb]}\n\nExample: {EXAMPLES[provider][verb]}"
    command.__name__ = verb
    return command


def attach(app: typer.Typer, provider: str) -> None:
    """Add download, verify and sync to a provider's verb group (providers without round-trip calls, such
    as a test's toy provider, get none)."""
    if provider not in TARGETS or getattr(app, "_roundtrip_attached", False):
        return
    for verb in ("download", "verify", "sync"):
        app.command(verb)(make_command(provider, verb))
    app._roundtrip_attached = True  # type: ignore[attr-defined]
