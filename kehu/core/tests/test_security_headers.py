"""Every page carries the Content-Security-Policy, Referrer-Policy and X-Frame-Options,
and no template needs what the policy forbids (issue 11, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from kehu.core.middleware import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db

KEHU = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(KEHU.rglob("templates/**/*.html"))
OWN_STATIC = [p for p in KEHU.rglob("static/**/*") if "vendor" not in p.parts and p.is_file()]


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_the_policy_allows_only_own_files():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("name", ["login", "signup"])
def test_anonymous_pages_carry_the_headers(name):
    response = Client().get(reverse(name))
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("name", ["home", "customer_list", "notification_list",
                                  "document_upload"])
def test_signed_in_pages_carry_the_headers(world, name):
    client = Client()
    client.force_login(world.hq_admin)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_error_pages_carry_the_policy(world):
    client = Client()
    client.force_login(world.hq_admin)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_templates_have_no_inline_script_handler_or_style():
    assert TEMPLATES
    offenders = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) \
                or re.search(r"\son[a-z]+\s*=", text) or re.search(r"\sstyle\s*=", text) \
                or re.search(r"<style\b", text) \
                or "hx-on" in text or "javascript:" in text:
            offenders.append(str(path))
    assert offenders == []



def test_scripts_set_no_inline_style():
    """style-src 'self' blocks style attributes that scripts set too: states are classes."""
    scripts = [p for p in OWN_STATIC if p.suffix == ".js"]
    assert scripts
    offenders = [str(p) for p in scripts
                 if re.search(r"\.style\b|cssText|setAttribute\(\s*[\"']style", p.read_text())]
    assert offenders == []


def test_row_states_are_styled():
    """A class a template gives a table row (overdue, inactive, selected…) is styled by a
    stylesheet: the state shows without an inline style."""
    css = "".join(p.read_text(encoding="utf-8") for p in OWN_STATIC if p.suffix == ".css")
    unstyled = set()
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for attrs in re.findall(r"<tr\b([^>]*)>", text):
            for value in re.findall(r'class="([^"]*)"', attrs):
                literal = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", value)
                unstyled |= {f"{path.name}: tr.{name}" for name in literal.split()
                             if f"tr.{name}" not in css}
    assert unstyled == set()
