"""Notifications reach each recipient in their own language (``User.interface_language``, else
the site's default): the inbox row and the e-mail are produced with that language active,
whatever language the person who caused them was using."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext, pgettext

from sessions.models import Concern, Notification
from sessions.services.concerns import concern_raise
from sessions.services.notifications import notification_send
from tests.factories import CoordinatorFactory, MatchFactory

pytestmark = pytest.mark.django_db

# A text whose value is the language active when it is produced.
active_language = lazy(translation.get_language, str)


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


@pytest.fixture
def dutch_coordinator(programme):
    return CoordinatorFactory(
        username="sanne.coordinator",
        email="sanne@example.org",
        interface_language="nl",
        programmes=[programme],
    )


@pytest.fixture
def default_coordinator(programme):
    return CoordinatorFactory(
        username="mihai.coordinator", email="mihai@example.org", interface_language="", programmes=[programme]
    )


def _expected_raised(language: str, *, concern: Concern) -> tuple[str, str]:
    """The title and body of a raised concern's notification as the catalogue of ``language``
    gives them."""
    with translation.override(language):
        title = gettext("New %(severity)s concern C-%(id)s in %(programme)s") % {
            "severity": pgettext("concern severity", "high"),
            "id": concern.pk,
            "programme": concern.programme.name,
        }
        body = gettext(
            "A concern of %(severity)s severity was raised in %(programme)s. "
            "Open it in Tandem to read it and acknowledge it."
        ) % {"severity": str(Concern.Severity.HIGH.label).lower(), "programme": concern.programme.name}
    return title, body


def test_a_raised_concern_reaches_each_coordinator_in_their_own_language(
    django_capture_on_commit_callbacks, mentor, match, dutch_coordinator, default_coordinator
):
    # The mentor happens to use the interface in Hungarian: that must not leak into anyone's inbox.
    with django_capture_on_commit_callbacks(execute=True), translation.override("hu"):
        concern = concern_raise(
            raised_by=mentor.user,
            mentee=match.mentee,
            severity=Concern.Severity.HIGH,
            kind=Concern.Kind.SAFEGUARDING,
            description="The boy seemed afraid to go home.",
        )

    mails = {message.to[0]: message for message in mail.outbox}
    for coordinator, language in ((dutch_coordinator, "nl"), (default_coordinator, settings.LANGUAGE_CODE)):
        title, body = _expected_raised(language, concern=concern)
        notification = Notification.objects.get(recipient=coordinator, kind="concern_raised")
        assert notification.title == title
        assert notification.body == body
        message = mails[coordinator.email]
        assert message.subject == f"[Tandem] {title}"
        assert message.body.startswith(body)
        assert f"/sessions/concerns/{concern.pk}/" in message.body


def test_notification_texts_are_produced_with_each_recipients_language_active(
    django_capture_on_commit_callbacks, dutch_coordinator, default_coordinator
):
    with django_capture_on_commit_callbacks(execute=True), translation.override("ro"):
        notification_send(
            recipients=[dutch_coordinator, default_coordinator],
            kind="test",
            title=active_language(),
            body=lambda: f"body in {translation.get_language()}",
            url="/inbox/",
        )
        # The language of whoever caused the notification is active again afterwards.
        assert translation.get_language() == "ro"

    titles = dict(Notification.objects.filter(kind="test").values_list("recipient__username", "title"))
    bodies = dict(Notification.objects.filter(kind="test").values_list("recipient__username", "body"))
    assert titles == {dutch_coordinator.username: "nl", default_coordinator.username: settings.LANGUAGE_CODE}
    assert bodies == {
        dutch_coordinator.username: "body in nl",
        default_coordinator.username: f"body in {settings.LANGUAGE_CODE}",
    }
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects == {
        dutch_coordinator.email: "[Tandem] nl",
        default_coordinator.email: f"[Tandem] {settings.LANGUAGE_CODE}",
    }


def test_plain_text_is_sent_as_it_is(dutch_coordinator):
    (notification,) = notification_send(
        recipients=[dutch_coordinator], kind="test", title="Plain title", body="Plain body", email=False
    )

    assert (notification.title, notification.body) == ("Plain title", "Plain body")
