"""Profiles and settings: config.toml (plain settings) and credentials.toml (secrets, 0600).

Both files hold one table per profile and provider:

    [default.otherpage]
    community = "c-123"

Precedence, highest first: command-line option, `MEDIACTL_<PROVIDER>_<SETTING>`, the profile's entry in
config.toml / credentials.toml, the default. Writes are atomic (temp file + rename) under a file lock, so
two processes running `config set` at once lose neither change, and a crash mid-write leaves the old file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mediactl.errors import LocalError, UsageError
from mediactl.registry import PROVIDERS, all_settings, find_setting
from mediactl.runtime import Runtime
from mediactl.spec import Setting

CONFIG_FILE = "config.toml"
CREDENTIALS_FILE = "credentials.toml"
MASK = "********"


@dataclass(frozen=True)
class Resolved:
    value: str | None
    source: str  # "option", "env", "config.toml", "credentials.toml", "default" or "unset"


def env_name(provider: str, setting: str) -> str:
    return f"MEDIACTL_{provider.upper()}_{setting.upper()}"


def parse_key(key: str) -> tuple[str, Setting]:
    """`provider.setting` -> (provider, Setting); an unknown key is a usage error naming the choices."""
    provider, _, name = key.partition(".")
    if provider not in PROVIDERS:
        raise UsageError(
            f"unknown setting key '{key}': the provider must be one of {', '.join(PROVIDERS)}"
        )
    setting = find_setting(provider, name)
    if setting is None:
        names = ", ".join(s.name for s in all_settings(provider))
        raise UsageError(f"unknown setting key '{key}': {provider} settings are {names}")
    return provider, setting


def load_toml(path: Path) -> dict:
    """Read a TOML file; a missing file is empty, a malformed one is a LocalError naming path and line."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        raise LocalError(
            f"{path}: not valid TOML: {exc}",
            hint="fix or remove the file; mediactl will not overwrite it",
        ) from None
    except OSError as exc:
        raise LocalError(f"{path}: cannot read: {exc.strerror}") from None


_TOML_TYPES = {str: "a string", int: "an integer", float: "a float", bool: "a boolean", list: "an array",
               dict: "a table"}


def _toml_type(value: object) -> str:
    return _TOML_TYPES.get(type(value), "a date/time")


def check_shape(path: Path, data: dict) -> dict:
    """Valid TOML of the wrong shape is a LocalError naming the file, the key and the expected shape.

    The shape is one table per profile holding one table per provider holding settings:
    `[default.otherpage]` then `community = "c-123"`.
    """
    def bad(key: str, value: object, expected: str) -> LocalError:
        return LocalError(
            f"{path}: {key} must be {expected}, not {_toml_type(value)}",
            hint="fix or remove the file; mediactl will not overwrite it",
        )

    for profile, providers in data.items():
        if not isinstance(providers, dict):
            raise bad(profile, providers, f"a profile table with one table per provider, e.g. [{profile}.ofauth]")
        for provider, settings in providers.items():
            key = f"{profile}.{provider}"
            if not isinstance(settings, dict):
                example = "community" if provider == "otherpage" else "base_url"
                raise bad(key, settings, f'a table of {provider} settings: [{key}] then {example} = "..."')
            for name, value in settings.items():
                if isinstance(value, (dict, list)):
                    raise bad(f"{key}.{name}", value, f'a single value, e.g. {name} = "..."')
    return data


_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int | None:
    """`104857600`, `10MB`, `1.5 GiB` -> bytes (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024); None when
    it is not a positive size."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        return None
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    return size if size > 0 else None


SIZE_EXAMPLES = "a size such as 104857600 (bytes), 100MB or 1GiB"


class ConfigStore:
    """The two files of one config directory, read lazily."""

    def __init__(self, directory: Path, rt: Runtime | None = None) -> None:
        self.directory = directory
        self.rt = rt
        self._cache: dict[str, dict] = {}

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def credentials_path(self) -> Path:
        return self.directory / CREDENTIALS_FILE

    def _path(self, secret: bool) -> Path:
        return self.credentials_path if secret else self.config_path

    def read(self, secret: bool) -> dict:
        name = CREDENTIALS_FILE if secret else CONFIG_FILE
        if name not in self._cache:
            path = self._path(secret)
            if secret:
                self._warn_if_exposed(path)
            self._cache[name] = check_shape(path, load_toml(path))
        return self._cache[name]

    def _warn_if_exposed(self, path: Path) -> None:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and self.rt is not None:
            self.rt.warn(
                f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )

    def profiles(self) -> list[str]:
        names: list[str] = []
        for secret in (False, True):
            for name, table in self.read(secret).items():
                if isinstance(table, dict) and name not in names:
                    names.append(name)
        return names

    def get(self, profile: str, provider: str, setting: Setting) -> str | None:
        table = self.read(setting.secret).get(profile, {})
        value = table.get(provider, {}).get(setting.name) if isinstance(table, dict) else None
        return None if value is None else str(value)

    def update(self, secret: bool, profile: str, provider: str, changes: dict[str, str | None]) -> None:
        """Set (or with None, remove) settings of one profile/provider in one atomic write."""
        path = self._path(secret)
        self.directory.mkdir(parents=True, exist_ok=True)
        with file_lock(self.directory / ".lock"):
            data = check_shape(path, load_toml(path))  # re-read under the lock: another process may have written
            section = data.setdefault(profile, {}).setdefault(provider, {})
            for key, value in changes.items():
                if value is None:
                    section.pop(key, None)
                else:
                    section[key] = value
            if not section:
                data[profile].pop(provider)
            if not data.get(profile):
                data.pop(profile, None)
            atomic_write_toml(path, data, mode=0o600 if secret else 0o644)
        self._cache.pop(CREDENTIALS_FILE if secret else CONFIG_FILE, None)


def atomic_write_toml(path: Path, data: dict, *, mode: int) -> None:
    """Write a temp file created with `mode` (never wider, whatever the umask), fsync it, rename it over."""
    import tempfile

    import tomli_w

    payload = tomli_w.dumps(data).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: mkstemp made it 0600; config.toml may be wider, secrets never are
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock, writes stay atomic
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class Settings:
    """Resolves a provider's settings for the active profile."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.store = ConfigStore(rt.resolved_config_dir(), rt)

    def check_profile(self) -> None:
        """An explicitly chosen profile must exist in a config file."""
        if self.rt.profile_explicit and self.rt.profile != "default":
            known = self.store.profiles()
            if self.rt.profile not in known:
                listed = ", ".join(known) if known else "none yet"
                raise LocalError(
                    f"unknown profile '{self.rt.profile}' (profiles: {listed})",
                    hint=f"create it with `mediactl --profile {self.rt.profile} config set KEY VALUE`",
                )

    def resolve(self, provider: str, name: str, option: str | None = None) -> Resolved:
        setting = find_setting(provider, name)
        if setting is None:
            raise KeyError(f"{provider}.{name}")
        if option not in (None, ""):
            return Resolved(str(option), "option")
        env = self.rt.env.get(env_name(provider, name))
        if env:
            return Resolved(env, "env")
        value = self.store.get(self.rt.profile, provider, setting)
        if value not in (None, ""):
            return Resolved(value, CREDENTIALS_FILE if setting.secret else CONFIG_FILE)
        default = self._default(provider, setting)
        if default is not None:
            return Resolved(default, "default")
        return Resolved(None, "unset")

    def _default(self, provider: str, setting: Setting) -> str | None:
        """The setting's default, whose `{name}` fields are the provider's other settings (NationBuilder's
        base_url from its nation); None while one of them is unset."""
        if setting.default is None or "{" not in setting.default:
            return setting.default
        import string

        fields = {name for _, name, _, _ in string.Formatter().parse(setting.default) if name}
        values = {name: self.value(provider, name) for name in fields}
        if any(value is None for value in values.values()):
            return None
        return setting.default.format(**values)

    def value(self, provider: str, name: str, option: str | None = None) -> str | None:
        return self.resolve(provider, name, option).value

    def require(self, provider: str, name: str, option: str | None = None, *, flag: str | None = None) -> str:
        value = self.value(provider, name, option)
        if value is None:
            setting = find_setting(provider, name)
            how = (
                f"run `mediactl auth login {provider}`"
                if setting is not None and setting.secret
                else f"run `mediactl config set {provider}.{name} VALUE`"
            )
            ways = [how, f"set {env_name(provider, name)}"]
            if flag:
                ways.append(f"pass {flag}")
            raise LocalError(f"{provider}.{name} is not set", hint="; or ".join(ways), provider=provider)
        return value

    def secret_values(self) -> list[str]:
        """Every secret configured anywhere for this profile, so logs can redact them."""
        values = []
        for provider in PROVIDERS:
            for setting in PROVIDERS[provider].secrets:
                try:
                    value = self.value(provider, setting.name)
                except LocalError:
                    continue
                if value:
                    values.append(value)
        return values
