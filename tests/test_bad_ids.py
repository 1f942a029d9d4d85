"""Ids that are not ids (Unicode digits, numbers beyond a database integer) answer 400 or 404,
never a server error: cases the API fuzzing found."""

import pytest

from tests.factories import MatchFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/goals/", "/api/v1/report-snapshots/", "/api/v1/consents/"])
def test_a_filter_id_too_large_for_the_database_is_a_field_error(client_for, coordinator, path):
    field = {"/api/v1/goals/": "mentee", "/api/v1/report-snapshots/": "programme"}.get(path, "person")

    response = client_for(coordinator).get(path, {field: "2104045861123287318265856"})

    assert response.status_code == 400
    assert field in str(response.json())


def test_a_record_id_in_unicode_digits_is_not_found(client_for, coordinator):
    assert client_for(coordinator).get("/api/v1/mentees/%C2%B2/").status_code == 404


def test_closure_measures_keyed_by_something_else_than_an_id_are_refused(client_for, coordinator, programme):
    match = MatchFactory(programme=programme)

    response = client_for(coordinator).post(
        f"/api/v1/matches/{match.pk}/close/",
        {"closure_reason": "planned_completion", "closed_on": "2026-11-01", "closure_measures": {"²": "3"}},
        format="json",
    )

    assert response.status_code == 400
    assert "closure_measures" in str(response.json())


def test_raising_a_concern_about_a_match_given_in_unicode_digits_is_not_found(client, mentor):
    client.force_login(mentor.user)

    assert client.get("/sessions/concerns/raise/", {"match": "²"}).status_code == 404
