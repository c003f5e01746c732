"""Two-factor sign-in: a QR code drawn here, one-time recovery codes, an administrator's
reset (issue 19, item 3)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
import segno
from django.test import Client
from django.urls import reverse

from kehu.core.models import AuditEvent, User
from kehu.core.services.profile import totp_enable, totp_setup
from kehu.core.testing import PASSWORD, World, fresh, totp_code
from kehu.core.tests.test_api import ApiClient, api_as, assert_error

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def enrol(user: User) -> tuple[str, list[str]]:
    secret = totp_setup(actor=user)
    _user, codes = totp_enable(actor=user, code=totp_code(secret))
    return secret, codes


def password_step(user: User) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200 and 'name="totp_code"' in response.content.decode()
    return client


def test_enrolment_shows_a_qr_code_drawn_here_beside_the_secret(world: World) -> None:
    user = world.city_a1_rep
    client = client_for(user)
    assert client.post(reverse("totp_setup")).status_code == 302
    page = client.get(reverse("profile")).content.decode()
    secret = fresh(user).totp_secret
    assert f'data-testid="totp-secret">{secret}<' in page
    src = re.search(r'<img class="totp-qr" src="([^"]+)"', page)
    assert src, "no QR code on the enrolment page"
    uri = src.group(1).replace("&amp;", "&")
    # An inline SVG image (allowed by img-src data:), not a request to any service.
    assert uri.startswith("data:image/svg+xml")
    svg = unquote(uri.split(",", 1)[1])
    assert svg.startswith("<svg") and "<path" in svg and "style=" not in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    # It encodes the otpauth URI shown under it.
    shown = re.search(r'data-testid="totp-uri">([^<]+)<', page)
    assert shown
    otpauth = shown.group(1).replace("&amp;", "&")
    assert otpauth.startswith("otpauth://totp/") and f"secret={secret}" in otpauth
    assert uri == segno.make(otpauth, error="m").svg_data_uri(scale=5, border=2, dark="#000",
                                                              light="#fff")


def test_turning_on_shows_ten_recovery_codes_once_and_keeps_only_hashes(world: World) -> None:
    user = world.city_a1_rep
    client = client_for(user)
    client.post(reverse("totp_setup"))
    secret = fresh(user).totp_secret
    response = client.post(reverse("totp_enable"), {"code": totp_code(secret)})
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    codes = CODE.findall(response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = fresh(user).totp_recovery_codes
    assert len(stored) == 10
    flat = " ".join(stored)
    assert not any(code.replace("-", "") in flat or code in flat for code in codes)
    again = client.get(reverse("profile")).content.decode()
    assert CODE.findall(again) == []
    assert re.search(r'data-testid="recovery-codes-left">[^<]*\b10\b', again)


def test_a_recovery_code_signs_in_once(world: World) -> None:
    user = world.city_a1_rep
    _secret, codes = enrol(user)
    client = password_step(user)
    # Typed loosely (upper case, spaces): still the code.
    response = client.post(reverse("login"), {"totp_code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert len(fresh(user).totp_recovery_codes) == 9
    event = AuditEvent.objects.get(action="auth.recovery_code_used")
    assert event.actor_id == user.pk and event.changes == {"recovery_codes_left": 9}

    again = password_step(user)
    response = again.post(reverse("login"), {"totp_code": codes[0]})
    assert response.status_code == 401
    assert "_auth_user_id" not in again.session
    assert fresh(user).failed_login_count == 1
    assert len(fresh(user).totp_recovery_codes) == 9
    assert again.post(reverse("login"), {"totp_code": codes[1]}).status_code == 302


def test_the_api_takes_a_recovery_code_in_place_of_the_app_code(world: World) -> None:
    user = world.city_a1_rep
    _secret, codes = enrol(user)
    body = {"email": user.email, "password": PASSWORD, "totp_code": codes[3]}
    assert ApiClient().post("/auth/token", body).status == 201
    assert_error(ApiClient().post("/auth/token", body), 401, "totp_required")
    assert len(fresh(user).totp_recovery_codes) == 9


def test_new_recovery_codes_replace_the_old_ones(world: World) -> None:
    user = world.city_a1_rep
    _secret, old = enrol(user)
    client = client_for(user)
    before = fresh(user).totp_recovery_codes
    wrong = client.post(reverse("totp_recovery_codes"), {"recovery-password": "not it"})
    assert wrong.status_code == 422
    assert "密码错误。" in wrong.content.decode()  # next to the field, in the user's language
    assert fresh(user).totp_recovery_codes == before

    response = client.post(reverse("totp_recovery_codes"), {"recovery-password": PASSWORD})
    assert response.status_code == 200
    new = CODE.findall(response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditEvent.objects.filter(action="user.totp_recovery_codes", actor=user).exists()
    refused = password_step(user).post(reverse("login"), {"totp_code": old[0]})
    assert refused.status_code == 401
    assert password_step(user).post(reverse("login"), {"totp_code": new[0]}).status_code == 302


def test_turning_off_deletes_the_recovery_codes(world: World) -> None:
    user = world.city_a1_rep
    enrol(user)
    response = client_for(user).post(reverse("totp_disable"), {"password": PASSWORD})
    assert response.status_code == 302
    user = fresh(user)
    assert not user.totp_enabled and user.totp_secret == "" and user.totp_recovery_codes == []


def test_an_administrator_resets_the_second_factor(world: World) -> None:
    subject = world.city_a1_rep
    enrol(subject)
    url = reverse("user_reset_two_factor", args=[subject.pk])
    detail = reverse("user_detail", args=[subject.pk])
    assert url in client_for(world.hq_admin).get(detail).content.decode()

    # Not a right of a manager without users.admin: refused, nothing changed.
    assert client_for(world.city_a1_manager).post(url).status_code == 403
    assert fresh(subject).totp_enabled and len(fresh(subject).totp_recovery_codes) == 10
    assert not AuditEvent.objects.filter(action="user.totp_reset").exists()

    response = client_for(world.hq_admin).post(url)
    assert response.status_code == 302
    subject = fresh(subject)
    assert not subject.totp_enabled and subject.totp_secret == ""
    assert subject.totp_recovery_codes == []
    event = AuditEvent.objects.get(action="user.totp_reset")
    assert event.actor_id == world.hq_admin.pk and event.object_id == str(subject.pk)
    # The password alone signs in now; the button is gone.
    signed_in = Client().post(reverse("login"), {"email": subject.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert url not in client_for(world.hq_admin).get(detail).content.decode()


def test_the_api_resets_the_second_factor(world: World) -> None:
    subject = world.city_a1_rep
    enrol(subject)
    path = f"/users/{subject.pk}/reset-two-factor"
    assert_error(api_as(world.city_a1_manager).post(path), 403, "permission_denied")
    assert_error(api_as(world.other_tenant_admin).post(path), 404, "not_found")
    assert fresh(subject).totp_enabled
    response = api_as(world.hq_admin).post(path)
    assert response.status == 200 and response.data["totp_enabled"] is False
    assert response.headers["ETag"] == f'"{fresh(subject).version}"'
    assert fresh(subject).totp_recovery_codes == []
    assert AuditEvent.objects.filter(action="user.totp_reset", actor=world.hq_admin).count() == 1
