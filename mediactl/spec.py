"""What a provider declares about itself: one `ProviderSpec` per provider package (ARCHITECTURE.md).

Everything that lists providers (verb groups, root help, settings, completion, resume, history, the
sandbox) reads these specs through `mediactl.registry`. A spec names its parts by dotted path
("module:attribute") so that reading it imports nothing heavy: `--help`, completion and `config` stay fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    secret: bool = False
    default: str | None = None


# Settings that every provider accepts on top of its own.
COMMON_SETTINGS = (
    Setting("ca_bundle", "path of a CA bundle to verify TLS with (like REQUESTS_CA_BUNDLE)"),
    Setting("max_size", "refuse larger files before uploading: bytes, or with a unit (100MB, 1GiB)"),
)


@dataclass(frozen=True)
class Capabilities:
    """What a provider's API offers. A verb whose flag is False is answered with `why_not[verb]`."""

    upload: bool = False
    list: bool = False
    show: bool = False
    delete: bool = False
    complete: bool = False
    download: bool = False  # the round trip (DESIGN 2b): the provider's verbs class has `roundtrip(opts)`
    verify: bool = False
    sync: bool = False
    # --skip-existing can ask whether a journalled upload is still there (`<package>.api:exists`); without
    # it, the journal's word is taken and the user told.
    exists: bool = False
    more: frozenset[str] = frozenset()  # verbs beyond these flags (mediactl.verbs.register_verb)
    why_not: Mapping[str, str] = field(default_factory=dict)

    def offers(self, verb: str) -> bool:
        return verb in self.more or (verb in _VERB_FLAGS and bool(getattr(self, verb)))


_VERB_FLAGS = ("upload", "list", "show", "delete", "complete", "download", "verify", "sync")


def load(ref: str) -> Any:
    """Import "package.module:attribute" (or a bare module) and return it."""
    module_name, _, attribute = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: its name, help and settings, and where its parts live.

    The parts follow one layout inside the provider's package (`package`), named by dotted path so that
    reading a spec imports nothing else:

    - `commands` (`mediactl.verbs:<name>`): its verb group (`mediactl NAME ...`), generated from its
      `capabilities`, `<package>/options.py` (target, extra options, help, extra commands) and
      `<package>/verbs.py` (one method per verb it offers).
    - `service` (`<package>.api:build`): `build(factory) -> service`, its API object built from settings.
    - `resume` (`<package>.api:resume`): `resume(service, entry) -> result`, finishes one incomplete
      journal entry.
    - `exists` (`<package>.api:exists`): `exists(service, entry, digests) -> bool | None`, asks the
      provider whether a journalled upload is still there (--skip-existing); only with
      `capabilities.exists`: without it, the journal's word is taken and the user told.
    - `emulator` (`<package>.emulator`): the sandbox module that emulates its API (mediactl/sandbox/core.py).
    """

    name: str
    title: str
    help: str
    settings: tuple[Setting, ...]
    package: str
    capabilities: Capabilities = field(default_factory=lambda: Capabilities())

    @property
    def commands(self) -> str:
        return f"mediactl.verbs:{self.name}"

    @property
    def service(self) -> str:
        return f"{self.package}.api:build"

    @property
    def resume(self) -> str:
        return f"{self.package}.api:resume"

    @property
    def exists(self) -> str:
        return f"{self.package}.api:exists"

    @property
    def emulator(self) -> str:
        return f"{self.package}.emulator"

    @property
    def secrets(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.secret)

    @property
    def all_settings(self) -> tuple[Setting, ...]:
        return self.settings + COMMON_SETTINGS

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.all_settings if s.name == name), None)
