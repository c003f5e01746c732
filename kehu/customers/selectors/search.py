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
from kehu.customers import matches, normalize
from kehu.customers.models import Alias, Contact, Customer

MAX_QUERY = 100
# A query of this many digits or more may be a phone's last digits (the docs promise four).
PHONE_QUERY_DIGITS = 4
# Search stops counting its hits here ("1,000+").
COUNT_CAP = 1000
# The columns a hit shows (API, search page) or explains its match with (matches.py):
# not the search grams, addresses, notes, encrypted ID number…
CUSTOMER_COLUMNS = ("id", "name", "short_name", "code", "uscc", "kind", "status", "phones",
                    "search_text", "id_number_masked", "id_number_hash",
                    "owner__full_name", "org_unit__name")
CONTACT_COLUMNS = ("id", "name", "phones", "email", "wechat", "search_text")


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
    text = match_text(query)
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


# ---------------------------------------------------------------------------- ranking


def phone_query(query: Query) -> str | None:
    """The digits of a query that asks for a phone (four digits or more, in any format),
    else None: such a query ranks phones ending with them, then phones holding them."""
    return query.digits if query.digits and len(query.digits) >= PHONE_QUERY_DIGITS else None


def match_text(query: Query) -> str:
    """What the index and the ranking look for: a phone query's digits, else the text
    without spaces (``中国 电信`` is 中国电信)."""
    text = query.digits if query.digits and len(query.digits) >= 3 else query.text
    return text.replace(" ", "")


def _phone_ends(digits: str) -> Q:
    # ``phone_digits`` is the numbers separated by spaces: a number ends with the digits
    # at the end of the column or before a space (digits need no LIKE escaping).
    return Q(phone_digits__endswith=digits) | Q(phone_digits__contains=digits + " ")


def _part_starts(text: str) -> Q:
    # ``search_text`` is its parts (names, pinyin, initials, codes, phones) joined by |.
    return Q(search_text__startswith=text) | Q(search_text__contains="|" + text)


def customer_rank(query: Query) -> Case:
    """Best first: the exact code or credit code; for a phone query phones ending with the
    digits, then phones holding them; the exact name; names starting with the query;
    codes starting with it; names holding it; pinyin or initials starting with it; the
    rest. bench/workloads.py's floor writes the same order in SQL."""
    text = match_text(query)
    whens = [When(Q(code__iexact=text) | Q(uscc__iexact=text), then=Value(0))]
    digits = phone_query(query)
    if digits:
        whens += [When(_phone_ends(digits), then=Value(1)),
                  When(phone_digits__contains=digits, then=Value(2))]
    whens += [
        When(name__iexact=text, then=Value(3)),
        When(Q(name__istartswith=text) | Q(short_name__istartswith=text), then=Value(4)),
        When(Q(code__istartswith=text) | Q(uscc__istartswith=text), then=Value(5)),
        When(Q(name__icontains=text) | Q(short_name__icontains=text), then=Value(6)),
        When(_part_starts(text), then=Value(7)),
    ]
    return Case(*whens, default=Value(8), output_field=IntegerField())


def contact_rank(query: Query) -> Case:
    """Phones ending with a phone query's digits, phones holding them, then as customers."""
    text = match_text(query)
    whens = []
    digits = phone_query(query)
    if digits:
        whens += [When(_phone_ends(digits), then=Value(0)),
                  When(phone_digits__contains=digits, then=Value(1))]
    whens += [When(name__iexact=text, then=Value(2)),
              When(name__istartswith=text, then=Value(3)),
              When(name__icontains=text, then=Value(4)),
              When(_part_starts(text), then=Value(5))]
    return Case(*whens, default=Value(6), output_field=IntegerField())


def _matching(model: type[Customer] | type[Contact], actor: User, query: Query
              ) -> QuerySet[Any] | None:
    match = condition(model, query)
    if match is None:
        return None
    if model is Customer:
        return Customer.objects.visible_to(actor).live().filter(match)
    return Contact.objects.visible_to(actor).filter(match)


def customers(actor: User, q: str, limit: int = 20) -> QuerySet[Any]:
    """Customers the actor may see that match ``q``, best first."""
    query = parse(q)
    qs = _matching(Customer, actor, query)
    if qs is None:
        return Customer.objects.none()
    return (qs.annotate(rank=customer_rank(query), name_length=Length("name"))
            .select_related("owner", "org_unit").only(*CUSTOMER_COLUMNS)
            .order_by("rank", "name_length", "-id")[:limit])


def contacts(actor: User, q: str, limit: int = 20) -> QuerySet[Any]:
    query = parse(q)
    qs = _matching(Contact, actor, query)
    if qs is None:
        return Contact.objects.none()
    return (qs.annotate(rank=contact_rank(query), name_length=Length("name"))
            .only(*CONTACT_COLUMNS).order_by("rank", "name_length", "-id")[:limit])


def count(model: type[Customer] | type[Contact], actor: User, q: str,
          cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many records the actor may see match ``q``, counted up to ``cap``: ``(cap,
    True)`` means "more than that" (counting every hit of a common character costs more
    than the answer)."""
    qs = _matching(model, actor, parse(q))
    if qs is None:
        return 0, False
    found = qs.order_by()[:cap + 1].count()
    return min(found, cap), found > cap


def search(actor: User, q: str, limit: int = 20, *, counted: bool = True) -> dict[str, Any]:
    """Both kinds of record for one search box, each hit with ``match`` (why it was
    found), and with ``counted`` how many of each matched (capped, see ``count``)."""
    query = parse(q)
    found: dict[str, Any] = {"customers": list(customers(actor, q, limit)),
                             "contacts": list(contacts(actor, q, limit))}
    why = (match_text(query), query.digits if query.digits and len(query.digits) >= 3 else None,
           phone_query(query), query.id_hash)
    for hit in found["customers"]:
        hit.match = matches.customer_match(hit, *why)
    for hit in found["contacts"]:
        hit.match = matches.contact_match(hit, *why)
    if counted:
        for key, model in (("customers", Customer), ("contacts", Contact)):
            if len(found[key]) < limit:  # all of them are here: nothing more to count
                total, capped = len(found[key]), False
            else:
                total, capped = count(model, actor, q)
            found[f"{key}_count"], found[f"{key}_count_capped"] = total, capped
    return found
