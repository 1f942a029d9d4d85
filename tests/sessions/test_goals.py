"""A mentee's goals: who may add them and record progress, and how progress moves a goal."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mentoring.models import AuditEvent
from sessions.models import Goal, GoalProgress
from sessions.services.goals import goal_create, goal_drop, goal_progress_record
from tests.factories import MatchFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
GOALS = "/api/v1/goals/"


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


def _goal(match, user, **overrides) -> Goal:
    values = {
        "description": "Takes part in the parent–teacher meeting in November",
        "agreed_on": TODAY - datetime.timedelta(days=20),
    }
    values.update(overrides)
    return goal_create(mentee=match.mentee, created_by=user, **values)


def test_the_mentor_adds_a_goal_for_their_mentee(match):
    goal = _goal(match, match.mentor.user)

    assert goal.status == Goal.Status.OPEN
    assert goal.progress == 0
    assert AuditEvent.objects.filter(object_type="mentoring_sessions.Goal", action="create").count() == 1


def test_another_mentor_cannot_add_a_goal(match, other_mentor):
    with pytest.raises(PermissionDenied):
        _goal(match, other_mentor.user)

    assert not Goal.objects.exists()


def test_a_coordinator_of_another_programme_cannot_add_a_goal(match, other_coordinator):
    with pytest.raises(PermissionDenied):
        _goal(match, other_coordinator)


def test_a_manager_cannot_add_a_goal(match, manager):
    with pytest.raises(PermissionDenied):
        _goal(match, manager)


def test_the_mentor_of_a_closed_match_cannot_add_a_goal(match):
    match.status = "closed"
    match.closed_on = TODAY
    match.closure_reason = "planned_completion"
    match.save()

    with pytest.raises(PermissionDenied):
        _goal(match, match.mentor.user)


def test_bad_goals_are_refused_with_every_field_named(match, coordinator):
    with pytest.raises(ValidationError) as excinfo:
        _goal(
            match,
            coordinator,
            description="  ",
            agreed_on=TODAY + datetime.timedelta(days=1),
            target_on=TODAY,
        )

    assert set(excinfo.value.message_dict) == {"description", "agreed_on", "target_on"}
    assert not Goal.objects.exists()


def test_progress_moves_the_goal_and_100_achieves_it(match, coordinator):
    goal = _goal(match, coordinator)

    goal_progress_record(
        goal=goal, progress=40, recorded_on=TODAY, recorded_by=match.mentor.user, note="Asked"
    )
    goal.refresh_from_db()
    assert (goal.progress, goal.status) == (40, Goal.Status.OPEN)

    goal_progress_record(goal=goal, progress=100, recorded_on=TODAY, recorded_by=coordinator)
    goal.refresh_from_db()
    assert (goal.progress, goal.status) == (100, Goal.Status.ACHIEVED)
    assert list(goal.updates.values_list("progress", flat=True)) == [40, 100]


def test_a_dropped_goal_takes_no_progress(match, coordinator):
    goal = _goal(match, coordinator)
    goal_drop(goal=goal, dropped_by=coordinator)

    with pytest.raises(ValidationError) as excinfo:
        goal_progress_record(goal=goal, progress=100, recorded_on=TODAY, recorded_by=coordinator)

    assert "goal" in excinfo.value.message_dict
    goal.refresh_from_db()
    assert goal.status == Goal.Status.DROPPED
    assert not GoalProgress.objects.exists()


def test_only_coordinators_drop_goals(match):
    goal = _goal(match, match.mentor.user)

    with pytest.raises(PermissionDenied):
        goal_drop(goal=goal, dropped_by=match.mentor.user)


@pytest.mark.parametrize(
    ("progress", "recorded_on", "field"),
    [
        (101, TODAY, "progress"),
        (-1, TODAY, "progress"),
        (50, TODAY + datetime.timedelta(days=1), "recorded_on"),
        (50, TODAY - datetime.timedelta(days=60), "recorded_on"),
    ],
)
def test_bad_progress_is_refused(match, coordinator, progress, recorded_on, field):
    goal = _goal(match, coordinator)

    with pytest.raises(ValidationError) as excinfo:
        goal_progress_record(goal=goal, progress=progress, recorded_on=recorded_on, recorded_by=coordinator)

    assert field in excinfo.value.message_dict


# --- API -------------------------------------------------------------------------------------


def test_the_mentor_adds_a_goal_and_progress_through_the_api(client_for, match):
    api = client_for(match.mentor.user)

    created = api.post(
        GOALS,
        {"mentee": match.mentee_id, "description": "Reads the school app weekly", "agreed_on": str(TODAY)},
    )
    assert created.status_code == 201, created.json()
    goal_id = created.json()["id"]

    progressed = api.post(f"{GOALS}{goal_id}/progress/", {"progress": 100, "recorded_on": str(TODAY)})

    assert progressed.status_code == 201, progressed.json()
    assert progressed.json()["status"] == "achieved"
    assert [u["progress"] for u in progressed.json()["updates"]] == [100]


def test_goal_api_errors_name_their_fields(client_for, match, coordinator):
    response = client_for(coordinator).post(
        GOALS, {"mentee": match.mentee_id, "description": "", "agreed_on": "soon"}
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"description", "agreed_on"}
    assert not Goal.objects.exists()


def test_another_programme_goal_is_not_found(client_for, match, coordinator, other_coordinator):
    goal = _goal(match, coordinator)
    api = client_for(other_coordinator)

    assert api.get(f"{GOALS}{goal.pk}/").status_code == 404
    assert (
        api.post(f"{GOALS}{goal.pk}/progress/", {"progress": 10, "recorded_on": str(TODAY)}).status_code
        == 404
    )
    refused = api.post(GOALS, {"mentee": match.mentee_id, "description": "x", "agreed_on": str(TODAY)})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "mentee"


def test_goal_list_query_count_does_not_grow(client_for, programme, coordinator, mentor, other_mentor):
    api = client_for(coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(GOALS).status_code == 200
        return len(queries)

    goal = _goal(MatchFactory(programme=programme, mentor=mentor), coordinator)
    goal_progress_record(goal=goal, progress=20, recorded_on=TODAY, recorded_by=coordinator)
    few = count()
    for _ in range(3):
        more = _goal(MatchFactory(programme=programme, mentor=other_mentor), coordinator)
        goal_progress_record(goal=more, progress=30, recorded_on=TODAY, recorded_by=coordinator)

    assert len(api.get(GOALS).json()["results"]) == 4
    assert count() == few
