"""--skip-existing's journal lookup: which earlier upload, if any, a file may be skipped as.

Where a provider shows names (Other Page puts the name in the key and the URL, NationBuilder shows the
attachment's filename), a skip needs the same name AND the same bytes: identical bytes under another name
are a different upload, and skipping them "as" the other record would leave the new name missing. A
provider says so with `SKIP_NEEDS_SAME_NAME = True` in its `api` module; elsewhere (the OFAuth vault,
BitBadges pages named by their document) the same bytes are the same upload.
"""

from __future__ import annotations

from mediactl.registry import PROVIDERS
from mediactl.spec import load


def names_matter(provider: str) -> bool:
    try:
        return bool(load(f"{PROVIDERS[provider].package}.api:SKIP_NEEDS_SAME_NAME"))
    except AttributeError:
        return False


def earlier_uploads(journal, provider: str, target: str, sha256: str, name: str) -> list:
    """The completed uploads of these bytes to this provider and target, newest first, that a file named
    `name` may be skipped as: under the same name, where the provider shows names."""
    candidates = journal.completed_all(provider, target, sha256)
    if not names_matter(provider):
        return candidates
    return [entry for entry in candidates if entry.get("name") == name]
