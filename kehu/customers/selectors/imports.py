"""Reads of spreadsheet imports: through ``visible_to``."""

from __future__ import annotations

from django.db.models import QuerySet

from kehu.core import access
from kehu.core.models import User
from kehu.customers.models import ImportJob


def import_list(*, actor: User) -> QuerySet[ImportJob]:
    return ImportJob.objects.visible_to(actor).select_related("owner")


def import_get(*, actor: User, job_id: int) -> ImportJob:
    return access.get_for(ImportJob, actor, job_id)
