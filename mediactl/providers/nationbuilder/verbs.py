"""NationBuilder's part of each verb it offers (mediactl/providers/base.py `Provider`): page attachments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediactl.providers.base import Deletion, Listing, Lookup, ProviderVerbs, UploadJob
from mediactl.providers.nationbuilder import NAME

COLUMNS = [("ID", "id"), ("FILENAME", "filename"), ("TYPE", "content_type"), ("UPDATED", "updated_at"),
           ("URL", "url")]


class NationBuilderVerbs(ProviderVerbs):
    def _site(self, opts: Mapping[str, Any]) -> str:
        return self.ctx.settings.require(NAME, "site", opts.get("site"), flag="--site")

    def upload(self, opts: Mapping[str, Any]) -> UploadJob:
        from mediactl.engine.items import guess_type

        service = self.ctx.service(NAME)
        site, page = self._site(opts), opts["page"]

        def send(item, **kw) -> dict:
            ctype = opts.get("content_type") or guess_type(item.name, item.path)
            return service.upload(item.path, item.name, site, page, content_type=ctype, **kw)

        return UploadJob(target=f"{site}/{page}", send=send, columns=COLUMNS)

    def list(self, opts: Mapping[str, Any]) -> Listing:
        service = self.ctx.service(NAME)
        site = self._site(opts)
        return Listing(service.attachments(site, opts["page"], opts.get("limit"), opts.get("all_pages")), COLUMNS,
                       empty_note="no attachments")

    def show(self, opts: Mapping[str, Any]) -> Lookup:
        service = self.ctx.service(NAME)
        site = self._site(opts)
        return Lookup([opts["attachment_id"]], lambda one: service.show(site, opts["page"], one), COLUMNS)

    def delete(self, opts: Mapping[str, Any]) -> Deletion:
        service = self.ctx.service(NAME)
        site, page, ids = self._site(opts), opts["page"], opts["attachment_ids"]
        return Deletion(ids, f"{len(ids)} attachment(s) from {site}/{page}", key="id", header="ID",
                        find=lambda one: service.show(site, page, one),
                        delete=lambda one: service.delete(site, page, one))

    def roundtrip(self, opts: Mapping[str, Any]):
        from mediactl.providers.nationbuilder.api import roundtrip

        return roundtrip(self.ctx.service(NAME), {"site": self._site(opts), "page": opts["page"]})


VERBS = NationBuilderVerbs
