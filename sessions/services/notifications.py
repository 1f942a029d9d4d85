"""In-app notifications (each user's inbox), sent by e-mail too through Django's mail backend.

A notification names what happened and links to the record; it never carries special-category
data or a case note, because e-mail leaves the system. ``dedupe_key`` makes a reminder about one
condition reach each recipient once, however often the job that finds the condition runs.

Each recipient reads it in their own language (``User.interface_language``, else
``settings.LANGUAGE_CODE``): a caller passes the title and body as texts marked lazily
(``gettext_lazy``), or as callables that build them (``notification_text``), and
``notification_send`` produces them once per recipient with that language active. The texts
are stored so: the inbox and the e-mail show what was produced for the recipient.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise

from mentoring.models import User
from sessions.models import Notification

logger = logging.getLogger(__name__)

# What a title or body may be: plain text (sent as it is), a lazily translated text, or a
# callable returning the text, called with the recipient's language active.
Text = str | Promise | Callable[[], str]


def notification_text(message: str | Promise, **params) -> Callable[[], str]:
    """A text built when it is sent, in the recipient's language: ``message`` (a
    ``gettext_lazy`` text with named ``%(placeholders)s``) filled with ``params``. Lazily
    translated params (a choice's label) are translated in the same language."""

    def build() -> str:
        values = {key: str(value) if isinstance(value, Promise) else value for key, value in params.items()}
        return str(message) % values if values else str(message)

    return build


def recipient_language(user: User) -> str:
    """The language the user reads the interface in: their choice, else the site's default."""
    language = getattr(user, "interface_language", "") or ""
    available = {code for code, _name in settings.LANGUAGES}
    return language if language in available else settings.LANGUAGE_CODE


def _render(text: Text) -> str:
    if callable(text):
        text = text()
    return str(text)


def _absolute(url: str) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{url}" if base and url.startswith("/") else url


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    title: Text,
    body: Text = "",
    url: str = "",
    dedupe_key: str = "",
    email: bool = True,
) -> list[Notification]:
    """Put a notification in each recipient's inbox and, with ``email``, mail it once the
    transaction commits (a mail server that is down never undoes the record that caused it).
    A recipient who already has ``dedupe_key`` gets nothing new. ``title`` and ``body`` are
    produced for each recipient with their language active (see the module's docstring).
    Returns the new notifications."""
    created: list[Notification] = []
    for recipient in recipients:
        if dedupe_key and Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists():
            continue
        with translation.override(recipient_language(recipient)):
            texts = {"title": _render(title)[:200], "body": _render(body)}
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    recipient=recipient, kind=kind, url=url, dedupe_key=dedupe_key, **texts
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
            # The texts were produced in the recipient's language when stored; the mail is
            # composed (and any text the mail backend adds) in it too.
            with translation.override(recipient_language(notification.recipient)):
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
