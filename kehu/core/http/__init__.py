"""API conventions shared by every app's Ninja router (architecture.md, "API conventions").

One module per seam, every public name importable from here:
``root`` (``KehuAPI``), ``errors`` (format, handlers), ``authentication``, ``inputs``,
``pagination``, ``conditional`` (ETag / If-Match), ``idempotency``.

- ``KehuAPI``: the Ninja root with Kehu's error format on every path under it, including
  unknown paths (404) and wrong methods (405).
- ``token_auth`` / ``session_auth`` (``DEFAULT_AUTH``): bearer API tokens or the Django
  session (CSRF checked for unsafe methods); both set ``request.user``.
- ``InputSchema`` / ``PatchSchema``: input bodies reject unknown fields (422).
- ``DbId`` / ``Offset`` / ``Moment`` / ``Day``: every id, offset, date-time and date that
  comes in, bounded (ids fit a database integer; dates 1900-01-01 to 2200-12-31).
- ``PageQuery`` / ``Page`` / ``paginate``: declared ``limit``/``offset`` and the list shape;
  ``Searchable``: a list's search text ``q`` (alias ``search``).
- ``operations`` (installed by ``KehuAPI``): unknown query parameters are 422 on every
  operation; a 201 carries ``Location`` (``located`` when it is not path + ``/{id}``).
- ``etag`` / ``set_etag`` / ``if_match``: ETag out, ``If-Match`` in (428 absent, 412 stale).
- ``idempotent``: ``Idempotency-Key`` on POST creates, first 2xx response replayed.
- ``responses``: the ``response=`` mapping with the documented error statuses.
- ``needs_if_match``: documents the ``If-Match`` header of PATCH/DELETE operations.

A router looks like this::

    @router.patch("/{thing_id}", response=responses({200: ThingOut}, 404, 409, 412, 428))
    @needs_if_match
    def thing_update(request, thing_id: DbId, payload: ThingPatch, response: HttpResponse):
        thing = services.thing_update(actor=current_user(request), thing_id=thing_id,
                                      expected_version=if_match(request), **payload.changes())
        set_etag(response, thing)
        return thing

Routers stay thin: parse input, call services/selectors, shape output.
"""

from kehu.core.http.authentication import (
    DEFAULT_AUTH,
    BearerTokenAuth,
    SessionAuth,
    current_user,
    session_auth,
    token_auth,
    try_authenticate,
)
from kehu.core.http.conditional import (
    IF_MATCH_PARAMETER,
    document_header,
    etag,
    if_match,
    needs_if_match,
    set_etag,
)
from kehu.core.http.errors import (
    CsrfFailed,
    ErrorDetail,
    ErrorOut,
    IdempotencyKeyReused,
    InvalidToken,
    NotAuthenticated,
    error_body,
    error_response,
    install_error_handlers,
    kehu_error_response,
    responses,
    validation_fields,
)
from kehu.core.http.idempotency import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_PARAMETER,
    REPLAY_HEADER,
    idempotent,
)
from kehu.core.http.inputs import (
    MAX_ID,
    CleanText,
    Day,
    DbId,
    InputSchema,
    Moment,
    PatchSchema,
    omitted,
    stated,
)
from kehu.core.http.operations import LOCATION_HEADER, located
from kehu.core.http.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Offset,
    Page,
    PageQuery,
    Searchable,
    paginate,
)
from kehu.core.http.root import KehuAPI

__all__ = [
    "DEFAULT_AUTH",
    "DEFAULT_LIMIT",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_PARAMETER",
    "IF_MATCH_PARAMETER",
    "LOCATION_HEADER",
    "MAX_ID",
    "MAX_LIMIT",
    "REPLAY_HEADER",
    "BearerTokenAuth",
    "CleanText",
    "CsrfFailed",
    "Day",
    "DbId",
    "ErrorDetail",
    "ErrorOut",
    "IdempotencyKeyReused",
    "InputSchema",
    "InvalidToken",
    "KehuAPI",
    "Moment",
    "NotAuthenticated",
    "Offset",
    "Page",
    "PageQuery",
    "PatchSchema",
    "Searchable",
    "SessionAuth",
    "current_user",
    "document_header",
    "error_body",
    "error_response",
    "etag",
    "idempotent",
    "if_match",
    "install_error_handlers",
    "kehu_error_response",
    "located",
    "needs_if_match",
    "omitted",
    "paginate",
    "responses",
    "session_auth",
    "set_etag",
    "stated",
    "token_auth",
    "try_authenticate",
    "validation_fields",
]
