"""Settings of the benchmark's server process only: Kehu's settings with the bench
URLconf, which adds the bare floor view. Never used by ``kehu serve`` in production."""

from kehu.settings import *  # noqa: F403

ROOT_URLCONF = "kehu.bench.urls"

# Django keeps a persistent connection per thread, and under ASGI every request's sync
# code runs in a new thread: with Kehu's CONN_MAX_AGE=60 on PostgreSQL each request thread
# leaves its connection open until garbage collection, and 16 concurrent clients exhaust
# max_connections ("too many clients") within seconds. The bench server closes
# connections after each request instead (see bench/README.md, "Findings").
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
