"""Suite-wide fixtures: fast hashing, the personas, API clients."""

from __future__ import annotations

import pytest

from kehu.core.testing import World, build_world


@pytest.fixture(autouse=True)
def _fast_hashing(settings):  # type: ignore[no-untyped-def]
    # argon2 is the production hasher (tested explicitly); tests don't need its cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    # Rate-limit counters live in the cache; each test starts with none.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_carried_denials():  # type: ignore[no-untyped-def]
    from kehu.core import audit

    audit.discard_denials()
    yield
    audit.discard_denials()


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    return build_world()


@pytest.fixture
def book(world: World):  # type: ignore[no-untyped-def]
    from kehu.customers.testing import build_book

    return build_book(world)


@pytest.fixture
def engagement(world: World, book):  # type: ignore[no-untyped-def]
    from kehu.activities.testing import build_engagement

    return build_engagement(world, book)
