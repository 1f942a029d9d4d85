"""Quality check-ins: when they fall due, how a family answers through its link without an
account, and that a family's uncertainty reaches the coordinators and never the mentor."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from mentoring.models import AuditEvent, LanguageLevel
from sessions.models import CheckIn, Notification
from sessions.services.checkins import checkin_answer, checkins_create_due
from tests.factories import MatchFactory, MenteeFactory

pytestmark = pytest.mark.django_db

START = datetime.date(2025, 9, 1)
GOOD = {"frequency": 4, "openness": 5, "school": 4, "respect": 5, "overall": 4}
CHECKINS = "/api/v1/checkins/"


@pytest.fixture
def match(programme, mentor):
    with freeze_time(START):
        mentee = MenteeFactory(
            programme=programme,
            person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
        )
        return MatchFactory(programme=programme, mentor=mentor, mentee=mentee, started_on=START)


def _day(n: int) -> datetime.date:
    return START + datetime.timedelta(days=n)


def _create_on(day: int) -> int:
    with freeze_time(_day(day)):
        return checkins_create_due(today=_day(day))


def _family_checkin(match) -> CheckIn:
    _create_on(30)
    return CheckIn.objects.get(match=match, respondent=CheckIn.Respondent.FAMILY)


def _mentor_checkin(match) -> CheckIn:
    _create_on(30)
    return CheckIn.objects.get(match=match, respondent=CheckIn.Respondent.MENTOR)


# --- The schedule ----------------------------------------------------------------------------


def test_nothing_is_due_on_day_29(match):
    assert _create_on(29) == 0
    assert not CheckIn.objects.exists()


def test_day_30_brings_one_mentor_and_one_family_checkin(match):
    assert _create_on(30) == 2

    checkins = {c.respondent: c for c in CheckIn.objects.filter(match=match)}
    assert set(checkins) == {"mentor", "family"}
    assert {c.due_on for c in checkins.values()} == {_day(30)}
    assert checkins["family"].language == "uk"  # the mentee's preferred language
    assert checkins["family"].token != checkins["mentor"].token
    assert len(checkins["family"].token) >= 40


def test_running_twice_creates_nothing_new(match):
    _create_on(30)

    assert _create_on(30) == 0
    assert _create_on(45) == 0
    assert CheckIn.objects.count() == 2


def test_day_90_brings_the_next_pair(match):
    _create_on(30)

    assert _create_on(90) == 2
    assert set(CheckIn.objects.values_list("due_on", flat=True)) == {_day(30), _day(90)}


def test_a_missed_schedule_creates_only_the_latest_pair(match):
    assert _create_on(200) == 2  # due days 30, 90, 150: only 150's pair

    assert set(CheckIn.objects.values_list("due_on", flat=True)) == {_day(150)}


def test_the_programme_schedule_is_used(match, programme):
    programme.checkin_first_day = 14
    programme.checkin_interval_days = 28
    programme.save()

    assert _create_on(13) == 0
    assert _create_on(14) == 2
    assert _create_on(42) == 2


def test_a_family_without_a_preferred_language_gets_the_programme_language(match, programme):
    match.mentee.person.languages.update(is_preferred=False)

    assert _family_checkin(match).language == programme.local_language


def test_closed_and_paused_matches_get_no_checkins(match):
    match.status = "paused"
    match.save()

    assert _create_on(30) == 0


def test_the_mentor_is_told_once_per_checkin(match):
    _create_on(30)
    _create_on(31)

    notes = Notification.objects.filter(recipient=match.mentor.user, kind="checkin_due")
    assert notes.count() == 1
    assert notes.get().url.endswith(f"/sessions/checkins/{_mentor_checkin(match).pk}/")


# --- The family's page -----------------------------------------------------------------------


def _form(**overrides) -> dict:
    data = {**GOOD, "comment": ""}
    data.update(overrides)
    return data


def test_the_family_answers_through_its_link_without_an_account(client, match):
    checkin = _family_checkin(match)
    url = f"/sessions/checkin/{checkin.token}/"

    page = client.get(url)
    assert page.status_code == 200
    assert page["Content-Language"] == "uk"
    assert "tell the coordinator only" in page.content.decode()

    response = client.post(url, _form(comment="Very helpful with the school forms."))

    assert response.status_code == 200
    checkin.refresh_from_db()
    assert checkin.answers == GOOD
    assert checkin.comment == "Very helpful with the school forms."
    assert checkin.answered_at is not None
    assert AuditEvent.objects.filter(
        object_type="mentoring_sessions.CheckIn", object_id=str(checkin.pk), action="update", role="anonymous"
    ).exists()


def test_a_used_link_answers_404_with_a_friendly_page(client, match):
    checkin = _family_checkin(match)
    url = f"/sessions/checkin/{checkin.token}/"
    client.post(url, _form())

    again = client.post(url, _form(overall=1))

    assert again.status_code == 404
    assert "already been answered" in again.content.decode()
    checkin.refresh_from_db()
    assert checkin.answers["overall"] == 4


def test_an_unknown_link_answers_404_and_is_audited(client, match):
    _family_checkin(match)

    response = client.get("/sessions/checkin/not-a-real-token/")

    assert response.status_code == 404
    assert "This link is not open" in response.content.decode()
    assert AuditEvent.objects.filter(object_type="mentoring_sessions.CheckIn", action="denied").exists()


def test_the_mentor_checkin_token_does_not_open_the_family_page(client, match):
    response = client.get(f"/sessions/checkin/{_mentor_checkin(match).token}/")

    assert response.status_code == 404


def test_every_missing_answer_is_reported_at_once_and_nothing_is_saved(client, match):
    checkin = _family_checkin(match)

    response = client.post(f"/sessions/checkin/{checkin.token}/", {"comment": "hm"})

    assert response.status_code == 422
    assert len(response.context["form"].errors) == 5
    checkin.refresh_from_db()
    assert checkin.answered_at is None


def test_the_service_reports_all_bad_scores_together(match):
    checkin = _family_checkin(match)

    with pytest.raises(ValidationError) as excinfo:
        checkin_answer(checkin=checkin, answers={"frequency": 0, "openness": 6, "school": "x", "extra": 3})

    assert set(excinfo.value.message_dict) == {
        "answers.frequency",
        "answers.openness",
        "answers.school",
        "answers.respect",
        "answers.overall",
        "answers",
    }


def test_answering_twice_is_refused_clearly(match):
    checkin = _family_checkin(match)
    checkin_answer(checkin=checkin, answers=GOOD)

    with pytest.raises(ValidationError) as excinfo:
        checkin_answer(checkin=checkin, answers=GOOD)

    assert excinfo.value.messages == ["This check-in has already been answered."]


def test_nobody_answers_a_family_checkin_from_an_account(match):
    with pytest.raises(PermissionDenied):
        checkin_answer(checkin=_family_checkin(match), answers=GOOD, user=match.mentor.user)


# --- Uncertainty -----------------------------------------------------------------------------


def test_an_uncertain_family_reaches_every_coordinator_without_details(client, match, coordinator):
    checkin = _family_checkin(match)

    client.post(
        f"/sessions/checkin/{checkin.token}/",
        _form(uncertain="on", private_note="The mentor often cancels at the last minute."),
    )

    note = Notification.objects.get(recipient=coordinator, kind="checkin_uncertain")
    assert "cancels" not in note.title + note.body
    assert note.url == f"/sessions/mentees/{match.mentee_id}/timeline/"
    assert not Notification.objects.filter(recipient=match.mentor.user, kind="checkin_uncertain").exists()
    checkin.refresh_from_db()
    assert checkin.uncertain is True
    assert checkin.private_note == "The mentor often cancels at the last minute."


def test_the_mentor_never_sees_the_family_answers(client, client_for, match):
    checkin = _family_checkin(match)
    client.post(
        f"/sessions/checkin/{checkin.token}/",
        _form(uncertain="on", private_note="Cancels at the last minute."),
    )
    mentor_api = client_for(match.mentor.user)

    listed = mentor_api.get(CHECKINS).json()["results"]
    detail = mentor_api.get(f"{CHECKINS}{checkin.pk}/")

    assert [row["respondent"] for row in listed] == ["mentor"]
    assert "Cancels" not in str(listed)
    assert detail.status_code == 404
    client.force_login(match.mentor.user)
    assert client.get(f"/sessions/checkins/{checkin.pk}/").status_code == 404
    timeline = client.get(f"/sessions/mentees/{match.mentee_id}/timeline/")
    assert timeline.status_code == 200
    assert "Cancels" not in timeline.content.decode()
    assert "Uncertain about the match" not in timeline.content.decode()


def test_the_coordinator_reads_the_family_answers(client_for, match, coordinator):
    checkin = _family_checkin(match)
    checkin_answer(checkin=checkin, answers=GOOD, uncertain=True, private_note="Cancels often.")

    rows = client_for(coordinator).get(CHECKINS, {"respondent": "family"}).json()["results"]

    assert rows[0]["answers"] == GOOD
    assert rows[0]["uncertain"] is True
    assert rows[0]["private_note"] == "Cancels often."
    assert rows[0]["family_link"] == f"/sessions/checkin/{checkin.token}/"


def test_another_programme_coordinator_sees_no_checkins(client_for, match, other_coordinator):
    checkin = _family_checkin(match)

    assert client_for(other_coordinator).get(CHECKINS).json()["results"] == []
    assert client_for(other_coordinator).get(f"{CHECKINS}{checkin.pk}/").status_code == 404


def test_a_manager_sees_no_checkins(client_for, match, manager):
    _family_checkin(match)

    assert client_for(manager).get(CHECKINS).json()["results"] == []


# --- The mentor's own check-in ---------------------------------------------------------------


def test_the_mentor_answers_their_checkin_through_the_api(client_for, match):
    checkin = _mentor_checkin(match)

    response = client_for(match.mentor.user).post(
        f"{CHECKINS}{checkin.pk}/answer/", {"answers": GOOD, "comment": "Going well."}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["answers"] == GOOD
    again = client_for(match.mentor.user).post(f"{CHECKINS}{checkin.pk}/answer/", {"answers": GOOD})
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "already_answered"


def test_bad_api_answers_name_each_field(client_for, match):
    checkin = _mentor_checkin(match)

    response = client_for(match.mentor.user).post(
        f"{CHECKINS}{checkin.pk}/answer/", {"answers": {"frequency": 9}}
    )

    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"answers.frequency", "answers.openness", "answers.overall"} <= fields
    checkin.refresh_from_db()
    assert checkin.answered_at is None


def test_only_the_match_mentor_answers_the_mentor_checkin(client_for, match, coordinator, other_mentor):
    checkin = _mentor_checkin(match)

    assert (
        client_for(coordinator).post(f"{CHECKINS}{checkin.pk}/answer/", {"answers": GOOD}).status_code == 403
    )
    assert (
        client_for(other_mentor.user).post(f"{CHECKINS}{checkin.pk}/answer/", {"answers": GOOD}).status_code
        == 404
    )
    with pytest.raises(PermissionDenied):
        checkin_answer(checkin=checkin, answers=GOOD, user=None)


def test_the_mentor_answers_on_the_checkin_page(client, match):
    checkin = _mentor_checkin(match)
    client.force_login(match.mentor.user)

    assert client.get("/sessions/checkins/").status_code == 200
    assert client.get(f"/sessions/checkins/{checkin.pk}/").status_code == 200
    response = client.post(f"/sessions/checkins/{checkin.pk}/", _form())

    assert response.status_code == 302
    checkin.refresh_from_db()
    assert checkin.answers == GOOD


def test_checkin_list_query_count_does_not_grow(client_for, programme, coordinator, mentor, other_mentor):
    api = client_for(coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(CHECKINS).status_code == 200
        return len(queries)

    with freeze_time(START):
        MatchFactory(programme=programme, mentor=mentor, started_on=START)
    _create_on(30)
    few = count()
    with freeze_time(START):
        for _ in range(3):
            MatchFactory(programme=programme, mentor=other_mentor, started_on=START)
    _create_on(30)

    assert CheckIn.objects.count() == 8
    assert count() == few
