"""Helpers the customers app's forms share: lists from text, region and user choices."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.urls import reverse

from kehu.customers import reference

NEW_ADDRESS_ROWS = 2
TEXTAREA_SMALL = {"rows": 3}


def split_lines(text: str) -> list[str]:
    """One value per line (commas and semicolons also separate emails and tags)."""
    return [part.strip() for part in re.split(r"[\n\r]+", text or "") if part.strip()]


def split_tags(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,，;；、\n]+", text or "") if part.strip()]


def province_choices(blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(r.code, r.name) for r in reference.provinces()]


def city_choices(province: str, blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(r.code, r.name) for r in reference.region_children(province)]


def industry_select_choices(blank: str) -> list[Any]:
    return [("", blank), *reference.industry_choices()]


def split_region(code: str) -> tuple[str, str]:
    """(province, city-or-county) codes of a stored region code, for the two selects."""
    chain = reference.region_ancestors(code)
    if not chain:
        return "", ""
    return chain[0].code, chain[1].code if len(chain) > 1 else ""


def link_region_selects(form: forms.Form, *, blank_all: bool) -> None:
    """Choosing a province reloads the city select's options (htmx); without JS the
    cities appear once the form is submitted."""
    url = reverse("customer_region_options") + ("" if blank_all else "?form=1")
    form.fields["province"].widget.attrs.update({
        "hx-get": url, "hx-target": f"#{form['city'].auto_id}", "hx-swap": "innerHTML",
        "hx-trigger": "change"})


def user_choices(users: Any, blank: str | None = None) -> list[tuple[str, str]]:
    choices = [("", blank)] if blank is not None else []
    return choices + [(str(u.pk), f"{u.full_name} · {u.org_unit.name}") for u in users]


def phone_label(phone: dict[str, Any]) -> str:
    text = str(phone.get("number", ""))
    if phone.get("ext"):
        text += f" 转{phone['ext']}"
    return text
