"""Helpers the customers app's pages share."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core import selectors as core_selectors
from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.core.permissions import Scope
from kehu.customers.selectors import customers as customer_selectors

# Counting every row of a large list costs more than the page: stop there, as the API does.
COUNT_CAP = 10_000


def error_lines(exc: KehuError, labels: dict[str, str] | None = None) -> list[str]:
    """A service error as lines for the messages area: "field: message" per field."""
    if not exc.fields:
        return [str(exc.message)]
    labels = labels or {}
    return [f"{labels.get(name, name)}: {message}" if name in labels else str(message)
            for name, msgs in exc.fields.items() for message in msgs]


class CappedPaginator(Paginator):
    """A paginator that stops counting at COUNT_CAP rows (``capped`` tells)."""

    capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        counted = qs.order_by()[: COUNT_CAP + 1].count() if hasattr(qs, "order_by") \
            else len(qs)
        self.capped = counted > COUNT_CAP
        return min(counted, COUNT_CAP)


def query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def chosen_customer(me: User, code: str, field: str) -> int | None:
    """The id of the visible customer with customer code ``code`` (its id also works);
    None for an empty input."""
    code = (code or "").strip()
    if not code:
        return None
    visible = customer_selectors.customer_list(actor=me)
    found = visible.filter(code__iexact=code).values_list("pk", flat=True).first()
    if found is None and code.isdigit():
        found = visible.filter(pk=int(code)).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationFailed(fields={field: [
            _("No customer you can see has the code “%(code)s”.") % {"code": code}]})
    return int(found)


def placement_choices(me: User, permission: str) -> tuple[list[User], list[OrgUnit]]:
    """The users and units ``me`` may give records to under ``permission``: the same rule
    the services apply, so the choosers offer nothing that would be refused."""
    units = [u for u in core_selectors.org_unit_list(actor=me, is_active=True)
             if access.unit_in_scope(me, permission, u)]
    own_only = access.scope_for(me, permission) == Scope.OWN
    users = [u for u in core_selectors.user_list(actor=me, is_active=True)
             if u.pk == me.pk or (not own_only
                                  and access.unit_in_scope(me, permission, u.org_unit))]
    return users, units


def form_labels(form: Any) -> dict[str, str]:
    return {name: str(field.label) for name, field in form.fields.items()}
