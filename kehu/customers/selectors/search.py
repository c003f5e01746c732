"""Search over customers and contacts: Chinese substrings, pinyin, phones, codes.

Every query is served from an index (see migration 0002_search_indexes):

- three characters or more: substring of ``search_text`` through the trigram index
  (PostgreSQL ``pg_trgm``; SQLite FTS5 ``trigram``);
- one or two characters (``电信``, ``电``): a whole entry of ``search_grams``, which
  holds every single character and pair of the Chinese names (PostgreSQL GIN on the
  array; SQLite FTS5 ``unicode61``);
- a full resident ID number: its keyed hash.

Results are only ever drawn from ``visible_to(actor)``: a user who may not see a person
gets the same empty answer whether or not the person exists.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length

from kehu.core import crypto, identifiers
from kehu.core.models import User
from kehu.customers import normalize
from kehu.customers.models import Alias, Contact, Customer

MAX_QUERY = 100


@dataclass(frozen=True)
class Query:
    """A user's query, normalised: ``text`` for names, ``digits`` for phones."""

    raw: str
    text: str
    digits: str | None
    id_hash: str | None

    @property
    def usable(self) -> bool:
        return bool(self.text)


def printable(q: str) -> str:
    """``q`` with control, format and surrogate characters (NUL included) as spaces:
    neither engine takes them, and no name holds them."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in q)


def parse(q: str) -> Query:
    text = normalize.fold(printable(q or ""))[:MAX_QUERY].lower()
    id_number = identifiers.normalize_id_number(text) if len(text) in (15, 18) else None
    return Query(raw=q, text=text, digits=normalize.query_digits(text),
                 id_hash=crypto.blind_hash(id_number) if id_number else None)


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def index_match(model: type[Customer] | type[Contact], text: str) -> Q:
    """The condition "``text`` occurs in the record's search columns", served by an index."""
    table = model._meta.db_table
    short = len(text) < 3
    if connection.vendor == "postgresql":
        if short:
            # The table name is the model's own, never input; the text is a parameter.
            return Q(RawSQL(f"string_to_array({table}.search_grams, ' ') @> ARRAY[%s]::text[]",  # noqa: S611
                            [text], output_field=BooleanField()))
        return Q(search_text__contains=text)
    suffix, column = ("grams", "search_grams") if short else ("trgm", "search_text")
    fts = f"{table}_{suffix}"
    sql = f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s"  # noqa: S608 -- fixed names
    ids = RawSQL(sql, [f"{column} : {_fts_phrase(text)}"])  # noqa: S611
    return Q(pk__in=ids)


def condition(model: type[Customer] | type[Contact], q: str | Query) -> Q | None:
    """The match condition of a search for ``q`` on ``model`` (None: not a search)."""
    query = parse(q) if isinstance(q, str) else q
    text = query.digits if query.digits and len(query.digits) >= 3 else query.text
    if " " in text:
        text = text.replace(" ", "")
    if not text:
        return None
    if len(text) == 1 and text.isascii():
        return None  # one letter or digit matches nearly everything: not a search
    match = index_match(model, text)
    if model is Customer and query.id_hash:
        alias_ids = Alias.objects.filter(kind=Alias.AliasKind.ID_NUMBER, value=query.id_hash) \
            .values("customer_id")
        match |= Q(id_number_hash=query.id_hash) | Q(pk__in=alias_ids)
    return match


def customers(actor: User, q: str, limit: int = 20) -> QuerySet[Any]:
    """Customers the actor may see that match ``q``, best first."""
    query = parse(q)
    match = condition(Customer, query)
    if match is None:
        return Customer.objects.none()
    text = query.text
    rank = Case(
        When(Q(code__iexact=text) | Q(uscc__iexact=text), then=Value(0)),
        When(name__iexact=text, then=Value(1)),
        When(Q(name__istartswith=text) | Q(short_name__istartswith=text), then=Value(2)),
        When(Q(name__icontains=text) | Q(short_name__icontains=text), then=Value(3)),
        default=Value(4), output_field=IntegerField(),
    )
    return (Customer.objects.visible_to(actor).live().filter(match)
            .annotate(rank=rank, name_length=Length("name"))
            .select_related("owner", "org_unit")
            .order_by("rank", "name_length", "-id")[:limit])


def contacts(actor: User, q: str, limit: int = 20) -> QuerySet[Any]:
    query = parse(q)
    match = condition(Contact, query)
    if match is None:
        return Contact.objects.none()
    rank = Case(
        When(name__iexact=query.text, then=Value(0)),
        When(name__istartswith=query.text, then=Value(1)),
        default=Value(2), output_field=IntegerField(),
    )
    return (Contact.objects.visible_to(actor).filter(match)
            .annotate(rank=rank, name_length=Length("name"))
            .order_by("rank", "name_length", "-id")[:limit])


def search(actor: User, q: str, limit: int = 20) -> dict[str, Any]:
    """Both kinds of record for one search box."""
    return {"customers": list(customers(actor, q, limit)),
            "contacts": list(contacts(actor, q, limit))}
