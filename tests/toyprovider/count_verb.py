"""A verb added from the test tree alone (tests/test_verbs.py): `mediactl toy count` prints how many files
the provider holds. One module like this, plus one method on each provider that offers it."""

from __future__ import annotations

from mediactl.output import emit_one
from mediactl.verbs import provider_verbs

HELP = """Count the files the provider holds.

Example: mediactl toy count -o json
"""


def run(opts, ctx) -> None:
    emit_one(ctx, {"count": provider_verbs(ctx, opts.provider).count(opts), "provider": opts.provider},
             primary="count")
