"""Environment helpers for settings: every value is parsed here and fails loudly.

Settings must never read ``os.environ`` directly, so that a misspelt or malformed
variable stops the process with a message naming the variable and what it expected.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


class ConfigError(RuntimeError):
    """A configuration variable is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"Environment variable {name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(
        f"Environment variable {name}={raw!r} is not a boolean; use one of 1/0, true/false, "
        "yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"Environment variable {name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"Environment variable {name}={value} must be at least {minimum}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ConfigError(
            f"Environment variable {name}={value!r} is not one of: {', '.join(choices)}."
        )
    return value


def env_time_zone(name: str, default: str) -> str:
    import zoneinfo

    value = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Environment variable {name}={value!r} is not a time zone (e.g. Asia/Shanghai)."
        ) from None
    return value


def env_clock_time(name: str, default: str) -> tuple[int, int] | None:
    """``HH:MM`` (24-hour) as (hour, minute); ``off`` for None."""
    value = env_str(name, default).strip().lower()
    if value in ("off", "none", "0"):
        return None
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"Environment variable {name}={value!r} is not a time of day such as 02:30 "
            "(or off)."
        ) from None
    return hour, minute


def env_redis_url(name: str) -> str | None:
    value = env_str(name, "")
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"Environment variable {name} must be a redis://, rediss:// or unix:// URL."
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or networks (``10.0.0.5, 10.1.0.0/16``)."""
    import ipaddress

    items = env_list(name, [])
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"Environment variable {name}: {item!r} is not an IP address or network."
            ) from None
    return items


def default_data_dir() -> Path:
    """``data/`` of the source checkout Kehu runs from, whatever the working directory (so
    a command run inside ``kehu/`` never makes a second folder with its own keys there);
    ``./data`` for an installed package."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "kehu" / "settings.py").is_file():
        return checkout / "data"
    return Path.cwd() / "data"


def data_dir() -> Path:
    """The folder holding the embedded database, the generated secret key and task storage."""
    path = Path(env_str("KEHU_DATA_DIR", str(default_data_dir()))).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"KEHU_DATA_DIR={path} cannot be created: {exc}") from exc
    return path


def _key_in_folder(folder: Path, file_name: str, make: Callable[[], str]) -> str:
    """A key generated once into the data folder and read back afterwards."""
    key_file = folder / file_name
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    # Write-then-rename so two processes starting together never read half a key.
    tmp = key_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(make(), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(key_file)
    return key_file.read_text(encoding="utf-8").strip()


def secret_key(folder: Path) -> str:
    """KEHU_SECRET_KEY if given, else a key generated once into the data folder."""
    given = os.environ.get("KEHU_SECRET_KEY")
    if given:
        if len(given) < 50:
            raise ConfigError("KEHU_SECRET_KEY must be at least 50 characters long.")
        return given
    return _key_in_folder(folder, "secret_key", lambda: secrets.token_urlsafe(64))


def field_key(folder: Path) -> str:
    """The key that encrypts sensitive fields at rest (ID numbers): KEHU_FIELD_KEY if
    given (a Fernet key: 32 url-safe base64 bytes), else one generated into the data
    folder. Losing it loses those fields; back it up with the database."""
    import base64

    given = os.environ.get("KEHU_FIELD_KEY")
    if given:
        try:
            if len(base64.urlsafe_b64decode(given.encode())) != 32:
                raise ValueError
        except ValueError:
            raise ConfigError(
                "KEHU_FIELD_KEY must be 32 bytes in url-safe base64 (44 characters)."
            ) from None
        return given
    return _key_in_folder(
        folder, "field_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )


def database_config(url: str, folder: Path) -> dict[str, object]:
    """Turn DATABASE_URL into Django's DATABASES['default'] dict."""
    import dj_database_url

    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path is taken relative to the data folder.
        url = f"sqlite:///{folder / url.removeprefix('sqlite:///')}"
    try:
        # No persistent connections: under ASGI each request's sync code may run on a new
        # thread, and a connection kept per thread is never reused and piles up until
        # PostgreSQL refuses clients (measured by the benchmark: "too many clients" within
        # seconds at 16 concurrent requests). Pool with PgBouncer instead.
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL={url!r} is not understood: {exc}") from None
    engine = str(config.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        config["CONN_MAX_AGE"] = 0
    elif "postgresql" not in engine:
        raise ConfigError(
            f"DATABASE_URL uses {engine or 'an unknown engine'}; Kehu supports sqlite:// and "
            "postgres:// URLs."
        )
    return config
