"""The provider contract: what a provider can do (`Capabilities`) and the typed shapes shared code relies on.

A verb (mediactl/verbs/) is written once against `Provider`; the registry's `ProviderSpec` carries the
provider's `Capabilities`, from which the per-provider commands are generated. A verb the provider lacks
still answers, in one place (mediactl/verbs/__init__.py), with the provider's reason, exit 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mediactl.engine.items import Item
    from mediactl.journal import JournalEntry


def __getattr__(name: str) -> Any:
    # re-exported without importing the journal (sqlite3) when a provider's spec is read for --help
    if name == "JournalEntry":
        from mediactl.journal import JournalEntry

        return JournalEntry
    raise AttributeError(name)


__all__ = ["Capabilities", "JournalEntry", "Provider", "VERBS"]

# The verbs written once in mediactl/verbs/, in the order help lists them.
VERBS = ("upload", "list", "show", "delete", "complete")


@dataclass(frozen=True)
class Capabilities:
    """What a provider's API offers. A verb whose flag is False is answered with `why_not[verb]`."""

    upload: bool = False
    list: bool = False
    show: bool = False
    delete: bool = False
    complete: bool = False
    # --skip-existing can ask whether a journalled upload is still there (`<package>.api:exists`); without
    # it, the journal's word is taken and the user told.
    exists: bool = False
    why_not: Mapping[str, str] = field(default_factory=dict)

    def offers(self, verb: str) -> bool:
        return bool(getattr(self, verb, False))


class Provider(Protocol):
    """What the verbs call. Each provider implements the methods of the capabilities it declares, in
    `<package>/provider.py`, on top of its API service; `opts` holds the verb's options, the shared ones
    and the provider's own extras (`<package>/options.py`)."""

    name: str

    def upload(self, items: Sequence[Item], opts: Mapping[str, Any]) -> None: ...

    def list(self, opts: Mapping[str, Any]) -> Iterator[list[dict]]: ...

    def show(self, ids: Sequence[str], opts: Mapping[str, Any]) -> None: ...

    def delete(self, ids: Sequence[str], opts: Mapping[str, Any]) -> None: ...

    def complete(self, ids: Sequence[str], opts: Mapping[str, Any]) -> None: ...
