"""The API of session logs: a mentor logs a session, retries safely, and can't log nonsense."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from matching.models import Match
from mentoring.models import AuditEvent
from sessions.models import SessionLog
from tests.factories import MatchFactory, SessionLogFactory

pytestmark = pytest.mark.django_db

LOGS = "/api/v1/session-logs/"
TODAY = datetime.date.today()


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


def _payload(match, **overrides) -> dict:
    payload = {
        "match": match.pk,
        "held_on": (TODAY - datetime.timedelta(days=1)).isoformat(),
        "duration_minutes": 60,
        "mode": "in_person",
        "language": "uk",
        "participants": ["parent", "pupil"],
        "topics": ["homework"],
        "notes": "Looked at the school's homework platform together.",
    }
    payload.update(overrides)
    return payload


def _field_errors(response) -> dict[str | None, list[str]]:
    errors: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        errors.setdefault(error["field"], []).append(error["message"])
    return errors


# --- Logging a session -----------------------------------------------------------------------


def test_mentor_logs_a_session_of_their_active_match(client_for, mentor, match):
    response = client_for(mentor.user).post(LOGS, _payload(match))

    assert response.status_code == 201
    body = response.json()
    assert body["match"] == match.pk
    assert body["author"] == mentor.user.pk
    assert body["participants"] == ["parent", "pupil"]
    assert body["duration_minutes"] == 60
    log = SessionLog.objects.get()
    assert log.pk == body["id"]
    assert AuditEvent.objects.filter(
        user=mentor.user, action="create", object_type="mentoring_sessions.SessionLog", object_id=str(log.pk)
    ).exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_first_log(client_for, mentor, match):
    client = client_for(mentor.user)
    payload = _payload(match, idempotency_key=str(uuid.uuid4()))

    first = client.post(LOGS, payload)
    retry = client.post(LOGS, payload)

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert SessionLog.objects.count() == 1


def test_two_submissions_without_a_key_are_two_logs(client_for, mentor, match):
    client = client_for(mentor.user)

    client.post(LOGS, _payload(match))
    client.post(LOGS, _payload(match))

    assert SessionLog.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"held_on": (TODAY + datetime.timedelta(days=1)).isoformat()},
            "held_on",
            "The session date cannot be in the future.",
        ),
        ({"duration_minutes": 2}, "duration_minutes", "Ensure this value is greater than or equal to 5."),
        ({"participants": ["parent", "neighbour"]}, "participants.1", '"neighbour" is not a valid choice.'),
        ({"participants": []}, "participants", "Choose at least one."),
        ({"mode": "carrier_pigeon"}, "mode", '"carrier_pigeon" is not a valid choice.'),
        ({"language": "xx"}, "language", "“xx” is not an ISO 639 language code."),
        ({"held_on": "yesterday"}, "held_on", None),
    ],
    ids=["future", "too-short", "unknown-participant", "no-participant", "unknown-mode", "language", "date"],
)
def test_a_bad_session_log_is_refused_with_a_field_message(
    client_for, mentor, match, overrides, field, message
):
    response = client_for(mentor.user).post(LOGS, _payload(match, **overrides))

    assert response.status_code == 400
    errors = _field_errors(response)
    assert field in errors
    if message is not None:
        assert message in errors[field]
    assert not SessionLog.objects.exists()


def test_a_session_cannot_be_logged_for_a_closed_match(client_for, programme, mentor):
    closed = MatchFactory(
        programme=programme,
        mentor=mentor,
        status=Match.Status.CLOSED,
        closed_on=TODAY,
        closure_reason=Match.ClosureReason.PLANNED_COMPLETION,
    )

    response = client_for(mentor.user).post(LOGS, _payload(closed))

    assert response.status_code == 400
    assert _field_errors(response) == {
        "match": ["The match is closed; sessions are logged for active matches."]
    }
    assert not SessionLog.objects.exists()


def test_a_mentor_cannot_log_a_session_of_another_mentors_match(client_for, programme, mentor, other_mentor):
    theirs = MatchFactory(programme=programme, mentor=other_mentor)

    response = client_for(mentor.user).post(LOGS, _payload(theirs))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "match", "code": "not_found", "message": "Match not found."}
    ]
    assert not SessionLog.objects.exists()


def test_a_coordinator_cannot_log_a_session_for_the_mentor(client_for, coordinator, match):
    response = client_for(coordinator).post(LOGS, _payload(match))

    assert response.status_code == 400
    assert _field_errors(response) == {"match": ["Only the match's mentor can log its sessions."]}
    assert not SessionLog.objects.exists()


def test_a_session_log_needs_its_required_fields(client_for, mentor):
    response = client_for(mentor.user).post(LOGS, {})

    assert response.status_code == 400
    required = {e["field"] for e in response.json()["errors"] if e["code"] == "required"}
    assert required == {"match", "held_on", "duration_minutes", "mode", "language", "participants"}


# --- Reading session logs --------------------------------------------------------------------


def test_mentor_lists_only_the_logs_of_their_own_matches(client_for, programme, mentor, other_mentor, match):
    own = SessionLogFactory(match=match)
    SessionLogFactory(match=MatchFactory(programme=programme, mentor=other_mentor))

    response = client_for(mentor.user).get(LOGS)

    assert [row["id"] for row in response.json()["results"]] == [own.pk]


def test_coordinator_reads_a_log_of_their_programme_and_the_read_is_audited(client_for, coordinator, match):
    log = SessionLogFactory(match=match)

    response = client_for(coordinator).get(f"{LOGS}{log.pk}/")

    assert response.status_code == 200
    assert response.json()["notes"] == log.notes
    assert AuditEvent.objects.filter(user=coordinator, action="read", object_id=str(log.pk)).exists()


def test_a_mentor_reading_another_mentors_log_gets_not_found(client_for, programme, mentor, other_mentor):
    theirs = SessionLogFactory(match=MatchFactory(programme=programme, mentor=other_mentor))

    response = client_for(mentor.user).get(f"{LOGS}{theirs.pk}/")

    assert response.status_code == 404


def test_another_programmes_coordinator_and_a_manager_see_no_logs(
    client_for, other_coordinator, manager, match
):
    log = SessionLogFactory(match=match)

    for user in (other_coordinator, manager):
        client = client_for(user)
        assert client.get(LOGS).json()["results"] == []
        assert client.get(f"{LOGS}{log.pk}/").status_code == 404


def test_session_log_list_filters_by_match(client_for, coordinator, programme, match):
    wanted = SessionLogFactory(match=match)
    SessionLogFactory(match=MatchFactory(programme=programme))

    response = client_for(coordinator).get(LOGS, {"match": match.pk})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


def test_session_log_list_query_count_does_not_grow_with_rows(client_for, coordinator, programme):
    client = client_for(coordinator)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LOGS)
        return len(queries), response.json()["count"]

    SessionLogFactory.create_batch(2, match=MatchFactory(programme=programme))
    few, rows = count()
    assert rows == 2
    for _ in range(4):
        SessionLogFactory.create_batch(2, match=MatchFactory(programme=programme))
    many, rows = count()

    assert rows == 10
    assert many == few


# --- Shared logs, corrections and history ----------------------------------------------------


@pytest.fixture
def son_match(programme, mentor, match):
    return MatchFactory(
        programme=programme, mentor=mentor, mentee__family=match.mentee.family, mentee__kind="pupil"
    )


def test_a_session_with_mother_and_son_is_logged_once_for_both(client_for, mentor, match, son_match):
    response = client_for(mentor.user).post(LOGS, _payload(match, also_matches=[son_match.pk]), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["shared_key"] and body["editable"] is True
    assert set(SessionLog.objects.values_list("match_id", flat=True)) == {match.pk, son_match.pk}


def test_a_shared_log_retried_with_its_key_is_stored_once_per_match(client_for, mentor, match, son_match):
    client = client_for(mentor.user)
    payload = _payload(match, also_matches=[son_match.pk], idempotency_key=str(uuid.uuid4()))

    first = client.post(LOGS, payload, format="json")
    retry = client.post(LOGS, payload, format="json")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert SessionLog.objects.count() == 2


def test_a_log_shared_with_another_familys_match_is_refused(client_for, programme, mentor, match):
    stranger = MatchFactory(programme=programme, mentor=mentor)

    response = client_for(mentor.user).post(LOGS, _payload(match, also_matches=[stranger.pk]), format="json")

    assert response.status_code == 400
    assert "also_matches" in _field_errors(response)
    assert not SessionLog.objects.exists()


def test_a_log_shared_with_a_match_the_mentor_cannot_see_is_not_found(
    client_for, programme, mentor, other_mentor, match
):
    theirs = MatchFactory(programme=programme, mentor=other_mentor, mentee__family=match.mentee.family)

    response = client_for(mentor.user).post(LOGS, _payload(match, also_matches=[theirs.pk]), format="json")

    assert response.status_code == 400
    assert _field_errors(response) == {"also_matches.0": ["Match not found."]}
    assert not SessionLog.objects.exists()


def test_the_author_corrects_a_log_with_patch(client_for, mentor, match):
    log = SessionLogFactory(match=match, duration_minutes=60)

    response = client_for(mentor.user).patch(f"{LOGS}{log.pk}/", {"duration_minutes": 75}, format="json")

    assert response.status_code == 200
    assert response.json()["duration_minutes"] == 75
    assert response.json()["updated_by"] == mentor.user.pk


def test_the_author_cannot_patch_a_log_written_eight_days_ago(client_for, mentor, match):
    log = SessionLogFactory(match=match)
    SessionLog.objects.filter(pk=log.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))

    client = client_for(mentor.user)
    response = client.patch(f"{LOGS}{log.pk}/", {"duration_minutes": 75}, format="json")

    assert response.status_code == 403
    assert "7 days" in response.json()["errors"][0]["message"]
    assert client.get(f"{LOGS}{log.pk}/").json()["editable"] is False


def test_a_bad_correction_names_its_fields(client_for, coordinator, match):
    log = SessionLogFactory(match=match)

    response = client_for(coordinator).patch(
        f"{LOGS}{log.pk}/", {"participants": [], "topics": ["astrology"]}, format="json"
    )

    assert response.status_code == 400
    assert set(_field_errors(response)) == {"participants", "topics"}


def test_the_history_of_a_log_lists_its_corrections(client_for, coordinator, mentor, match):
    log = SessionLogFactory(match=match, duration_minutes=60)
    client_for(coordinator).patch(f"{LOGS}{log.pk}/", {"duration_minutes": 75}, format="json")

    response = client_for(mentor.user).get(f"{LOGS}{log.pk}/history/")

    assert response.status_code == 200
    [revision] = response.json()
    assert revision["changed_by"] == coordinator.pk
    assert revision["changes"] == {"duration_minutes": [60, 75]}


def test_the_history_of_another_mentors_log_is_not_found(client_for, programme, other_mentor, match):
    log = SessionLogFactory(match=match)

    assert client_for(other_mentor.user).get(f"{LOGS}{log.pk}/history/").status_code == 404


def test_logging_a_session_takes_a_fixed_handful_of_queries(client_for, mentor, match):
    client = client_for(mentor.user)
    client.post(LOGS, _payload(match, idempotency_key=str(uuid.uuid4())))  # warm-up

    with CaptureQueriesContext(connection) as queries:
        response = client.post(LOGS, _payload(match, idempotency_key=str(uuid.uuid4())))

    assert response.status_code == 201, response.json()
    # The match with its mentor and programme, then the log and its audit row (one statement on
    # PostgreSQL); a retry is caught by the insert itself. The session machinery of the test
    # client's cookie login is not the endpoint's work.
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" not in q["sql"] and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) <= 3, "\n".join(statements)
