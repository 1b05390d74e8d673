"""One iterator over an API's pages, whatever its cursor: NationBuilder's `next` path, OFAuth's offset,
BitBadges' bookmark."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

Cursor = TypeVar("Cursor", bound=Hashable)


class Pages(Iterator[list[dict]]):
    """Each page's rows. `fetch(cursor)` returns the rows and the next page's cursor (None at the end); with
    `follow`, pages are fetched until there is no next cursor, or one repeats (a server loop). Without it,
    `more` says afterwards whether the API had another page (so `list` can say that the listing is cut short)."""

    def __init__(self, fetch: Callable[[Cursor], tuple[list[dict], Cursor | None]], first: Cursor, *,
                 follow: bool) -> None:
        self._fetch, self._cursor, self._seen, self._follow = fetch, first, {first}, follow
        self._done = False
        self.more = False

    def __next__(self) -> list[dict]:
        if self._done:
            raise StopIteration
        rows, following = self._fetch(self._cursor)
        if not self._follow or following is None or following in self._seen:
            self._done = True
            self.more = not self._follow and following is not None
        else:
            self._seen.add(following)
            self._cursor = following
        return rows


def pages(fetch: Callable[[Cursor], tuple[list[dict], Cursor | None]], first: Cursor, *, follow: bool) -> Pages:
    return Pages(fetch, first, follow=follow)
