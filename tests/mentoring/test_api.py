"""The API of programmes, mentees and mentors, and the error shape every endpoint shares."""

import datetime

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import exceptions as drf_exceptions
from rest_framework.test import APIClient

from config.api import exception_handler
from mentoring.models import AuditEvent, ConsentPurpose, LanguageLevel, Mentee, Mentor
from tests.factories import MatchFactory, MenteeFactory, MentorFactory

pytestmark = pytest.mark.django_db

MENTEES = "/api/v1/mentees/"
MENTORS = "/api/v1/mentors/"
PROGRAMMES = "/api/v1/programmes/"


def _count_queries(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- Programmes ------------------------------------------------------------------------------


def test_coordinator_lists_only_the_programmes_they_are_assigned_to(
    client_for, coordinator, programme, other_programme
):
    response = client_for(coordinator).get(PROGRAMMES)

    assert response.status_code == 200
    assert _ids(response) == [programme.pk]
    assert response.json()["results"][0]["small_cell_k"] == 10


def test_manager_reads_their_programme(client_for, manager, programme):
    response = client_for(manager).get(f"{PROGRAMMES}{programme.pk}/")

    assert response.status_code == 200
    assert response.json()["name"] == programme.name


def test_another_programme_is_not_found_for_a_coordinator(client_for, coordinator, other_programme):
    response = client_for(coordinator).get(f"{PROGRAMMES}{other_programme.pk}/")

    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"field": None, "code": "not_found", "message": "Programme not found."}]
    }


def test_mentor_sees_no_programmes(client_for, mentor):
    response = client_for(mentor.user).get(PROGRAMMES)

    assert response.json()["results"] == []


# --- Mentees ---------------------------------------------------------------------------------


def test_coordinator_lists_the_waiting_mentees_of_their_programme(
    client_for, coordinator, programme, other_programme, waiting_mentee
):
    MatchFactory(programme=programme)  # a matched mentee, not waiting
    MenteeFactory(programme=other_programme)  # waiting, but in another programme

    response = client_for(coordinator).get(MENTEES, {"status": "waiting"})

    assert response.status_code == 200
    assert _ids(response) == [waiting_mentee.pk]
    row = response.json()["results"][0]
    assert row["first_name"] == "Iryna"
    assert row["status"] == "waiting"
    assert row["days_waiting"] == 30
    assert row["family_reference"] == waiting_mentee.family.reference
    assert row["languages"][0] == {"code": "uk", "name": "Ukrainian", "level": "native", "is_preferred": True}
    assert [cb["name"] for cb in row["cultural_backgrounds"]] == ["Ukrainian"]
    assert row["migrant_background"] == "first_generation"


def test_mentee_without_background_consent_shows_no_languages_or_backgrounds(
    client_for, coordinator, programme
):
    mentee = MenteeFactory(
        programme=programme,
        person__backgrounds=["roma"],
        person__consents=[ConsentPurpose.CASE_MANAGEMENT],
    )

    row = client_for(coordinator).get(f"{MENTEES}{mentee.pk}/").json()

    assert row["first_name"] == mentee.person.first_name
    assert row["languages"] is None
    assert row["cultural_backgrounds"] is None
    assert row["migrant_background"] is None
    assert row["country_of_birth"] is None


def test_reading_a_mentee_record_is_audited(client_for, coordinator, waiting_mentee):
    response = client_for(coordinator).get(f"{MENTEES}{waiting_mentee.pk}/")

    assert response.status_code == 200
    event = AuditEvent.objects.get(
        user=coordinator, action="read", object_type="mentoring.Mentee", object_id=str(waiting_mentee.pk)
    )
    assert event.path == f"{MENTEES}{waiting_mentee.pk}/"
    assert event.programme_id == waiting_mentee.programme_id


def test_another_programmes_coordinator_gets_not_found_for_the_mentee(
    client_for, other_coordinator, waiting_mentee
):
    response = client_for(other_coordinator).get(f"{MENTEES}{waiting_mentee.pk}/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Mentee not found."
    assert AuditEvent.objects.filter(user=other_coordinator, action="denied").exists()


def test_manager_sees_no_mentee_rows(client_for, manager, waiting_mentee):
    client = client_for(manager)

    assert client.get(MENTEES).json()["results"] == []
    assert client.get(f"{MENTEES}{waiting_mentee.pk}/").status_code == 404


def test_mentor_sees_only_the_mentees_of_their_open_matches(client_for, programme, mentor, waiting_mentee):
    own = MatchFactory(programme=programme, mentor=mentor)
    MatchFactory(programme=programme)  # another mentor's mentee

    response = client_for(mentor.user).get(MENTEES)

    assert _ids(response) == [own.mentee.pk]
    assert client_for(mentor.user).get(f"{MENTEES}{waiting_mentee.pk}/").status_code == 404


def test_mentee_list_filters_by_programme(client_for, admin_user, programme, other_programme):
    here = MenteeFactory(programme=programme)
    MenteeFactory(programme=other_programme)

    response = client_for(admin_user).get(MENTEES, {"programme": programme.pk})

    assert _ids(response) == [here.pk]


def test_mentee_list_query_count_does_not_grow_with_rows(client_for, coordinator, programme):
    client = client_for(coordinator)
    MenteeFactory.create_batch(2, programme=programme, person__backgrounds=["ukrainian"])
    few, body = _count_queries(client, MENTEES)
    assert body["count"] == 2

    MenteeFactory.create_batch(8, programme=programme, person__backgrounds=["roma"])
    many, body = _count_queries(client, MENTEES)

    assert body["count"] == 10
    assert many == few


# --- Mentors ---------------------------------------------------------------------------------


def test_coordinator_lists_the_mentors_of_their_programme_with_free_places(
    client_for, coordinator, programme, other_programme, mentor, other_mentor
):
    MentorFactory(programme=other_programme, approved=True)
    MatchFactory(programme=programme, mentor=mentor)

    response = client_for(coordinator).get(MENTORS)

    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {mentor.pk, other_mentor.pk}
    assert rows[mentor.pk]["open_matches"] == 1
    assert rows[mentor.pk]["free_places"] == 1
    assert rows[mentor.pk]["unmatchable_reasons"] is None  # detail only


def test_mentor_detail_explains_why_a_mentor_cannot_be_matched(client_for, coordinator, programme):
    trainee = MentorFactory(programme=programme, status=Mentor.Status.TRAINING)

    response = client_for(coordinator).get(f"{MENTORS}{trainee.pk}/")

    assert response.status_code == 200
    reasons = response.json()["unmatchable_reasons"]
    assert "Training not completed." in reasons
    assert "No criminal-record check recorded." in reasons


def test_matchable_mentor_detail_has_no_unmatchable_reasons(client_for, coordinator, mentor):
    response = client_for(coordinator).get(f"{MENTORS}{mentor.pk}/")

    assert response.json()["unmatchable_reasons"] == []
    assert response.json()["languages"][0]["code"] == "uk"


def test_mentor_sees_only_their_own_profile(client_for, mentor, other_mentor):
    client = client_for(mentor.user)

    assert _ids(client.get(MENTORS)) == [mentor.pk]
    assert client.get(f"{MENTORS}{other_mentor.pk}/").status_code == 404


def test_manager_sees_no_mentor_rows(client_for, manager, mentor):
    client = client_for(manager)

    assert client.get(MENTORS).json()["results"] == []
    assert client.get(f"{MENTORS}{mentor.pk}/").status_code == 404


def test_mentor_list_filters_by_status(client_for, coordinator, programme, mentor):
    applicant = MentorFactory(programme=programme, status=Mentor.Status.APPLIED)

    response = client_for(coordinator).get(MENTORS, {"status": "applied"})

    assert _ids(response) == [applicant.pk]


def test_mentor_list_query_count_does_not_grow_with_rows(client_for, coordinator, programme):
    client = client_for(coordinator)
    MentorFactory.create_batch(2, programme=programme, approved=True)
    few, body = _count_queries(client, MENTORS)
    assert body["count"] == 2

    MentorFactory.create_batch(
        8, programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)]
    )
    many, body = _count_queries(client, MENTORS)

    assert body["count"] == 10
    assert many == few


# --- The error shape -------------------------------------------------------------------------


def test_an_anonymous_request_is_refused_in_the_error_shape(waiting_mentee):
    response = APIClient().get(MENTEES)

    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            {
                "field": None,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        ]
    }


def test_an_unknown_filter_value_names_the_field(client_for, coordinator):
    response = client_for(coordinator).get(MENTEES, {"status": "sleeping"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "status"
    assert error["code"] == "invalid_choice"
    assert "sleeping" in error["message"]


def test_a_programme_filter_must_be_a_whole_number(client_for, coordinator):
    response = client_for(coordinator).get(MENTEES, {"programme": "1.5"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "programme"


def test_a_non_numeric_id_is_not_found(client_for, coordinator):
    response = client_for(coordinator).get(f"{MENTEES}abc/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_waiting_mentees_are_listed_longest_wait_first(client_for, coordinator, programme):
    today = datetime.date.today()
    recent = MenteeFactory(programme=programme, waiting_since=today - datetime.timedelta(days=3))
    oldest = MenteeFactory(programme=programme, waiting_since=today - datetime.timedelta(days=90))

    response = client_for(coordinator).get(MENTEES, {"status": Mentee.Status.WAITING})

    assert _ids(response) == [oldest.pk, recent.pk]


def test_nested_and_whole_request_errors_are_flattened_into_the_one_shape():
    detail = {
        "non_field_errors": ["The dates overlap."],
        "address": {"postcode": ["Too long."], "non_field_errors": ["Incomplete address."]},
        "children": [{}, {"age": ["Required."]}],
    }

    response = exception_handler(drf_exceptions.ValidationError(detail), {})

    assert response.status_code == 400
    assert [(e["field"], e["message"]) for e in response.data["errors"]] == [
        (None, "The dates overlap."),
        ("address.postcode", "Too long."),
        ("address", "Incomplete address."),
        ("children.1.age", "Required."),
    ]


def test_a_service_validation_error_answers_400_with_its_fields_and_codes():
    error = DjangoValidationError(
        {
            "held_on": DjangoValidationError("Not after %(day)s.", code="too_late", params={"day": "today"}),
            NON_FIELD_ERRORS: ["Something about the whole log."],
        }
    )

    response = exception_handler(error, {})

    assert response.status_code == 400
    assert response.data == {
        "errors": [
            {"field": "held_on", "code": "too_late", "message": "Not after today."},
            {"field": None, "code": "invalid", "message": "Something about the whole log."},
        ]
    }


def test_a_service_permission_error_answers_403_in_the_one_shape():
    response = exception_handler(DjangoPermissionDenied("Coordinators only."), {})

    assert response.status_code == 403
    assert response.data == {
        "errors": [{"field": None, "code": "permission_denied", "message": "Coordinators only."}]
    }
