"""Other Page's part of each verb it offers (mediactl/providers/base.py `Provider`): list and show read the
local journal, as the API has neither."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediactl.errors import NotFoundError
from mediactl.providers.base import Completion, Listing, Lookup, ProviderVerbs, UploadJob
from mediactl.providers.otherpage import NAME

UPLOAD_COLUMNS = [("ID", "id"), ("NAME", "name"), ("SIZE", "local.size"), ("URL", "url")]
LIST_COLUMNS = [("ID", "id"), ("NAME", "name"), ("STATUS", "status"), ("SIZE", "local.size"),
                ("COMMUNITY", "communityId"), ("CREATED", "createdAt")]


class OtherPageVerbs(ProviderVerbs):
    def upload(self, opts: Mapping[str, Any]) -> UploadJob:
        from mediactl.providers.otherpage.api import require_extension

        service = self.ctx.service(NAME)
        target = self.ctx.settings.require(NAME, "community", opts.get("community"), flag="--community")
        return UploadJob(target=target, columns=UPLOAD_COLUMNS, check_name=require_extension,
                         validate=lambda item: require_extension(item.name),
                         send=lambda item, **kw: service.upload(item.path, item.name, target, **kw))

    def list(self, opts: Mapping[str, Any]) -> Listing:
        from mediactl.providers.otherpage.api import journal_record

        cdn = self.ctx.settings.require(NAME, "cdn_url")
        entries = self.ctx.journal.list(provider=NAME, target=opts.get("community"), limit=opts.get("limit"))
        return Listing([[journal_record(entry, cdn) for entry in entries]], LIST_COLUMNS,
                       empty_note="no recorded uploads")

    def show(self, opts: Mapping[str, Any]) -> Lookup:
        from mediactl.providers.otherpage.api import journal_record

        def find(file_id: str) -> dict:
            entry = self.ctx.journal.get(NAME, file_id)
            if entry is None:
                raise NotFoundError(f"no recorded Other Page upload '{file_id}' in the journal",
                                    hint="`mediactl otherpage list` shows recorded uploads", provider=NAME)
            return journal_record(entry, self.ctx.settings.require(NAME, "cdn_url"))

        return Lookup([opts["file_id"]], find, LIST_COLUMNS, primary="url")

    def complete(self, opts: Mapping[str, Any]) -> Completion:
        service = self.ctx.service(NAME)
        return Completion(opts["file_ids"], lambda key, progress: service.complete(key, progress), UPLOAD_COLUMNS,
                          primary="url", progress=True)

    def roundtrip(self, opts: Mapping[str, Any]):
        from mediactl.providers.otherpage.api import roundtrip

        settings = self.ctx.settings
        # a download by id reads the journal's record, whatever its community: the setting is not needed there
        community = settings.value(NAME, "community", opts.get("community")) if "ids" in opts else \
            settings.require(NAME, "community", opts.get("community"), flag="--community")
        return roundtrip(self.ctx.service(NAME), {"community": community,
                                                  "cdn_url": settings.require(NAME, "cdn_url")})


VERBS = OtherPageVerbs
