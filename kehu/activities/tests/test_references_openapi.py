"""Every customer or contact an API response references is visible to the caller or
redacted (issue 11, item 3): derived from the OpenAPI spec, for the six personas, on the
shared test rows (kehu.customers.testing, kehu.activities.testing) plus records that
cross the provinces (``crossing``): a contact of customers in two provinces, and an
interaction, follow-up, task, calendar entry and document that ``city_a1_rep`` may see
about a customer and contact of province B they may not.

Every operation whose response holds such a field is called, its path and required query
parameters filled; one the walker cannot fill fails the test, as does a schema holding
references that only a write operation returns."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from kehu.activities.models import FollowUp, Interaction, Task
from kehu.core.testing import World
from kehu.core.tests.test_api import api_as
from kehu.customers.models import Contact, Customer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import relationships
from kehu.customers.testing import Book
from kehu.documents.models import Document
from kehu.documents.services import document_upload
from kehu.documents.testing import SAMPLE_PDF

pytestmark = pytest.mark.django_db

CUSTOMER_KEYS = {"customer", "customers", "parent", "ancestors", "children", "other"}
CONTACT_KEYS = {"contact", "contacts"}
# A field holding a reference to a record of some registered kind (documents' ``target``).
TARGET_KEYS = {"target"}
REF_SCHEMA = re.compile(r"(customer|contact).*ref|^ref$|^recordref$", re.IGNORECASE)
TARGET_MODELS = {"customers.customer": "customer", "customers.contact": "contact",
                 "activities.interaction": "interaction"}
PERSONAS = ("hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep", "prov_b_manager",
            "other_tenant_admin")
API = "/api/v1"


@dataclass
class Crossing:
    """Records ``city_a1_rep`` may see whose customer (and contact) lie in province B."""

    contact: Contact  # province B's contact
    interaction: Interaction  # province B's meeting that the rep joined
    followup: FollowUp
    task: Task
    document: Document


def build_crossing(world: World, book: Book) -> Crossing:
    rep, now = world.city_a1_rep, timezone.now()
    contact = contact_services.contact_create(actor=world.prov_b_manager, name="赵总监",
                                              customer_id=book.prov_b.pk,
                                              phones=["13655556666"])
    # The rep's own contact also works for a customer of province B.
    contact_services.contact_link(actor=world.hq_admin, contact_id=book.rep_contact.pk,
                                  customer_id=book.prov_b.pk, title="顾问")
    placed_b = {"tenant": world.tenant, "org_unit": world.prov_b, "owner": world.prov_b_manager}
    interaction = Interaction.objects.create(
        **placed_b, kind="meeting", channel="face_to_face", customer=book.prov_b,
        subject="阿里巴巴联合方案会", created_by=world.prov_b_manager,
        occurred_at=now + dt.timedelta(days=1))
    interaction.contacts.add(contact)
    interaction.participants.add(rep)
    placed_rep = {"tenant": world.tenant, "org_unit": world.city_a1, "owner": rep}
    followup = FollowUp.objects.create(**placed_rep, customer=book.prov_b, contact=contact,
                                       subject="回访阿里巴巴", due_at=now - dt.timedelta(days=1),
                                       created_by=rep)
    task = Task.objects.create(**placed_rep, title="准备阿里巴巴资料",
                               assigned_by=world.prov_b_manager, customer=book.prov_b,
                               due_at=now + dt.timedelta(days=2))
    document = document_upload(actor=world.hq_admin, file_name="阿里方案.pdf",
                               chunks=[SAMPLE_PDF], customer_id=book.prov_b.pk)
    Document.objects.filter(pk=document.pk).update(owner=rep, org_unit=world.city_a1)
    relationships.external_id_add(actor=world.hq_admin, customer_id=book.rep.pk, system="erp",
                                  external_id="E-1")
    # Parents outside the reader's area.
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.prov_a.pk,
                                      parent_id=book.hq.pk)
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.rep.pk,
                                      parent_id=book.prov_b.pk)
    return Crossing(contact=contact, interaction=interaction, followup=followup, task=task,
                    document=document)


def _component(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _references_records(schema: Any, spec: dict[str, Any], seen: set[str]) -> bool:
    """Whether a response schema holds a field naming customers or contacts (at any depth)."""
    if isinstance(schema, list):
        return any(_references_records(s, spec, seen) for s in schema)
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if ref:
        name = _component(ref)
        if name in seen:
            return False
        seen.add(name)
        return bool(REF_SCHEMA.search(name)) or _references_records(
            spec["components"]["schemas"][name], spec, seen)
    props = schema.get("properties", {})
    if set(props) & (CUSTOMER_KEYS | CONTACT_KEYS | TARGET_KEYS):
        return True
    children = [*props.values(), *(schema.get(k) for k in ("items", "additionalProperties")),
                *(s for k in ("anyOf", "allOf", "oneOf") for s in schema.get(k, []))]
    return any(_references_records(c, spec, seen) for c in children)


def _components_in(schema: Any, spec: dict[str, Any], out: set[str]) -> None:
    """Every component a schema refers to, at any depth."""
    if isinstance(schema, list):
        for item in schema:
            _components_in(item, spec, out)
    elif isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref and _component(ref) not in out:
            out.add(_component(ref))
            _components_in(spec["components"]["schemas"].get(_component(ref)), spec, out)
        for value in schema.values():
            if isinstance(value, dict | list):
                _components_in(value, spec, out)


def _top_component(schema: Any) -> str:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return _component(ref) if ref else _component(str(schema))


def _response_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    for code in ("200", "201"):
        content = operation.get("responses", {}).get(code, {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            return schema
    return None


def referencing_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every operation whose response references records."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            schema = _response_schema(operation)
            if schema is not None and _references_records(schema, spec, set()):
                found.append((method.upper(), path, operation))
    return found


def _refs(data: Any, key: str | None = None,
          parent: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(model, reference) for every customer/contact/target reference in a response."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(data, dict):
        if key in CUSTOMER_KEYS | CONTACT_KEYS | TARGET_KEYS and "name" in data and "id" in data:
            if key in TARGET_KEYS:
                model = TARGET_MODELS[(parent or {})["target_type"]]
            else:
                model = "contact" if key in CONTACT_KEYS else "customer"
            out.append((model, data))
        for k, v in data.items():
            out += _refs(v, k, data)
    elif isinstance(data, list):
        for item in data:
            out += _refs(item, key, parent)
    return out


def test_every_referenced_customer_or_contact_is_visible_or_redacted(world, book, engagement):
    cross = build_crossing(world, book)
    spec = api_as(world.hq_admin).get("/openapi.json").data
    found = referencing_operations(spec)
    walked = [(path, op) for method, path, op in found if method == "GET"]
    assert {f"{API}/customers/{{customer_id}}/view", f"{API}/contacts/{{contact_id}}",
            f"{API}/contacts", f"{API}/calendar", f"{API}/documents/{{document_id}}",
            f"{API}/interactions/{{interaction_id}}"} <= {p for p, _ in walked}, walked
    # A schema holding references that only a write returns would go unchecked.
    read_schemas: set[str] = set()
    for _, op in walked:  # every schema a GET returns, nested ones (a list's items) too
        _components_in(_response_schema(op), spec, read_schemas)
    unread = [(m, p) for m, p, op in found if m != "GET"
              and _top_component(_response_schema(op)) not in read_schemas]
    assert unread == [], f"responses with references no GET returns: {unread}"

    today = timezone.localdate()
    ids: dict[str, list[int]] = {
        "customer_id": [c.pk for c in book.all_main()] + [book.other_tenant.pk],
        "contact_id": [book.rep_contact.pk, cross.contact.pk],
        "interaction_id": [engagement.interaction.pk, cross.interaction.pk],
        "followup_id": [engagement.followup.pk, cross.followup.pk],
        "task_id": [engagement.task.pk, cross.task.pk],
        "plan_id": [engagement.workplan.pk],
        "document_id": [engagement.document.pk, cross.document.pk],
    }
    query = {"q": "有限公司", "start": (today - dt.timedelta(days=7)).isoformat(),
             "end": (today + dt.timedelta(days=21)).isoformat(), "system": "erp",
             "external_id": "E-1"}
    unfilled = []
    urls: dict[str, list[str]] = {}
    for path, op in walked:
        params = op.get("parameters", [])
        missing = [p["name"] for p in params if p["in"] == "path" and p["name"] not in ids] + [
            p["name"] for p in params
            if p["in"] == "query" and p.get("required") and p["name"] not in query]
        if missing:
            unfilled.append((path, missing))
            continue
        required = {p["name"]: query[p["name"]] for p in params
                    if p["in"] == "query" and p.get("required")}
        suffix = "?" + urlencode(required) if required else ""
        candidates = [path]
        for name in (p["name"] for p in params if p["in"] == "path"):
            candidates = [u.replace(f"{{{name}}}", str(i)) for u in candidates for i in ids[name]]
        urls[path] = [u + suffix for u in candidates]
    assert unfilled == [], f"the walker cannot fill these parameters: {unfilled}"

    answered: set[str] = set()
    redacted: set[tuple[str, str, str]] = set()
    checked = 0
    for name in PERSONAS:
        persona = getattr(world, name)
        client = api_as(persona)
        visible = {
            "customer": dict(Customer.objects.visible_to(persona).values_list("pk", "name")),
            "contact": dict(Contact.objects.visible_to(persona).values_list("pk", "name")),
            "interaction": dict(Interaction.objects.visible_to(persona)
                                .values_list("pk", "subject")),
        }
        for path, path_urls in urls.items():
            for url in path_urls:
                r = client.get(url)
                assert r.status < 500, (name, url, r)
                if r.status != 200:
                    continue
                answered.add(path)
                for model, ref in _refs(r.data):
                    checked += 1
                    if ref.get("redacted"):
                        assert ref["id"] is None and ref["name"] is None, (name, url, ref)
                        redacted.add((name, path, model))
                        continue
                    assert ref["id"] in visible[model], (name, url, model, ref)
                    assert ref["name"] == visible[model][ref["id"]], (name, url, ref)
    assert set(urls) <= answered, f"no persona got an answer from {set(urls) - answered}"
    rep_paths = {(p, m) for n, p, m in redacted if n == "city_a1_rep"}
    assert {(f"{API}/interactions/{{interaction_id}}", "customer"),
            (f"{API}/interactions/{{interaction_id}}", "contact"),
            (f"{API}/interactions", "customer"), (f"{API}/followups", "customer"),
            (f"{API}/followups/{{followup_id}}", "contact"), (f"{API}/tasks", "customer"),
            (f"{API}/tasks/{{task_id}}", "customer"), (f"{API}/calendar", "customer"),
            (f"{API}/documents", "customer"), (f"{API}/documents/{{document_id}}", "customer"),
            (f"{API}/customers/{{customer_id}}/view", "customer")} <= rep_paths, rep_paths
    assert checked > 50, checked


def test_a_document_on_a_record_the_reader_cannot_see_names_no_record(world, book):
    cross = build_crossing(world, book)
    rep = api_as(world.city_a1_rep)
    r = rep.get(f"/documents/{cross.document.pk}")
    assert r.status == 200, r
    assert r.data["target"] == {"id": None, "name": None, "redacted": True}
    assert r.data["target_id"] is None and r.data["customer_id"] is None
    assert book.prov_b.name not in str(r.data)
    r = api_as(world.hq_admin).get(f"/documents/{cross.document.pk}")
    assert r.data["target"] == {"id": book.prov_b.pk, "name": book.prov_b.name,
                                "redacted": False}
    assert r.data["target_id"] == r.data["customer_id"] == book.prov_b.pk


def test_a_calendar_entry_about_a_customer_the_reader_cannot_see_names_none(world, book):
    cross = build_crossing(world, book)
    today = timezone.localdate()
    r = api_as(world.city_a1_rep).get("/calendar", start=(today - dt.timedelta(days=3))
                                      .isoformat(), end=(today + dt.timedelta(days=5)).isoformat())
    assert r.status == 200, r
    events = {(e["type"], e["id"]): e for e in r.data["events"]}
    for key in (("followup", cross.followup.pk), ("task", cross.task.pk),
                ("interaction", cross.interaction.pk)):
        assert events[key]["customer"] == {"id": None, "name": None, "redacted": True}, key
    assert book.prov_b.name not in str(r.data)
