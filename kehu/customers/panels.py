"""The panel registry of the unified customer view (requirement B7).

Any app contributes a panel (interactions, opportunities, orders, tickets…) by calling
``register_panel`` in its AppConfig.ready; the customer view and
``GET /api/v1/customers/{id}/view`` show every panel the reader may see, without the
customers app knowing the others. A loader runs a fixed number of queries whatever the
amount of data (it pages or aggregates), so the view's query count stays flat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

from kehu.core import access

if TYPE_CHECKING:
    from kehu.core.models import User
    from kehu.customers.models import Customer

# (reader, customer) -> JSON-ready data for the API; the template receives it as "data".
PanelLoader = Callable[["User", "Customer"], Any]


@dataclass(frozen=True)
class Panel:
    key: str
    label: Promise | str
    load: PanelLoader
    permission: str | None = None
    template: str | None = None
    order: int = 100


PANELS: dict[str, Panel] = {}


def register_panel(key: str, label: Promise | str, load: PanelLoader, *,
                   permission: str | None = None, template: str | None = None,
                   order: int = 100) -> None:
    PANELS[key] = Panel(key, label, load, permission, template, order)


def panels_for(actor: User, customer: Customer) -> list[tuple[Panel, Any]]:
    """The panels ``actor`` may see on ``customer``'s page, in order, with their data."""
    result = []
    for panel in sorted(PANELS.values(), key=lambda p: (p.order, p.key)):
        if panel.permission and not access.has_perm(actor, panel.permission):
            continue
        result.append((panel, panel.load(actor, customer)))
    return result
