"""Settings: the only place that reads the environment.

Every value is checked once, at start, so that a typo in a compose file fails
loudly with the variable's name instead of surfacing later as a broken page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from hashlib import sha256
from pathlib import Path
from urllib.parse import urlsplit

from spucsvi.spuc.client import redact_url

log = logging.getLogger(__name__)

DEFAULT_SPUC_URL = "http://spuc:8321"
DEFAULT_SUBMIT_RATE = "30/minute;300/hour"
ENV_NAMES = frozenset(
    {
        "SPUC_URL",
        "SPUC_HOST",
        "SPUC_CONNECT_TIMEOUT",
        "SPUC_READ_TIMEOUT",
        "SPUCSVI_FRESHNESS",
        "SPUCSVI_SUBMIT_LOCK",
        "SPUCSVI_TRUSTED_ORIGINS",
        "SPUCSVI_SUBMIT_RATE",
        "SPUC_TIMEZONE",
    }
)


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    spuc_url: str = DEFAULT_SPUC_URL
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_body_bytes: int = 16 * 1024
    freshness_seconds: float = 1.0
    submit_lock_path: Path | None = None
    # Origins whose unsafe requests pass the cross-origin check although their
    # host differs from the request's (a proxy that rewrites Host).
    trusted_origins: frozenset[str] = frozenset()
    # Submissions per client address (web/ratelimit.py), in the `limits` notation; None: off.
    submit_rate: str | None = DEFAULT_SUBMIT_RATE
    # The zone of SPUC's clock: it writes its times without one.
    spuc_timezone: tzinfo = UTC

    @property
    def rate_path(self) -> Path:
        """The submission counts, shared by the workers: beside the submit lock."""
        lock = self.lock_path
        return lock.with_name(f"{lock.name}.rate.sqlite")

    @property
    def lock_path(self) -> Path:
        """One lock file per SPUC backend, shared by every worker of this user on this
        machine, in a folder only this user can enter (`private_dir`): in the shared
        temp folder any local process could hold a predictable lock and make every
        submission fail."""
        if self.submit_lock_path is not None:
            return self.submit_lock_path
        digest = sha256(self.spuc_url.encode()).hexdigest()[:16]
        return private_dir() / f"submit-{digest}.lock"


class UnsafeFolder(RuntimeError):
    """The private folder exists but another user owns it or can enter it."""


def private_dir() -> Path:
    """SPUCSVi's folder for this user: $XDG_RUNTIME_DIR/spucsvi when that is set (a
    per-user folder of mode 0700), else spucsvi-<uid> in the temp folder, made with
    mode 0700 and checked to be this user's own and closed to everyone else."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "spucsvi"
    else:
        folder = Path(tempfile.gettempdir()) / f"spucsvi-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UnsafeFolder(
            f"{folder} must be a folder of this user (uid {os.getuid()}) that no one else "
            "can open (mode 0700): remove it, or set SPUCSVI_SUBMIT_LOCK"
        )
    return folder


def _spuc_url(env: Mapping[str, str]) -> str:
    if env.get("SPUC_URL"):
        name, value = "SPUC_URL", env["SPUC_URL"]
    elif env.get("SPUC_HOST"):
        log.warning("SPUC_HOST is deprecated: set SPUC_URL instead")
        name, value = "SPUC_HOST", env["SPUC_HOST"]
    else:
        return DEFAULT_SPUC_URL
    return validate_spuc_url(value, name)


def validate_spuc_url(value: str, name: str = "SPUC_URL") -> str:
    """Accept only http(s)://host[:port][/path]; return it without a trailing slash."""
    value = value.strip()
    shown = redact_url(value)  # a token in the user part is never shown
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError as exc:
        raise SettingsError(f"{name}={shown!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"{name}={shown!r} is not a valid URL: expected http://host:port, "
            "for example http://spuc:8321"
        )
    if parts.query or parts.fragment:
        raise SettingsError(f"{name}={shown!r} must not contain a query or fragment")
    return value.rstrip("/")


def _origins(env: Mapping[str, str]) -> frozenset[str]:
    """SPUCSVI_TRUSTED_ORIGINS: scheme://host[:port] entries, separated by commas or spaces."""
    raw = env.get("SPUCSVI_TRUSTED_ORIGINS", "")
    origins = set()
    for entry in raw.replace(",", " ").split():
        try:
            parts = urlsplit(entry)
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise SettingsError(
                f"SPUCSVI_TRUSTED_ORIGINS: {entry!r} is not an origin like https://example.org"
            )
        origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(origins)


def _rate(env: Mapping[str, str]) -> str | None:
    """SPUCSVI_SUBMIT_RATE: "10/minute", "30/minute;300/hour", or "off"."""
    raw = env.get("SPUCSVI_SUBMIT_RATE", "").strip()
    if not raw:
        return DEFAULT_SUBMIT_RATE
    if raw.lower() == "off":
        return None
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise SettingsError(
            f"SPUCSVI_SUBMIT_RATE={raw!r} is not a rate like 10/minute or 30/minute;300/hour "
            "(or off)"
        ) from None
    return raw


def _timezone(env: Mapping[str, str]) -> tzinfo:
    """SPUC_TIMEZONE: an IANA name such as Europe/Berlin; UTC when unset."""
    raw = env.get("SPUC_TIMEZONE", "").strip()
    if raw in ("", "UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(raw)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        pass
    raise SettingsError(
        f"SPUC_TIMEZONE={raw!r} is not an IANA time zone name such as UTC or Europe/Berlin"
    )


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.001) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not minimum <= value <= 300:
        raise SettingsError(f"{name}={raw!r} must be between {minimum:g} and 300 seconds")
    return value


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, raising SettingsError on a bad value."""
    env = os.environ if env is None else env
    lock = env.get("SPUCSVI_SUBMIT_LOCK")
    return Settings(
        spuc_url=_spuc_url(env),
        connect_timeout=_seconds(env, "SPUC_CONNECT_TIMEOUT", 2.0),
        read_timeout=_seconds(env, "SPUC_READ_TIMEOUT", 5.0),
        freshness_seconds=_seconds(env, "SPUCSVI_FRESHNESS", 1.0, minimum=0),
        submit_lock_path=Path(lock) if lock else None,
        trusted_origins=_origins(env),
        submit_rate=_rate(env),
        spuc_timezone=_timezone(env),
    )
