"""Values TAB completion looks up at run time, for the launcher as well as the CLI: profile names, setting
keys, one provider's journal ids (mediactl/app/completion.py has the others: statuses, providers, shells).

Kept free of Typer, Rich and Pydantic so the launcher can answer them from the completion table without
building the CLI (mediactl/fast_completion.py); the commands hand the same functions to Typer as their
`autocompletion`, so both paths give the same answers. The completion table calls a module-level function
of a module that imports none of those three by its name; a completer made by a factory carries
`light_call = (function name in this module, leading arguments)` instead. A completer whose first
parameter is `ctx` gets Click's context from Typer and, from the launcher, a `LineContext` holding the
values of the options given on the command line as `params`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def profile_names(ctx, incomplete: str) -> list[str]:
    """`--profile <TAB>`: `default` and the profiles of the config files (of `--config-dir` if it was given
    before on the command line), each once."""
    from mediactl.config import ConfigStore
    from mediactl.runtime import config_dir

    given = (getattr(ctx, "params", None) or {}).get("config_dir")
    try:
        names = ConfigStore(Path(given).expanduser() if given else config_dir(os.environ)).profiles()
    except Exception:
        names = []
    return [n for n in dict.fromkeys(["default", *names]) if n.startswith(incomplete)]


def setting_keys(incomplete: str) -> list[str]:
    """`config set <TAB>`: every `provider.setting` key."""
    from mediactl.registry import setting_keys as keys

    return [k for k in keys() if k.startswith(incomplete)]


def journal_ids(provider: str, incomplete: str) -> list[str]:
    """The remote ids (or journal ids) of `provider`'s 50 latest recorded uploads (completion runs without
    the root callback: the environment says where the journal is)."""
    try:
        from mediactl.journal import Journal
        from mediactl.runtime import data_dir

        entries = Journal(data_dir(os.environ)).list(provider=provider, limit=50)
    except Exception:  # completion must never fail: no journal, a locked one, a bad path
        return []
    ids = [e["remote_id"] or e["id"] for e in entries]
    return [i for i in ids if i.startswith(incomplete)]


def journal_id_completer(provider: str) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return journal_ids(provider, incomplete)

    complete.light_call = ("journal_ids", (provider,))  # type: ignore[attr-defined]
    return complete
