"""References to related records, shown only when the viewer may see them.

Every schema and page that shows a related customer, contact or user (the parent
customer, a contact's customers, the customer of an interaction, an owner…) goes
through ``ref``/``refs``/``split``: a record the viewer may see becomes
``{"id", "name"}``; any other becomes ``REDACTED`` (``{"id": None, "name": None,
"redacted": True}``), which names nothing and gives no id to probe. Lists may instead
drop the hidden ones and count them (``split``).

Visibility is ``Model.objects.visible_to(viewer)`` for access-controlled records (one
query per model per batch: ``prime`` a page's ids first so lists keep a fixed query
count; answers are cached on the viewer, which Django loads anew for every request) and
"same tenant" for users. Names come from ``name``, or ``full_name`` for users.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REDACTED: dict[str, Any] = {"id": None, "name": None, "redacted": True}


def _cache(viewer: Any, model: type) -> dict[int, bool]:
    caches: dict[str, dict[int, bool]] = viewer.__dict__.setdefault("_kehu_refs", {})
    return caches.setdefault(model._meta.label, {})  # type: ignore[attr-defined]


def _is_user_model(model: type) -> bool:
    return bool(getattr(model, "USERNAME_FIELD", None))


def prime(viewer: Any, model: type, ids: Iterable[int | None]) -> None:
    """Learn in one query which of ``ids`` (records of ``model``) ``viewer`` may see."""
    if viewer is None or _is_user_model(model):
        return
    cache = _cache(viewer, model)
    wanted = {i for i in ids if i is not None and i not in cache}
    if not wanted:
        return
    manager: Any = model._default_manager  # type: ignore[attr-defined]
    seen = set(manager.visible_to(viewer).filter(pk__in=wanted).values_list("pk", flat=True))
    for i in wanted:
        cache[i] = i in seen


def mark(viewer: Any, objects: Iterable[Any], visible: bool) -> None:
    """Record what a reader already knows (records it read through ``visible_to``), so
    showing them costs no query."""
    if viewer is None:
        return
    for obj in objects:
        if obj is not None and not _is_user_model(type(obj)):
            _cache(viewer, type(obj))[obj.pk] = visible


def prime_objects(viewer: Any, objects: Iterable[Any]) -> None:
    """``prime`` for loaded records, grouped by model."""
    by_model: dict[type, set[int]] = {}
    for obj in objects:
        if obj is not None:
            by_model.setdefault(type(obj), set()).add(obj.pk)
    for model, ids in by_model.items():
        prime(viewer, model, ids)


def is_visible(viewer: Any, obj: Any) -> bool:
    """Whether ``viewer`` may see the related record ``obj``."""
    if obj is None or viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    model = type(obj)
    if _is_user_model(model):
        return bool(obj.tenant_id == viewer.tenant_id)
    cache = _cache(viewer, model)
    if obj.pk not in cache:
        prime(viewer, model, [obj.pk])
    return cache[obj.pk]


def name_of(obj: Any) -> str:
    """A person's full name, a record's name, else how the record reads (an
    interaction's subject)."""
    for attr in ("full_name", "name"):
        if hasattr(obj, attr):
            return str(getattr(obj, attr) or "")
    return str(obj)


def ref(viewer: Any, obj: Any, **extra: Any) -> dict[str, Any] | None:
    """``{"id", "name", **extra}`` when visible, ``REDACTED`` when not, None for no record."""
    if obj is None:
        return None
    if not is_visible(viewer, obj):
        return dict(REDACTED)
    return {"id": obj.pk, "name": name_of(obj), "redacted": False, **extra}


def refs(viewer: Any, objects: Iterable[Any]) -> list[dict[str, Any]]:
    """``ref`` for many records, in one query per model."""
    objects = [o for o in objects if o is not None]
    prime_objects(viewer, objects)
    return [r for r in (ref(viewer, o) for o in objects) if r is not None]


def split(viewer: Any, items: Iterable[Any], record: Any = None) -> tuple[list[Any], int]:
    """The ``items`` whose related record (``record(item)``, else the item) ``viewer``
    may see, and how many others there are: lists show the first, count the rest."""
    items = list(items)
    get = record or (lambda item: item)
    prime_objects(viewer, (get(item) for item in items))
    shown = [item for item in items if is_visible(viewer, get(item))]
    return shown, len(items) - len(shown)
