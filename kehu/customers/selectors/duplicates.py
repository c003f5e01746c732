"""Finding duplicate customers (requirement B12); merging them is ``services.merge``.

Candidate pairs among the customers the actor sees (merged ones left out) that share a
credit code or an ID number (grouped in the database), a phone number (one streamed pass
over the phone digits), or have similar names once legal suffixes are stripped
(``normalize.name_key``). Names are compared with rapidfuzz only inside blocks of
customers whose keys share their first characters, read in key order from the
(tenant, name_key) index, so the work grows with the tenant, not with its square; blocks
that are still large are split on a longer prefix. Names that differ in their first two
characters are therefore not compared — a deliberate trade for speed.

The finder and its review page need ``customers.admin``, since their only purpose is
merging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from rapidfuzz import fuzz, process

from kehu.core import access
from kehu.core.models import User
from kehu.customers.models import Customer

NAME_THRESHOLD = 85  # fuzz.ratio of two name keys, 0–100
BLOCK_CHARS = 2  # customers are compared with those whose name key starts alike
BLOCK_MAX = 200  # a larger block is split on one more character
MAX_BLOCK_CHARS = 8
STAR_GROUP = 30  # more customers on one phone: a switchboard; pair each with the first only
CHUNK_SIZE = 2000
IN_BATCH = 500

REASONS: dict[str, Promise] = {
    "uscc": gettext_lazy("Same credit code"),
    "id_number": gettext_lazy("Same ID number"),
    "phone": gettext_lazy("Same phone number"),
    "name": gettext_lazy("Similar name"),
}
REASON_SCORES = {"uscc": 100, "id_number": 100, "phone": 90}


@dataclass(frozen=True)
class Candidate:
    """Two customers that may be the same: ``a_id < b_id``, why, and how sure (0–100)."""

    a_id: int
    b_id: int
    score: int
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[r]) for r in self.reasons]


@dataclass
class Pair:
    """A candidate with both customers loaded (for pages and the API)."""

    a: Customer
    b: Customer
    score: int
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[r]) for r in self.reasons]


class _Collector:
    def __init__(self) -> None:
        self.found: dict[tuple[int, int], dict[str, int]] = {}

    def add(self, a: int, b: int, reason: str, score: int) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        reasons = self.found.setdefault(key, {})
        reasons[reason] = max(score, reasons.get(reason, 0))

    def add_group(self, ids: Iterable[int], reason: str, score: int) -> None:
        members = sorted(set(ids))
        if len(members) > STAR_GROUP:
            # A number shared by dozens of customers (a switchboard, an agent's phone):
            # pairing every two would flood the review; each is paired with the first.
            for other in members[1:]:
                self.add(members[0], other, reason, score)
            return
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                self.add(first, second, reason, score)

    def candidates(self) -> list[Candidate]:
        result = []
        for (a, b), reasons in self.found.items():
            ordered = tuple(sorted(reasons, key=lambda r: (-reasons[r], r)))
            # The strongest reason decides; each further one adds a little certainty.
            score = min(100, max(reasons.values()) + 5 * (len(reasons) - 1))
            result.append(Candidate(a, b, score, ordered))
        result.sort(key=lambda c: (-c.score, c.a_id, c.b_id))
        return result


def _candidates_qs(actor: User) -> QuerySet[Customer]:
    return Customer.objects.visible_to(actor).live()


def _same_value(qs: QuerySet[Customer], field: str, reason: str, found: _Collector) -> None:
    values = list(qs.exclude(**{field: ""}).order_by().values(field)
                  .annotate(n=Count("id")).filter(n__gt=1).values_list(field, flat=True))
    for start in range(0, len(values), IN_BATCH):
        groups: dict[str, list[int]] = {}
        rows = qs.filter(**{f"{field}__in": values[start:start + IN_BATCH]}).order_by() \
            .values_list(field, "pk")
        for value, pk in rows:
            groups.setdefault(value, []).append(pk)
        for ids in groups.values():
            found.add_group(ids, reason, REASON_SCORES[reason])


def _same_phone(qs: QuerySet[Customer], found: _Collector) -> None:
    first: dict[str, int] = {}
    shared: dict[str, list[int]] = {}
    rows = qs.exclude(phone_digits="").order_by().values_list("pk", "phone_digits")
    for pk, digits in rows.iterator(chunk_size=CHUNK_SIZE):
        for number in set(digits.split()):
            if number not in first:
                first[number] = pk
            else:
                shared.setdefault(number, [first[number]]).append(pk)
    for ids in shared.values():
        found.add_group(ids, "phone", REASON_SCORES["phone"])


def _compare_block(block: list[tuple[int, str]], chars: int, found: _Collector) -> None:
    if len(block) < 2:
        return
    if len(block) > BLOCK_MAX and chars < MAX_BLOCK_CHARS:
        sub: dict[str, list[tuple[int, str]]] = {}
        for item in block:
            sub.setdefault(item[1][: chars + 1], []).append(item)
        if len(sub) > 1:
            for items in sub.values():
                _compare_block(items, chars + 1, found)
            return
    # Still large (many customers with one long common prefix): compare neighbours in
    # key order, in windows, which is where near-identical keys sit.
    for start in range(0, len(block), BLOCK_MAX):
        window = block[max(0, start - 1): start + BLOCK_MAX]
        keys = [key for _pk, key in window]
        for i, (pk, key) in enumerate(window[:-1]):
            matches = process.extract(key, keys[i + 1:], scorer=fuzz.ratio,
                                      score_cutoff=NAME_THRESHOLD, limit=None)
            for _match, score, index in matches:
                found.add(pk, window[i + 1 + index][0], "name", int(score))


def _similar_names(qs: QuerySet[Customer], found: _Collector) -> None:
    rows = qs.exclude(name_key="").order_by("name_key", "pk").values_list("pk", "name_key")
    block: list[tuple[int, str]] = []
    prefix: str | None = None
    for pk, key in rows.iterator(chunk_size=CHUNK_SIZE):
        if key[:BLOCK_CHARS] != prefix:
            _compare_block(block, BLOCK_CHARS, found)
            block, prefix = [], key[:BLOCK_CHARS]
        block.append((pk, key))
    _compare_block(block, BLOCK_CHARS, found)


def find_candidates(*, actor: User) -> list[Candidate]:
    """Every candidate pair among the customers ``actor`` sees, most certain first."""
    access.require(actor, "customers.admin")
    qs = _candidates_qs(actor)
    found = _Collector()
    _same_value(qs, "uscc", "uscc", found)
    _same_value(qs, "id_number_hash", "id_number", found)
    _same_phone(qs, found)
    _similar_names(qs, found)
    return found.candidates()


def load_pairs(*, actor: User, candidates: Iterable[Candidate]) -> list[Pair]:
    """The candidates with both customers loaded, in one query, through ``visible_to``."""
    chosen = list(candidates)
    ids = {c.a_id for c in chosen} | {c.b_id for c in chosen}
    customers = {c.pk: c for c in _candidates_qs(actor).filter(pk__in=ids)
                 .select_related("owner", "org_unit").prefetch_related("tags")}
    return [Pair(customers[c.a_id], customers[c.b_id], c.score, c.reasons)
            for c in chosen if c.a_id in customers and c.b_id in customers]


def duplicate_page(*, actor: User, limit: int = 20, offset: int = 0
                   ) -> tuple[int, list[Pair]]:
    """``(total, pairs)`` for one page of the duplicate review."""
    candidates = find_candidates(actor=actor)
    return len(candidates), load_pairs(actor=actor,
                                       candidates=candidates[offset: offset + limit])
