"""The API conventions (architecture.md) hold on every endpoint: error format, auth,
pagination, If-Match, Idempotency-Key, strict input, and docs with no external assets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, RequestFactory

from kehu.core import exceptions, selectors
from kehu.core.http import if_match
from kehu.core.models import IdempotencyKey, OrgUnit
from kehu.core.services.profile import profile_update
from kehu.core.services.users import user_deactivate, user_update
from kehu.core.testing import PASSWORD, World, fresh
from kehu.core.tests.test_api import API, ApiClient, api_as, assert_error, etag
from kehu.core.tests.test_cross_tenant import (
    BODIES,
    PATH_OBJECTS,
    Fixture,
    load_spec,
    operations,
    path_params,
    path_url,
    sample_body,
)
from kehu.notifications.models import ReminderSettings

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------- error format


def test_unauthenticated_is_401_in_error_format(db: Any) -> None:
    r = ApiClient().get("/users")
    assert_error(r, 401, "not_authenticated")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(ApiClient("kehu_deadbeef_nope").get("/users"), 401, "invalid_token")
    assert_error(ApiClient("not-a-kehu-token").get("/users"), 401, "invalid_token")


def test_unknown_path_and_wrong_method_use_error_format(world: World) -> None:
    client = api_as(world.hq_admin)
    assert_error(client.get("/no-such-thing"), 404, "not_found")
    not_an_id = assert_error(client.get("/org-units/abc"), 422, "validation_error")
    assert set(not_an_id["fields"]) == {"unit_id"}
    assert_error(client.get(API + "/"), 404, "not_found")
    r = client.request("PUT", "/org-units", {})
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]


def test_missing_object_is_404(world: World) -> None:
    client = api_as(world.hq_admin)
    for path in ("/org-units/999999", "/users/999999", "/roles/999999",
                 "/audit-events/999999"):
        assert_error(client.get(path), 404, "not_found")


def test_validation_errors_name_the_field(world: World) -> None:
    client = api_as(world.hq_admin)
    error = assert_error(client.get("/org-units", limit=0), 422, "validation_error")
    assert set(error["fields"]) == {"limit"}
    error = assert_error(client.get("/users", org_unit="abc"), 422, "validation_error")
    assert set(error["fields"]) == {"org_unit"}
    error = assert_error(client.post("/org-units", {"name": "X"}), 422, "validation_error")
    assert set(error["fields"]) == {"parent_id"}
    error = assert_error(client.post("/org-units", {"parent_id": 1, "name": "X",
                                                    "kind": "planet"}), 422,
                         "validation_error")
    assert set(error["fields"]) == {"kind"}
    error = assert_error(client.post("/org-units", {"parent_id": 1, "name": "X" * 101}), 422,
                         "validation_error")
    assert set(error["fields"]) == {"name"}
    huge = assert_error(client.get(f"/org-units/{2**70}"), 422, "validation_error")
    assert set(huge["fields"]) == {"unit_id"}


def test_nul_characters_and_extreme_numbers_are_422_not_500(world: World) -> None:
    client = api_as(world.hq_admin)
    r = client.post("/org-units", {"parent_id": world.hq.pk, "name": "a\u0000b"})
    assert set(assert_error(r, 422, "validation_error")["fields"]) == {"name"}
    r = client.get("/users", search="a\x00b")
    assert set(assert_error(r, 422, "validation_error")["fields"]) == {"search"}
    r = client.post("/org-units", {"parent_id": 2**64, "name": "x"})
    assert set(assert_error(r, 422, "validation_error")["fields"]) == {"parent_id"}
    assert client.get("/org-units", offset=2**63 - 1 - 500).data["items"] == []


def test_datetimes_without_offset_are_read_in_server_time(world: World) -> None:
    r = ApiClient().post("/auth/token", {"email": "analyst@huaxia.test",
                                         "password": PASSWORD,
                                         "expires_at": "2099-01-01T00:00:00"})
    assert r.status == 201 and r.data["expires_at"].startswith("2099-01-01T00:00:00")
    events = api_as(world.hq_admin).get("/audit-events", since="2000-01-01T00:00:00",
                                        until="2099-01-01")
    assert events.status == 200 and events.data["count"] > 0


def test_unreadable_body_is_400(world: World) -> None:
    r = api_as(world.hq_admin).request("POST", "/org-units", raw_body="{not json")
    assert_error(r, 400, "bad_request")


def _all_subclasses(cls: type[Any]) -> list[type[Any]]:
    result: list[type[Any]] = []
    sub: type[Any]
    for sub in cls.__subclasses__():
        result += [sub, *_all_subclasses(sub)]
    return result


@pytest.mark.parametrize(
    "error_class", [exceptions.KehuError, *_all_subclasses(exceptions.KehuError)],
    ids=lambda c: c.__name__,
)
def test_every_kehu_error_maps_to_its_status_and_code(
    world: World, monkeypatch: pytest.MonkeyPatch, error_class: type[exceptions.KehuError]
) -> None:
    client = api_as(world.hq_admin)

    def boom(**kwargs: Any) -> Any:
        raise error_class(fields={"name": ["bad"]})

    monkeypatch.setattr(selectors, "role_list", boom)
    error = assert_error(client.get("/roles"), error_class.status, error_class.code)
    assert error["fields"] == {"name": ["bad"]}


def test_uncaught_exception_is_500_in_error_format(world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The exception is also signalled (for error reporters), so the test client must not
    # re-raise it here.
    client = ApiClient(api_as(world.hq_admin).token,
                       client=Client(raise_request_exception=False))

    def boom(**kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "role_list", boom)
    r = client.get("/roles")
    error = assert_error(r, 500, "server_error")
    assert "secret" not in error["message"]


def test_conflict_message_names_what_blocks(world: World) -> None:
    r = api_as(world.hq_admin).post("/org-units", {"parent_id": world.hq.pk,
                                                   "name": "广东省公司"})
    error = assert_error(r, 409, "conflict")
    assert error["fields"]["name"] == [error["message"]]


def test_every_operation_documents_the_error_format() -> None:
    spec = load_spec()
    for method, path, operation in operations(spec):
        statuses = operation["responses"]
        assert "422" in statuses, f"{method} {path}"
        schema = statuses["422"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorOut"), f"{method} {path}"


def test_messages_are_translated_chinese_by_default(world: World) -> None:
    from django.utils import translation

    from kehu.core.http import NotAuthenticated

    anonymous = Client().get(f"{API}/users").json()["error"]["message"]
    with translation.override("zh-hans"):
        assert anonymous == str(NotAuthenticated.default_message)
    english = Client().get(f"{API}/users", HTTP_ACCEPT_LANGUAGE="en").json()
    with translation.override("en"):
        assert english["error"]["message"] == str(NotAuthenticated.default_message)
    # A token user's saved language wins over the client's Accept-Language.
    profile_update(actor=world.analyst, language="en")
    as_english_user = ApiClient(api_as(world.analyst).token, language="zh-hans")
    error = assert_error(as_english_user.post("/org-units", {}), 422, "validation_error")
    assert error["fields"]["parent_id"] == ["This field is required."]
    as_chinese_user = ApiClient(api_as(world.hq_admin).token, language="en")
    error = assert_error(as_chinese_user.post("/org-units", {}), 422, "validation_error")
    with translation.override("zh-hans"):
        assert error["fields"]["parent_id"] == [translation.gettext("This field is required.")]


# ---------------------------------------------------------------------------- strict input


def test_every_input_body_rejects_unknown_fields() -> None:
    spec = load_spec()
    schemas = spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue  # no body, or a file upload (multipart form fields are declared)
        ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert schemas[ref].get("additionalProperties") is False, (
            f"{method} {path}: {ref} must set model_config = ConfigDict(extra='forbid') "
            "(subclass kehu.core.http.InputSchema)"
        )


def test_every_operation_refuses_unknown_query_parameters(world: World) -> None:
    """Walks the spec: a parameter an operation does not declare is a 422 naming the ones
    it accepts (an ignored, misspelt filter would silently return everything)."""
    fix = Fixture(world)
    spec = load_spec()
    client = api_as(world.hq_admin)
    lists = 0
    for method, path, operation in operations(spec):
        if method != "GET":
            continue
        url = path.format(**{n: PATH_OBJECTS[n](fix).pk for n in path_params(operation)})
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        # A declared parameter beside it is fine; only the unknown one is named.
        query = {"colour": "blue", **({"limit": 1} if "limit" in declared else {})}
        r = client.request("GET", url, query=query)
        error = assert_error(r, 422, "validation_error")
        assert set(error["fields"]) == {"colour"}, f"{method} {path}: {error}"
        assert all(name in error["message"] for name in declared), f"{path}: {error}"
        lists += "limit" in declared
    assert lists >= 15


def test_unknown_query_parameter_message_and_order(world: World) -> None:
    client = api_as(world.hq_admin)  # a Chinese-speaking user
    error = assert_error(client.get("/customers", qq="白云"), 422, "validation_error")
    assert error["message"].startswith("未知的查询参数：qq。此操作接受：q, search, limit")
    assert error["fields"] == {"qq": [error["message"]]}
    assert "不接受查询参数" in assert_error(client.get("/customers/quality", q="x"), 422,
                                      "validation_error")["message"]
    profile_update(actor=world.analyst, language="en")
    english = api_as(world.analyst).get("/customers/quality", q="x", b="y")
    assert assert_error(english, 422, "validation_error")["message"] == (
        "Unknown query parameter: b, q. This operation takes no query parameters.")
    # Without credentials the caller learns nothing about the operation: 401 first.
    assert_error(ApiClient().get("/customers", qq="白云"), 401, "not_authenticated")
    # Writes too: nothing is created.
    r = client.request("POST", "/org-units", {"parent_id": world.hq.pk, "name": "查询"},
                       query={"dry_run": "1"})
    assert set(assert_error(r, 422, "validation_error")["fields"]) == {"dry_run"}
    assert not OrgUnit.objects.filter(name="查询").exists()


def test_every_searching_list_takes_q_and_search(world: World) -> None:
    """Walks the spec: a list that searches declares ``q`` and its alias ``search``; both
    filter the same, and different values in the two are refused."""
    Fixture(world)
    spec = load_spec()
    client = api_as(world.hq_admin)
    searching = []
    for method, path, operation in operations(spec):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if method != "GET" or not declared & {"q", "search"}:
            continue
        assert {"q", "search"} <= declared, f"{path} declares {sorted(declared)}"
        searching.append(path)
        for term in ("广州", "白云", "huaxia", "无此记录zzz"):
            by_q, by_search = client.get(path, q=term), client.get(path, search=term)
            assert by_q.status == 200, f"{path}: {by_q}"
            assert by_q.data == by_search.data == client.get(path, q=term, search=term).data
        if "offset" in declared:  # a page (not /search's groups of hits)
            assert client.get(path, q="无此记录zzz").data["count"] == 0, path
        r = client.get(path, q="广州", search="白云")
        assert set(assert_error(r, 422, "validation_error")["fields"]) == {"search"}, path
    assert {"/org-units", "/users", "/customers", "/contacts", "/interactions",
            "/search"} <= set(searching)
    # The issue's own case: q on the customer list filters (it used to be ignored on
    # lists that called it search).
    assert client.get("/users", q="无此记录zzz").data["count"] == 0
    assert client.get("/users").data["count"] > 0


# ---------------------------------------------------------------------------- pagination


def test_list_shape_and_paging(world: World) -> None:
    client = api_as(world.hq_admin)
    r = client.get("/org-units")
    assert set(r.data) == {"count", "count_capped", "items", "limit", "offset"}
    assert (r.data["limit"], r.data["offset"], r.data["count"]) == (50, 0, 6)
    page = client.get("/org-units", limit=2, offset=2)
    assert page.data["count"] == 6 and len(page.data["items"]) == 2
    assert [u["id"] for u in page.data["items"]] == [u["id"] for u in r.data["items"][2:4]]
    assert client.get("/org-units", offset=100).data["items"] == []
    assert client.get("/org-units", limit=500).status == 200
    assert_error(client.get("/org-units", limit=501), 422, "validation_error")
    assert_error(client.get("/org-units", offset=-1), 422, "validation_error")
    assert_error(client.get("/org-units", ordering="password"), 422, "validation_error")


def test_every_list_declares_limit_and_offset() -> None:
    spec = load_spec()
    for method, path, operation in operations(spec):
        response = operation["responses"].get("200", {})
        ref = response.get("content", {}).get("application/json", {}).get("schema", {})
        if not ref.get("$ref", "").rsplit("/", 1)[-1].startswith("Page"):
            continue
        params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "offset"} <= set(params), f"{method} {path}"
        assert params["limit"]["schema"]["maximum"] == 500
        assert params["limit"]["schema"]["default"] == 50 or path == "/permissions"


# ---------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(
    ("header", "expected"),
    [('"3"', 3), ('W/"3"', 3), ("3", 3), ("*", None), (' "12" ', 12)],
)
def test_if_match_parsing(header: str, expected: int | None) -> None:
    request = RequestFactory().patch("/", HTTP_IF_MATCH=header)
    assert if_match(request) == expected


@pytest.mark.parametrize("header", ['"abc"', '"1", "2"', '"99999999999999999999"', "W/x"])
def test_if_match_that_matches_no_version_is_412(header: str) -> None:
    with pytest.raises(exceptions.StaleVersion):
        if_match(RequestFactory().patch("/", HTTP_IF_MATCH=header))


def test_if_match_absent_is_428() -> None:
    with pytest.raises(exceptions.PreconditionRequired):
        if_match(RequestFactory().patch("/"))


# Records without versions: If-Match is required but only `*` makes sense (the spec says so).
IF_MATCH_UNVERSIONED = {("DELETE", "/calendar/feed")}


def test_every_update_and_delete_requires_if_match(world: World) -> None:
    """Walks the spec: a new PUT/PATCH/DELETE endpoint must answer 428 without If-Match
    and 412 with a stale one, changing nothing."""
    fix = Fixture(world)
    spec = load_spec()
    admin, rep = api_as(world.hq_admin), api_as(world.city_a1_rep)
    checked = []
    for method, path, operation in operations(spec):
        if method not in {"PUT", "PATCH", "DELETE"}:
            continue
        names = path_params(operation)
        objs = {n: PATH_OBJECTS[n](fix) for n in names}
        if "relationship_id" in objs or "external_id_pk" in objs:  # both hang off book.hq
            objs["customer_id"] = fix.book.hq
        if "/personal-data/" in path and "customer_id" in objs:  # individuals only
            objs["customer_id"] = fix.book.person
        url = path_url(path, objs)
        factory = BODIES.get((method, path))
        body = factory(fix) if factory else sample_body(spec, operation, fix)
        before = [type(o)._default_manager.filter(pk=o.pk).values().first()
                  for o in objs.values()]
        # A plan is its owner's.
        client = rep if path.startswith("/workplans") else admin
        r = client.request(method, url, body)
        assert_error(r, 428, "precondition_required")
        if (method, path) not in IF_MATCH_UNVERSIONED:
            r = client.request(method, url, body, headers={"If-Match": '"999999"'})
            assert r.status == 412, f"{method} {path}: {r}"
            assert_error(r, 412, "precondition_failed")
        after = [type(o)._default_manager.filter(pk=o.pk).values().first()
                 for o in objs.values()]
        assert before == after, f"{method} {path} changed without a current If-Match"
        checked.append((method, path))
    assert ("PUT", "/notifications/settings") in checked
    assert not ReminderSettings.objects.filter(user=world.hq_admin).exists()
    assert len(checked) >= 6


# State-changing operations on a record that do not take If-Match, as docs/api.md lists
# them ("Which actions need If-Match"): creates of a sub-resource, reveals (they change no
# record), an import's steps (the job's own state machine), marking a notice read, and an
# administrator's unlock / password / two-factor reset (they change credentials, not the record).
IF_MATCH_EXEMPT = {
    ("POST", "/users/{user_id}/unlock"), ("POST", "/users/{user_id}/reset-password"),
    ("POST", "/users/{user_id}/reset-two-factor"),
    # A personal-data export reads; it changes no record (like a reveal).
    ("POST", "/customers/{customer_id}/personal-data/export"),
    ("POST", "/contacts/{contact_id}/personal-data/export"),
    ("POST", "/customers/{customer_id}/reveal"), ("POST", "/contacts/{contact_id}/reveal"),
    ("POST", "/customers/{customer_id}/relationships"),
    ("POST", "/customers/{customer_id}/external-ids"),
    ("POST", "/contacts/{contact_id}/links"), ("POST", "/tasks/{task_id}/comments"),
    ("POST", "/workplans/{plan_id}/comments"),
    ("POST", "/imports/{job_id}/mapping"), ("POST", "/imports/{job_id}/duplicates"),
    ("POST", "/imports/{job_id}/check"), ("POST", "/imports/{job_id}/run"),
    ("POST", "/notifications/{notification_id}/read"),
}


def test_every_state_changing_action_requires_a_current_if_match(world: World) -> None:
    """Walks the spec: every POST/PUT/PATCH/DELETE on a record (a path with an id) answers
    428 without If-Match and 412 with a stale one, and changes nothing; the exemptions are
    the ones docs/api.md lists."""
    fix = Fixture(world)
    spec = load_spec()
    admin, rep = api_as(world.hq_admin), api_as(world.city_a1_rep)
    checked = []
    for method, path, operation in operations(spec):
        names = path_params(operation)
        if method not in {"POST", "PUT", "PATCH", "DELETE"} or not names \
                or (method, path) in IF_MATCH_EXEMPT:
            continue
        objs = {n: PATH_OBJECTS[n](fix) for n in names}
        if "relationship_id" in objs or "external_id_pk" in objs:  # both hang off book.hq
            objs["customer_id"] = fix.book.hq
        if "/personal-data/" in path and "customer_id" in objs:  # individuals only
            objs["customer_id"] = fix.book.person
        url = path_url(path, objs)
        factory = BODIES.get((method, path))
        body = factory(fix) if factory else sample_body(spec, operation, fix)
        if isinstance(body, dict) and "owner_id" in body:  # BODIES name another tenant's
            body = {**body, "owner_id": world.city_a1_manager.pk}
        before = [type(o)._default_manager.filter(pk=o.pk).values().first()
                  for o in objs.values()]
        # A plan is its owner's; its manager reviews it.
        client = rep if path.startswith("/workplans") and not path.endswith("review") else admin
        assert_error(client.request(method, url, body), 428, "precondition_required")
        declared = [p["name"] for p in operation.get("parameters", [])
                    if p.get("in") == "header"]
        assert "If-Match" in declared, f"{method} {path} does not document If-Match"
        r = client.request(method, url, body, headers={"If-Match": '"999999"'})
        assert r.status == 412, f"{method} {path}: {r.status} {r.data}"
        assert_error(r, 412, "precondition_failed")
        after = [type(o)._default_manager.filter(pk=o.pk).values().first()
                 for o in objs.values()]
        assert before == after, f"{method} {path} changed without a current If-Match"
        checked.append((method, path))
    assert ("POST", "/customers/{customer_id}/status") in checked
    assert ("POST", "/customers/{customer_id}/transfer") in checked
    assert {("POST", "/followups/{followup_id}/complete"),
            ("POST", "/followups/{followup_id}/cancel"), ("POST", "/workplans/{plan_id}/submit"),
            ("POST", "/workplans/{plan_id}/review")} <= set(checked)
    assert len(checked) >= 20


# ---------------------------------------------------------------------------- idempotency


def test_idempotency_key_too_long_is_422(world: World) -> None:
    r = api_as(world.hq_admin).post("/org-units", {"parent_id": world.hq.pk, "name": "长键"},
                                    Idempotency_Key="k" * 201)
    assert "Idempotency-Key" in assert_error(r, 422, "validation_error")["fields"]
    assert not OrgUnit.objects.filter(name="长键").exists()


def test_idempotency_key_is_per_path(world: World) -> None:
    client = api_as(world.hq_admin)
    unit = client.post("/org-units", {"parent_id": world.hq.pk, "name": "甲"},
                       Idempotency_Key="same")
    role = client.post("/roles", {"name": "甲", "permissions": [], "data_scope": "own"},
                       Idempotency_Key="same")
    assert unit.status == role.status == 201
    assert IdempotencyKey.objects.filter(key="same").count() == 2


def test_idempotency_race_loser_is_rolled_back(world: World,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests with one key both pass the lookup: the second's claim of the key fails,
    so it never runs the create and answers with the first's response."""
    from kehu.core.http import idempotency

    client = api_as(world.hq_admin)
    first = client.post("/org-units", {"parent_id": world.hq.pk, "name": "先到"},
                        Idempotency_Key="race")
    assert first.status == 201
    real_stored = idempotency._stored
    calls = {"n": 0}

    def racing_lookup(lookup: dict[str, Any]) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real_stored(lookup)

    monkeypatch.setattr(idempotency, "_stored", racing_lookup)
    same = client.post("/org-units", {"parent_id": world.hq.pk, "name": "先到"},
                       Idempotency_Key="race")
    # The key is claimed before the create runs: the loser replays the winner's answer
    # (it used to run the create and get 409 for the name the winner had just taken).
    assert same.status == 201 and same.data == first.data
    assert same.headers["Idempotent-Replayed"] == "true"
    calls["n"] = 0
    other = client.post("/org-units", {"parent_id": world.hq.pk, "name": "后到"},
                        Idempotency_Key="race")
    assert_error(other, 422, "idempotency_key_reused")
    assert not OrgUnit.objects.filter(name="后到").exists()
    calls["n"] = 0
    # Same body, other parent spelled the same way: replayed from the winner.
    monkeypatch.setattr(idempotency, "_request_hash", lambda request: IdempotencyKey.objects.get(
        key="race").request_hash)
    replay = client.post("/org-units", {"parent_id": world.hq.pk, "name": "第三"},
                         Idempotency_Key="race")
    assert replay.status == 201 and replay.data == first.data
    assert not OrgUnit.objects.filter(name="第三").exists()


def test_expired_idempotency_key_is_forgotten(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    client = api_as(world.hq_admin)
    body = {"parent_id": world.hq.pk, "name": "旧键"}
    first = client.post("/org-units", body, Idempotency_Key="old")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(days=2))
    again = client.post("/org-units", body, Idempotency_Key="old")
    # The first unit exists, so the new attempt is a real (refused) create, not a replay.
    assert first.status == 201
    assert_error(again, 409, "conflict")


# ---------------------------------------------------------------------------- session auth


def test_session_auth_with_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.hq_admin)
    assert client.get(f"{API}/auth/me").json()["id"] == world.hq_admin.pk
    denied = client.post(f"{API}/org-units", {"parent_id": world.hq.pk, "name": "会话组"},
                         content_type="application/json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "csrf_failed"
    assert not OrgUnit.objects.filter(name="会话组").exists()

    page = client.get(f"{API}/docs")  # any page that sets the CSRF cookie
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None
    assert page.status_code == 200 and token
    ok = client.post(f"{API}/org-units", {"parent_id": world.hq.pk, "name": "会话组"},
                     content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 201, ok.content


def test_session_of_deactivated_user_is_401(world: World) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    assert client.get(f"{API}/auth/me").status_code == 200
    user_deactivate(actor=world.hq_admin, user_id=world.city_a1_rep.pk)
    r = client.get(f"{API}/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_role_change_applies_to_session_on_next_request(world: World) -> None:
    client = Client()
    client.force_login(world.prov_a_manager)
    assert client.get(f"{API}/org-units").json()["count"] == 3
    user_update(actor=world.hq_admin, user_id=world.prov_a_manager.pk,
                role_ids=[world.role("account_manager").pk])
    assert client.get(f"{API}/org-units").json()["count"] == 1
    assert fresh(world.prov_a_manager).roles.count() == 1


def test_token_requests_carry_request_id_into_audit(world: World) -> None:
    client = api_as(world.hq_admin)
    r = client.request("PATCH", f"/org-units/{world.team_a1.pk}", {"code": "T1"},
                       headers={"If-Match": etag(world.team_a1), "X-Request-ID": "req-42"})
    assert r.status == 200 and r.headers["X-Request-ID"] == "req-42"
    from kehu.core.models import AuditEvent

    event = AuditEvent.objects.get(request_id="req-42")
    assert event.actor_id == world.hq_admin.pk and event.action == "org_unit.update"


# ---------------------------------------------------------------------------- docs


def test_docs_load_with_no_external_assets(db: Any) -> None:
    client = Client()
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    assert urls, "the docs page references no assets?"
    for url in urls:
        assert url.startswith("/static/"), f"external or unexpected asset: {url}"
        assert client.get(url).status_code == 200, url
    assert "//cdn" not in html and "http://" not in html and "https://" not in html
    assert f"{API}/openapi.json" in html


def test_openapi_spec(db: Any) -> None:
    spec = load_spec()
    assert spec["info"]["title"] == "Kehu API"
    paths = set(spec["paths"])
    for expected in ("/auth/signup", "/auth/token", "/auth/tokens", "/auth/me", "/org-units",
                     "/org-units/{unit_id}", "/org-units/{unit_id}/move", "/users",
                     "/users/{user_id}", "/users/{user_id}/unlock",
                     "/users/{user_id}/reset-password", "/roles", "/roles/{role_id}",
                     "/permissions", "/audit-events", "/audit-events/{event_id}"):
        assert API + expected in paths, expected
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}
    signup = spec["paths"][f"{API}/auth/signup"]["post"]
    assert not signup.get("security")
    audit = spec["paths"][f"{API}/audit-events/{{event_id}}"]
    assert set(audit) == {"get"}


def test_headers_of_the_conventions_are_documented() -> None:
    spec = load_spec()
    for method, path, operation in operations(spec):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if method in {"PATCH", "DELETE"} or path.endswith("/move"):
            assert "If-Match" in headers, f"{method} {path}: decorate the view @needs_if_match"
        if method == "POST":
            assert "Idempotency-Key" in headers, f"{method} {path}: decorate it @idempotent()"


def test_openapi_operation_ids_are_unique() -> None:
    spec = load_spec()
    op_ids = [op["operationId"] for _m, _p, op in operations(spec)]
    assert len(op_ids) == len(set(op_ids))


def test_schemas_that_share_a_name_share_a_shape() -> None:
    # The spec names each component after its class: two different schemas with one name
    # leave one operation documented with the other's shape (found by the API fuzzer:
    # POST /imports answered a job but was documented as the interaction import's result).
    from ninja import Schema

    import kehu.api  # noqa: F401  (loads every app's schemas)

    def subclasses(cls: type[Any]) -> list[type[Any]]:
        found: list[type[Any]] = []
        sub: type[Any]
        for sub in cls.__subclasses__():
            found += [sub, *subclasses(sub)]
        return found

    shapes: dict[str, dict[str, Any]] = {}
    for model in subclasses(Schema):
        if not model.__module__.startswith("kehu.") or ".tests." in model.__module__:
            continue
        shape = model.model_json_schema()
        first = shapes.setdefault(model.__name__, shape)
        assert first == shape, f"two different schemas are named {model.__name__}"
