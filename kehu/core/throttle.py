"""Per-client rate limits for the doors that take passwords or create companies.

The per-account lockout stops guessing one password; these limits stop one address from
trying many accounts (password spraying) or signing up companies in bulk. Counters live in
the cache (Redis when configured, so every app process shares them).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

from kehu.core import context
from kehu.core.exceptions import Throttled


def hit(bucket: str, limit: int, window_seconds: int) -> None:
    """Count one attempt from the current client; refuse past ``limit`` per window."""
    ip = context.current().ip
    if not ip:
        return  # the command line and jobs have no client address
    hit_key(bucket, ip, limit, window_seconds)


def hit_key(bucket: str, name: str, limit: int, window_seconds: int) -> None:
    """Count one attempt on ``name`` (an address, a hashed email…) whoever makes it."""
    if limit <= 0:
        return
    key = f"kehu:throttle:{bucket}:{name}"
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


def sign_up(email: str = "") -> None:
    """Sign-up requests: per client address, and per email address (so nobody floods one
    mailbox with confirmation emails from many addresses). The email is hashed: the
    cache holds no addresses."""
    hit("sign_up", settings.KEHU_SIGN_UP_LIMIT, 3600)
    if email and context.current().ip:
        digest = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
        hit_key("sign_up_email", digest, settings.KEHU_SIGN_UP_EMAIL_LIMIT, 3600)
