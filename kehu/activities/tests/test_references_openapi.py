"""Every customer or contact an API response references is visible to the caller or
redacted (issue 11, item 3): derived from the OpenAPI spec, for the six personas, on the
shared test rows (kehu.customers.testing, kehu.activities.testing)."""

from __future__ import annotations

import re
from typing import Any

from kehu.core.tests.test_api import api_as
from kehu.customers.models import Contact, Customer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

CUSTOMER_KEYS = {"customer", "customers", "parent", "ancestors", "children", "other"}
CONTACT_KEYS = {"contact", "contacts"}
REF_SCHEMA = re.compile(r"(customer|contact).*ref|^ref$", re.IGNORECASE)
PERSONAS = ("hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep", "prov_b_manager",
            "other_tenant_admin")


def _references_records(schema: Any, spec: dict[str, Any], seen: set[str]) -> bool:
    """Whether a response schema holds a field naming customers or contacts."""
    if isinstance(schema, list):
        return any(_references_records(s, spec, seen) for s in schema)
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        if REF_SCHEMA.search(name):
            return True
        return _references_records(spec["components"]["schemas"][name], spec, seen)
    props = schema.get("properties", {})
    if set(props) & (CUSTOMER_KEYS | CONTACT_KEYS):
        return True
    return any(_references_records(v, spec, seen) for k, v in schema.items()
               if k in ("properties", "items", "anyOf", "allOf", "oneOf",
                        "additionalProperties") or k in props)


def _operations(spec: dict[str, Any]) -> list[str]:
    found = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not op:
            continue
        content = op.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None and _references_records(schema, spec, set()):
            found.append(path)
    return found


def _refs(data: Any, key: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(model, reference) for every customer/contact reference in a response."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(data, dict):
        if key in CUSTOMER_KEYS | CONTACT_KEYS and "name" in data and "id" in data:
            out.append(("contact" if key in CONTACT_KEYS else "customer", data))
        for k, v in data.items():
            out += _refs(v, k)
    elif isinstance(data, list):
        for item in data:
            out += _refs(item, key)
    return out


def test_every_referenced_customer_or_contact_is_visible_or_redacted(world, book, engagement):
    # A contact of customers in two provinces, a parent outside province A.
    contact_services.contact_link(actor=world.hq_admin, contact_id=book.rep_contact.pk,
                                  customer_id=book.prov_b.pk, title="顾问")
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.prov_a.pk,
                                      parent_id=book.hq.pk)
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.rep.pk,
                                      parent_id=book.prov_b.pk)
    spec = api_as(world.hq_admin).get("/openapi.json").data
    paths = _operations(spec)
    assert {"/api/v1/customers/{customer_id}/view", "/api/v1/contacts/{contact_id}",
            "/api/v1/contacts"} <= set(paths), paths
    ids = {
        "customer_id": [c.pk for c in book.all_main()] + [book.other_tenant.pk],
        "contact_id": [book.rep_contact.pk],
        "interaction_id": [engagement.interaction.pk],
        "followup_id": [engagement.followup.pk], "follow_up_id": [engagement.followup.pk],
        "task_id": [engagement.task.pk], "workplan_id": [engagement.workplan.pk],
        "plan_id": [engagement.workplan.pk], "document_id": [engagement.document.pk],
    }
    calls = checked = 0
    for name in PERSONAS:
        persona = getattr(world, name)
        client = api_as(persona)
        visible = {
            "customer": dict(Customer.objects.visible_to(persona).values_list("pk", "name")),
            "contact": dict(Contact.objects.visible_to(persona).values_list("pk", "name")),
        }
        for path in paths:
            params = re.findall(r"{(\w+)}", path)
            if any(p not in ids for p in params):
                continue
            urls = [path]
            for param in params:
                urls = [u.replace(f"{{{param}}}", str(i)) for u in urls for i in ids[param]]
            for url in urls:
                r = client.get(url)
                calls += 1
                assert r.status < 500, (name, url, r)
                if r.status != 200:
                    continue
                for model, ref in _refs(r.data):
                    checked += 1
                    if ref.get("redacted"):
                        assert ref["id"] is None and ref["name"] is None, (name, url, ref)
                        continue
                    assert ref["id"] in visible[model], (name, url, model, ref)
                    assert ref["name"] == visible[model][ref["id"]], (name, url, ref)
    assert calls > 50 and checked > 20, (calls, checked)
