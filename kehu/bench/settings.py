"""Settings of the benchmark only (``kehu bench`` and its server process): Kehu's
settings plus the bench app and the bench URLconf, which adds the bare floor view.
Production (``kehu.settings``) does not install ``kehu.bench``; ``kehu bench`` switches to
this module by itself (kehu.cli)."""

from kehu.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "kehu.bench"]  # noqa: F405
ROOT_URLCONF = "kehu.bench.urls"

# Kehu closes database connections after each request (kehu.env.database_config): the
# benchmark found that persistent per-thread connections under ASGI exhaust PostgreSQL's
# max_connections. Kept explicit here so the floor and the product run alike.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
