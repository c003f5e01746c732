"""End-to-end engagement flow: the account manager records an interaction from the
customer page, sees it on the timeline, filters the timeline by type, plans a follow-up
and completes it from the follow-up list."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kehu.activities.models import FollowUp, Interaction
from kehu.activities.services.interactions import interaction_create
from kehu.core.testing import World
from kehu.customers.testing import Book
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_record_filter_plan_and_complete(page: Any, world: World, book: Book) -> None:
    rep = world.city_a1_rep
    interaction_create(actor=rep, customer_id=book.rep.pk, kind="email", subject="发送方案邮件")
    sign_in(page, rep.email)
    go(page, f"/customers/{book.rep.pk}/")
    timeline = page.locator('[data-testid="timeline"]')
    assert "发送方案邮件" in timeline.inner_text()

    # Record an interaction from the customer page; the first field has focus.
    page.locator('[data-testid="customer-record-interaction"]').click()
    page.wait_for_url(re.compile(r"/interactions/new/\?customer="))
    assert page.evaluate("document.activeElement.id") == "id_kind"
    page.select_option("#id_kind", "visit")
    page.fill("#id_subject", "上门拜访信息部")
    page.fill("#id_content", "讨论专线扩容方案")
    page.select_option("#id_channel", "face_to_face")
    page.locator(f'input[name="contacts"][value="{book.rep_contact.pk}"]').check()
    page.locator('[data-testid="interaction-save"]').click()
    page.wait_for_url(re.compile(rf"/customers/{book.rep.pk}/"))
    saved = Interaction.objects.get(subject="上门拜访信息部")
    assert list(saved.contacts.all()) == [book.rep_contact]
    items = page.locator('[data-testid="timeline-item"]')
    assert items.count() == 2
    assert "上门拜访信息部" in page.locator('[data-testid="timeline"]').inner_text()
    shot(page, "engagement-timeline.png")

    # Filter the timeline by type (htmx swaps the timeline in place).
    page.locator('[data-testid="timeline-kinds"] a[data-kind="visit"]').click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=timeline-item]').length === 1")
    assert "上门拜访信息部" in page.locator('[data-testid="timeline-items"]').inner_text()
    assert "发送方案邮件" not in page.locator('[data-testid="timeline"]').inner_text()
    page.locator('[data-testid="timeline-kinds"] a[data-kind="email"]').click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=timeline-items]')"
        " && document.querySelector('[data-testid=timeline-items]').innerText"
        ".includes('发送方案邮件')")

    # Plan a follow-up from the customer page.
    page.locator('[data-testid="followup-plan"]').click()
    page.wait_for_url(re.compile(r"/followups/new/"))
    page.fill("#id_subject", "回访扩容报价")
    page.fill("#id_due_at", "2030-01-15T10:00")
    page.select_option("#id_contact", str(book.rep_contact.pk))
    page.locator('[data-testid="followup-save"]').click()
    page.wait_for_url(re.compile(rf"/customers/{book.rep.pk}/"))
    assert "回访扩容报价" in page.locator('[data-testid="panel-followups"]').inner_text()
    followup = FollowUp.objects.get(subject="回访扩容报价")

    # Complete it from the follow-up list, recording the call inline.
    go(page, "/followups/")
    row = page.locator('[data-testid="followup-row"]', has_text="回访扩容报价")
    row.locator('[data-testid="followup-complete"]').click()
    # The completion form opens in a dialog (loaded with htmx), focus on its first field.
    dialog = page.locator('[data-testid="followup-dialog"]')
    dialog.locator('[data-testid="followup-complete-form"]').wait_for()
    assert "回访扩容报价" in dialog.locator('[data-testid="followup-action-subject"]') \
        .inner_text()
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_kind'")
    page.select_option("#id_kind", "call")
    page.fill("#id_content", "客户确认报价")
    shot(page, "engagement-complete-dialog.png")
    page.locator('[data-testid="followup-complete-save"]').click()
    page.wait_for_url(re.compile(r"/followups/\?status=done"))
    done_row = page.locator('[data-testid="followup-row"]', has_text="回访扩容报价")
    assert done_row.get_attribute("data-status") == "done"
    shot(page, "engagement-followup-done.png")
    followup.refresh_from_db()
    assert followup.state == "done" and followup.fulfilled_by is not None
    assert followup.fulfilled_by.content == "客户确认报价"
