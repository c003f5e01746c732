"""Saved filters of the customer list, per user."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.customers.models import SavedView
from kehu.customers.services.cleaning import clean_text


@transaction.atomic
def saved_view_save(*, actor: User, name: str, query: str) -> SavedView:
    access.require(actor, "customers.view")
    errors: dict[str, list[str]] = {}
    name = clean_text(name, "name", 100, errors)
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(fields=errors)
    view, _created = SavedView.objects.update_or_create(
        user=actor, name=name, defaults={"tenant_id": actor.tenant_id, "query": query[:2000]})
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view_id: int) -> None:
    deleted, _detail = SavedView.objects.filter(user=actor, pk=view_id).delete()
    if not deleted:
        raise NotFound()

