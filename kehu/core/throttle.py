"""Per-client rate limits for the doors that take passwords or create companies.

The per-account lockout stops guessing one password; these limits stop one address from
trying many accounts (password spraying) or signing up companies in bulk. Counters live in
the cache (Redis when configured, so every app process shares them).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from kehu.core import context
from kehu.core.exceptions import Throttled


def hit(bucket: str, limit: int, window_seconds: int) -> None:
    """Count one attempt from the current client; refuse past ``limit`` per window."""
    ip = context.current().ip
    if not ip or limit <= 0:
        return  # the command line and jobs have no client address
    key = f"kehu:throttle:{bucket}:{ip}"
    if cache.add(key, 1, window_seconds):
        return
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, window_seconds)
        return
    if count > limit:
        raise Throttled()


def sign_in() -> None:
    hit("sign_in", settings.KEHU_SIGN_IN_LIMIT, 600)


def sign_up() -> None:
    hit("sign_up", settings.KEHU_SIGN_UP_LIMIT, 3600)
