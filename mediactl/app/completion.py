"""Shell completion of values: journal ids, statuses, provider names, shells. Completion runs without the
root callback (no AppContext), so these read the process environment for where the journal lives."""

from __future__ import annotations

import os


def _matching(values: list[str], incomplete: str) -> list[str]:
    return [v for v in dict.fromkeys(values) if v.startswith(incomplete)]


def journal_ids(incomplete: str) -> list[str]:
    """`history forget <TAB>`: the newest journal ids."""
    try:
        from mediactl.journal import Journal
        from mediactl.runtime import data_dir

        entries = Journal(data_dir(os.environ)).list(limit=100)
    except Exception:  # completion must never fail: no journal, a locked one, a bad path
        return []
    return _matching([e["id"] for e in entries], incomplete)


def statuses(incomplete: str) -> list[str]:
    from mediactl.journal import PHASES

    return _matching(list(PHASES), incomplete)


def providers(incomplete: str) -> list[str]:
    from mediactl.registry import PROVIDERS

    return _matching(list(PROVIDERS), incomplete)


def shells(incomplete: str) -> list[str]:
    from mediactl.completions_gen import SHELLS

    return _matching(list(SHELLS), incomplete)
