"""The mentee's timeline page: sessions, outcome measures, goals and check-ins in date order,
a chart per instrument, and the forms that add to it."""

from __future__ import annotations

import datetime

import pytest

from mentoring.models import AuditEvent
from sessions.models import CheckIn, Goal, OutcomeInstrument, OutcomeMeasure
from sessions.services.checkins import checkin_answer
from sessions.services.goals import goal_create, goal_progress_record
from sessions.services.outcomes import outcome_measure_record
from tests.factories import MatchFactory, SessionLogFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
GOOD = {"frequency": 4, "openness": 5, "school": 4, "respect": 5, "overall": 4}


def _ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor, started_on=_ago(100))


@pytest.fixture
def engagement(programme):
    return OutcomeInstrument.objects.create(
        programme=programme, code="parent_engagement", name="Parent engagement", scale_min=1, scale_max=5
    )


@pytest.fixture
def story(match, engagement, coordinator):
    SessionLogFactory(match=match, held_on=_ago(60), topics=["homework"], duration_minutes=75)
    for stage, value, days in (("baseline", 2, 90), ("midway", "3.5", 40)):
        outcome_measure_record(
            mentee=match.mentee,
            instrument=engagement,
            stage=stage,
            value=value,
            measured_on=_ago(days),
            recorded_by=coordinator,
        )
    goal = goal_create(
        mentee=match.mentee,
        description="Joins the parents' evening",
        agreed_on=_ago(80),
        created_by=coordinator,
    )
    goal_progress_record(goal=goal, progress=50, recorded_on=_ago(30), recorded_by=match.mentor.user)
    return goal


def _url(match) -> str:
    return f"/sessions/mentees/{match.mentee_id}/timeline/"


def test_the_coordinator_sees_sessions_measures_and_goals_in_date_order(client, match, story, coordinator):
    client.force_login(coordinator)

    response = client.get(_url(match))

    assert response.status_code == 200
    kinds = [entry.kind for entry in response.context["entries"]]
    assert kinds == ["measure", "goal", "session", "measure", "progress"]
    html = response.content.decode()
    assert "Joins the parents&#x27; evening" in html
    assert "75 min" in html
    assert AuditEvent.objects.filter(
        user=coordinator, action="read", object_type="mentoring.Mentee", object_id=str(match.mentee_id)
    ).exists()


def test_each_instrument_has_an_svg_chart_with_a_text_alternative(client, match, story, coordinator):
    client.force_login(coordinator)

    html = client.get(_url(match)).content.decode()

    assert '<svg class="chart chart--outcome"' in html
    assert 'role="img"' in html
    assert "<title" in html and "Parent engagement</title>" in html
    assert "Baseline 2; Midway 3.5; At closure not measured" in html
    assert "<polyline" in html


def test_the_mentees_mentor_sees_the_timeline(client, match, story):
    client.force_login(match.mentor.user)

    assert client.get(_url(match)).status_code == 200


def test_other_users_do_not_find_the_timeline(client, match, story, other_mentor, other_coordinator, manager):
    for user in (other_mentor.user, other_coordinator, manager):
        client.force_login(user)
        assert client.get(_url(match)).status_code == 404


def test_the_coordinator_sees_the_family_checkin_and_its_uncertainty(client, match, story, coordinator):
    family = CheckIn.objects.create(
        match=match, respondent="family", due_on=_ago(70), token="t" * 43, language="uk"
    )
    checkin_answer(checkin=family, answers=GOOD, uncertain=True, private_note="Too many cancellations.")
    client.force_login(coordinator)

    html = client.get(_url(match)).content.decode()

    assert "Family check-in" in html
    assert "Uncertain about the match" in html
    assert "Too many cancellations." in html


def test_the_mentor_records_a_measure_on_the_page(client, match, engagement):
    client.force_login(match.mentor.user)

    response = client.post(
        _url(match),
        {
            "form": "measure",
            "measure-instrument": engagement.pk,
            "measure-stage": "baseline",
            "measure-value": "3",
            "measure-measured_on": str(TODAY),
        },
    )

    assert response.status_code == 302
    assert OutcomeMeasure.objects.get().value == 3


def test_a_bad_measure_is_shown_on_the_page_and_not_saved(client, match, engagement, coordinator):
    client.force_login(coordinator)

    response = client.post(
        _url(match),
        {
            "form": "measure",
            "measure-instrument": engagement.pk,
            "measure-stage": "midway",
            "measure-value": "9",
            "measure-measured_on": str(TODAY),
        },
    )

    assert response.status_code == 422
    assert "The scale runs from 1.00 to 5.00." in response.content.decode()
    assert not OutcomeMeasure.objects.exists()


def test_a_goal_is_added_and_progress_recorded_on_the_page(client, match):
    client.force_login(match.mentor.user)

    added = client.post(
        _url(match), {"form": "goal", "goal-description": "Uses the school app", "goal-agreed_on": str(TODAY)}
    )
    goal = Goal.objects.get()
    progressed = client.post(
        _url(match),
        {
            "form": "progress",
            "progress-goal": goal.pk,
            "progress-progress": 100,
            "progress-recorded_on": str(TODAY),
        },
    )

    assert (added.status_code, progressed.status_code) == (302, 302)
    goal.refresh_from_db()
    assert goal.status == Goal.Status.ACHIEVED


def test_the_mentee_page_links_to_the_timeline(client, match, coordinator):
    client.force_login(coordinator)

    assert _url(match) in client.get(f"/mentees/{match.mentee_id}/").content.decode()
