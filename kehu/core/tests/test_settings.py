"""Configuration: kehu.env helpers fail loudly, and a production-like env passes
``kehu check --deploy`` without warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kehu import env
from kehu.env import ConfigError

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("raw", ["1", "true", "Yes", " on "])
def test_env_bool_true(monkeypatch, raw):
    monkeypatch.setenv("KEHU_X", raw)
    assert env.env_bool("KEHU_X") is True


@pytest.mark.parametrize("raw", ["0", "false", "NO", "off", ""])
def test_env_bool_false(monkeypatch, raw):
    monkeypatch.setenv("KEHU_X", raw)
    assert env.env_bool("KEHU_X", default=True) is False


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("KEHU_X", raising=False)
    assert env.env_bool("KEHU_X", default=True) is True


def test_env_bool_rejects_other_words(monkeypatch):
    monkeypatch.setenv("KEHU_DEBUG", "maybe")
    with pytest.raises(ConfigError, match=r"KEHU_DEBUG='maybe' is not a boolean; use one of 1/0"):
        env.env_bool("KEHU_DEBUG")


def test_env_int(monkeypatch):
    monkeypatch.setenv("KEHU_HSTS_SECONDS", "3600")
    assert env.env_int("KEHU_HSTS_SECONDS", 0) == 3600
    monkeypatch.setenv("KEHU_HSTS_SECONDS", "")
    assert env.env_int("KEHU_HSTS_SECONDS", 7) == 7


def test_env_int_rejects_non_numbers(monkeypatch):
    monkeypatch.setenv("KEHU_HSTS_SECONDS", "1 year")
    with pytest.raises(ConfigError, match=r"KEHU_HSTS_SECONDS='1 year' is not an integer"):
        env.env_int("KEHU_HSTS_SECONDS", 0)


def test_env_str_required(monkeypatch):
    monkeypatch.delenv("KEHU_X", raising=False)
    with pytest.raises(ConfigError, match="KEHU_X is required but not set"):
        env.env_str("KEHU_X")
    assert env.env_str("KEHU_X", "fallback") == "fallback"


def test_env_list(monkeypatch):
    monkeypatch.setenv("KEHU_ALLOWED_HOSTS", " crm.example.com, ,api.example.com ")
    assert env.env_list("KEHU_ALLOWED_HOSTS", []) == ["crm.example.com", "api.example.com"]


def test_short_secret_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KEHU_SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="KEHU_SECRET_KEY must be at least 50 characters"):
        env.secret_key(tmp_path)


def test_given_secret_key_is_used(monkeypatch, tmp_path):
    key = "k" * 30 + "e" * 30
    monkeypatch.setenv("KEHU_SECRET_KEY", key)
    assert env.secret_key(tmp_path) == key
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_generated_once_into_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("KEHU_SECRET_KEY", raising=False)
    first = env.secret_key(tmp_path)
    key_file = tmp_path / "secret_key"
    assert key_file.read_text(encoding="utf-8").strip() == first
    assert len(first) >= 50
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be private to its owner"
    assert env.secret_key(tmp_path) == first
    other = tmp_path / "other"
    other.mkdir()
    assert env.secret_key(other) != first


def test_field_key_generated_once_and_usable(monkeypatch, tmp_path):
    from cryptography.fernet import Fernet

    monkeypatch.delenv("KEHU_FIELD_KEY", raising=False)
    first = env.field_key(tmp_path)
    assert env.field_key(tmp_path) == first
    assert (tmp_path / "field_key").stat().st_mode & 0o077 == 0
    token = Fernet(first.encode()).encrypt(b"11010519491231002X")
    assert Fernet(first.encode()).decrypt(token) == b"11010519491231002X"


def test_given_field_key_is_checked(monkeypatch, tmp_path):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("KEHU_FIELD_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="KEHU_FIELD_KEY must be 32 bytes"):
        env.field_key(tmp_path)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("KEHU_FIELD_KEY", key)
    assert env.field_key(tmp_path) == key
    assert not (tmp_path / "field_key").exists()


def test_data_dir_is_created(monkeypatch, tmp_path):
    target = tmp_path / "a" / "b"
    monkeypatch.setenv("KEHU_DATA_DIR", str(target))
    assert env.data_dir() == target.resolve()
    assert target.is_dir()


def test_default_data_dir_is_the_checkouts_whatever_the_working_directory(monkeypatch):
    # Commands run from inside kehu/ (compilemessages) once made kehu/data with its own keys.
    monkeypatch.chdir(ROOT / "kehu")
    assert env.default_data_dir() == ROOT / "data"


def test_no_key_file_or_database_is_tracked_by_git():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,  # noqa: S607
                             text=True, check=True).stdout.splitlines()
    secrets = [name for name in tracked
               if Path(name).name in ("secret_key", "field_key")
               or Path(name).suffix in (".sqlite3", ".db", ".key", ".pem")
               or name.startswith("data/") or ("/data/" in name and "sqlite" in name)]
    assert secrets == []


def test_data_dir_that_cannot_be_created(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("KEHU_DATA_DIR", str(blocker / "data"))
    with pytest.raises(ConfigError, match=r"KEHU_DATA_DIR=.* cannot be created"):
        env.data_dir()


def test_database_url_sqlite_relative_to_data_folder(tmp_path):
    config = env.database_config("sqlite:///kehu.sqlite3", tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "kehu.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]  # type: ignore[index]


def test_database_url_postgres(tmp_path):
    config = env.database_config("postgres://kehu:secret@db.internal:5433/kehu", tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "kehu")


@pytest.mark.parametrize("url", ["mysql://u:p@localhost/kehu", "oracle://u:p@localhost/kehu"])
def test_database_url_unsupported_engine(tmp_path, url):
    with pytest.raises(ConfigError, match="Kehu supports sqlite:// and postgres:// URLs"):
        env.database_config(url, tmp_path)


@pytest.mark.parametrize("url", ["ftp://example.com/kehu", "not a url"])
def test_database_url_unknown_scheme(tmp_path, url):
    with pytest.raises(ConfigError, match="DATABASE_URL="):
        env.database_config(url, tmp_path)


# Variables the test process may carry that must not reach a production-like command.
NOT_INHERITED = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def kehu(args: list[str], extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("KEHU_") and k not in NOT_INHERITED}
    environment |= {"KEHU_DATA_DIR": str(tmp_path / "data"), **extra_env}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kehu.cli", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_bad_setting_stops_the_command_with_a_clear_message(tmp_path):
    done = kehu(["check"], {"KEHU_SSL_REDIRECT": "sometimes"}, tmp_path)
    assert done.returncode == 2
    assert "Configuration error: Environment variable KEHU_SSL_REDIRECT='sometimes'" in done.stderr
    assert "Traceback" not in done.stderr


PRODUCTION_ENV = {
    "KEHU_SECRET_KEY": "pX7-rT2qLm9vWz4sKc8hNf3jBd6yUe1aGo5iQw0tZx_RvS4mPl7nHk2jCb9dFgE6",
    "KEHU_ALLOWED_HOSTS": "crm.example.com",
    "KEHU_SECURE_COOKIES": "1",
    "KEHU_SSL_REDIRECT": "1",
    "KEHU_HSTS_SECONDS": "31536000",
}


def test_check_deploy_passes_for_production_settings(tmp_path):
    assert len(PRODUCTION_ENV["KEHU_SECRET_KEY"]) >= 60
    done = kehu(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output


def test_check_deploy_warns_for_development_settings(tmp_path):
    done = kehu(["check", "--deploy", "--fail-level", "WARNING"], {"KEHU_DEBUG": "1"}, tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "security.W018" in output  # DEBUG on
    assert "security.W004" in output  # no HSTS


def test_env_int_minimum(monkeypatch):
    monkeypatch.setenv("KEHU_LOCKOUT_THRESHOLD", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        env.env_int("KEHU_LOCKOUT_THRESHOLD", 5, minimum=1)


def test_time_zone_log_level_and_redis_url_are_checked(monkeypatch):
    monkeypatch.setenv("KEHU_TIME_ZONE", "Mars/Base")
    with pytest.raises(ConfigError, match="time zone"):
        env.env_time_zone("KEHU_TIME_ZONE", "Asia/Shanghai")
    monkeypatch.setenv("KEHU_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="one of"):
        env.env_choice("KEHU_LOG_LEVEL", "INFO", ("DEBUG", "INFO"))
    monkeypatch.setenv("REDIS_URL", "http://foo")
    with pytest.raises(ConfigError, match="redis://"):
        env.env_redis_url("REDIS_URL")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert env.env_redis_url("REDIS_URL") == "redis://127.0.0.1:6379/0"


def test_postgres_connections_are_not_kept_per_thread(tmp_path):
    """Under ASGI a persistent per-thread connection leaks (the benchmark saw PostgreSQL
    refuse clients within seconds): connections close after each request."""
    config = env.database_config("postgres://kehu@db.example.com:5432/kehu", tmp_path)
    assert config["CONN_MAX_AGE"] == 0
