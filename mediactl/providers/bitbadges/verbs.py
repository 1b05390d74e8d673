"""BitBadges' part of each verb it offers (mediactl/providers/base.py `Provider`): utility pages managed from
JSON/YAML documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mediactl.errors import NotFoundError
from mediactl.providers.base import Deletion, Listing, Lookup, ProviderVerbs, UploadJob
from mediactl.providers.bitbadges import NAME

COLUMNS = [("LISTING ID", "listingId"), ("NAME", "metadata.name"), ("VISIBILITY", "visibility"),
           ("TYPE", "type"), ("UPDATED", "lastUpdated")]


def _is_web_url(text: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class BitBadgesVerbs(ProviderVerbs):
    def upload(self, opts: Mapping[str, Any]) -> UploadJob:
        from mediactl.providers.bitbadges.api import TARGET, load_document, prepare

        visibility, image, listing_id = opts.get("visibility"), opts.get("image"), opts.get("listing_id")
        if visibility is not None and visibility not in ("public", "private", "unlisted"):
            import typer

            raise typer.BadParameter("must be public, private or unlisted", param_hint="--visibility")
        if image is not None and not _is_web_url(image):
            import typer

            raise typer.BadParameter(f"must be an http(s) URL such as https://example.com/logo.png, not '{image}'",
                                     param_hint="--image")
        service = self.ctx.service(NAME)
        overrides = {"name": opts.get("name"), "visibility": visibility, "image": image, "listing_id": listing_id}
        prepared: dict = {}

        def collected(items: Sequence[Any]) -> None:
            if listing_id and len(items) > 1:
                import typer

                raise typer.BadParameter("applies to a single document", param_hint="--listing-id")

        def validate(item) -> None:  # upload_batch validates every document before sending any
            prepared[item.path] = prepare(load_document(item.path), update=bool(opts.get("update")),
                                          overrides=overrides, source=str(item.path))

        def send(item, **kw) -> dict:
            schema, payload = prepared[item.path]
            return service.upload(item.path, item.name, schema, payload, **kw)

        include = opts.get("include") or ["*.json", "*.yaml", "*.yml"] if opts.get("recursive") else opts.get("include")
        return UploadJob(target=TARGET, send=send, columns=COLUMNS, primary="listingId", validate=validate,
                         include=include, name_is_file_name=False, collected=collected)

    def list(self, opts: Mapping[str, Any]) -> Listing:
        pages = self.ctx.service(NAME).search(opts.get("bookmark"), opts.get("all_pages"))
        return Listing(pages, COLUMNS, primary="listingId", empty_note="no utility pages")

    def show(self, opts: Mapping[str, Any]) -> Lookup:
        service, ids = self.ctx.service(NAME), opts["listing_ids"]
        if len(ids) == 1:
            return Lookup(ids, service.get, COLUMNS, primary="listingId")
        docs = {doc.get("listingId"): doc for doc in service.fetch(ids)}

        def find(listing_id: str) -> dict:
            if listing_id not in docs:
                raise NotFoundError(f"utility page {listing_id} not found", provider=NAME)
            return docs[listing_id]

        return Lookup(ids, find, COLUMNS, primary="listingId")

    def delete(self, opts: Mapping[str, Any]) -> Deletion:
        service, ids = self.ctx.service(NAME), opts["listing_ids"]
        return Deletion(ids, f"{len(ids)} utility page(s)", key="listingId", header="LISTING ID", find=service.get,
                        delete=service.delete)

    def roundtrip(self, opts: Mapping[str, Any]):
        from mediactl.providers.bitbadges.api import roundtrip

        return roundtrip(self.ctx.service(NAME), {"sync_dir": opts.get("sync_dir")})


VERBS = BitBadgesVerbs
