"""Every create (a 201 in the spec) answers with ``Location``: the created resource's URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kehu.core.testing import PASSWORD, World
from kehu.core.tests.test_api import API, ApiClient, api_as, token_for
from kehu.core.tests.test_cross_tenant import Fixture, load_spec, operations

pytestmark = pytest.mark.django_db

def _signup_token() -> str:
    """The token of an emailed sign-up link (sign-up itself answers 202, not 201)."""
    from kehu.core.services.signup import signup_request, signup_token

    return signup_token(signup_request(
        company_name="新建公司", admin_name="新管理员", email="new@xinjian.test",
        password=PASSWORD))


# A valid create per 201 operation: (path with ids filled in, JSON body or multipart form).
CREATES: dict[tuple[str, str], Callable[[Fixture], tuple[str, dict[str, Any]]]] = {
    ("POST", "/auth/signup/confirm"): lambda f: ("/auth/signup/confirm", {
        "token": _signup_token()}),
    ("POST", "/auth/token"): lambda f: ("/auth/token", {
        "email": f.world.hq_admin.email, "password": PASSWORD}),
    ("POST", "/org-units"): lambda f: ("/org-units", {
        "parent_id": f.world.hq.pk, "name": "新部门"}),
    ("POST", "/users"): lambda f: ("/users", {
        "email": "newbie@huaxia.test", "full_name": "新同事",
        "org_unit_id": f.world.city_a1.pk, "role_ids": []}),
    ("POST", "/roles"): lambda f: ("/roles", {
        "name": "新角色", "permissions": ["org.view"], "data_scope": "own"}),
    ("POST", "/customers"): lambda f: ("/customers", {"name": "新客户有限公司"}),
    ("POST", "/customers/{customer_id}/relationships"): lambda f: (
        f"/customers/{f.book.rep.pk}/relationships",
        {"target_id": f.book.hq.pk, "kind": "partner"}),
    ("POST", "/customers/{customer_id}/external-ids"): lambda f: (
        f"/customers/{f.book.rep.pk}/external-ids", {"system": "erp", "external_id": "E-9"}),
    ("POST", "/contacts"): lambda f: ("/contacts", {"name": "新联系人"}),
    ("POST", "/imports"): lambda f: ("/imports", {
        "entity": "customers",
        "file": SimpleUploadedFile("a.csv", "客户名称\n甲公司\n".encode())}),
    ("POST", "/interactions"): lambda f: ("/interactions", {
        "customer_id": f.book.rep.pk, "kind": "call", "subject": "回访"}),
    ("POST", "/followups"): lambda f: ("/followups", {
        "customer_id": f.book.rep.pk, "subject": "再次回访",
        "due_at": "2031-01-08T10:00:00+08:00"}),
    ("POST", "/tasks"): lambda f: ("/tasks", {"title": "整理报价"}),
    ("POST", "/tasks/{task_id}/comments"): lambda f: (
        f"/tasks/{f.engagement.task.pk}/comments", {"body": "已联系"}),
    ("POST", "/workplans"): lambda f: ("/workplans", {
        "week_start": "2031-01-06", "goals": "拜访十家客户"}),
    ("POST", "/workplans/{plan_id}/comments"): lambda f: (
        f"/workplans/{f.engagement.workplan.pk}/comments", {"body": "好"}),
    ("POST", "/calendar/feed"): lambda f: ("/calendar/feed", {}),
    ("POST", "/documents"): lambda f: ("/documents", {
        "customer_id": str(f.book.rep.pk),
        "file": SimpleUploadedFile("纪要.txt", "会议纪要".encode(), content_type="text/plain")}),
}


def created_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for method, path, operation in operations(spec)
            if "201" in operation["responses"]}


def test_every_create_is_covered() -> None:
    assert created_operations(load_spec()) == set(CREATES)


def _spec_path(spec: dict[str, Any], location: str) -> tuple[str, dict[str, Any]] | None:
    """The spec path (and its operations) that ``location`` is an instance of."""
    parts = location.removeprefix(API).strip("/").split("/")
    for path, item in spec["paths"].items():
        pattern = path.removeprefix(API).strip("/").split("/")
        if len(pattern) == len(parts) and all(
                p == s or (p.startswith("{") and s.isdigit()) for p, s in zip(pattern, parts,
                                                                               strict=True)):
            return path, item
    return None


def _post(client: ApiClient, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    if any(isinstance(v, SimpleUploadedFile) for v in body.values()):
        for value in body.values():
            if isinstance(value, SimpleUploadedFile):
                value.seek(0)
        extra: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        if client.token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {client.token}"
        return client.client.post(API + path, data=body, **extra)
    return client.request("POST", path, body, headers={"Idempotency-Key": key} if key
                          else None).raw


@pytest.mark.parametrize(("method", "path"), sorted(CREATES))
def test_every_create_answers_with_location(world: World, method: str, path: str) -> None:
    fix = Fixture(world)
    spec = load_spec()
    url, body = CREATES[(method, path)](fix)
    client = ApiClient() if path.startswith("/auth/") else api_as(world.hq_admin)
    response = _post(client, url, body, key="loc-1")
    assert response.status_code == 201, response.content
    location = response["Location"]
    assert location.startswith(API + "/"), location
    found = _spec_path(spec, location)
    assert found is not None, f"{path}: Location {location} is no path of the API"
    data = response.json()
    if isinstance(data, dict) and "id" in data and location.startswith(API + path.split("{")[0]):
        # The new record's own URL, unless it is a part of its parent (a comment).
        assert location.rsplit("/", 1)[-1] == str(data["id"]) or "comments" in path
    if "get" in found[1]:
        reader = Client()
        token = data.get("token") if isinstance(data, dict) else None
        auth = token or (token_for(world.hq_admin) if not path.startswith("/auth/signup")
                         else None)
        if auth:
            fetched = reader.get(location, HTTP_AUTHORIZATION=f"Bearer {auth}")
            assert fetched.status_code == 200, f"GET {location}: {fetched.content!r}"
    # A replay names the same resource.
    again = _post(client, url, body, key="loc-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again["Location"] == location
