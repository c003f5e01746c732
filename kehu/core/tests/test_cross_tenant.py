"""The cross-tenant matrix: every API operation, called by another tenant's administrator
with ids of the main tenant's rows, finds nothing and changes nothing.

Operations come from the OpenAPI spec at test time, so a new endpoint is exercised without
anyone remembering to add it — or the coverage test fails and says what to add here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from kehu.activities.models import (
    FollowUp,
    Interaction,
    Task,
    WorkPlan,
)
from kehu.activities.testing import build_engagement
from kehu.core.models import ApiToken, AuditEvent, OrgUnit, Role, User
from kehu.core.services.profile import api_token_create
from kehu.core.services.roles import role_create
from kehu.core.testing import PASSWORD, World
from kehu.core.tests.test_api import API, ApiClient, ApiResponse, assert_error, token_for
from kehu.customers.models import Contact, Customer, ImportJob, RetentionRule
from kehu.customers.services import imports as import_services
from kehu.customers.services import privacy as privacy_services
from kehu.customers.services import relationships as relationship_services
from kehu.customers.testing import ID_NUMBER, build_book
from kehu.documents.models import Document
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch", "delete"}


class Fixture:
    """The main tenant's rows that path parameters point at, and the intruder's client."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.custom_role = role_create(
            actor=world.hq_admin, name="质检", permissions=["org.view"], data_scope="unit")
        self.token, _plain = api_token_create(actor=world.hq_admin, name="A's token")
        self.event = AuditEvent.objects.filter(tenant=world.tenant).order_by("id")[0]
        self.intruder = ApiClient(token_for(world.other_tenant_admin))
        self.book = build_book(world)
        self.relationship = relationship_services.relationship_add(
            actor=world.hq_admin, source_id=self.book.hq.pk, target_id=self.book.rep.pk,
            kind="partner")
        self.external_id = relationship_services.external_id_add(
            actor=world.hq_admin, customer_id=self.book.hq.pk, system="billing",
            external_id="B-1")
        self.import_job = import_services.import_create(
            actor=world.city_a1_rep, entity="customers", file_name="客户.csv",
            chunks=["客户名称,电话\n白云机场,13812345678\n".encode()])
        self.engagement = build_engagement(world, self.book)
        rule = privacy_services.retention_rule_set(
            actor=world.hq_admin, kind=RetentionRule.Kind.CHURNED_INDIVIDUAL_INTERACTIONS,
            years=5)
        assert rule is not None
        self.retention_rule: RetentionRule = rule


# Path parameter name → the main tenant's row it names. A new path parameter needs a line.
PATH_OBJECTS: dict[str, Callable[[Fixture], models.Model]] = {
    "unit_id": lambda f: f.world.city_a1,
    "user_id": lambda f: f.world.city_a1_rep,
    "role_id": lambda f: f.custom_role,
    "event_id": lambda f: f.event,
    "token_id": lambda f: f.token,
    "customer_id": lambda f: f.book.rep,
    "contact_id": lambda f: f.book.rep_contact,
    "relationship_id": lambda f: f.relationship,
    "external_id_pk": lambda f: f.external_id,
    "job_id": lambda f: f.import_job,
    "interaction_id": lambda f: f.engagement.interaction,
    "followup_id": lambda f: f.engagement.followup,
    "task_id": lambda f: f.engagement.task,
    "plan_id": lambda f: f.engagement.workplan,
    "notification_id": lambda f: f.engagement.notification,
    "document_id": lambda f: f.engagement.document,
    "kind": lambda f: f.retention_rule,
}

# Path parameters that name their row by a key of its own rather than its id.
PATH_KEYS: dict[str, Callable[[Any], Any]] = {"kind": lambda rule: rule.kind}

# A tenant's own settings addressed by a fixed key (the same for every tenant): another
# tenant's request addresses its own, so these are not 404 but COLLECTION_CASES, where
# nothing of the main tenant may change.
TENANT_SETTINGS = {("PUT", "/retention-rules/{kind}")}


def path_url(path: str, objs: dict[str, models.Model]) -> str:
    """``path`` with each parameter filled from the row it names."""
    return path.format(**{n: PATH_KEYS.get(n, lambda o: o.pk)(o) for n, o in objs.items()})

# Bodies that would be valid for the owner (with the main tenant's ids inside them).
BODIES: dict[tuple[str, str], Callable[[Fixture], dict[str, Any]]] = {
    ("PATCH", "/org-units/{unit_id}"): lambda f: {
        "name": "入侵", "code": "X", "kind": "team", "is_active": False},
    ("POST", "/org-units/{unit_id}/move"): lambda f: {"parent_id": f.world.prov_b.pk},
    ("PATCH", "/users/{user_id}"): lambda f: {
        "full_name": "入侵", "phone": "13800000000", "is_active": False,
        "org_unit_id": f.world.prov_b.pk},
    ("PATCH", "/roles/{role_id}"): lambda f: {
        "name": "入侵", "permissions": ["org.view", "users.view"], "data_scope": "tenant"},
    ("PATCH", "/customers/{customer_id}"): lambda f: {"name": "入侵", "tags": ["x"]},
    ("POST", "/customers/{customer_id}/status"): lambda f: {"status": "churned"},
    ("POST", "/customers/{customer_id}/transfer"): lambda f: {
        "owner_id": f.world.other_tenant_admin.pk, "reason": "入侵"},
    ("POST", "/customers/{customer_id}/reveal"): lambda f: {
        "field": "phones", "reason": "入侵"},
    ("POST", "/customers/{customer_id}/relationships"): lambda f: {
        "target_id": f.book.other_tenant.pk, "kind": "partner"},
    ("POST", "/customers/{customer_id}/external-ids"): lambda f: {
        "system": "billing", "external_id": "X"},
    ("PATCH", "/contacts/{contact_id}"): lambda f: {"name": "入侵"},
    ("POST", "/contacts/{contact_id}/links"): lambda f: {"customer_id": f.book.other_tenant.pk},
    ("POST", "/contacts/{contact_id}/reveal"): lambda f: {"reason": "入侵"},
    ("PUT", "/retention-rules/{kind}"): lambda f: {"years": 1},
}


def load_spec() -> dict[str, Any]:
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path without the /api/v1 prefix, operation) for every operation."""
    result = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method.lower() in WRITE_METHODS | {"get", "head", "options"}:
                result.append((method.upper(), path.removeprefix(API), operation))
    return result


def path_params(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _resolve(spec, options[0]) if options else {"type": "null"}
    return schema


def sample_body(spec: dict[str, Any], operation: dict[str, Any], fix: Fixture) -> Any:
    """A valid-looking body built from the schema: every required property filled in."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = _resolve(spec, content["application/json"]["schema"])

    def value(prop: dict[str, Any]) -> Any:
        prop = _resolve(spec, prop)
        if "enum" in prop:
            return prop["enum"][0]
        kind = prop.get("type")
        if kind == "integer":
            return fix.world.hq.pk
        if kind == "number":
            return 1
        if kind == "boolean":
            return True
        if kind == "array":
            return []
        if kind == "object":
            return {}
        if prop.get("format") == "date-time":
            return "2030-01-01T00:00:00Z"
        return "x"

    props = schema.get("properties", {})
    return {name: value(props[name]) for name in schema.get("required", [])}


def snapshot(tenant_id: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every core table (or only one tenant's), as plain data.

    Left out: a token's last-use time (the intruder's own token is used), and audit
    events recording the denials themselves.
    """
    result: dict[str, list[dict[str, Any]]] = {}
    models_of_kehu = [m for config in apps.get_app_configs() if config.name.startswith("kehu.")
                      for m in config.get_models(include_auto_created=True)]
    for model in models_of_kehu:
        qs = model._default_manager.all()
        if model is AuditEvent:
            qs = qs.exclude(action="permission_denied")
        fields = {f.attname for f in model._meta.concrete_fields}
        if tenant_id is not None:
            if "tenant_id" in fields:
                qs = qs.filter(tenant_id=tenant_id)
            elif model._meta.model_name == "tenant":
                qs = qs.filter(pk=tenant_id)
            elif "user_id" in fields:
                qs = qs.filter(user__tenant_id=tenant_id)
            elif "customer_id" in fields:
                qs = qs.filter(customer__tenant_id=tenant_id)
            elif "contact_id" in fields:
                qs = qs.filter(contact__tenant_id=tenant_id)
            elif "job_id" in fields:
                qs = qs.filter(job__tenant_id=tenant_id)
        rows = []
        for row in qs.order_by("pk").values():
            row.pop("last_used_at", None)
            rows.append(json.loads(json.dumps(row, default=str)))
        result[model._meta.db_table] = rows
    return result


@pytest.fixture
def fix(world: World) -> Fixture:
    return Fixture(world)


def test_every_operation_with_a_path_parameter_is_404_across_tenants(fix: Fixture) -> None:
    spec = load_spec()
    exercised = 0
    before = snapshot()
    for method, path, operation in operations(spec):
        names = path_params(operation)
        if not names:
            continue
        missing = [n for n in names if n not in PATH_OBJECTS]
        assert not missing, f"{method} {path}: add {missing} to PATH_OBJECTS"
        if (method, path) in TENANT_SETTINGS:
            continue
        objs = {n: PATH_OBJECTS[n](fix) for n in names}
        url = path_url(path, objs)
        body_factory = BODIES.get((method, path))
        body = body_factory(fix) if body_factory else sample_body(spec, operation, fix)
        if body is None and method == "POST":
            body = {}
        headers = {"Idempotency-Key": f"x-{method}-{path}"} if method == "POST" else {}
        if method in {"PATCH", "DELETE", "POST"}:
            # A correct If-Match: the record's own current version.
            target = objs[names[-1]]
            headers["If-Match"] = f'"{getattr(target, "version", 1)}"'
        response: ApiResponse = fix.intruder.request(method, url, body, headers=headers)
        assert response.status == 404, f"{method} {url} → {response}"
        assert_error(response, 404, "not_found")
        exercised += 1
    assert exercised >= 14
    assert snapshot() == before


# Operations without a path parameter: the intruder points their query or body at the
# main tenant's rows. Each case returns (query, body); the check is "nothing of tenant A
# comes back or changes". A new such operation needs a line here.
Case = Callable[[Fixture], list[tuple[dict[str, Any] | None, Any, set[int]]]]

LIST_MODELS: dict[str, type[models.Model] | None] = {
    "/org-units": OrgUnit, "/users": User, "/roles": Role, "/audit-events": AuditEvent,
    "/auth/tokens": ApiToken, "/permissions": None, "/customers": Customer,
    "/contacts": Contact, "/imports": ImportJob,
    "/documents": Document,
    "/tasks": Task, "/workplans": WorkPlan,
    "/interactions": Interaction, "/followups": FollowUp,
    "/notifications": Notification,
}

COLLECTION_CASES: dict[tuple[str, str], Case] = {
    ("GET", "/org-units"): lambda f: [({"under": f.world.prov_a.pk}, None, {200}),
                                      ({"search": "广州"}, None, {200})],
    ("GET", "/users"): lambda f: [({"org_unit": f.world.city_a1.pk}, None, {200}),
                                  ({"role": f.world.role("account_manager").pk}, None, {200}),
                                  ({"search": "huaxia"}, None, {200})],
    ("GET", "/roles"): lambda f: [({"limit": 500}, None, {200})],
    ("GET", "/audit-events"): lambda f: [
        ({"actor": f.world.hq_admin.pk, "limit": 500}, None, {200}),
        ({"object_type": "orgunit", "object_id": str(f.world.city_a1.pk)}, None, {200})],
    ("GET", "/auth/tokens"): lambda f: [({"limit": 500}, None, {200})],
    ("GET", "/permissions"): lambda f: [(None, None, {200})],
    ("GET", "/auth/me"): lambda f: [(None, None, {200})],
    ("PATCH", "/auth/me"): lambda f: [(None, {"full_name": "远方"}, {200})],
    ("POST", "/org-units"): lambda f: [
        (None, {"parent_id": f.world.prov_a.pk, "name": "入侵组"}, {404})],
    ("POST", "/users"): lambda f: [
        (None, {"email": "spy@yuanfang.test", "full_name": "间谍",
                "org_unit_id": f.world.city_a1.pk, "role_ids": []}, {404}),
        (None, {"email": "spy@yuanfang.test", "full_name": "间谍",
                "org_unit_id": f.world.other_unit.pk,
                "role_ids": [f.world.role("tenant_admin").pk]}, {422})],
    ("POST", "/roles"): lambda f: [
        (None, {"name": "自有角色", "permissions": ["org.view"], "data_scope": "own"}, {201})],
    ("POST", "/auth/token"): lambda f: [
        (None, {"email": "admin@yuanfang.test", "password": PASSWORD}, {201})],
    ("POST", "/auth/signup"): lambda f: [
        (None, {"company_name": "华夏通信集团", "admin_name": "冒名", "email": "x@x.test",
                "password": PASSWORD}, {409})],
    ("POST", "/auth/signup/confirm"): lambda f: [(None, {"token": "1-forged"}, {422})],
    ("GET", "/customers"): lambda f: [
        ({"owner_id": f.world.city_a1_rep.pk}, None, {200}),
        ({"org_unit_id": f.world.prov_a.pk}, None, {200}),
        ({"parent_id": f.book.hq.pk}, None, {200}), ({"q": "白云"}, None, {200}),
        ({"limit": 500}, None, {200})],
    ("POST", "/customers"): lambda f: [
        (None, {"name": "入侵", "parent_id": f.book.hq.pk}, {422}),
        (None, {"name": "入侵", "owner_id": f.world.city_a1_rep.pk}, {422}),
        (None, {"name": "入侵", "org_unit_id": f.world.city_a1.pk}, {422})],
    ("GET", "/customers/lookup"): lambda f: [
        ({"system": "billing", "external_id": "B-1"}, None, {404})],
    ("POST", "/customers/bulk"): lambda f: [
        (None, {"customer_ids": [c.pk for c in f.book.all_main()], "action": "tag",
                "tags": ["入侵"]}, {200}),
        (None, {"customer_ids": [f.book.rep.pk], "action": "transfer", "reason": "x",
                "owner_id": f.world.other_tenant_admin.pk}, {200})],
    ("GET", "/contacts"): lambda f: [
        ({"customer_id": f.book.rep.pk}, None, {200}), ({"q": "王经理"}, None, {200})],
    ("POST", "/contacts"): lambda f: [
        (None, {"name": "入侵", "customer_id": f.book.rep.pk}, {422})],
    ("GET", "/imports"): lambda f: [({"limit": 500}, None, {200})],
    ("POST", "/imports"): lambda f: [(None, {"entity": "customers"}, {422})],
    # Documents: the list filtered by tenant A's parents finds nothing; an upload aimed at
    # them is refused (a JSON body has no file: 422; test_documents sends the multipart).
    # Notifications, reminder settings (kehu.notifications.api) and the calendar
    # (kehu.activities.api.calendar):
    # the intruder's own inbox, settings and feed; tenant A's calendars are 404.
    ("GET", "/notifications"): lambda f: [({"limit": 500}, None, {200}),
                                          ({"unread": "true"}, None, {200})],
    ("GET", "/notifications/unread-count"): lambda f: [(None, None, {200})],
    ("POST", "/notifications/read-all"): lambda f: [(None, {}, {200})],
    ("GET", "/notifications/settings"): lambda f: [(None, None, {200})],
    ("PUT", "/notifications/settings"): lambda f: [
        (None, {"default_lead_minutes": 60, "email_enabled": False}, {200})],
    ("GET", "/calendar"): lambda f: [
        ({"user": f.world.city_a1_rep.pk, "start": "2030-01-01", "end": "2030-01-31"}, None,
         {404}),
        ({"start": "2030-01-01", "end": "2030-01-31"}, None, {200})],
    ("GET", "/calendar/feed"): lambda f: [(None, None, {200})],
    ("POST", "/calendar/feed"): lambda f: [(None, {}, {201})],
    ("DELETE", "/calendar/feed"): lambda f: [(None, None, {204})],
    ("GET", "/documents"): lambda f: [
        ({"customer_id": f.book.rep.pk}, None, {200}),
        ({"contact_id": f.book.rep_contact.pk}, None, {200}),
        ({"interaction_id": f.engagement.interaction.pk}, None, {200}),
        ({"target_type": "customers.customer", "target_id": f.book.rep.pk}, None, {200}),
        ({"limit": 500}, None, {200})],
    ("POST", "/documents"): lambda f: [
        (None, {"customer_id": f.book.rep.pk}, {422}),
        (None, {"target_type": "customers.customer", "target_id": f.book.rep.pk}, {422})],
    ("GET", "/search"): lambda f: [({"q": "白云"}, None, {200}), ({"q": "zgdx"}, None, {200}),
                                   ({"q": ID_NUMBER}, None, {200})],
    # Data stewardship (kehu.customers.api.duplicates, .quality, .exports). A successful
    # export is a file, which this harness does not read: test_exports checks filters aimed
    # at another tenant.
    ("POST", "/customers/merge"): lambda f: [
        (None, {"survivor_id": f.book.hq.pk, "loser_id": f.book.prov_a.pk}, {404}),
        (None, {"survivor_id": f.book.other_tenant.pk, "loser_id": f.book.rep.pk}, {404})],
    ("GET", "/customers/duplicates"): lambda f: [({"limit": 500}, None, {200})],
    ("GET", "/customers/quality"): lambda f: [(None, None, {200})],
    # Tasks and work plans (kehu.activities.api.tasks, api.workplans).
    ("GET", "/tasks"): lambda f: [
        ({"owner_id": f.world.city_a1_rep.pk}, None, {200}),
        ({"customer_id": f.book.rep.pk}, None, {200}),
        ({"view": "team", "limit": 500}, None, {200})],
    ("POST", "/tasks"): lambda f: [
        (None, {"title": "入侵", "assignee_id": f.world.city_a1_rep.pk}, {422}),
        (None, {"title": "入侵", "customer_id": f.book.rep.pk}, {422})],
    ("GET", "/workplans"): lambda f: [
        ({"owner_id": f.world.city_a1_rep.pk}, None, {200}), ({"limit": 500}, None, {200})],
    ("POST", "/workplans"): lambda f: [
        (None, {"week_start": "2030-01-02", "goals": "远方的计划"}, {201})],
    # Interactions and follow-ups (kehu.activities.api.interactions, api.followups).
    ("GET", "/interactions"): lambda f: [
        ({"customer_id": f.book.rep.pk}, None, {200}),
        ({"contact_id": f.book.rep_contact.pk}, None, {200}),
        ({"owner_id": f.world.city_a1_rep.pk}, None, {200}),
        ({"org_unit_id": f.world.prov_a.pk}, None, {200}), ({"q": "白云"}, None, {200}),
        ({"limit": 500}, None, {200})],
    ("POST", "/interactions"): lambda f: [
        (None, {"customer_id": f.book.rep.pk, "kind": "call", "subject": "入侵"}, {422}),
        (None, {"customer_id": f.book.other_tenant.pk, "kind": "call", "subject": "入侵",
                "contact_ids": [f.book.rep_contact.pk]}, {422}),
        (None, {"customer_id": f.book.other_tenant.pk, "kind": "call", "subject": "入侵",
                "participant_ids": [f.world.city_a1_rep.pk]}, {422}),
        (None, {"customer_id": f.book.other_tenant.pk, "kind": "call", "subject": "入侵",
                "owner_id": f.world.city_a1_rep.pk}, {422})],
    ("GET", "/followups"): lambda f: [
        ({"customer_id": f.book.rep.pk}, None, {200}),
        ({"owner_id": f.world.city_a1_rep.pk}, None, {200}),
        ({"status": "open", "limit": 500}, None, {200})],
    ("POST", "/followups"): lambda f: [
        (None, {"customer_id": f.book.rep.pk, "subject": "入侵",
                "due_at": "2030-01-01T09:00:00+08:00"}, {422}),
        (None, {"customer_id": f.book.other_tenant.pk, "subject": "入侵",
                "due_at": "2030-01-01T09:00:00+08:00",
                "contact_id": f.book.rep_contact.pk}, {422})],
    ("POST", "/exports"): lambda f: [
        (None, {"entity": "customers", "format": "pdf",
                "filters": {"org_unit_id": f.world.prov_a.pk}}, {422})],
    # The tenant's retention rules: the intruder lists and sets its own tenant's.
    ("GET", "/retention-rules"): lambda f: [(None, None, {200})],
    ("PUT", "/retention-rules/{kind}"): lambda f: [(None, {"years": 9}, {200}),
                                                   (None, {"years": None}, {200})],
}


def test_operations_without_path_parameters_do_not_reach_across(fix: Fixture) -> None:
    spec = load_spec()
    tenant_a = fix.world.tenant.pk
    before = snapshot(tenant_a)
    a_ids: dict[Any, set[int]] = {model: set(model._default_manager.filter(tenant_id=tenant_a)
                        .values_list("pk", flat=True))
             for model in {m for m in LIST_MODELS.values() if m is not None}}
    for method, path, operation in operations(spec):
        if path_params(operation) and (method, path) not in TENANT_SETTINGS:
            continue
        case = COLLECTION_CASES.get((method, path))
        assert case is not None, f"{method} {path}: add it to COLLECTION_CASES"
        url = path_url(path, {n: PATH_OBJECTS[n](fix) for n in path_params(operation)})
        for query, body, statuses in case(fix):
            headers = {"If-Match": "*"} if method in {"PUT", "PATCH", "DELETE"} else None
            if method == "GET":
                response = fix.intruder.request(method, url, query=query)
            else:
                client = ApiClient() if path.startswith("/auth/sign") else fix.intruder
                response = client.request(method, url, body, headers=headers)
            assert response.status in statuses, f"{method} {path} {query or body}: {response}"
            if response.status >= 400:
                assert_error(response, response.status, response.data["error"]["code"])
                continue
            model = LIST_MODELS.get(path)
            if method == "GET" and model is not None:
                returned = {item["id"] for item in response.data["items"]}
                assert not returned & a_ids[model], f"{method} {path} leaked {model.__name__}"
            text = json.dumps(response.data, ensure_ascii=False)
            assert "huaxia" not in text and "华夏" not in text, f"{method} {path}: {text}"
    assert snapshot(tenant_a) == before


def test_every_operation_in_the_spec_is_covered() -> None:
    spec = load_spec()
    uncovered = []
    for method, path, operation in operations(spec):
        names = path_params(operation)
        if names:
            uncovered += [f"{method} {path}: path parameter {n} (PATH_OBJECTS)"
                          for n in names if n not in PATH_OBJECTS]
        elif (method, path) not in COLLECTION_CASES:
            uncovered.append(f"{method} {path} (COLLECTION_CASES)")
    assert not uncovered, "operations the cross-tenant matrix misses:\n" + "\n".join(uncovered)
    stale = [f"{m} {p}" for m, p in {*COLLECTION_CASES, *BODIES}
             if p not in {op_path for _m, op_path, _o in operations(spec)}]
    assert not stale, f"cases for operations no longer in the spec: {stale}"
