"""Settings: every environment variable SPUCSVi reads, declared once.

Each setting is one field of `Settings` (the app's) or `ServerSettings` (gunicorn's,
read by spucsvi/server/gunicorn_settings.py), declared with `setting(...)`: its
variable, its default, how its text is read and checked, and its sentence in
docs/settings.md (`markdown_table`; a test keeps the page equal to it). The test
servers clear every one of them (`NAMES`) from the developer's environment.

Every value is checked once, at start, so that a typo in a compose file fails
loudly with the variable's name instead of surfacing later as a broken page.
Outside this table SPUCSVi's code reads only the system's XDG_RUNTIME_DIR
(`private_dir`); gunicorn reads its own (SCRIPT_NAME, which the project's gunicorn
worker reads as gunicorn does for the answers it makes itself: server/worker.py; and
FORWARDED_ALLOW_IPS, which the app reads too and decides by: spucsvi/web/proxy.py),
and `spucsvi demo` sets
SPUC_URL for the server it starts. spucsvi/metrics.py reads and sets
prometheus_client's PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from spucsvi.spuc.client import redact_url

log = logging.getLogger(__name__)

DEFAULT_SPUC_URL = "http://spuc:8321"
DEFAULT_SUBMIT_RATE = "30/minute;300/hour"


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One row of the settings table (docs/settings.md)."""

    name: str
    default: Any
    help: str
    # Reads the variable's text, given (text, variable name); raises SettingsError.
    read: Callable[[str, str], Any]
    # The default as the docs show it, when `default` itself would not say it.
    shown: str | None
    # A deprecated name still read when `name` is unset.
    old_name: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.old_name) if self.old_name else (self.name,)

    def value(self, env: Mapping[str, str]) -> Any:
        """The variable's value; an unset or blank variable means the default."""
        raw = env.get(self.name, "")
        name = self.name
        if not raw.strip() and self.old_name and env.get(self.old_name, "").strip():
            log.warning("%s is deprecated: set %s instead", self.old_name, self.name)
            name, raw = self.old_name, env[self.old_name]
        return self.read(raw, name) if raw.strip() else self.default

    def markdown_row(self) -> str:
        if self.shown is not None:
            default = self.shown
        elif isinstance(self.default, float):
            default = f"`{self.default:g}`"
        else:
            default = f"`{self.default}`"
        return f"| `{self.name}` | {default} | {self.help} |"


def setting(
    name: str,
    default: Any,
    help: str,
    *,
    read: Callable[[str, str], Any] = lambda text, _name: text.strip(),
    shown: str | None = None,
    old_name: str | None = None,
) -> Any:
    """A settings field read from the environment variable `name`."""
    row = Setting(name, default, help, read, shown, old_name)
    return dataclasses.field(default=default, metadata={"setting": row})


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


def _seconds(raw: str, name: str, *, minimum: float = 0.001) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not minimum <= value <= 300:
        raise SettingsError(f"{name}={raw!r} must be between {minimum:g} and 300 seconds")
    return value


def _count(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SettingsError(f"{name}={raw!r} must be 1 or more")
    return value


def _origins(raw: str, name: str) -> frozenset[str]:
    """scheme://host[:port] entries, separated by commas or spaces."""
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
            raise SettingsError(f"{name}: {entry!r} is not an origin like https://example.org")
        origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(origins)


def _networks(raw: str, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses and CIDR ranges, or `*` (every address), as gunicorn
    and uvicorn read FORWARDED_ALLOW_IPS."""
    networks = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        if entry == "*":
            networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
            continue
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError:
            raise SettingsError(
                f"{name}: {entry!r} is not an address or range like 172.18.0.2 or "
                "172.18.0.0/16 (or *)"
            ) from None
    return tuple(networks)


def _rate(raw: str, name: str) -> str | None:
    """ "10/minute", "30/minute;300/hour", or "off" (None)."""
    raw = raw.strip()
    if raw.lower() == "off":
        return None
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a rate like 10/minute or 30/minute;300/hour (or off)"
        ) from None
    return raw


def _switch(raw: str, name: str) -> bool:
    """`on` or `off` (also true/false, yes/no, 1/0)."""
    word = raw.strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise SettingsError(f"{name}={raw!r} must be on or off")


def _redis_url(raw: str, name: str) -> str:
    """redis://[user:password@]host[:port][/db], or rediss:// for TLS."""
    raw = raw.strip()
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SettingsError(
            f"{name}={redact_url(raw)!r} is not a Redis URL like redis://redis:6379/0"
        )
    return raw


def _timezone(raw: str, name: str) -> tzinfo:
    """An IANA name such as Europe/Berlin."""
    raw = raw.strip()
    if raw in ("UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(raw)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        pass
    raise SettingsError(
        f"{name}={raw!r} is not an IANA time zone name such as UTC or Europe/Berlin"
    )


@dataclass(frozen=True)
class Settings:
    """What the app needs to know, read by `from_env` (and `create_app(config)`)."""

    spuc_url: str = setting(
        "SPUC_URL",
        DEFAULT_SPUC_URL,
        "where SPUC is; `SPUC_HOST` is the deprecated old name (`SPUC_URL` wins)",
        read=validate_spuc_url,
        old_name="SPUC_HOST",
    )
    connect_timeout: float = setting(
        "SPUC_CONNECT_TIMEOUT",
        2.0,
        "seconds to wait for SPUC to accept a connection",
        read=_seconds,
    )
    read_timeout: float = setting(
        "SPUC_READ_TIMEOUT", 5.0, "seconds to wait for each answer from SPUC", read=_seconds
    )
    spuc_timezone: tzinfo = setting(
        "SPUC_TIMEZONE",
        UTC,
        "the IANA zone of SPUC's clock (`Europe/Berlin`): SPUC writes times without one",
        read=_timezone,
    )
    freshness_seconds: float = setting(
        "SPUCSVI_FRESHNESS",
        1.0,
        "seconds a view may show before SPUC is asked again (in the background: the copy "
        "is shown meanwhile, marked with its age when SPUC fails or is slow; a copy twice "
        "as old is checked first, half a second at most, while SPUC is well; `0`: ask SPUC "
        "on every view, waiting for it a few seconds at most)",
        read=partial(_seconds, minimum=0),
    )
    trusted_origins: frozenset[str] = setting(
        "SPUCSVI_TRUSTED_ORIGINS",
        frozenset(),
        "origins (`https://example.org`, comma-separated) whose form posts pass the "
        "cross-origin check although their host differs from the request's: for a proxy "
        "that rewrites `Host`",
        read=_origins,
        shown="none",
    )
    submit_lock_path: Path | None = setting(
        "SPUCSVI_SUBMIT_LOCK",
        None,
        "the lock that serialises submissions across workers; the submission counts of "
        "`SPUCSVI_SUBMIT_RATE` live beside it",
        read=lambda text, _name: Path(text),
        shown="a file per SPUC URL in a private folder (`$XDG_RUNTIME_DIR/spucsvi`, else "
        "`spucsvi-<uid>` in the temp folder, mode 0700, checked to be this user's; when another "
        "user took that name, a `spucsvi-<uid>-<random>` folder of this user's)",
    )
    submit_rate: str | None = setting(
        "SPUCSVI_SUBMIT_RATE",
        DEFAULT_SUBMIT_RATE,
        "submissions per client (form, `/put_unicorn` and the JSON API together): per "
        "address (an IPv6 one by its /64), or per user a trusted portal names "
        "(`Remote-User`), shared by the workers of a server; `off` turns the limit off. "
        "Over it: 429 with `Retry-After`",
        read=_rate,
    )
    redis_url: str | None = setting(
        "SPUCSVI_REDIS_URL",
        None,
        "a Redis (`redis://redis:6379/0`, `rediss://` for TLS) where the submit lock and the "
        "submission counts live instead, shared by replicas on several hosts "
        "([deploy](deploy.md#across-hosts-docker-swarm-with-redis)); while it does not "
        "answer, submissions are refused with 503",
        read=_redis_url,
        shown="none (a lock file and SQLite counts, shared by one host's workers)",
    )
    forwarded_allow_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = setting(
        "FORWARDED_ALLOW_IPS",
        (),
        "proxies (addresses, CIDR ranges, comma-separated; `*`: any) whose `X-Forwarded-For`, "
        "`-Proto`, `-Host`, `-Prefix` and `Remote-User` the app believes; gunicorn reads it "
        "too, but the app decides ([deploy](deploy.md#behind-a-proxy))",
        read=_networks,
        shown="none",
    )
    metrics: bool = setting(
        "SPUCSVI_METRICS",
        True,
        "`GET /metrics` in Prometheus' text format, counted over every worker of a server "
        "(the multiprocess folder is made per server, or `PROMETHEUS_MULTIPROC_DIR`); `off`: "
        "404 ([deploy](deploy.md#metrics))",
        read=_switch,
        shown="`on`",
    )
    # Fixed, not read from the environment: the largest request body the app reads.
    max_body_bytes: int = 16 * 1024

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


@dataclass(frozen=True)
class ServerSettings:
    """gunicorn's settings in gunicorn.conf.py; the app is correct without them."""

    forwarder_headers: str = setting(
        "SPUCSVI_FORWARDER_HEADERS",
        "",
        "gunicorn.conf.py only: request headers a proxy in `FORWARDED_ALLOW_IPS` may use to "
        "set `SCRIPT_NAME`/`PATH_INFO` (gunicorn trusts `SCRIPT_NAME` and `PATH_INFO` headers "
        "by default; SPUCSVi does not)",
        shown="none",
    )
    bind: str = setting(
        "SPUCSVI_BIND",
        "0.0.0.0:8322",  # noqa: S104 - served in a container
        "gunicorn's address in gunicorn.conf.py (`spucsvi serve --bind` overrides it)",
    )
    workers: int = setting("WEB_CONCURRENCY", 2, "gunicorn worker processes", read=_count)
    threads: int = setting("SPUCSVI_THREADS", 4, "threads per worker", read=_count)


def _declared(cls: type) -> dict[str, Setting]:
    """The settings of a settings class, by attribute."""
    fields = dataclasses.fields(cls)
    return {f.name: f.metadata["setting"] for f in fields if "setting" in f.metadata}


SETTINGS: tuple[Setting, ...] = (*_declared(Settings).values(), *_declared(ServerSettings).values())
# The app's variables: `create_app(config)` takes these keys as the environment's.
ENV_NAMES = frozenset(name for row in _declared(Settings).values() for name in row.names)
# Every variable SPUCSVi reads.
NAMES = frozenset(name for row in SETTINGS for name in row.names)


def _values(cls: type, env: Mapping[str, str] | None) -> dict[str, Any]:
    env = os.environ if env is None else env
    return {attribute: row.value(env) for attribute, row in _declared(cls).items()}


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, raising SettingsError on a bad value."""
    return Settings(**_values(Settings, env))


def server_from_env(env: Mapping[str, str] | None = None) -> ServerSettings:
    """Build ServerSettings from the environment, raising SettingsError on a bad value."""
    return ServerSettings(**_values(ServerSettings, env))


def markdown_table() -> str:
    """The settings table of docs/settings.md."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    return "\n".join(lines + [row.markdown_row() for row in SETTINGS]) + "\n"


class UnsafeFolder(RuntimeError):
    """The private folder exists but another user owns it or can enter it."""


def private_dir() -> Path:
    """SPUCSVi's folder for this user: $XDG_RUNTIME_DIR/spucsvi when that is set (a
    per-user folder of mode 0700), else spucsvi-<uid> in the temp folder, made with
    mode 0700 and checked to be this user's own and closed to everyone else.

    Anyone can make that predictable name first in a shared temp folder: then the
    folder is one of unpredictable name (`_unpredictable_dir`) instead."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return _checked(Path(runtime) / "spucsvi")
    temp = Path(tempfile.gettempdir())
    try:
        return _checked(temp / f"spucsvi-{os.getuid()}")
    except UnsafeFolder as exc:
        folder = _unpredictable_dir(temp)
        if folder not in _announced:
            _announced.add(folder)
            log.warning("%s; using %s instead", exc, folder)
        return folder


_announced: set[Path] = set()


def _checked(folder: Path) -> Path:
    """`folder`, made if missing, provided it is this user's and closed to others."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    if not _is_private(folder):
        raise UnsafeFolder(
            f"{folder} must be a folder of this user (uid {os.getuid()}) that no one else "
            "can open (mode 0700): remove it, or set SPUCSVI_SUBMIT_LOCK"
        )
    return folder


def _is_private(folder: Path) -> bool:
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _unpredictable_dir(temp: Path) -> Path:
    """The first by name of this user's private folders spucsvi-<uid>-<random> in
    `temp`, made if there is none: every worker of this user finds the same one
    once they have all started, and no one else can make a folder this user owns."""
    prefix = f"spucsvi-{os.getuid()}-"

    def first() -> Path | None:
        return min((p for p in temp.glob(f"{prefix}*") if _is_private(p)), default=None)

    found = first()
    if found is not None:
        return found
    try:
        tempfile.mkdtemp(prefix=prefix, dir=temp)
    except OSError as exc:
        raise UnsafeFolder(
            f"cannot make a private folder in {temp} ({exc}): set SPUCSVI_SUBMIT_LOCK"
        ) from None
    made = first()  # another worker's, should it have made one at the same time
    if made is None:
        raise UnsafeFolder(f"the private folder made in {temp} vanished: set SPUCSVI_SUBMIT_LOCK")
    return made
