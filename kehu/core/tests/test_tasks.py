from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kehu.core.models import IdempotencyKey
from kehu.core.tasks import purge_idempotency_keys
from kehu.core.testing import World

pytestmark = pytest.mark.django_db


def test_purge_idempotency_keys_keeps_recent(world: World) -> None:
    def key(name: str, age: timedelta) -> IdempotencyKey:
        return IdempotencyKey.objects.create(
            tenant=world.tenant, user=world.hq_admin, key=name, method="POST",
            path="/api/v1/org-units", request_hash="h", status_code=201, response_body={},
            created_at=timezone.now() - age,
        )

    old, recent = key("old", timedelta(hours=25)), key("recent", timedelta(hours=1))
    assert purge_idempotency_keys() == 1
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()
    assert IdempotencyKey.objects.filter(pk=recent.pk).exists()
