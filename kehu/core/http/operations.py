"""What ``KehuAPI`` adds to every operation once its routers are mounted: unknown query
parameters are refused (422) and a 201 names the created resource (``Location``).

Both are checked in one place rather than per view, so a new operation gets them without
anyone remembering to. Ninja builds each operation's parameter models from its signature
(``Operation.models``); the declared query names are read from them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.types import TCallable

from kehu.core.exceptions import ValidationFailed
from kehu.core.http.errors import kehu_error_response

LOCATION_HEADER = "Location"


def query_names(operation: Any) -> list[str]:
    """The query parameters ``operation`` declares, in the spec's order."""
    names: list[str] = []
    for model in operation.models:
        if getattr(model, "__ninja_param_source__", None) != "query":
            continue
        flat = getattr(model, "__ninja_flatten_map__", None)
        names += list(flat) if flat else [
            field.alias or name for name, field in model.model_fields.items()]
    return names


def unknown_query_error(unknown: Iterable[str], accepted: list[str]) -> ValidationFailed:
    unknown = sorted(unknown)
    if accepted:
        message = _("Unknown query parameter: %(names)s. This operation accepts: "
                    "%(accepted)s.") % {"names": ", ".join(unknown),
                                        "accepted": ", ".join(accepted)}
    else:
        message = _("Unknown query parameter: %(names)s. This operation takes no query "
                    "parameters.") % {"names": ", ".join(unknown)}
    return ValidationFailed(message, fields={name: [message] for name in unknown})


def located(template: str) -> Callable[[TCallable], TCallable]:
    """Where a create's ``Location`` points, relative to the API root: a ``str.format``
    template over the path parameters and the response body, e.g. ``"/tasks/{task_id}"``
    or ``"/users/{user[id]}"``. Without it a 201 points at the request path plus the
    body's ``id`` (``POST /customers`` → ``/customers/42``)."""

    def decorator(view_func: TCallable) -> TCallable:
        # On the view, not the operation: Ninja clones operations when it mounts a router.
        view_func.kehu_location = template  # type: ignore[attr-defined]
        return view_func

    return decorator


def install(api: Any, operations: Iterable[Any]) -> None:
    """Give each of ``operations`` the query check and the ``Location`` header (once)."""
    for operation in operations:
        if getattr(operation, "kehu_installed", False):
            continue
        operation.kehu_installed = True
        _check_query(operation)
        _add_location(api, operation)


def _check_query(operation: Any) -> None:
    # After authentication (an anonymous caller still gets 401 first), before the
    # parameters are parsed: an ignored filter would silently widen a list.
    accepted = query_names(operation)
    known = set(accepted)
    run_checks = operation._run_checks

    @functools.wraps(run_checks)
    def checks(request: HttpRequest) -> HttpResponse | None:
        error = run_checks(request)
        if error is not None:
            return error
        unknown = set(request.GET) - known
        if unknown:
            return kehu_error_response(unknown_query_error(unknown, accepted))
        return None

    operation._run_checks = checks


def _add_location(api: Any, operation: Any) -> None:
    if "POST" not in operation.methods:
        return
    run = operation.run

    @functools.wraps(run)
    def located_run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = run(request, *args, **kwargs)
        if response.status_code == 201 and not response.has_header(LOCATION_HEADER):
            location = _location(api, operation, request, response, kwargs)
            if location:
                response[LOCATION_HEADER] = location
        return response

    operation.run = located_run


def _location(api: Any, operation: Any, request: HttpRequest, response: HttpResponse,
              path_params: dict[str, Any]) -> str | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    template = getattr(operation.view_func, "kehu_location", None)
    if template is None:
        if not isinstance(body, dict) or body.get("id") is None:
            return None
        return f"{request.path.rstrip('/')}/{body['id']}"
    values = {**path_params, **(body if isinstance(body, dict) else {})}
    try:
        relative = template.format(**values)
    except (KeyError, IndexError, TypeError):
        return None
    return api.get_root_path({}).rstrip("/") + relative
