"""Each user's inbox: their own notifications, unread first, with the unread count in the
navigation; marking one or all read."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions.models import Notification

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "/api/v1/notifications/"


def _notify(user, title: str, *, read: bool = False, minutes_ago: int = 0) -> Notification:
    now = timezone.now()
    return Notification.objects.create(
        recipient=user,
        kind="test",
        title=title,
        url="/sessions/concerns/1/",
        created_at=now - datetime.timedelta(minutes=minutes_ago),
        read_at=now if read else None,
    )


def test_the_inbox_lists_only_the_users_own_notifications_unread_first(client_for, coordinator, manager):
    old_unread = _notify(coordinator, "Old unread", minutes_ago=60)
    new_read = _notify(coordinator, "New but read", read=True)
    new_unread = _notify(coordinator, "New unread", minutes_ago=5)
    _notify(manager, "Someone else's")

    body = client_for(coordinator).get(NOTIFICATIONS).json()

    assert [row["id"] for row in body["results"]] == [new_unread.pk, old_unread.pk, new_read.pk]
    assert [row["is_read"] for row in body["results"]] == [False, False, True]


def test_mark_read_marks_the_given_ids_of_ones_own_notifications_only(client_for, coordinator, manager):
    mine = _notify(coordinator, "Mine")
    other = _notify(coordinator, "Mine too")
    theirs = _notify(manager, "Theirs")

    response = client_for(coordinator).post(f"{NOTIFICATIONS}mark-read/", {"ids": [mine.pk, theirs.pk]})

    assert response.json() == {"marked": 1}
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    mine.refresh_from_db(), other.refresh_from_db(), theirs.refresh_from_db()
    assert mine.read_at and not other.read_at and not theirs.read_at


def test_mark_read_with_all_marks_every_unread_and_without_anything_is_refused(client_for, coordinator):
    _notify(coordinator, "One")
    _notify(coordinator, "Two")
    client = client_for(coordinator)

    assert client.post(f"{NOTIFICATIONS}mark-read/", {}).status_code == 400
    assert client.post(f"{NOTIFICATIONS}mark-read/", {"all": True}).json() == {"marked": 2}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_the_notification_list_query_count_does_not_grow(client_for, coordinator):
    client = client_for(coordinator)
    _notify(coordinator, "First")
    with CaptureQueriesContext(connection) as few:
        client.get(NOTIFICATIONS)
    for i in range(12):
        _notify(coordinator, f"N{i}")

    with CaptureQueriesContext(connection) as many:
        response = client.get(NOTIFICATIONS)

    assert response.json()["count"] == 13
    assert len(many) == len(few)


def test_the_inbox_page_shows_the_unread_count_and_marks_all_read(client, mentor):
    _notify(mentor.user, "Your concern C-1 was acknowledged")
    _notify(mentor.user, "Your concern C-1 was referred")
    client.force_login(mentor.user)

    page = client.get(reverse("sessions:inbox"))
    assert page.context["inbox_unread_count"] == 2
    assert 'data-unread="2"' in page.content.decode()
    assert "Your concern C-1 was referred" in page.content.decode()

    response = client.post(reverse("sessions:inbox-mark-read"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("sessions:inbox")
    assert "data-unread" not in response.content.decode()
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_marking_one_read_on_the_page_leaves_the_others_unread(client, coordinator):
    first = _notify(coordinator, "First")
    _notify(coordinator, "Second")
    client.force_login(coordinator)

    client.post(reverse("sessions:inbox-mark-read"), {"notification": first.pk})

    assert list(Notification.objects.filter(read_at__isnull=True).values_list("title", flat=True)) == [
        "Second"
    ]


def test_the_inbox_needs_a_sign_in(client):
    assert client.get(reverse("sessions:inbox")).status_code == 302
