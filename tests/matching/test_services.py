import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from matching.models import Match
from matching.selectors import mentor_suggestions_for_mentee
from matching.services import match_create
from mentoring.models import AuditEvent, ConsentPurpose, LanguageLevel, Mentee, Mentor
from tests.factories import MatchFactory, MenteeFactory, MentorFactory


def test_match_create_activates_the_match_and_moves_the_mentee_out_of_the_waiting_list(
    coordinator, mentor, waiting_mentee
):
    match = match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator)

    assert match.status == Match.Status.ACTIVE
    assert match.started_on == datetime.date.today()
    waiting_mentee.refresh_from_db()
    mentor.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.MATCHED
    assert mentor.status == Mentor.Status.ACTIVE
    assert AuditEvent.objects.filter(
        action="create", object_type="matching.Match", object_id=str(match.pk), user=coordinator
    ).exists()


def test_mentor_without_valid_record_check_cannot_be_matched(coordinator, programme, waiting_mentee):
    expired = MentorFactory(
        programme=programme,
        approved=True,
        record_check_expires_on=datetime.date.today() - datetime.timedelta(days=1),
    )

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=expired, created_by=coordinator)

    assert "Criminal-record check expired" in str(excinfo.value.message_dict["mentor"])
    assert not Match.objects.exists()
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING


def test_mentor_in_training_cannot_be_matched(coordinator, programme, waiting_mentee):
    trainee = MentorFactory(programme=programme, status=Mentor.Status.TRAINING)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=trainee, created_by=coordinator)

    messages = excinfo.value.message_dict["mentor"]
    assert any("Not approved yet" in m for m in messages)
    assert any("Training not completed" in m for m in messages)


def test_mentor_at_capacity_cannot_take_another_mentee(coordinator, programme, waiting_mentee):
    full = MentorFactory(programme=programme, approved=True, capacity=1)
    MatchFactory(programme=programme, mentor=full)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=full, created_by=coordinator)

    assert "No free capacity (1 of 1 places taken)" in str(excinfo.value.message_dict["mentor"])
    assert Match.objects.filter(mentor=full).count() == 1


def test_a_mentee_who_is_already_matched_cannot_be_matched_again(
    coordinator, programme, mentor, other_mentor
):
    match = MatchFactory(programme=programme, mentor=other_mentor)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=match.mentee, mentor=mentor, created_by=coordinator)

    assert "not waiting" in str(excinfo.value.message_dict["mentee"])


def test_a_mentor_of_another_programme_cannot_be_matched(coordinator, other_programme, waiting_mentee):
    foreign = MentorFactory(programme=other_programme, approved=True)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=foreign, created_by=coordinator)

    assert "another programme" in str(excinfo.value.message_dict["mentor"])


def test_suggestions_rank_the_mentor_who_speaks_the_preferred_language_and_shares_the_background_first(
    mentor, other_mentor, waiting_mentee
):
    suggestions = mentor_suggestions_for_mentee(mentee=waiting_mentee)

    # Mihai speaks Romanian, which Iryna speaks at a basic level only: no usable common language.
    assert [s.mentor for s in suggestions] == [mentor]
    best = suggestions[0]
    assert best.reasons == [
        "Speaks Ukrainian natively, the mentee's preferred language (+40)",
        "Shares Ukrainian background (+25)",
    ]
    assert best.score == 65
    assert suggestions.excluded == [("No common language at a usable level", 1)]


def test_suggestions_leave_out_mentors_who_cannot_be_matched(programme, mentor, waiting_mentee):
    MentorFactory(programme=programme, status=Mentor.Status.SCREENING)
    MentorFactory(programme=programme, approved=True, training_completed_on=None)
    full = MentorFactory(programme=programme, approved=True, capacity=1)
    MatchFactory(programme=programme, mentor=full)

    assert [s.mentor for s in mentor_suggestions_for_mentee(mentee=waiting_mentee)] == [mentor]


def test_suggestions_do_not_use_language_or_background_without_consent(programme, mentor):
    mentee = MenteeFactory(
        programme=programme,
        person__languages=[("uk", LanguageLevel.NATIVE)],
        person__backgrounds=["ukrainian"],
        person__consents=[ConsentPurpose.CASE_MANAGEMENT],
    )

    (suggestion,) = mentor_suggestions_for_mentee(mentee=mentee)

    assert suggestion.score == 0
    assert suggestion.reasons == [
        "Language and background not used: consent to matching on them is missing (+0)"
    ]


def test_only_a_coordinator_of_the_programme_can_make_a_match(other_coordinator, mentor, waiting_mentee):
    with pytest.raises(PermissionDenied):
        match_create(mentee=waiting_mentee, mentor=mentor, created_by=other_coordinator)

    assert not Match.objects.exists()
