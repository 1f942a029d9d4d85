"""The mentor's log pages: the form's defaults and family checkboxes, the programme's hidden
fields, saving once, the optional concern, the correction page and the mentor's home."""

from __future__ import annotations

import datetime
import html
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from mentoring.models import LanguageLevel, Mentee
from sessions.models import Concern, SessionLog, SessionLogRevision
from tests.factories import MatchFactory, SessionLogFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(
        programme=programme,
        mentor=mentor,
        mentee__person__first_name="Iryna",
        mentee__person__last_name="Shevchenko",
        mentee__person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
    )


@pytest.fixture
def son_match(programme, mentor, match):
    return MatchFactory(
        programme=programme,
        mentor=mentor,
        mentee__family=match.mentee.family,
        mentee__kind=Mentee.Kind.PUPIL,
        mentee__person__first_name="Andrii",
        mentee__person__last_name="Shevchenko",
    )


@pytest.fixture
def mentor_client(client, mentor):
    client.force_login(mentor.user)
    return client


def _url(match) -> str:
    return reverse("sessions:session-log-create", args=[match.pk])


def _form(**overrides) -> dict:
    data = {
        "held_on": TODAY().isoformat(),
        "duration_minutes": "60",
        "mode": "in_person",
        "participants": ["parent"],
        "topics": ["homework"],
        "language": "uk",
        "notes": "Looked at the school's homework platform together.",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def test_a_new_log_starts_with_the_mode_length_and_language_of_the_matchs_latest_log(mentor_client, match):
    SessionLogFactory(
        match=match,
        mode="video",
        language="ro",
        duration_minutes=45,
        held_on=TODAY() - datetime.timedelta(days=3),
    )

    form = mentor_client.get(_url(match)).context["form"]

    assert (form["mode"].value(), form["language"].value()) == ("video", "ro")
    assert form["duration_minutes"].value() == 45
    assert form["participants"].value() == ["parent"]
    assert form["held_on"].value() == TODAY()


def test_a_first_log_starts_in_person_for_an_hour_in_the_mentees_language(mentor_client, match):
    form = mentor_client.get(_url(match)).context["form"]

    assert form["mode"].value() == "in_person"
    assert form["duration_minutes"].value() == 60
    assert form["language"].value() == "uk"


def test_the_form_offers_the_familys_other_matches_as_also_with(mentor_client, match, son_match):
    text = html.unescape(mentor_client.get(_url(match)).content.decode())

    assert "Also with Andrii Shevchenko" in text


def test_one_form_logs_the_session_for_mother_and_son(mentor_client, match, son_match):
    response = mentor_client.post(_url(match), _form(also_matches=[str(son_match.pk)]))

    assert response.status_code == 302
    logs = list(SessionLog.objects.order_by("match_id"))
    assert [log.match_id for log in logs] == [match.pk, son_match.pk]
    assert logs[0].shared_key == logs[1].shared_key is not None


def test_a_form_posted_twice_stores_one_log(mentor_client, match):
    data = _form()

    mentor_client.post(_url(match), data)
    second = mentor_client.post(_url(match), data, follow=True)

    assert "already saved" in html.unescape(second.content.decode())
    assert SessionLog.objects.count() == 1


def test_fields_the_programme_hides_are_not_on_the_form(mentor_client, match, programme):
    programme.session_hidden_fields = ["topics", "follow_ups"]
    programme.save()

    response = mentor_client.get(_url(match))

    form = response.context["form"]
    assert "topics" not in form.fields and "follow_ups" not in form.fields
    assert "interpreter_used" in form.fields
    assert 'name="topics"' not in response.content.decode()


def test_the_form_offers_the_programmes_own_topics(mentor_client, match, programme):
    programme.session_topics.create(code="housing", name="Housing and benefits")

    text = mentor_client.get(_url(match)).content.decode()

    assert 'value="housing"' in text and 'value="homework"' not in text


def test_a_closed_match_cannot_be_logged_from_its_form(mentor_client, match):
    match.status = "closed"
    match.closed_on = TODAY()
    match.closure_reason = "planned_completion"
    match.save()

    response = mentor_client.post(_url(match), _form())

    assert response.status_code == 422
    assert "closed" in html.unescape(response.content.decode())
    assert not SessionLog.objects.exists()


def test_a_worry_noted_with_the_log_reaches_the_coordinators(mentor_client, match, coordinator):
    data = _form(concern_severity="medium", concern_description="She has not slept for days.")

    response = mentor_client.post(_url(match), data)

    assert response.status_code == 302
    concern = Concern.objects.get()
    assert concern.session_log == SessionLog.objects.get() and concern.severity == "medium"
    assert concern.mentee == match.mentee


def test_a_worry_without_a_description_keeps_the_log_unsaved(mentor_client, match):
    response = mentor_client.post(_url(match), _form(concern_severity="high"))

    assert response.status_code == 422
    assert "concern_description" in response.context["form"].errors
    assert not SessionLog.objects.exists() and not Concern.objects.exists()


# --- Correcting a log ------------------------------------------------------------------------


def _log_written_days_ago(match, days: int) -> SessionLog:
    held_on = TODAY() - datetime.timedelta(days=days)
    with freeze_time(timezone.now() - datetime.timedelta(days=days)):
        return SessionLogFactory(match=match, held_on=held_on)


def _edit_data(log, **overrides) -> dict:
    data = {
        "held_on": log.held_on.isoformat(),
        "duration_minutes": str(log.duration_minutes),
        "mode": log.mode,
        "participants": log.participants,
        "topics": log.topics,
        "language": log.language,
        "notes": log.notes,
        "follow_ups": log.follow_ups,
    }
    data.update(overrides)
    return data


def test_the_author_corrects_a_log_and_sees_its_history(mentor_client, match):
    log = _log_written_days_ago(match, 6)
    url = reverse("sessions:session-log-edit", args=[log.pk])

    response = mentor_client.post(url, _edit_data(log, duration_minutes="90"), follow=True)

    assert response.status_code == 200
    log.refresh_from_db()
    assert log.duration_minutes == 90
    text = html.unescape(response.content.decode())
    assert "duration_minutes" in text and "60 → 90" in text
    assert SessionLogRevision.objects.count() == 1


def test_the_author_is_told_a_week_old_log_is_for_the_coordinator_to_correct(mentor_client, match):
    log = _log_written_days_ago(match, 8)
    url = reverse("sessions:session-log-edit", args=[log.pk])

    response = mentor_client.post(url, _edit_data(log, duration_minutes="90"))

    assert response.status_code == 403
    assert "Ask your coordinator" in html.unescape(response.content.decode())
    log.refresh_from_db()
    assert log.duration_minutes == 60


def test_the_coordinator_corrects_an_old_log(client, coordinator, match):
    log = _log_written_days_ago(match, 15)
    client.force_login(coordinator)

    response = client.post(
        reverse("sessions:session-log-edit", args=[log.pk]), _edit_data(log, notes="Corrected.")
    )
    assert response.status_code == 302, (
        response.context["form"].errors if response.context else response.status_code
    )

    log.refresh_from_db()
    assert log.notes == "Corrected." and log.updated_by == coordinator


# --- The mentor's home -----------------------------------------------------------------------


def test_my_matches_shows_days_since_the_last_session_or_none_yet(mentor_client, match, son_match):
    SessionLogFactory(match=match, held_on=TODAY() - datetime.timedelta(days=4))

    text = html.unescape(mentor_client.get(reverse("matching:my-matches")).content.decode())

    assert "4 days ago" in text and "No session yet" in text
    assert text.count("Log a session") >= 2


def test_my_matches_needs_the_same_queries_for_many_matches(mentor_client, programme, mentor, match):
    url = reverse("matching:my-matches")
    SessionLogFactory(match=match)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert mentor_client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(2):
        SessionLogFactory.create_batch(2, match=MatchFactory(programme=programme, mentor=mentor))

    assert queries() == few
