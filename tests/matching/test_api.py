"""The API of matches and of the mentor suggestions for a waiting mentee."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching.models import Match
from mentoring.models import AuditEvent, Mentee, Mentor
from tests.factories import MatchFactory, MenteeFactory, MentorFactory

pytestmark = pytest.mark.django_db

MATCHES = "/api/v1/matches/"


def _suggestions_url(mentee) -> str:
    return f"/api/v1/mentees/{mentee.pk}/suggestions/"


def _field_errors(response) -> dict[str | None, list[str]]:
    errors: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        errors.setdefault(error["field"], []).append(error["message"])
    return errors


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- Suggestions -----------------------------------------------------------------------------


def test_coordinator_sees_the_ukrainian_speaking_mentor_suggested_first_with_reasons(
    client_for, coordinator, mentor, other_mentor, waiting_mentee
):
    response = client_for(coordinator).get(_suggestions_url(waiting_mentee))

    assert response.status_code == 200
    (first,) = response.json()["results"]  # Mihai shares no usable language with Iryna
    assert first["mentor"] == {
        "id": mentor.pk,
        "first_name": "Olena",
        "last_name": "Kovalenko",
        "capacity": 2,
    }
    assert first["score"] == 65
    assert [(part["reason"], part["points"]) for part in first["parts"]] == [
        ("Speaks Ukrainian natively, the mentee's preferred language", 40),
        ("Shares Ukrainian background", 25),
    ]
    assert first["free_places"] == 2
    assert response.json()["excluded"] == [{"rule": "No common language at a usable level", "count": 1}]


def test_suggestions_leave_out_mentors_who_cannot_be_matched(
    client_for, coordinator, programme, waiting_mentee
):
    MentorFactory(programme=programme, status=Mentor.Status.TRAINING)
    matchable = MentorFactory(programme=programme, approved=True)

    response = client_for(coordinator).get(_suggestions_url(waiting_mentee))

    assert [s["mentor"]["id"] for s in response.json()["results"]] == [matchable.pk]


def test_reading_suggestions_audits_the_mentee_read(client_for, coordinator, mentor, waiting_mentee):
    client_for(coordinator).get(_suggestions_url(waiting_mentee))

    assert AuditEvent.objects.filter(
        user=coordinator, action="read", object_type="mentoring.Mentee", object_id=str(waiting_mentee.pk)
    ).exists()


def test_a_mentor_cannot_browse_suggestions_even_for_their_own_mentee(client_for, programme, mentor):
    match = MatchFactory(programme=programme, mentor=mentor)

    response = client_for(mentor.user).get(_suggestions_url(match.mentee))

    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Mentee not found."


def test_another_programmes_coordinator_gets_not_found_for_suggestions(
    client_for, other_coordinator, mentor, waiting_mentee
):
    response = client_for(other_coordinator).get(_suggestions_url(waiting_mentee))

    assert response.status_code == 404


def test_manager_gets_not_found_for_suggestions(client_for, manager, waiting_mentee):
    assert client_for(manager).get(_suggestions_url(waiting_mentee)).status_code == 404
    assert AuditEvent.objects.filter(
        user=manager, action="denied", object_type="mentoring.Mentee", object_id=str(waiting_mentee.pk)
    ).exists()


def test_another_programmes_coordinator_is_refused_like_for_a_mentee_that_does_not_exist(
    client_for, other_coordinator, waiting_mentee
):
    client = client_for(other_coordinator)
    foreign = client.get(_suggestions_url(waiting_mentee))
    missing = client.get(f"/api/v1/mentees/{waiting_mentee.pk + 10_000}/suggestions/")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert AuditEvent.objects.filter(
        user=other_coordinator, action="denied", object_id=str(waiting_mentee.pk)
    ).exists()


def test_suggestions_query_count_does_not_grow_with_the_mentors_suggested(
    client_for, coordinator, programme, waiting_mentee
):
    client = client_for(coordinator)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_suggestions_url(waiting_mentee))
        return len(queries), len(response.json()["results"])

    MentorFactory.create_batch(2, programme=programme, approved=True)
    few, rows = count()
    MentorFactory.create_batch(6, programme=programme, approved=True)
    many, more = count()

    assert (rows, more) == (2, 8)
    assert many == few


# --- Creating a match ------------------------------------------------------------------------


def test_coordinator_matches_a_waiting_mentee_with_the_suggested_mentor(
    client_for, coordinator, mentor, waiting_mentee
):
    response = client_for(coordinator).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": mentor.pk})

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    assert body["mentor"]["id"] == mentor.pk
    assert body["mentee"] == {
        "id": waiting_mentee.pk,
        "first_name": "Iryna",
        "last_name": "Shevchenko",
        "family_reference": waiting_mentee.family.reference,
        "kind": "parent",
        "preferred_language": "uk",
        "municipality": "Baia Mare",
        "needs": [],
    }
    assert body["score"] == 65
    assert body["started_on"] == datetime.date.today().isoformat()
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.MATCHED
    assert AuditEvent.objects.filter(
        user=coordinator, action="create", object_type="matching.Match", object_id=str(body["id"])
    ).exists()


def test_a_matched_mentee_leaves_the_waiting_list(client_for, coordinator, mentor, waiting_mentee):
    client = client_for(coordinator)
    client.post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": mentor.pk})

    response = client.get("/api/v1/mentees/", {"status": "waiting"})

    assert response.json()["results"] == []


def test_admin_can_create_a_match(client_for, admin_user, mentor, waiting_mentee):
    response = client_for(admin_user).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": mentor.pk})

    assert response.status_code == 201


def test_an_unmatchable_mentor_is_refused_with_the_reasons(
    client_for, coordinator, programme, waiting_mentee
):
    trainee = MentorFactory(programme=programme, status=Mentor.Status.TRAINING)

    response = client_for(coordinator).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": trainee.pk})

    assert response.status_code == 400
    messages = _field_errors(response)["mentor"]
    assert any(m.startswith("Not approved yet") for m in messages)
    assert "Training not completed." in messages
    assert not Match.objects.exists()
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING


def test_a_mentor_at_capacity_is_refused(client_for, coordinator, programme, waiting_mentee):
    full = MentorFactory(programme=programme, approved=True, capacity=1)
    MatchFactory(programme=programme, mentor=full)

    response = client_for(coordinator).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": full.pk})

    assert response.status_code == 400
    assert _field_errors(response)["mentor"] == ["No free capacity (1 of 1 places taken)."]
    assert Match.objects.filter(mentor=full).count() == 1


def test_a_mentee_who_is_not_waiting_is_refused(client_for, coordinator, programme, mentor):
    in_intake = MenteeFactory(programme=programme, status=Mentee.Status.INTAKE)

    response = client_for(coordinator).post(MATCHES, {"mentee": in_intake.pk, "mentor": mentor.pk})

    assert response.status_code == 400
    assert _field_errors(response) == {"mentee": ["The mentee is not waiting for a match (status: intake)."]}
    assert not Match.objects.exists()


def test_a_mentee_of_another_programme_is_not_found(client_for, coordinator, other_programme, mentor):
    foreign = MenteeFactory(programme=other_programme)

    response = client_for(coordinator).post(MATCHES, {"mentee": foreign.pk, "mentor": mentor.pk})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "mentee", "code": "not_found", "message": "Mentee not found."}
    ]
    assert not Match.objects.exists()


def test_a_mentor_of_another_programme_is_not_found(client_for, coordinator, other_programme, waiting_mentee):
    foreign = MentorFactory(programme=other_programme, approved=True)

    response = client_for(coordinator).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": foreign.pk})

    assert response.status_code == 400
    assert _field_errors(response) == {"mentor": ["Mentor not found."]}


def test_a_match_needs_both_a_mentee_and_a_mentor(client_for, coordinator):
    response = client_for(coordinator).post(MATCHES, {"mentee": "x"})

    assert response.status_code == 400
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("mentee", "incorrect_type"),
        ("mentor", "required"),
    }


@pytest.mark.parametrize("role", ["mentor", "manager"])
def test_only_coordinators_and_admins_create_matches(request, client_for, role, mentor, waiting_mentee):
    user = mentor.user if role == "mentor" else request.getfixturevalue("manager")

    response = client_for(user).post(MATCHES, {"mentee": waiting_mentee.pk, "mentor": mentor.pk})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not Match.objects.exists()


# --- Reading matches -------------------------------------------------------------------------


def test_mentor_lists_only_their_own_matches(client_for, programme, mentor, other_mentor):
    own = MatchFactory(programme=programme, mentor=mentor)
    MatchFactory(programme=programme, mentor=other_mentor)

    response = client_for(mentor.user).get(MATCHES)

    assert _ids(response) == [own.pk]
    assert response.json()["results"][0]["mentor"]["first_name"] == "Olena"


def test_a_mentor_reading_another_mentors_match_gets_not_found(client_for, programme, mentor, other_mentor):
    theirs = MatchFactory(programme=programme, mentor=other_mentor)

    response = client_for(mentor.user).get(f"{MATCHES}{theirs.pk}/")

    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"field": None, "code": "not_found", "message": "Match not found."}]
    }
    assert AuditEvent.objects.filter(user=mentor.user, action="denied", object_id=str(theirs.pk)).exists()


def test_mentor_reads_their_own_match_and_the_read_is_audited(client_for, programme, mentor):
    own = MatchFactory(programme=programme, mentor=mentor)

    response = client_for(mentor.user).get(f"{MATCHES}{own.pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert AuditEvent.objects.filter(user=mentor.user, action="read", object_id=str(own.pk)).exists()


def test_another_programmes_coordinator_gets_not_found_for_the_match(
    client_for, other_coordinator, programme
):
    match = MatchFactory(programme=programme)

    assert client_for(other_coordinator).get(f"{MATCHES}{match.pk}/").status_code == 404
    assert client_for(other_coordinator).get(MATCHES).json()["results"] == []


def test_manager_sees_no_matches(client_for, manager, programme):
    match = MatchFactory(programme=programme)
    client = client_for(manager)

    assert client.get(MATCHES).json()["results"] == []
    assert client.get(f"{MATCHES}{match.pk}/").status_code == 404


def test_match_list_filters_by_status_and_programme(client_for, admin_user, programme, other_programme):
    active = MatchFactory(programme=programme)
    MatchFactory(
        programme=programme,
        status=Match.Status.CLOSED,
        closed_on=datetime.date.today(),
        closure_reason=Match.ClosureReason.PLANNED_COMPLETION,
    )
    MatchFactory(programme=other_programme)

    response = client_for(admin_user).get(MATCHES, {"status": "active", "programme": programme.pk})

    assert _ids(response) == [active.pk]


def test_match_list_query_count_does_not_grow_with_rows(client_for, coordinator, programme):
    client = client_for(coordinator)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(MATCHES)
        return len(queries), response.json()["count"]

    MatchFactory.create_batch(2, programme=programme)
    few, rows = count()
    assert rows == 2
    MatchFactory.create_batch(8, programme=programme)
    many, rows = count()

    assert rows == 10
    assert many == few
