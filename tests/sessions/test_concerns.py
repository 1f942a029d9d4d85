"""Concerns: a mentor raises one, every coordinator of the programme hears at once, and the
coordinators take it through acknowledged → referred → closed. Only the raising mentor and
the programme's coordinators ever see it."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching.models import Match
from mentoring.models import AuditEvent
from sessions.models import Concern, Notification
from sessions.services.concerns import concern_acknowledge, concern_close, concern_raise, concern_refer
from tests.factories import ConcernFactory, CoordinatorFactory, MatchFactory, MenteeFactory, SessionLogFactory

pytestmark = pytest.mark.django_db

CONCERNS = "/api/v1/concerns/"
DESCRIPTION = "The boy had bruises on his arm and would not say how he got them."


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


@pytest.fixture
def second_coordinator(programme):
    return CoordinatorFactory(username="andrei.coordinator", programmes=[programme])


def _raise(mentor, match, **overrides):
    kwargs = {
        "raised_by": mentor.user,
        "mentee": match.mentee,
        "severity": Concern.Severity.HIGH,
        "description": DESCRIPTION,
        "kind": Concern.Kind.SAFEGUARDING,
    }
    kwargs.update(overrides)
    return concern_raise(**kwargs)


def _fields(response) -> set[str | None]:
    return {error["field"] for error in response.json()["errors"]}


# --- Raising and routing ---------------------------------------------------------------------


def test_a_raised_concern_reaches_every_coordinator_of_the_programme_once_by_inbox_and_mail(
    django_capture_on_commit_callbacks,
    programme,
    mentor,
    match,
    coordinator,
    second_coordinator,
    other_coordinator,
):
    with django_capture_on_commit_callbacks(execute=True):
        concern = _raise(mentor, match)

    assert concern.match == match and concern.status == Concern.Status.OPEN
    assert concern.programme == programme
    for staff in (coordinator, second_coordinator):
        assert Notification.objects.filter(recipient=staff, kind="concern_raised").count() == 1
    assert not Notification.objects.filter(recipient=other_coordinator).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([coordinator.email, second_coordinator.email])
    message = mail.outbox[0]
    assert "high" in message.subject.lower() and programme.name in message.subject
    assert f"/sessions/concerns/{concern.pk}/" in message.body
    for private in ("bruises", match.mentee.person.first_name, match.mentee.person.last_name):
        assert private not in message.subject and private not in message.body
    assert AuditEvent.objects.filter(
        action="create", object_type="mentoring_sessions.Concern", object_id=str(concern.pk)
    ).exists()


def test_a_mail_goes_out_only_once_the_concern_is_committed(
    django_capture_on_commit_callbacks, mentor, match, coordinator
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _raise(mentor, match)

    assert mail.outbox == []
    assert len(callbacks) == 1


def test_a_mentor_cannot_raise_a_concern_about_someone_elses_mentee(mentor, programme, coordinator):
    stranger = MatchFactory(programme=programme)

    with pytest.raises(ValidationError) as exc:
        _raise(mentor, stranger)

    assert "mentee" in exc.value.message_dict
    assert not Concern.objects.exists()
    assert not Notification.objects.exists()


def test_a_mentor_cannot_raise_a_concern_about_the_mentee_of_a_closed_match(mentor, match):
    Match.objects.filter(pk=match.pk).update(
        status=Match.Status.CLOSED, closed_on=datetime.date.today(), closure_reason="planned_completion"
    )

    with pytest.raises(ValidationError):
        _raise(mentor, match)
    assert not Concern.objects.exists()


def test_a_mentor_may_raise_a_concern_about_the_mentee_of_a_paused_match(mentor, match):
    Match.objects.filter(pk=match.pk).update(status=Match.Status.PAUSED)

    assert _raise(mentor, match).match_id == match.pk


def test_every_field_error_is_reported_at_once(mentor, match):
    other_log = SessionLogFactory()

    with pytest.raises(ValidationError) as exc:
        _raise(mentor, match, description="  ", severity="catastrophic", kind="gossip", session_log=other_log)

    assert set(exc.value.message_dict) == {"description", "severity", "kind", "session_log"}
    assert not Concern.objects.exists()


def test_a_concern_from_a_session_log_keeps_the_log(mentor, match):
    log = SessionLogFactory(match=match)

    assert _raise(mentor, match, session_log=log).session_log == log


def test_a_coordinator_raises_a_concern_about_any_mentee_of_their_programme(
    django_capture_on_commit_callbacks, coordinator, second_coordinator, programme
):
    mentee = MenteeFactory(programme=programme)

    with django_capture_on_commit_callbacks(execute=True):
        concern = concern_raise(
            raised_by=coordinator, mentee=mentee, severity="low", description="Missed school."
        )

    assert concern.match is None
    assert [m.to for m in mail.outbox] == [[second_coordinator.email]]  # whoever raised it knows


def test_a_coordinator_of_another_programme_and_a_manager_cannot_raise_one(other_coordinator, manager, match):
    for user in (other_coordinator, manager):
        with pytest.raises(PermissionDenied):
            concern_raise(raised_by=user, mentee=match.mentee, severity="low", description="x")
    assert not Concern.objects.exists()


# --- Transitions -----------------------------------------------------------------------------


def test_a_concern_goes_open_acknowledged_referred_closed_and_the_mentor_hears_of_each(
    django_capture_on_commit_callbacks, coordinator, mentor, match
):
    concern = ConcernFactory(programme=match.programme, match=match)

    with django_capture_on_commit_callbacks(execute=True):
        concern = concern_acknowledge(concern=concern, acknowledged_by=coordinator)
        assert (concern.status, concern.acknowledged_by) == (Concern.Status.ACKNOWLEDGED, coordinator)
        concern = concern_refer(
            concern=concern,
            referred_by=coordinator,
            referred_to=Concern.ReferredTo.SOCIAL_SERVICES,
            referral_note="Called the child protection duty line.",
        )
        assert (concern.status, concern.referred_to) == (Concern.Status.REFERRED, "social_services")
        concern = concern_close(
            concern=concern, closed_by=coordinator, closure_note="Social services took it on."
        )

    assert concern.status == Concern.Status.CLOSED and concern.closed_at is not None
    titles = list(
        Notification.objects.filter(recipient=mentor.user).order_by("id").values_list("title", flat=True)
    )
    assert titles == [
        f"Your concern C-{concern.pk} was acknowledged",
        f"Your concern C-{concern.pk} was referred",
        f"Your concern C-{concern.pk} was closed",
    ]
    assert mail.outbox == []  # the mentor's updates are in-app only
    assert AuditEvent.objects.filter(action="update", object_id=str(concern.pk)).count() == 3


def test_an_acknowledged_concern_may_be_closed_without_a_referral(coordinator, match):
    concern = concern_acknowledge(
        concern=ConcernFactory(match=match, programme=match.programme), acknowledged_by=coordinator
    )

    assert concern_close(concern=concern, closed_by=coordinator, closure_note="Resolved.").status == "closed"


def test_an_open_concern_must_be_acknowledged_before_it_is_closed_or_referred(coordinator, match):
    concern = ConcernFactory(match=match, programme=match.programme)

    with pytest.raises(ValidationError, match="Acknowledge the concern before closing it"):
        concern_close(concern=concern, closed_by=coordinator, closure_note="Done.")
    with pytest.raises(ValidationError, match="Acknowledge the concern before referring it"):
        concern_refer(
            concern=concern, referred_by=coordinator, referred_to="school", referral_note="Told the school."
        )
    concern.refresh_from_db()
    assert concern.status == Concern.Status.OPEN


def test_a_concern_is_acknowledged_once_and_a_closed_one_stays_closed(coordinator, match):
    concern = concern_acknowledge(
        concern=ConcernFactory(match=match, programme=match.programme), acknowledged_by=coordinator
    )

    with pytest.raises(ValidationError, match="already acknowledged"):
        concern_acknowledge(concern=concern, acknowledged_by=coordinator)
    concern_close(concern=concern, closed_by=coordinator, closure_note="Resolved.")
    with pytest.raises(ValidationError, match="already closed"):
        concern_close(concern=concern, closed_by=coordinator, closure_note="Again.")


def test_refer_and_close_need_their_notes(coordinator, match):
    concern = concern_acknowledge(
        concern=ConcernFactory(match=match, programme=match.programme), acknowledged_by=coordinator
    )

    with pytest.raises(ValidationError) as exc:
        concern_refer(concern=concern, referred_by=coordinator, referred_to="the moon", referral_note=" ")
    assert set(exc.value.message_dict) == {"referred_to", "referral_note"}
    with pytest.raises(ValidationError) as exc:
        concern_close(concern=concern, closed_by=coordinator, closure_note="")
    assert set(exc.value.message_dict) == {"closure_note"}


def test_only_the_programmes_coordinators_handle_a_concern(mentor, other_coordinator, admin_user, match):
    concern = ConcernFactory(match=match, programme=match.programme)

    for user in (mentor.user, other_coordinator):
        with pytest.raises(PermissionDenied):
            concern_acknowledge(concern=concern, acknowledged_by=user)
    assert concern_acknowledge(concern=concern, acknowledged_by=admin_user).status == "acknowledged"


# --- The API ---------------------------------------------------------------------------------


def test_mentor_raises_a_concern_through_the_api(client_for, mentor, match, coordinator):
    response = client_for(mentor.user).post(
        CONCERNS, {"mentee": match.mentee_id, "severity": "urgent", "description": DESCRIPTION}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["match"], body["status"], body["kind"], body["raised_by"]) == (
        match.pk,
        "open",
        "well_being",
        mentor.user.pk,
    )
    assert Notification.objects.filter(recipient=coordinator).count() == 1


def test_the_api_answers_not_found_for_a_mentee_the_mentor_does_not_mentor(client_for, mentor, programme):
    stranger = MatchFactory(programme=programme)

    response = client_for(mentor.user).post(
        CONCERNS, {"mentee": stranger.mentee_id, "severity": "low", "description": DESCRIPTION}
    )

    assert response.status_code == 400
    assert _fields(response) == {"mentee"}
    assert response.json()["errors"][0]["code"] == "not_found"
    assert not Concern.objects.exists()


def test_the_raising_mentor_and_the_programmes_coordinator_read_the_concern_and_nobody_else(
    client_for, mentor, other_mentor, coordinator, other_coordinator, manager, match
):
    concern = ConcernFactory(match=match, programme=match.programme)
    url = f"{CONCERNS}{concern.pk}/"

    assert client_for(mentor.user).get(url).json()["description"] == concern.description
    assert client_for(coordinator).get(url).status_code == 200
    for outsider in (other_mentor.user, other_coordinator, manager):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(outsider).get(CONCERNS).json()["count"] == 0
    assert AuditEvent.objects.filter(user=coordinator, action="read", object_id=str(concern.pk)).exists()
    assert AuditEvent.objects.filter(user=manager, action="denied", object_id=str(concern.pk)).exists()


def test_the_list_is_open_first_then_most_severe_and_filters(client_for, coordinator, programme):
    closed = ConcernFactory(
        programme=programme, severity="urgent", status="closed", acknowledged_at="2025-01-01T10:00Z"
    )
    low = ConcernFactory(programme=programme, severity="low")
    urgent = ConcernFactory(programme=programme, severity="urgent")
    client = client_for(coordinator)

    ids = [row["id"] for row in client.get(CONCERNS).json()["results"]]
    assert ids == [urgent.pk, low.pk, closed.pk]
    assert [
        r["id"] for r in client.get(CONCERNS, {"status": "open", "severity": "low"}).json()["results"]
    ] == [low.pk]
    assert client.get(CONCERNS, {"programme": programme.pk + 1000}).json()["count"] == 0
    assert client.get(CONCERNS, {"status": "lost"}).status_code == 400


def test_the_concern_list_query_count_does_not_grow_with_concerns(client_for, coordinator, programme):
    client = client_for(coordinator)
    ConcernFactory.create_batch(2, programme=programme)
    with CaptureQueriesContext(connection) as few:
        client.get(CONCERNS)
    ConcernFactory.create_batch(15, programme=programme)

    with CaptureQueriesContext(connection) as many:
        response = client.get(CONCERNS)

    assert response.json()["count"] == 17
    assert len(many) == len(few)


def test_coordinator_takes_a_concern_through_its_steps_through_the_api(client_for, coordinator, match):
    concern = ConcernFactory(match=match, programme=match.programme)
    client = client_for(coordinator)
    url = f"{CONCERNS}{concern.pk}/"

    early = client.post(f"{url}close/", {"closure_note": "Done."})
    assert early.status_code == 400
    assert "Acknowledge the concern before closing it" in early.json()["errors"][0]["message"]
    assert client.post(f"{url}acknowledge/").json()["status"] == "acknowledged"
    bad = client.post(f"{url}refer/", {"referred_to": "nowhere"})
    assert bad.status_code == 400 and _fields(bad) == {"referred_to", "referral_note"}
    referred = client.post(f"{url}refer/", {"referred_to": "health", "referral_note": "GP informed."})
    assert referred.json()["status"] == "referred"
    assert client.post(f"{url}close/", {"closure_note": "GP follows up."}).json()["status"] == "closed"


def test_a_mentor_reads_their_concern_but_cannot_acknowledge_it(client_for, mentor, other_coordinator, match):
    concern = ConcernFactory(match=match, programme=match.programme)

    assert client_for(mentor.user).post(f"{CONCERNS}{concern.pk}/acknowledge/").status_code == 403
    assert client_for(other_coordinator).post(f"{CONCERNS}{concern.pk}/acknowledge/").status_code == 404
    concern.refresh_from_db()
    assert concern.status == Concern.Status.OPEN
