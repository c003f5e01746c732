"""The core REST API as each persona uses it: sign-up, tokens, lockout, visibility, writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kehu.core.models import (
    ApiToken,
    AuditEvent,
    IdempotencyKey,
    OrgUnit,
    Role,
    SignupRequest,
    Tenant,
    User,
)
from kehu.core.services.org import org_unit_create, org_unit_deactivate
from kehu.core.services.profile import api_token_create, totp_enable, totp_setup
from kehu.core.services.roles import role_create
from kehu.core.services.signup import signup_token
from kehu.core.services.users import user_create, user_deactivate, user_update
from kehu.core.testing import PASSWORD, World, fresh, totp_code

pytestmark = pytest.mark.django_db

API = "/api/v1"


class ApiResponse:
    def __init__(self, response: Any) -> None:
        self.raw = response
        self.status = response.status_code
        self.headers = response.headers
        content = response.content
        self.data: Any = json.loads(content) if content else None

    def __repr__(self) -> str:
        return f"<ApiResponse {self.status} {self.data!r}>"


class ApiClient:
    """A JSON client for /api/v1, authenticated with a bearer token when given one."""

    def __init__(self, token: str | None = None, *, client: Client | None = None,
                 language: str = "en") -> None:
        self.client = client or Client()
        self.token = token
        self.language = language

    def request(self, method: str, path: str, body: Any = None, *,
                query: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                raw_body: str | None = None) -> ApiResponse:
        extra: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": self.language}
        if self.token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        url = path if path.startswith("/") and path.startswith(API) else API + path
        if query:
            from urllib.parse import urlencode

            url += "?" + urlencode(query)
        data = raw_body if raw_body is not None else (
            json.dumps(body) if body is not None else None
        )
        kwargs: dict[str, Any] = {}
        if data is not None:
            kwargs = {"data": data, "content_type": "application/json"}
        response = getattr(self.client, method.lower())(url, **kwargs, **extra)
        return ApiResponse(response)

    def get(self, path: str, **query: Any) -> ApiResponse:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any = None, **headers: str) -> ApiResponse:
        return self.request("POST", path, body if body is not None else {},
                            headers=_headers(headers))

    def patch(self, path: str, body: Any, **headers: str) -> ApiResponse:
        return self.request("PATCH", path, body, headers=_headers(headers))

    def delete(self, path: str, **headers: str) -> ApiResponse:
        return self.request("DELETE", path, headers=_headers(headers))


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}


def token_for(user: User, name: str = "test") -> str:
    _token, plaintext = api_token_create(actor=user, name=name)
    return plaintext


def api_as(user: User) -> ApiClient:
    return ApiClient(token_for(user))


def etag(obj: Any) -> str:
    obj.refresh_from_db()
    return f'"{obj.version}"'


def assert_error(response: ApiResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, response
    assert set(response.data) == {"error"}, response
    error = response.data["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code, response
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    for messages in error["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    return error


def ids(response: ApiResponse) -> set[int]:
    assert response.status == 200, response
    return {item["id"] for item in response.data["items"]}


def state(*objs: Any) -> list[dict[str, Any]]:
    """Field values of the given rows as the database has them now."""
    result = []
    for obj in objs:
        row = type(obj)._default_manager.filter(pk=obj.pk).values().first()
        if isinstance(obj, User):
            row = {**(row or {}), "roles": sorted(obj.roles.values_list("pk", flat=True))}
        result.append(row)
    return result


def table_counts() -> dict[str, int]:
    return {m.__name__: m._default_manager.count()
            for m in (Tenant, OrgUnit, Role, User, ApiToken, IdempotencyKey)}


# ---------------------------------------------------------------------------- sign-up

SIGNUP = {"company_name": "新星贸易有限公司", "admin_name": "张三",
          "email": "zhang@xinxing.test", "password": PASSWORD}


def signup_confirmed(body: dict[str, Any]) -> ApiResponse:
    """Sign up through the API and confirm with the emailed token (the email's own
    contents are tested in test_signup.py)."""
    r = ApiClient().post("/auth/signup", body)
    assert r.status == 202, r
    request = SignupRequest.objects.filter(email=body["email"].lower()).latest("pk")
    return ApiClient().post("/auth/signup/confirm", {"token": signup_token(request)})


def test_signup_creates_tenant_root_and_admin() -> None:
    r = signup_confirmed({**SIGNUP, "phone": "13800138000"})
    assert r.status == 201, r
    tenant = Tenant.objects.get(pk=r.data["tenant"]["id"])
    assert r.data["tenant"] == {"id": tenant.pk, "name": "新星贸易有限公司"}
    user = User.objects.get(pk=r.data["user"]["id"])
    assert user.tenant_id == tenant.pk and user.email == "zhang@xinxing.test"
    assert r.data["user"]["phone"] == "13800138000"  # the new admin sees their own phone
    assert [role["name"] for role in r.data["user"]["roles"]] == [
        str(Role.objects.get(tenant=tenant, builtin_key="tenant_admin").name)]
    assert OrgUnit.objects.get(tenant=tenant, parent=None).pk == r.data["user"]["org_unit"]["id"]
    assert AuditEvent.objects.filter(tenant=tenant, action="tenant.signup").exists()
    # …and can then get a token and act.
    token = ApiClient().post("/auth/token", {"email": SIGNUP["email"], "password": PASSWORD})
    assert token.status == 201
    me = ApiClient(token.data["token"]).get("/auth/me")
    assert me.data["tenant"]["id"] == tenant.pk and me.data["permissions"]["org.create"] == "tenant"


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"company_name": "  新星贸易有限公司 "}, 409, "conflict", "company_name"),
        ({"email": "not-an-email", "company_name": "另一家"}, 422, "validation_error", "email"),
        ({"password": "12345", "company_name": "另一家", "email": "b@b.test"}, 422,
         "validation_error", "password"),
        ({"company_name": ""}, 422, "validation_error", "company_name"),
        ({"language": "fr", "company_name": "另一家"}, 422, "validation_error", "language"),
        ({"is_admin": True, "company_name": "另一家"}, 422, "validation_error", "is_admin"),
    ],
)
def test_signup_refusals_create_nothing(change: dict[str, Any], status: int, code: str,
                                        field: str) -> None:
    assert signup_confirmed(SIGNUP).status == 201
    before = table_counts()
    audits = AuditEvent.objects.count()
    requests = SignupRequest.objects.count()
    r = ApiClient().post("/auth/signup", {**SIGNUP, **change})
    error = assert_error(r, status, code)
    assert field in error["fields"], error
    assert table_counts() == before
    assert AuditEvent.objects.count() == audits
    assert SignupRequest.objects.count() == requests


def test_signup_duplicate_company_message_is_clear() -> None:
    signup_confirmed(SIGNUP)
    r = ApiClient().post("/auth/signup", {**SIGNUP, "email": "other@x.test"})
    error = assert_error(r, 409, "conflict")
    assert error["message"] == error["fields"]["company_name"][0]
    assert "already registered" in error["message"]


def test_signup_idempotency_key_without_user() -> None:
    first = ApiClient().post("/auth/signup", SIGNUP, Idempotency_Key="signup-1")
    again = ApiClient().post("/auth/signup", SIGNUP, Idempotency_Key="signup-1")
    assert first.status == again.status == 202
    assert first.data == again.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert SignupRequest.objects.filter(company_name="新星贸易有限公司").count() == 1
    other = ApiClient().post("/auth/signup", {**SIGNUP, "company_name": "别家"},
                             Idempotency_Key="signup-1")
    assert_error(other, 422, "idempotency_key_reused")
    assert not SignupRequest.objects.filter(company_name="别家").exists()
    stored = IdempotencyKey.objects.get(key="signup-1")
    assert stored.user_id is None
    assert PASSWORD not in json.dumps(stored.response_body) and PASSWORD not in stored.request_hash


# ---------------------------------------------------------------------------- tokens


def test_token_issue_use_list_revoke(world: World) -> None:
    anonymous = ApiClient()
    r = anonymous.post("/auth/token", {"email": "city_a1@huaxia.test", "password": PASSWORD,
                                       "name": "CI"})
    assert r.status == 201, r
    assert set(r.data) == {"token", "id", "name", "prefix", "expires_at", "version"}
    assert r.data["token"].startswith("kehu_") and r.data["name"] == "CI"
    stored = ApiToken.objects.get(pk=r.data["id"])
    assert r.data["token"] not in (stored.key_hash, stored.prefix)

    client = ApiClient(r.data["token"])
    me = client.get("/auth/me")
    assert me.status == 200 and me.data["id"] == world.city_a1_manager.pk
    assert me.headers["ETag"] == f'"{world.city_a1_manager.version}"'

    listed = client.get("/auth/tokens")
    assert [t["id"] for t in listed.data["items"]] == [stored.pk]
    assert "token" not in listed.data["items"][0] and "key_hash" not in listed.data["items"][0]
    # Another user's token list does not include it.
    assert stored.pk not in ids(api_as(world.hq_admin).get("/auth/tokens"))

    assert_error(client.delete(f"/auth/tokens/{stored.pk}"), 428, "precondition_required")
    revoked = client.delete(f"/auth/tokens/{stored.pk}", If_Match='"1"')
    assert revoked.status == 200 and revoked.data["revoked_at"]
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(stored.pk)).exists()
    assert_error(client.get("/auth/me"), 401, "invalid_token")


def test_token_wrong_credentials_are_401(world: World) -> None:
    r = ApiClient().post("/auth/token", {"email": "city_a1@huaxia.test", "password": "wrong"})
    wrong = assert_error(r, 401, "authentication_failed")
    r = ApiClient().post("/auth/token", {"email": "nobody@huaxia.test", "password": "wrong"})
    assert assert_error(r, 401, "authentication_failed")["message"] == wrong["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert not ApiToken.objects.filter(user=world.city_a1_manager).exists()


def test_token_lockout_after_five_failures_and_admin_unlock(world: World) -> None:
    anonymous = ApiClient()
    body = {"email": "rep_a1@huaxia.test", "password": "wrong-password"}
    for _attempt in range(4):
        assert_error(anonymous.post("/auth/token", body), 401, "authentication_failed")
    unknown = assert_error(anonymous.post("/auth/token", {**body, "email": "no@huaxia.test"}),
                           401, "authentication_failed")
    # Locked, the account answers as an unknown email does (issue 11, item 10).
    locked = assert_error(anonymous.post("/auth/token", body), 401, "authentication_failed")
    assert locked == unknown
    right = anonymous.post("/auth/token", {**body, "password": PASSWORD})
    assert assert_error(right, 401, "authentication_failed") == unknown
    assert not ApiToken.objects.filter(user=world.city_a1_rep).exists()

    listed = api_as(world.hq_admin).get(f"/users/{world.city_a1_rep.pk}")
    assert listed.data["is_locked"] is True
    # Unlocking is an administrator's right: a city manager may not.
    denied = api_as(world.city_a1_manager).post(f"/users/{world.city_a1_rep.pk}/unlock")
    assert_error(denied, 403, "permission_denied")
    assert fresh(world.city_a1_rep).is_locked()

    unlocked = api_as(world.hq_admin).post(f"/users/{world.city_a1_rep.pk}/unlock")
    assert unlocked.status == 200 and unlocked.data["is_locked"] is False
    assert anonymous.post("/auth/token", {**body, "password": PASSWORD}).status == 201


def test_token_needs_totp_code_when_enabled(world: World) -> None:
    secret = totp_setup(actor=world.city_a1_rep)
    totp_enable(actor=world.city_a1_rep, code=totp_code(secret))
    body = {"email": "rep_a1@huaxia.test", "password": PASSWORD}
    assert_error(ApiClient().post("/auth/token", body), 401, "totp_required")
    wrong = ApiClient().post("/auth/token", {**body, "totp_code": "000000"})
    assert_error(wrong, 401, "totp_required")
    ok = ApiClient().post("/auth/token", {**body, "totp_code": totp_code(secret, 1)})
    assert ok.status == 201


def test_token_never_has_more_rights_than_its_user(world: World) -> None:
    manager = world.prov_a_manager
    client = api_as(manager)
    assert ids(client.get("/org-units")) == {world.prov_a.pk, world.city_a1.pk, world.team_a1.pk}
    assert client.post("/org-units", {"parent_id": world.prov_a.pk, "name": "新组"}).status == 201

    # The administrator reduces the user's roles: the same token loses access on its next call.
    user_update(actor=world.hq_admin, user_id=manager.pk,
                role_ids=[world.role("account_manager").pk])
    assert ids(client.get("/org-units")) == {world.prov_a.pk}
    denied = client.post("/org-units", {"parent_id": world.prov_a.pk, "name": "再一组"})
    assert_error(denied, 403, "permission_denied")
    assert not OrgUnit.objects.filter(name="再一组").exists()

    # Deactivating the user ends the token at once.
    user_deactivate(actor=world.hq_admin, user_id=manager.pk)
    assert_error(client.get("/auth/me"), 401, "invalid_token")


def test_token_of_deactivated_user_via_api_is_401(world: World) -> None:
    rep_client = api_as(world.city_a1_rep)
    admin = api_as(world.hq_admin)
    r = admin.delete(f"/users/{world.city_a1_rep.pk}", If_Match=etag(world.city_a1_rep))
    assert r.status == 200 and r.data["is_active"] is False
    assert_error(rep_client.get("/org-units"), 401, "invalid_token")


def test_expired_token_is_401(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    _token, plaintext = api_token_create(
        actor=world.analyst, name="short", expires_at=timezone.now() + timedelta(seconds=1))
    ApiToken.objects.filter(user=world.analyst).update(expires_at=timezone.now())
    assert_error(ApiClient(plaintext).get("/auth/me"), 401, "invalid_token")


# ---------------------------------------------------------------------------- what each sees

UNIT_VIEW = {
    "hq_admin": ["hq", "prov_a", "city_a1", "team_a1", "prov_b", "city_b1"],
    "analyst": ["hq", "prov_a", "city_a1", "team_a1", "prov_b", "city_b1"],
    "prov_a_manager": ["prov_a", "city_a1", "team_a1"],
    "city_a1_manager": ["city_a1", "team_a1"],
    "city_a1_rep": ["city_a1"],
    "prov_b_manager": ["prov_b", "city_b1"],
}

USER_VIEW = {
    "hq_admin": ["hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep",
                 "prov_b_manager", "analyst"],
    "analyst": ["hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep",
                "prov_b_manager", "analyst"],
    "prov_a_manager": ["prov_a_manager", "city_a1_manager", "city_a1_rep"],
    "city_a1_manager": ["city_a1_manager", "city_a1_rep"],
    "city_a1_rep": ["city_a1_rep"],
    "prov_b_manager": ["prov_b_manager"],
}


@pytest.mark.parametrize("persona", sorted(UNIT_VIEW))
def test_each_persona_sees_their_org_units(world: World, persona: str) -> None:
    r = api_as(getattr(world, persona)).get("/org-units")
    expected = {getattr(world, name).pk for name in UNIT_VIEW[persona]}
    assert ids(r) == expected
    assert r.data["count"] == len(expected)


@pytest.mark.parametrize("persona", sorted(USER_VIEW))
def test_each_persona_sees_their_users(world: World, persona: str) -> None:
    r = api_as(getattr(world, persona)).get("/users")
    assert ids(r) == {getattr(world, name).pk for name in USER_VIEW[persona]}


def test_other_tenant_sees_only_its_own(world: World) -> None:
    client = api_as(world.other_tenant_admin)
    assert ids(client.get("/org-units")) == {world.other_tenant_admin.org_unit_id,
                                              world.other_unit.pk}
    assert ids(client.get("/users")) == {world.other_tenant_admin.pk}
    roles = client.get("/roles", limit=500)
    assert {r["id"] for r in roles.data["items"]} == set(
        Role.objects.filter(tenant=world.other_tenant).values_list("pk", flat=True))
    events = client.get("/audit-events", limit=500).data["items"]
    assert events and {e["id"] for e in events} <= set(
        AuditEvent.objects.filter(tenant=world.other_tenant).values_list("pk", flat=True))


def test_audit_event_visibility_by_persona(world: World) -> None:
    # A write inside city A1 by its manager, and one in province B by its manager.
    org_unit_create(actor=world.city_a1_manager, parent_id=world.city_a1.pk,
                    name="政企二组", kind="team")
    org_unit_create(actor=world.prov_b_manager, parent_id=world.prov_b.pk,
                    name="宁波分公司", kind="city")

    def actions(persona: str) -> list[tuple[int | None, str]]:
        r = api_as(getattr(world, persona)).get("/audit-events", limit=500)
        assert r.status == 200
        return [(e["actor_id"], e["action"]) for e in r.data["items"]]

    hq = actions("hq_admin")
    assert (world.city_a1_manager.pk, "org_unit.create") in hq
    assert (world.prov_b_manager.pk, "org_unit.create") in hq
    prov_a = actions("prov_a_manager")
    assert (world.city_a1_manager.pk, "org_unit.create") in prov_a
    assert all(actor != world.prov_b_manager.pk for actor, _ in prov_a)
    assert all(actor != world.hq_admin.pk for actor, _ in prov_a)
    # An account manager has no audit.view: the list is empty, not someone else's.
    assert actions("city_a1_rep") == []

    filtered = api_as(world.hq_admin).get("/audit-events", actor=world.prov_b_manager.pk,
                                          action="org_unit.")
    assert filtered.data["count"] >= 1
    assert {e["actor_id"] for e in filtered.data["items"]} == {world.prov_b_manager.pk}

    event = AuditEvent.objects.filter(actor=world.prov_b_manager).first()
    assert event is not None
    assert api_as(world.hq_admin).get(f"/audit-events/{event.pk}").data["id"] == event.pk
    assert_error(api_as(world.prov_a_manager).get(f"/audit-events/{event.pk}"), 404, "not_found")


def test_audit_events_are_read_only(world: World) -> None:
    event = AuditEvent.objects.filter(tenant=world.tenant).first()
    assert event is not None
    client = api_as(world.hq_admin)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = client.request(method, f"/audit-events/{event.pk}", {"action": "x"},
                           headers={"If-Match": '"1"'})
        assert_error(r, 405, "method_not_allowed")
        r = client.request(method, "/audit-events", {"action": "x"})
        assert_error(r, 405, "method_not_allowed")
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_user_filters(world: World) -> None:
    client = api_as(world.hq_admin)
    assert ids(client.get("/users", org_unit=world.prov_a.pk)) == {
        world.prov_a_manager.pk, world.city_a1_manager.pk, world.city_a1_rep.pk}
    assert ids(client.get("/users", search="analyst")) == {world.analyst.pk}
    assert ids(client.get("/users", role=world.role("province_manager").pk)) == {
        world.prov_a_manager.pk, world.prov_b_manager.pk}
    assert ids(client.get("/users", active="false")) == set()
    names = [u["full_name"] for u in client.get("/users", ordering="-full_name").data["items"]]
    assert names == sorted(names, reverse=True)


def test_org_unit_filters(world: World) -> None:
    client = api_as(world.hq_admin)
    assert ids(client.get("/org-units", under=world.prov_a.pk)) == {
        world.prov_a.pk, world.city_a1.pk, world.team_a1.pk}
    assert ids(client.get("/org-units", search="杭州")) == {world.city_b1.pk}
    user_deactivate(actor=world.hq_admin, user_id=world.prov_b_manager.pk)
    org_unit_deactivate(actor=world.hq_admin, unit_id=world.city_b1.pk)
    assert ids(client.get("/org-units", active="false")) == {world.city_b1.pk}
    assert world.city_b1.pk not in ids(client.get("/org-units", active="true"))
    # A unit the caller cannot see filters to nothing rather than leaking its subtree.
    assert ids(api_as(world.city_a1_manager).get("/org-units", under=world.prov_b.pk)) == set()


def test_phone_is_masked_unless_revealable_or_own(world: World) -> None:
    user_update(actor=world.hq_admin, user_id=world.city_a1_rep.pk, phone="13912345678")
    path = f"/users/{world.city_a1_rep.pk}"
    assert api_as(world.city_a1_manager).get(path).data["phone"] == "139****5678"
    listed = api_as(world.city_a1_manager).get("/users").data["items"]
    assert {u["phone"] for u in listed if u["id"] == world.city_a1_rep.pk} == {"139****5678"}
    assert api_as(world.hq_admin).get(path).data["phone"] == "13912345678"
    own = api_as(world.city_a1_rep)
    assert own.get(path).data["phone"] == "13912345678"
    assert own.get("/auth/me").data["phone"] == "13912345678"


# ---------------------------------------------------------------------------- denied writes


def test_analyst_cannot_write(world: World) -> None:
    client = api_as(world.analyst)
    counts = table_counts()
    watched = state(world.city_a1, world.city_a1_rep, world.role("analyst"))
    attempts = [
        client.post("/org-units", {"parent_id": world.hq.pk, "name": "分析部"}),
        client.patch(f"/org-units/{world.city_a1.pk}", {"name": "改"},
                     If_Match=etag(world.city_a1)),
        client.delete(f"/org-units/{world.city_a1.pk}", If_Match=etag(world.city_a1)),
        client.post(f"/org-units/{world.city_a1.pk}/move", {"parent_id": world.prov_b.pk},
                    If_Match=etag(world.city_a1)),
        client.post("/users", {"email": "n@huaxia.test", "full_name": "新人",
                               "org_unit_id": world.hq.pk, "role_ids": []}),
        client.patch(f"/users/{world.city_a1_rep.pk}", {"full_name": "改"},
                     If_Match=etag(world.city_a1_rep)),
        client.delete(f"/users/{world.city_a1_rep.pk}", If_Match=etag(world.city_a1_rep)),
        client.post(f"/users/{world.city_a1_rep.pk}/reset-password"),
        client.post("/roles", {"name": "R", "permissions": [], "data_scope": "own"}),
    ]
    for r in attempts:
        assert r.status in (403, 404), r
        assert_error(r, r.status, "permission_denied" if r.status == 403 else "not_found")
    assert table_counts() == counts
    assert state(world.city_a1, world.city_a1_rep, world.role("analyst")) == watched
    assert AuditEvent.objects.filter(actor=world.analyst, action="permission_denied").exists()


def test_peer_branch_manager_gets_404_and_nothing_changes(world: World) -> None:
    client = api_as(world.prov_b_manager)
    watched = [world.prov_a, world.city_a1, world.city_a1_rep, world.city_a1_manager]
    before = state(*watched)
    counts = table_counts()
    attempts = [
        client.get(f"/org-units/{world.city_a1.pk}"),
        client.patch(f"/org-units/{world.city_a1.pk}", {"name": "夺"},
                     If_Match=etag(world.city_a1)),
        client.delete(f"/org-units/{world.city_a1.pk}", If_Match=etag(world.city_a1)),
        client.post(f"/org-units/{world.city_a1.pk}/move", {"parent_id": world.prov_b.pk},
                    If_Match=etag(world.city_a1)),
        client.post("/org-units", {"parent_id": world.prov_a.pk, "name": "渗透组"}),
        client.get(f"/users/{world.city_a1_rep.pk}"),
        client.patch(f"/users/{world.city_a1_rep.pk}", {"full_name": "改"},
                     If_Match=etag(world.city_a1_rep)),
        client.delete(f"/users/{world.city_a1_manager.pk}",
                      If_Match=etag(world.city_a1_manager)),
    ]
    for r in attempts:
        assert_error(r, 404, "not_found")
    assert state(*watched) == before
    assert table_counts() == counts
    denials = AuditEvent.objects.filter(actor=world.prov_b_manager, action="permission_denied")
    assert denials.filter(object_type="orgunit", object_id=str(world.city_a1.pk)).exists()


def test_city_manager_cannot_move_users_outside_their_area(world: World) -> None:
    client = api_as(world.city_a1_manager)
    before = state(world.city_a1_rep)
    r = client.patch(f"/users/{world.city_a1_rep.pk}", {"org_unit_id": world.prov_b.pk},
                     If_Match=etag(world.city_a1_rep))
    assert r.status in (404, 422), r
    assert state(world.city_a1_rep) == before
    # …nor give a role with rights they lack.
    r = client.patch(f"/users/{world.city_a1_rep.pk}",
                     {"role_ids": [world.role("tenant_admin").pk]},
                     If_Match=etag(world.city_a1_rep))
    assert_error(r, 403, "permission_denied")
    assert state(world.city_a1_rep) == before


def test_unit_with_active_users_cannot_be_deactivated(world: World) -> None:
    client = api_as(world.hq_admin)
    before = state(world.city_a1)
    r = client.delete(f"/org-units/{world.city_a1.pk}", If_Match=etag(world.city_a1))
    error = assert_error(r, 409, "conflict")
    # The message says what still lives there (users, sub-units, records and their numbers).
    assert error["fields"]["is_active"][0] in error["message"]
    assert state(world.city_a1) == before


# ---------------------------------------------------------------------------- writes


CORE_TAGS = {"auth", "org-units", "users", "roles", "permissions", "audit-events"}


def _spec_write_operations() -> set[tuple[str, str]]:
    """Core's write operations in the spec (other apps check their own)."""
    spec = Client().get(f"{API}/openapi.json").json()
    return {(method.upper(), path.removeprefix(API))
            for path, item in spec["paths"].items() for method, op in item.items()
            if method.lower() in {"post", "put", "patch", "delete"}
            and set(op.get("tags", [])) & CORE_TAGS}


def test_every_write_endpoint_records_an_audit_event(world: World) -> None:
    admin_token = token_for(world.hq_admin)
    admin = ApiClient(admin_token)
    covered: set[tuple[str, str]] = set()

    def write(method: str, template: str, path: str, action: str, body: Any = None,
              client: ApiClient | None = None, actor: User | None = None,
              if_match: str | None = None) -> ApiResponse:
        headers = {"If-Match": if_match} if if_match else None
        r = (client or admin).request(method, path, body if body is not None else (
            {} if method == "POST" else None), headers=headers)
        assert r.status in (200, 201, 204), (template, r)
        event = AuditEvent.objects.filter(action=action).order_by("-id").first()
        assert event is not None, (template, action)
        assert event.request_id == r.headers["X-Request-ID"], template
        if actor is not None:
            assert event.actor_id == actor.pk
        covered.add((method, template))
        return r

    unit = write("POST", "/org-units", "/org-units", "org_unit.create",
                 {"parent_id": world.hq.pk, "name": "华南大区", "kind": "other"},
                 actor=world.hq_admin).data
    u = f"/org-units/{unit['id']}"
    unit = write("PATCH", "/org-units/{unit_id}", u, "org_unit.update", {"code": "HN"},
                 if_match=f'"{unit["version"]}"').data
    unit = write("POST", "/org-units/{unit_id}/move", u + "/move", "org_unit.move",
                 {"parent_id": world.prov_a.pk}, if_match=f'"{unit["version"]}"').data
    write("DELETE", "/org-units/{unit_id}", u, "org_unit.update",
          if_match=f'"{unit["version"]}"')

    created = write("POST", "/users", "/users", "user.create",
                    {"email": "new@huaxia.test", "full_name": "新同事",
                     "org_unit_id": world.city_a1.pk,
                     "role_ids": [world.role("account_manager").pk]}).data
    assert created["initial_password"]
    p = f"/users/{created['id']}"
    created = write("PATCH", "/users/{user_id}", p, "user.update", {"phone": "13800000000"},
                    if_match=f'"{created["version"]}"').data
    created = write("POST", "/users/{user_id}/unlock", p + "/unlock", "user.unlock").data
    write("POST", "/users/{user_id}/reset-two-factor", p + "/reset-two-factor",
          "user.totp_reset")
    reset = write("POST", "/users/{user_id}/reset-password", p + "/reset-password",
                  "user.reset_password").data
    assert reset["password"]
    write("DELETE", "/users/{user_id}", p, "user.update", if_match=f'"{reset["version"]}"')

    role = write("POST", "/roles", "/roles", "role.create",
                 {"name": "质检员", "permissions": ["org.view"], "data_scope": "unit"}).data
    r = f"/roles/{role['id']}"
    role = write("PATCH", "/roles/{role_id}", r, "role.update",
                 {"permissions": ["org.view", "users.view"]},
                 if_match=f'"{role["version"]}"').data
    assert role["permissions"] == ["org.view", "users.view"]
    write("DELETE", "/roles/{role_id}", r, "role.delete", if_match=f'"{role["version"]}"')

    # A sign-up request creates nothing (its audit event is the confirmation's).
    assert ApiClient().post("/auth/signup", SIGNUP).status == 202
    covered.add(("POST", "/auth/signup"))
    pending = SignupRequest.objects.get(email=SIGNUP["email"])
    write("POST", "/auth/signup/confirm", "/auth/signup/confirm", "tenant.signup",
          {"token": signup_token(pending)}, client=ApiClient())
    token = write("POST", "/auth/token", "/auth/token", "api_token.create",
                  {"email": "analyst@huaxia.test", "password": PASSWORD},
                  client=ApiClient(), actor=world.analyst).data
    analyst = ApiClient(token["token"])
    me = analyst.get("/auth/me")
    write("PATCH", "/auth/me", "/auth/me", "user.profile_update", {"language": "en"},
          client=analyst, actor=world.analyst, if_match=me.headers["ETag"])
    write("DELETE", "/auth/tokens/{token_id}", f"/auth/tokens/{token['id']}",
          "api_token.revoke", client=analyst, actor=world.analyst, if_match='"1"')

    missing = _spec_write_operations() - covered
    assert not missing, f"write endpoints without an audit check here: {sorted(missing)}"


def test_user_create_with_password_returns_no_initial_password(world: World) -> None:
    r = api_as(world.hq_admin).post("/users", {
        "email": "pw@huaxia.test", "full_name": "自设密码", "org_unit_id": world.hq.pk,
        "role_ids": [world.role("analyst").pk], "password": PASSWORD, "phone": "13800138000"})
    assert r.status == 201 and r.data["initial_password"] is None
    assert r.headers["ETag"] == '"1"'
    assert ApiClient().post("/auth/token", {"email": "pw@huaxia.test",
                                            "password": PASSWORD}).status == 201


def test_profile_password_change(world: World) -> None:
    client = api_as(world.city_a1_rep)
    tag = client.get("/auth/me").headers["ETag"]
    wrong = client.patch(
        "/auth/me", {"current_password": "nope", "new_password": "Another-pass-2026"},
        If_Match=tag)
    assert "current_password" in assert_error(wrong, 422, "validation_error")["fields"]
    ok = client.patch("/auth/me", {"current_password": PASSWORD,
                                   "new_password": "Another-pass-2026"}, If_Match=tag)
    assert ok.status == 200 and ok.headers["ETag"] != tag
    # The new password revoked the token in use (issue 11, item 9): a new one goes on.
    assert ok.data["tokens_revoked"] == 1 and client.get("/auth/me").status == 401
    client = api_as(world.city_a1_rep)
    stale = client.patch("/auth/me", {"full_name": "李"}, If_Match=tag)
    assert_error(stale, 412, "precondition_failed")
    assert ApiClient().post("/auth/token", {"email": "rep_a1@huaxia.test",
                                            "password": "Another-pass-2026"}).status == 201


def test_roles_builtin_flag_and_permissions(world: World) -> None:
    client = api_as(world.hq_admin)
    builtin = client.get(f"/roles/{world.role('analyst').pk}")
    assert builtin.data["builtin"] is True and "org.view" in builtin.data["permissions"]
    with translation.override(world.hq_admin.language):  # the reader's language: zh-hans
        assert builtin.data["display_name"] == world.role("analyst").display_name
    assert "org.create" not in builtin.data["permissions"]
    assert builtin.headers["ETag"] == '"1"'
    refused = client.patch(f"/roles/{world.role('analyst').pk}", {"name": "X"}, If_Match='"1"')
    assert_error(refused, 409, "conflict")
    custom = client.post("/roles", {"name": "客服质检", "description": "d",
                                    "permissions": ["org.view"], "data_scope": "subtree"})
    assert custom.status == 201 and custom.data["builtin"] is False
    unknown = client.post("/roles", {"name": "坏", "permissions": ["nope.view"],
                                     "data_scope": "own"})
    assert "permissions" in assert_error(unknown, 422, "validation_error")["fields"]
    only_custom = client.get("/roles", builtin="false")
    assert ids(only_custom) == {custom.data["id"]}
    held = user_create(actor=world.hq_admin, email="h@huaxia.test", full_name="持有",
                       org_unit_id=world.hq.pk, role_ids=[custom.data["id"]])[0]
    assert held.pk
    in_use = client.delete(f"/roles/{custom.data['id']}", If_Match='"1"')
    assert_error(in_use, 409, "conflict")
    assert Role.objects.filter(pk=custom.data["id"]).exists()


def test_permissions_registry(world: World) -> None:
    r = api_as(world.city_a1_rep).get("/permissions")
    assert r.status == 200
    perms = {p["permission"]: p for p in r.data["items"]}
    assert perms["org.view"]["module"] == "org" and perms["org.view"]["action"] == "view"
    assert perms["users.reveal_pii"]["label"]
    assert r.data["count"] == len(perms)


# ---------------------------------------------------------------------------- If-Match


def test_stale_if_match_is_412_and_changes_nothing(world: World) -> None:
    client = api_as(world.hq_admin)
    tag = etag(world.city_a1)
    assert client.patch(f"/org-units/{world.city_a1.pk}", {"code": "GZ"}, If_Match=tag).status \
        == 200
    before = state(world.city_a1)
    for r in (
        client.patch(f"/org-units/{world.city_a1.pk}", {"name": "旧"}, If_Match=tag),
        client.post(f"/org-units/{world.city_a1.pk}/move", {"parent_id": world.prov_b.pk},
                    If_Match=tag),
        client.delete(f"/org-units/{world.team_a1.pk}", If_Match='"99"'),
    ):
        assert_error(r, 412, "precondition_failed")
    assert state(world.city_a1) == before
    user_tag = etag(world.city_a1_rep)
    client.patch(f"/users/{world.city_a1_rep.pk}", {"full_name": "李四"}, If_Match=user_tag)
    assert_error(client.patch(f"/users/{world.city_a1_rep.pk}", {"full_name": "王五"},
                              If_Match=user_tag), 412, "precondition_failed")
    assert fresh(world.city_a1_rep).full_name == "李四"


def test_missing_if_match_is_428_and_changes_nothing(world: World) -> None:
    client = api_as(world.hq_admin)
    before = state(world.city_a1, world.city_a1_rep, world.team_a1)
    for r in (
        client.patch(f"/org-units/{world.city_a1.pk}", {"name": "无"}),
        client.delete(f"/org-units/{world.team_a1.pk}"),
        client.post(f"/org-units/{world.city_a1.pk}/move", {"parent_id": world.prov_b.pk}),
        client.patch(f"/users/{world.city_a1_rep.pk}", {"full_name": "无"}),
        client.delete(f"/users/{world.city_a1_rep.pk}"),
        client.patch("/auth/me", {"full_name": "无"}),
    ):
        assert_error(r, 428, "precondition_required")
    assert state(world.city_a1, world.city_a1_rep, world.team_a1) == before


def test_retrieve_sends_etag_and_update_returns_new_one(world: World) -> None:
    client = api_as(world.hq_admin)
    got = client.get(f"/org-units/{world.city_b1.pk}")
    assert got.headers["ETag"] == f'"{got.data["version"]}"'
    moved = client.post(f"/org-units/{world.city_b1.pk}/move", {"parent_id": world.prov_a.pk},
                        If_Match=got.headers["ETag"])
    assert moved.status == 200, moved
    assert moved.headers["ETag"] == f'"{got.data["version"] + 1}"'
    assert moved.data["path"] == f"{world.prov_a.path}{world.city_b1.pk}/"
    # Weak tags and * are understood.
    weak = client.patch(f"/org-units/{world.city_b1.pk}", {"code": "HZ"},
                        If_Match=f'W/{moved.headers["ETag"]}')
    assert weak.status == 200
    assert client.patch(f"/org-units/{world.city_b1.pk}", {"code": "H"}, If_Match="*").status \
        == 200


# ---------------------------------------------------------------------------- idempotency


def test_idempotent_retry_of_org_unit_create(world: World) -> None:
    client = api_as(world.hq_admin)
    body = {"parent_id": world.hq.pk, "name": "西北大区", "kind": "other"}
    first = client.post("/org-units", body, Idempotency_Key="create-xb-1")
    retry = client.post("/org-units", body, Idempotency_Key="create-xb-1")
    assert first.status == retry.status == 201
    assert retry.data == first.data
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert OrgUnit.objects.filter(name="西北大区").count() == 1
    assert AuditEvent.objects.filter(action="org_unit.create",
                                     object_id=str(first.data["id"])).count() == 1

    # The same key with a different body is refused; nothing is created.
    other = client.post("/org-units", {**body, "name": "东北大区"},
                        Idempotency_Key="create-xb-1")
    assert_error(other, 422, "idempotency_key_reused")
    assert not OrgUnit.objects.filter(name="东北大区").exists()

    # Keys belong to their user: another user's same key is a new request.
    mine = api_as(world.prov_b_manager).post(
        "/org-units", {"parent_id": world.prov_b.pk, "name": "西北大区"},
        Idempotency_Key="create-xb-1")
    assert mine.status == 201 and mine.data["id"] != first.data["id"]


def test_idempotent_failures_are_not_stored(world: World) -> None:
    client = api_as(world.hq_admin)
    body = {"parent_id": world.hq.pk, "name": "广东省公司"}  # a sibling already has this name
    assert_error(client.post("/org-units", body, Idempotency_Key="k"), 409, "conflict")
    assert not IdempotencyKey.objects.filter(key="k").exists()
    fixed = client.post("/org-units", {**body, "name": "海南省公司"}, Idempotency_Key="k")
    assert fixed.status == 201


def test_idempotent_user_create_never_stores_the_password(world: World) -> None:
    client = api_as(world.hq_admin)
    body = {"email": "idem@huaxia.test", "full_name": "幂等", "org_unit_id": world.hq.pk,
            "role_ids": [world.role("analyst").pk]}
    first = client.post("/users", body, Idempotency_Key="u-1")
    assert first.status == 201 and first.data["initial_password"]
    stored = IdempotencyKey.objects.get(key="u-1")
    assert first.data["initial_password"] not in json.dumps(stored.response_body)
    retry = client.post("/users", body, Idempotency_Key="u-1")
    assert retry.status == 201 and retry.data["id"] == first.data["id"]
    assert retry.data["initial_password"] is None
    assert User.objects.filter(email="idem@huaxia.test").count() == 1


# ---------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/org-units", {"parent_id": "HQ", "name": "X", "version": 3}, "version"),
        ("POST", "/users", {"email": "a@b.test", "full_name": "A", "org_unit_id": 1,
                            "role_ids": [], "is_admin": True}, "is_admin"),
        ("POST", "/roles", {"name": "R", "permissions": [], "data_scope": "own",
                            "builtin_key": "tenant_admin"}, "builtin_key"),
        ("PATCH", "/auth/me", {"email": "me@evil.test"}, "email"),
        ("POST", "/auth/token", {"email": "a@b.test", "password": "x", "scope": "all"},
         "scope"),
    ],
)
def test_unknown_body_field_is_422(world: World, method: str, path: str, body: dict,
                                   field: str) -> None:
    client = api_as(world.hq_admin)
    counts = table_counts()
    r = client.request(method, path, body, headers={"If-Match": "*"})
    error = assert_error(r, 422, "validation_error")
    assert field in error["fields"], error
    assert table_counts() == counts


def test_unknown_field_on_patch_is_422_and_changes_nothing(world: World) -> None:
    before = state(world.city_a1)
    r = api_as(world.hq_admin).patch(f"/org-units/{world.city_a1.pk}",
                                     {"name": "新", "path": "/1/"}, If_Match=etag(world.city_a1))
    assert "path" in assert_error(r, 422, "validation_error")["fields"]
    assert state(world.city_a1) == before


def test_null_on_non_nullable_patch_field_is_422(world: World) -> None:
    before = state(world.city_a1_rep)
    r = api_as(world.hq_admin).patch(f"/users/{world.city_a1_rep.pk}", {"is_active": None},
                                     If_Match=etag(world.city_a1_rep))
    assert "is_active" in assert_error(r, 422, "validation_error")["fields"]
    assert state(world.city_a1_rep) == before


# ---------------------------------------------------------------------------- query counts


def _queries(call: Callable[[], ApiResponse]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert call().status == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/org-units", "/users", "/roles", "/audit-events",
                                  "/auth/tokens", "/permissions"])
def test_list_query_count_does_not_grow_with_rows(world: World, path: str,
                                                  django_assert_max_num_queries: Any) -> None:
    client = api_as(world.hq_admin)
    client.get(path)  # warm the token's last_used_at write
    small = _queries(lambda: client.get(path, limit=500))
    for i in range(12):
        unit = org_unit_create(actor=world.hq_admin, parent_id=world.prov_a.pk,
                               name=f"团队{i}", kind="team")
        user_create(actor=world.hq_admin, email=f"bulk{i}@huaxia.test",
                    full_name=f"批量{i}", org_unit_id=unit.pk,
                    role_ids=[world.role("account_manager").pk,
                              world.role("analyst").pk])
        role_create(actor=world.hq_admin, name=f"角色{i}", permissions=["org.view"],
                    data_scope="unit")
        api_token_create(actor=world.hq_admin, name=f"t{i}")
    with django_assert_max_num_queries(8):
        large = _queries(lambda: client.get(path, limit=500))
    assert large == small


@pytest.mark.parametrize("kind", ["org-units", "users", "roles", "audit-events"])
def test_retrieve_query_count(world: World, kind: str,
                              django_assert_max_num_queries: Any) -> None:
    obj: Any = {
        "org-units": world.city_a1, "users": world.city_a1_rep,
        "roles": world.role("city_manager"),
        "audit-events": AuditEvent.objects.filter(tenant=world.tenant).first(),
    }[kind]
    client = api_as(world.hq_admin)
    client.get("/auth/me")
    with django_assert_max_num_queries(7):
        assert client.get(f"/{kind}/{obj.pk}").status == 200
