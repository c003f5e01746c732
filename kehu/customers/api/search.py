"""REST endpoint of the customer and contact search."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from kehu.core.http import current_user, responses
from kehu.customers.schemas.search import SearchOut, SearchQuery
from kehu.customers.selectors import search

search_router = Router(tags=["search"])


@search_router.get("", response=responses({200: SearchOut}))
def search_all(request: HttpRequest, query: Query[SearchQuery]) -> dict:
    """Customers and contacts by a piece of the Chinese name, pinyin or initials, a phone
    (any format, or its last 4+ digits), customer code or credit code; best first, only
    what you may see, masked."""
    return search.search(current_user(request), query.q, query.limit)
