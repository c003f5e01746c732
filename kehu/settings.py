"""Kehu settings: one module, every value from the environment through kehu.env helpers."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from kehu import env

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = env.data_dir()

SECRET_KEY = env.secret_key(DATA_DIR)
FIELD_ENCRYPTION_KEY = env.field_key(DATA_DIR)
DEBUG = env.env_bool("KEHU_DEBUG", default=False)
ALLOWED_HOSTS = env.env_list("KEHU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.env_list("KEHU_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First, so that its management commands (createsuperuser) replace Django's.
    "kehu.core",
    # Platform apps: services any domain app may use.
    "kehu.documents",
    "kehu.notifications",
    # Domain apps, earlier before later.
    "kehu.customers",
    "kehu.activities",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    "ninja",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kehu.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kehu.core.middleware.RequestContextMiddleware",
    "kehu.core.metrics.MetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kehu.core.middleware.UserLanguageMiddleware",
    "kehu.core.middleware.DatabaseBusyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kehu.urls"
ASGI_APPLICATION = "kehu.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kehu.core.context_processors.navigation",
                "kehu.notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.database_config(
        env.env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'kehu.sqlite3'}"), DATA_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["kehu.core.auth.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "kehu.core.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout: this many consecutive failures lock the account for LOCKOUT_MINUTES.
KEHU_LOCKOUT_THRESHOLD = env.env_int("KEHU_LOCKOUT_THRESHOLD", 5, minimum=1)
KEHU_LOCKOUT_MINUTES = env.env_int("KEHU_LOCKOUT_MINUTES", 15, minimum=1)
# Per client address: sign-in attempts per 10 minutes, sign-ups per hour (0 = no limit).
KEHU_SIGN_IN_LIMIT = env.env_int("KEHU_SIGN_IN_LIMIT", 30, minimum=0)
KEHU_SIGN_UP_LIMIT = env.env_int("KEHU_SIGN_UP_LIMIT", 10, minimum=0)
# Per email address: sign-up confirmation emails per hour, and how long a link is valid.
KEHU_SIGN_UP_EMAIL_LIMIT = env.env_int("KEHU_SIGN_UP_EMAIL_LIMIT", 3, minimum=0)
KEHU_SIGN_UP_LINK_HOURS = env.env_int("KEHU_SIGN_UP_LINK_HOURS", 24, minimum=1)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.env_time_zone("KEHU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.env_int("KEHU_SESSION_SECONDS", 60 * 60 * 12, minimum=60)
SESSION_COOKIE_SECURE = env.env_bool("KEHU_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.env_bool("KEHU_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.env_int("KEHU_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.env_bool("KEHU_BEHIND_TLS_PROXY") else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REDIS_URL = env.env_redis_url("REDIS_URL")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "kehu",
        "url": REDIS_URL,
        "immediate": False,
    }
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "kehu",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": env.env_bool("KEHU_TASKS_IMMEDIATE", default=False),
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# `kehu serve` runs the task consumer as its own child process unless told not to, so a
# new installation's imports and reminders just run. Production with Redis runs a separate
# `kehu worker` (see docs/operations.md), so the default there is off.
EMBEDDED_WORKER = env.env_bool("KEHU_EMBEDDED_WORKER", default=not REDIS_URL)

# Backups (`kehu backup`, and the worker every day at KEHU_BACKUP_TIME in TIME_ZONE; "off"
# for none): archives in KEHU_BACKUP_DIR, keeping the newest of each of the last
# KEHU_BACKUP_KEEP_DAILY days and KEHU_BACKUP_KEEP_WEEKLY weeks.
KEHU_BACKUP_DIR = Path(env.env_str("KEHU_BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
KEHU_BACKUP_TIME = env.env_clock_time("KEHU_BACKUP_TIME", "02:30")
KEHU_BACKUP_KEEP_DAILY = env.env_int("KEHU_BACKUP_KEEP_DAILY", 7, minimum=1)
KEHU_BACKUP_KEEP_WEEKLY = env.env_int("KEHU_BACKUP_KEEP_WEEKLY", 4, minimum=0)
# Folder of pg_dump/pg_restore when the ones on PATH are older than the server.
KEHU_PG_BIN = env.env_str("KEHU_PG_BIN", "")

# KEHU_LOG_FORMAT=json: one JSON object per line (for log collectors); every line, plain or
# JSON, carries the request id its audit rows carry. Errors also go to
# KEHU_DATA_DIR/logs/errors.jsonl for the operator's status page.
KEHU_LOG_FORMAT = env.env_choice("KEHU_LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kehu.core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "kehu.core.logs.PlainFormatter"},
        "json": {"()": "kehu.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": KEHU_LOG_FORMAT,
                    "filters": ["request_id"]},
        "recent_errors": {"()": "kehu.core.logs.RecentErrorsHandler",
                          "filters": ["request_id"]},
    },
    "root": {
        "handlers": ["console", "recent_errors"],
        "level": env.env_choice(
            "KEHU_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
    # A handler on "huey" stops `kehu worker` (run_huey) from adding its own: no duplicates.
    "loggers": {"huey": {"handlers": ["console", "recent_errors"], "propagate": False}},
}

# Monitoring. /healthz and /readyz answer anyone (ok/fail only); /metrics answers a
# bearer KEHU_METRICS_TOKEN or a client in KEHU_METRICS_ALLOWED_IPS (addresses or
# networks), and nobody while neither is set. The operator status page (/status/) is for
# signed-in users whose email is in KEHU_OPERATOR_EMAILS.
KEHU_METRICS_TOKEN = env.env_str("KEHU_METRICS_TOKEN", "")
KEHU_METRICS_ALLOWED_IPS = env.env_networks("KEHU_METRICS_ALLOWED_IPS")
KEHU_METRICS_DIR = Path(env.env_str("KEHU_METRICS_DIR", str(DATA_DIR / "metrics"))).resolve()
KEHU_OPERATOR_EMAILS = [e.lower() for e in env.env_list("KEHU_OPERATOR_EMAILS", [])]
# /readyz fails when the data folder's disk has less free space than this.
KEHU_READY_MIN_FREE_MB = env.env_int("KEHU_READY_MIN_FREE_MB", 500, minimum=0)
# Probes and scrapes may come over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Email (notification emails from `kehu worker`). Without KEHU_EMAIL_HOST, emails are
# written to the worker's console instead of being sent: fine for development only.
EMAIL_HOST = env.env_str("KEHU_EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env.env_int("KEHU_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.env_str("KEHU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env.env_str("KEHU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env.env_bool("KEHU_EMAIL_TLS", default=False)
EMAIL_USE_SSL = env.env_bool("KEHU_EMAIL_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise env.ConfigError("Set at most one of KEHU_EMAIL_TLS (STARTTLS, usually port 587) and "
                          "KEHU_EMAIL_SSL (implicit TLS, usually port 465).")
EMAIL_TIMEOUT = env.env_int("KEHU_EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env.env_str("KEHU_EMAIL_FROM", "Kehu CRM <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address users reach Kehu at: links in emails and calendar feeds are built on it.
KEHU_BASE_URL = env.env_str("KEHU_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if not KEHU_BASE_URL.startswith(("http://", "https://")) or "?" in KEHU_BASE_URL:
    raise env.ConfigError(
        f"KEHU_BASE_URL={KEHU_BASE_URL!r} must be an http:// or https:// address such as "
        "https://crm.example.com (no query string).")

NINJA_PAGINATION_MAX_LIMIT = 500
# Largest spreadsheet an import accepts (KEHU_IMPORT_MAX_MB, default 50).
KEHU_IMPORT_MAX_BYTES = env.env_int("KEHU_IMPORT_MAX_MB", 50, minimum=1) * 1024 * 1024
# Largest document (attachment) an upload accepts, in MB (KEHU_DOCUMENT_MAX_MB, default 20).
KEHU_DOCUMENT_MAX_MB = env.env_int("KEHU_DOCUMENT_MAX_MB", 20, minimum=1)
