"""In-app notifications (each user's inbox), sent by e-mail too through Django's mail backend.

A notification names what happened and links to the record; it never carries special-category
data or a case note, because e-mail leaves the system. ``dedupe_key`` makes a reminder about one
condition reach each recipient once, however often the job that finds the condition runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from mentoring.models import User
from sessions.models import Notification

logger = logging.getLogger(__name__)


def _absolute(url: str) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{url}" if base and url.startswith("/") else url


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str = "",
    email: bool = True,
) -> list[Notification]:
    """Put a notification in each recipient's inbox and, with ``email``, mail it once the
    transaction commits (a mail server that is down never undoes the record that caused it).
    A recipient who already has ``dedupe_key`` gets nothing new. Returns the new notifications."""
    created: list[Notification] = []
    for recipient in recipients:
        if dedupe_key and Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists():
            continue
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    recipient=recipient, kind=kind, title=title, body=body, url=url, dedupe_key=dedupe_key
                )
        except IntegrityError:
            continue  # another run sent this one a moment ago
        created.append(notification)
    if email:
        ids = [n.pk for n in created if n.recipient.email]
        if ids:
            transaction.on_commit(lambda: notification_email(notification_ids=ids))
    return created


def notification_email(*, notification_ids: list[int]) -> int:
    """Mail the given notifications that have not been mailed yet; returns how many went."""
    sent = 0
    for notification in Notification.objects.filter(
        pk__in=notification_ids, emailed_at__isnull=True
    ).select_related("recipient"):
        text = notification.body
        if notification.url:
            text = f"{text}\n\n{_absolute(notification.url)}".strip()
        try:
            send_mail(
                subject=f"[Tandem] {notification.title}",
                message=text,
                from_email=None,
                recipient_list=[notification.recipient.email],
            )
        except Exception:  # the inbox still has it; the next run of the health job retries nothing
            logger.exception("Could not mail notification %s", notification.pk)
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread ones without ids); returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())
