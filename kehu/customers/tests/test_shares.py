"""Shares of a customer: listed, added and revoked on its page (by those who may change
the customer, audited), gone with the record when it is deleted or merged away."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import AuditEvent, RecordShare, User
from kehu.core.services.shares import record_share, record_unshare
from kehu.core.testing import World, fresh
from kehu.customers.models import Contact, Customer
from kehu.customers.services.merge import customer_merge
from kehu.customers.testing import Book

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def visible(user: User, customer: Customer) -> bool:
    return Customer.objects.visible_to(fresh(user)).filter(pk=customer.pk).exists()


def test_share_with_a_last_day(world: World, book: Book) -> None:
    w = world
    today = timezone.localdate()
    record_share(actor=w.hq_admin, obj=book.rep, user_id=w.prov_b_manager.pk,
                 reason="协助跟进", expires_on=today)
    assert visible(w.prov_b_manager, book.rep)  # the last day still counts
    RecordShare.objects.update(expires_on=today - dt.timedelta(days=1))
    assert not visible(w.prov_b_manager, book.rep)
    with pytest.raises(ValidationFailed) as caught:
        record_share(actor=w.hq_admin, obj=book.rep, user_id=w.prov_b_manager.pk,
                     expires_on=today - dt.timedelta(days=1))
    assert "expires_on" in caught.value.fields


def test_only_registered_models_are_shared(world: World, book: Book) -> None:
    w = world
    with pytest.raises(ValidationFailed):
        record_share(actor=w.hq_admin, obj=book.rep_contact, user_id=w.prov_b_manager.pk)
    assert not RecordShare.objects.exists()
    assert not Contact.objects.visible_to(fresh(w.prov_b_manager)).filter(
        pk=book.rep_contact.pk).exists()


def test_deleting_a_customer_deletes_its_shares(world: World, book: Book) -> None:
    w = world
    record_share(actor=w.hq_admin, obj=book.rep, user_id=w.prov_b_manager.pk)
    record_share(actor=w.hq_admin, obj=book.city_a1, user_id=w.prov_b_manager.pk)
    Customer.objects.filter(pk=book.rep.pk).delete()
    assert list(RecordShare.objects.values_list("object_id", flat=True)) == [book.city_a1.pk]


def test_merge_drops_the_losers_shares(world: World, book: Book) -> None:
    w = world
    record_share(actor=w.hq_admin, obj=book.person, user_id=w.prov_b_manager.pk)
    record_share(actor=w.hq_admin, obj=book.rep, user_id=w.analyst.pk)
    customer_merge(actor=w.hq_admin, survivor_id=book.rep.pk, loser_id=book.person.pk)
    # The loser's share is gone, not moved to the survivor; the survivor's own stays.
    assert list(RecordShare.objects.values_list("object_id", "user_id")) == [
        (book.rep.pk, w.analyst.pk)]
    assert not visible(w.prov_b_manager, book.rep)
    merge = AuditEvent.objects.get(action="customer.merge", object_id=str(book.rep.pk))
    assert merge.changes["dropped"]["core.RecordShare"] == 1


def test_page_lists_adds_and_revokes(world: World, book: Book) -> None:
    w = world
    client = client_for(w.city_a1_manager)
    url = reverse("customer_detail", args=[book.rep.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="shares"' in page and 'data-testid="share-list"' not in page
    last = timezone.localdate() + dt.timedelta(days=30)
    response = client.post(reverse("customer_share", args=[book.rep.pk]), {
        "share-user": w.city_a1_rep.pk, "share-reason": "休假代管",
        "share-expires_on": last.isoformat(), "share-can_change": "on"})
    assert response.status_code == 302
    share = RecordShare.objects.get()
    assert (share.user_id, share.reason, share.expires_on, share.can_change,
            share.created_by_id) == (w.city_a1_rep.pk, "休假代管", last, True,
                                     w.city_a1_manager.pk)
    page = client.get(url).content.decode()
    assert f'data-testid="share-{w.city_a1_rep.pk}"' in page
    assert "休假代管" in page and last.isoformat() in page and w.city_a1_manager.full_name in page
    grant = AuditEvent.objects.get(action="share.grant")
    assert grant.actor_id == w.city_a1_manager.pk and grant.changes["reason"] == [None, "休假代管"]

    response = client.post(reverse("customer_unshare", args=[book.rep.pk, w.city_a1_rep.pk]))
    assert response.status_code == 302
    assert not RecordShare.objects.exists()
    assert AuditEvent.objects.filter(action="share.revoke", actor_id=w.city_a1_manager.pk,
                                     object_id=str(book.rep.pk)).exists()


def test_page_form_errors_keep_nothing(world: World, book: Book) -> None:
    client = client_for(world.city_a1_manager)
    response = client.post(reverse("customer_share", args=[book.rep.pk]), {
        "share-user": world.city_a1_rep.pk, "share-reason": "",
        "share-expires_on": "2000-01-01"})
    assert response.status_code == 422
    assert not RecordShare.objects.exists()


def test_without_the_permission_nothing_changes(world: World, book: Book) -> None:
    w = world
    record_share(actor=w.hq_admin, obj=book.rep, user_id=w.analyst.pk)
    events = AuditEvent.objects.filter(action__startswith="share.").count()
    before = list(RecordShare.objects.values())
    # Read-only: sees the customer, not its shares, and may neither add nor revoke.
    analyst = client_for(w.analyst)
    page = analyst.get(reverse("customer_detail", args=[book.rep.pk])).content.decode()
    assert 'data-testid="shares"' not in page
    assert analyst.post(reverse("customer_share", args=[book.rep.pk]), {
        "share-user": w.prov_b_manager.pk, "share-reason": "x"}).status_code == 403
    assert analyst.post(reverse("customer_unshare",
                                args=[book.rep.pk, w.analyst.pk])).status_code == 403
    # May change customers, but not this one (out of scope): 404.
    other = client_for(w.prov_b_manager)
    assert other.post(reverse("customer_share", args=[book.rep.pk]), {
        "share-user": w.prov_b_manager.pk, "share-reason": "x"}).status_code == 404
    assert other.post(reverse("customer_unshare",
                              args=[book.rep.pk, w.analyst.pk])).status_code == 404
    with pytest.raises(NotFound):
        record_unshare(actor=fresh(w.prov_b_manager), obj=book.rep, user_id=w.analyst.pk)
    assert list(RecordShare.objects.values()) == before
    assert AuditEvent.objects.filter(action__startswith="share.").count() == events
