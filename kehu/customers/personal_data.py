"""The personal-data registry (PIPL Art. 44–47): what later apps hold about a person — an
individual customer or a contact — for the export and the erasure of their data, and for
the tenant's retention rules, without the customers app knowing those apps. Register in
your AppConfig.ready::

    register_personal_data_source("interactions", _("Interactions"),
                                  export=interactions_of, erase=erase_interactions_of,
                                  expire=expire_interactions)

``export(subject)`` returns rows (dicts of plain values); ``erase(subject)`` removes or
anonymises the person's data and returns how many records it changed; ``expire(tenant_id,
customer_ids, before, dry_run)`` deletes (or, dry, counts) records of those customers older
than ``before`` for a retention rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.functional import Promise

SubjectType = Literal["customer", "contact"]


@dataclass(frozen=True)
class Subject:
    """The person a request is about: ``record`` is the Customer or the Contact."""

    type: SubjectType
    record: Any

    @property
    def tenant_id(self) -> int:
        return int(self.record.tenant_id)


@dataclass(frozen=True)
class PersonalDataSource:
    key: str
    label: Promise | str
    export: Callable[[Subject], list[dict[str, Any]]]
    erase: Callable[[Subject], int]
    expire: Callable[[int, Iterable[int], dt.datetime, bool], int] | None = None


SOURCES: dict[str, PersonalDataSource] = {}


def register_personal_data_source(
        key: str, label: Promise | str, *, export: Callable[[Subject], list[dict[str, Any]]],
        erase: Callable[[Subject], int],
        expire: Callable[[int, Iterable[int], dt.datetime, bool], int] | None = None) -> None:
    SOURCES[key] = PersonalDataSource(key, label, export, erase, expire)


def sources() -> list[PersonalDataSource]:
    return sorted(SOURCES.values(), key=lambda s: s.key)
