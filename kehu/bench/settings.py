"""Settings of the benchmark's server process only: Kehu's settings with the bench
URLconf, which adds the bare floor view. Never used by ``kehu serve`` in production."""

from kehu.settings import *  # noqa: F403

ROOT_URLCONF = "kehu.bench.urls"

# Kehu closes database connections after each request (kehu.env.database_config): the
# benchmark found that persistent per-thread connections under ASGI exhaust PostgreSQL's
# max_connections. Kept explicit here so the floor and the product run alike.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
