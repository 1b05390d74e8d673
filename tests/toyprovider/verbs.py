"""The toy provider's part of each verb it offers (mediactl/providers/base.py `Provider`)."""

from __future__ import annotations

from mediactl.providers.base import Listing, ProviderVerbs, UploadJob
from tests.toyprovider import NAME

COLUMNS = [("ID", "id"), ("NAME", "name")]


class ToyVerbs(ProviderVerbs):
    def upload(self, opts) -> UploadJob:
        service = self.ctx.service(NAME)
        return UploadJob(target="files", columns=COLUMNS, primary="id",
                         send=lambda item, **kw: service.upload(item.path, item.name, **kw))

    def list(self, opts) -> Listing:
        return Listing([self.ctx.service(NAME).files()], COLUMNS, empty_note="no files")

    def count(self, opts) -> int:  # the one method the `count` verb (tests/toyprovider/count_verb.py) needs
        return len(self.ctx.service(NAME).files())


VERBS = ToyVerbs
