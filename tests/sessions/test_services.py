import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from freezegun import freeze_time

from matching.models import Match
from mentoring.models import AuditEvent, Mentee
from sessions.models import SessionLog, SessionLogRevision, SessionTopic, Topic
from sessions.selectors import session_topics_for
from sessions.services import session_log_create, session_log_update
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


# --- One log for several mentees of a family -------------------------------------------------


@pytest.fixture
def family_matches(programme, mentor):
    """Olena mentors a mother and her son: two matches that share a family."""
    mother = MatchFactory(programme=programme, mentor=mentor)
    son = MatchFactory(
        programme=programme,
        mentor=mentor,
        mentee__family=mother.mentee.family,
        mentee__kind=Mentee.Kind.PUPIL,
    )
    return mother, son


def test_one_meeting_with_mother_and_son_is_stored_as_one_log_per_match(family_matches):
    mother, son = family_matches

    log, created = _log(mother, also_matches=[son], idempotency_key=uuid.uuid4())

    assert created and log.match == mother
    logs = SessionLog.objects.order_by("pk")
    assert [each.match for each in logs] == [mother, son]
    assert logs[0].shared_key is not None and logs[0].shared_key == logs[1].shared_key
    assert logs[1].notes == log.notes and logs[1].topics == log.topics


def test_a_retry_of_a_shared_log_writes_nothing_more(family_matches):
    mother, son = family_matches
    key = uuid.uuid4()

    first, _ = _log(mother, also_matches=[son], idempotency_key=key)
    again, created = _log(mother, also_matches=[son], idempotency_key=key)

    assert (again.pk, created) == (first.pk, False)
    assert SessionLog.objects.count() == 2


def test_a_log_cannot_be_shared_with_a_match_of_another_family(family_matches, programme, mentor):
    mother, _son = family_matches
    stranger = MatchFactory(programme=programme, mentor=mentor)

    with pytest.raises(ValidationError) as excinfo:
        _log(mother, also_matches=[stranger])

    assert "same family" in str(excinfo.value.message_dict["also_matches"])
    assert not SessionLog.objects.exists()


def test_a_log_cannot_be_shared_with_another_mentors_match_of_the_family(
    family_matches, programme, other_mentor
):
    mother, _son = family_matches
    sister = MatchFactory(programme=programme, mentor=other_mentor, mentee__family=mother.mentee.family)

    with pytest.raises(ValidationError) as excinfo:
        _log(mother, also_matches=[sister])

    assert "also_matches" in excinfo.value.message_dict
    assert not SessionLog.objects.exists()


# --- Programme vocabulary and hidden fields --------------------------------------------------


def test_topics_come_from_the_programmes_own_vocabulary_when_it_has_one(match, programme):
    SessionTopic.objects.create(programme=programme, code="housing", name="Housing")
    SessionTopic.objects.create(programme=programme, code="retired", name="Retired", is_active=False)
    programme.refresh_from_db()
    match.refresh_from_db()

    assert programme.has_session_topics
    assert session_topics_for(programme) == [("housing", "Housing")]
    log, _ = _log(match, topics=["housing"])
    assert log.topics == ["housing"]
    with pytest.raises(ValidationError) as excinfo:
        _log(match, topics=["homework"])
    assert "homework" in str(excinfo.value.message_dict["topics"])


def test_a_programme_without_its_own_topics_uses_the_default_ones(programme):
    assert session_topics_for(programme) == list(Topic.choices)


def test_a_programme_whose_last_topic_is_removed_goes_back_to_the_default_ones(programme):
    topic = SessionTopic.objects.create(programme=programme, code="housing", name="Housing")
    topic.delete()
    programme.refresh_from_db()

    assert not programme.has_session_topics
    assert session_topics_for(programme) == list(Topic.choices)


def test_fields_the_programme_hides_are_ignored_when_sent(match, programme):
    programme.session_hidden_fields = ["topics", "interpreter_used", "follow_ups"]
    programme.save()

    log, _ = _log(match, topics=["astrology"], interpreter_used=True, follow_ups="Call the school.")

    assert (log.topics, log.interpreter_used, log.follow_ups) == ([], False, "")


# --- Corrections: the edit window and the history --------------------------------------------


def _written_days_ago(match, days: int) -> SessionLog:
    with freeze_time(timezone.now() - datetime.timedelta(days=days)):
        log, _ = _log(match, held_on=TODAY - datetime.timedelta(days=days))
    return log


def test_the_author_corrects_their_log_on_day_six(match):
    log = _written_days_ago(match, 6)

    session_log_update(log=log, user=match.mentor.user, duration_minutes=90)

    log.refresh_from_db()
    assert log.duration_minutes == 90 and log.updated_by == match.mentor.user
    assert AuditEvent.objects.filter(action="update", object_id=str(log.pk)).count() == 1


def test_the_author_cannot_correct_their_log_on_day_eight(match):
    log = _written_days_ago(match, 8)

    with pytest.raises(PermissionDenied) as excinfo:
        session_log_update(log=log, user=match.mentor.user, duration_minutes=90)

    assert "7 days" in str(excinfo.value) and "coordinator" in str(excinfo.value)
    log.refresh_from_db()
    assert log.duration_minutes == 45 and not log.revisions.exists()


def test_a_coordinator_corrects_a_log_long_after_it_was_written(match, coordinator):
    match.started_on = TODAY - datetime.timedelta(days=100)
    match.save()
    log = _written_days_ago(match, 60)

    session_log_update(log=log, user=coordinator, notes="Corrected by the coordinator.")

    log.refresh_from_db()
    assert log.notes == "Corrected by the coordinator." and log.updated_by == coordinator


def test_another_mentor_cannot_correct_a_log(match, other_mentor):
    log, _ = _log(match)

    with pytest.raises(PermissionDenied):
        session_log_update(log=log, user=other_mentor.user, duration_minutes=90)


def test_a_correction_keeps_the_changed_fields_before_and_after(match):
    log, _ = _log(match)

    session_log_update(log=log, user=match.mentor.user, duration_minutes=90, notes=log.notes, mode="phone")

    revision = SessionLogRevision.objects.get(log=log)
    assert revision.changed_by == match.mentor.user
    assert revision.changes == {"duration_minutes": [45, 90], "mode": ["in_person", "phone"]}


def test_a_correction_that_changes_nothing_writes_no_history(match):
    log, _ = _log(match)

    session_log_update(log=log, user=match.mentor.user, duration_minutes=45)

    assert not SessionLogRevision.objects.exists()


def test_a_correction_follows_the_rules_of_a_new_log_and_names_every_field(match):
    log, _ = _log(match)

    with pytest.raises(ValidationError) as excinfo:
        session_log_update(
            log=log,
            user=match.mentor.user,
            held_on=TODAY + datetime.timedelta(days=1),
            participants=[],
            duration_minutes=1,
        )

    assert set(excinfo.value.message_dict) == {"held_on", "participants", "duration_minutes"}
    log.refresh_from_db()
    assert log.duration_minutes == 45


def test_a_correction_of_a_shared_log_applies_to_the_whole_family(family_matches):
    mother, son = family_matches
    log, _ = _log(mother, also_matches=[son])

    session_log_update(log=log, user=mother.mentor.user, notes="We met at the school gate.")

    sibling = SessionLog.objects.get(match=son)
    assert sibling.notes == "We met at the school gate." and sibling.updated_by == mother.mentor.user
    assert sibling.revisions.count() == 1
