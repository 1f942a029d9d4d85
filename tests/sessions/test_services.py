import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError

from matching.models import Match
from mentoring.models import AuditEvent
from sessions.models import SessionLog
from sessions.services import session_log_create
from tests.factories import MatchFactory

TODAY = datetime.date.today()


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


def _log(match, **overrides):
    values = {
        "author": match.mentor.user,
        "match": match,
        "held_on": TODAY,
        "duration_minutes": 45,
        "mode": "in_person",
        "language": "uk",
        "participants": ["parent", "pupil"],
        "topics": ["homework"],
        "notes": "Looked at the school's online gradebook together.",
    }
    values.update(overrides)
    return session_log_create(**values)


def test_mentor_logs_a_session_of_their_active_match(match):
    log, created = _log(match)

    assert created
    assert log.match == match and log.author == match.mentor.user
    assert (
        AuditEvent.objects.filter(action="create", object_type="mentoring_sessions.SessionLog").count() == 1
    )


def test_a_retry_with_the_same_idempotency_key_stores_one_log(match):
    key = uuid.uuid4()

    first, created_first = _log(match, idempotency_key=key)
    second, created_second = _log(match, idempotency_key=key)

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert SessionLog.objects.count() == 1


def test_a_mentor_cannot_log_for_another_mentors_match(match, other_mentor):
    with pytest.raises(ValidationError) as excinfo:
        _log(match, author=other_mentor.user)

    assert "Only the match's mentor" in str(excinfo.value.message_dict["match"])
    assert not SessionLog.objects.exists()


def test_a_closed_match_takes_no_new_session_logs(match):
    Match.objects.filter(pk=match.pk).update(
        status=Match.Status.CLOSED, closed_on=TODAY, closure_reason="planned_completion"
    )
    match.refresh_from_db()

    with pytest.raises(ValidationError) as excinfo:
        _log(match)

    assert "closed" in str(excinfo.value.message_dict["match"])
    assert not SessionLog.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"held_on": TODAY + datetime.timedelta(days=1)}, "held_on"),
        ({"held_on": TODAY - datetime.timedelta(days=400)}, "held_on"),
        ({"duration_minutes": 2}, "duration_minutes"),
        ({"mode": "carrier_pigeon"}, "mode"),
        ({"language": "zz"}, "language"),
        ({"participants": []}, "participants"),
        ({"participants": ["grandmother"]}, "participants"),
        ({"topics": ["astrology"]}, "topics"),
    ],
)
def test_bad_session_input_is_refused_with_the_field_named_and_nothing_stored(match, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        _log(match, **overrides)

    assert field in excinfo.value.message_dict
    assert not SessionLog.objects.exists()


def test_an_idempotency_key_reused_for_another_match_is_refused(match, programme):
    key = uuid.uuid4()
    _log(match, idempotency_key=key)
    second_match = MatchFactory(programme=programme, mentor=match.mentor)

    with pytest.raises(ValidationError) as excinfo:
        _log(second_match, idempotency_key=key)

    assert "idempotency_key" in excinfo.value.message_dict
    assert SessionLog.objects.count() == 1


def test_every_problem_of_a_session_log_is_reported_at_once(match):
    with pytest.raises(ValidationError) as excinfo:
        _log(
            match,
            held_on=TODAY + datetime.timedelta(days=2),
            duration_minutes=1,
            participants=["grandmother"],
            language="zz",
        )

    assert set(excinfo.value.message_dict) >= {"held_on", "duration_minutes", "participants", "language"}
