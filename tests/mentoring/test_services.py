import datetime

import pytest
from django.core.exceptions import ValidationError

from mentoring.models import (
    Consent,
    ConsentPurpose,
    Family,
    Mentee,
    Mentor,
    MentorStatusChange,
    Person,
    SelfAssessmentQuestion,
)
from mentoring.services import (
    LanguageSpec,
    MemberSpec,
    PersonSpec,
    consent_withdraw,
    family_refer,
    mentee_intake_complete,
    mentor_apply,
    mentor_approve,
    mentor_interview_record,
    mentor_missing_for,
    mentor_record_check_record,
    mentor_reference_record,
    mentor_screening_start,
    mentor_self_assessment_record,
    mentor_training_record,
    mentor_training_start,
    mentor_withdraw,
)
from tests.factories import CulturalBackgroundFactory, MenteeFactory

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


def _applicant_spec(**overrides) -> PersonSpec:
    values = {
        "first_name": "Amal",
        "last_name": "Haddad",
        "email": "amal.haddad@example.org",
        "country_of_birth": "sy",
        "migrant_background": "first_generation",
        "languages": [LanguageSpec("ar", "native", True), LanguageSpec("ro", "fluent")],
        "cultural_backgrounds": ["syrian"],
        "availability": ["tue_evening", "sat_morning"],
        "session_modes": ["in_person", "phone"],
        "consents": [
            ConsentPurpose.CASE_MANAGEMENT,
            ConsentPurpose.BACKGROUND_MATCHING,
            ConsentPurpose.STATISTICS,
        ],
    }
    values.update(overrides)
    return PersonSpec(**values)


@pytest.fixture
def applicant(programme, coordinator):
    CulturalBackgroundFactory(programme=programme, code="syrian", name="Syrian")
    return mentor_apply(programme=programme, person=_applicant_spec(), capacity=2, recorded_by=coordinator)


@pytest.fixture
def questions(programme):
    return [
        SelfAssessmentQuestion.objects.create(programme=programme, text=text, order=i)
        for i, text in enumerate(["I can explain how the school system works.", "I keep boundaries."])
    ]


def _screen(mentor, by, *, expires_on=TODAY + 700 * DAY):
    mentor_screening_start(mentor=mentor, by=by)
    mentor_interview_record(mentor=mentor, interviewed_on=TODAY - 3 * DAY, by=by)
    for name in ("Imam of the community centre", "Former employer"):
        mentor_reference_record(
            mentor=mentor,
            referee_name=name,
            relationship="community",
            received_on=TODAY,
            satisfactory=True,
            by=by,
        )
    mentor_record_check_record(mentor=mentor, checked_on=TODAY - 2 * DAY, expires_on=expires_on, by=by)


def test_an_application_records_the_person_with_languages_backgrounds_and_consents(applicant):
    person = applicant.person
    assert applicant.status == Mentor.Status.APPLIED
    assert person.country_of_birth == "SY"
    assert [(pl.language, pl.is_preferred) for pl in person.languages.all()] == [("ar", True), ("ro", False)]
    assert [cb.code for cb in person.cultural_backgrounds.all()] == ["syrian"]
    assert person.consents.filter(withdrawn_at__isnull=True).count() == 3
    assert MentorStatusChange.objects.filter(mentor=applicant, to_status="applied").exists()


def test_background_fields_without_consent_are_refused_and_nothing_is_stored(programme, coordinator):
    with pytest.raises(ValidationError) as excinfo:
        mentor_apply(
            programme=programme,
            person=_applicant_spec(cultural_backgrounds=[], consents=[ConsentPurpose.CASE_MANAGEMENT]),
            recorded_by=coordinator,
        )

    assert "person.consents" in excinfo.value.message_dict
    assert not Person.objects.exists() and not Mentor.objects.exists()


def test_an_application_with_bad_fields_names_each_of_them(programme, coordinator):
    with pytest.raises(ValidationError) as excinfo:
        mentor_apply(
            programme=programme,
            person=_applicant_spec(
                country_of_birth="XX",
                availability=["someday"],
                languages=[LanguageSpec("zz", "native", True)],
                cultural_backgrounds=["atlantean"],
            ),
            recorded_by=coordinator,
        )

    assert set(excinfo.value.message_dict) >= {
        "person.country_of_birth",
        "person.availability",
        "person.languages.0.language",
        "person.cultural_backgrounds",
    }
    assert not Person.objects.exists()


def test_a_mentor_goes_from_application_to_approval_and_each_step_is_recorded(
    applicant, coordinator, questions
):
    _screen(applicant, coordinator)
    mentor_training_start(mentor=applicant, by=coordinator)
    applicant.refresh_from_db()
    mentor_training_record(
        mentor=applicant,
        course="Mentoring migrant parents",
        completed_on=TODAY,
        test_score=85,
        by=coordinator,
    )
    mentor_self_assessment_record(
        mentor=applicant, stage="start", answers={q.pk: 4 for q in questions}, by=coordinator
    )

    approved = mentor_approve(mentor=applicant, by=coordinator)

    assert approved.status == Mentor.Status.APPROVED and approved.approved_on == TODAY
    assert list(approved.status_changes.values_list("to_status", flat=True)) == [
        "applied",
        "screening",
        "training",
        "approved",
    ]
    assert all(change.changed_by == coordinator for change in approved.status_changes.all())


def test_training_cannot_start_before_screening_is_complete(applicant, coordinator):
    mentor_screening_start(mentor=applicant, by=coordinator)
    mentor_interview_record(mentor=applicant, interviewed_on=TODAY, by=coordinator)

    with pytest.raises(ValidationError) as excinfo:
        mentor_training_start(mentor=applicant, by=coordinator)

    messages = excinfo.value.message_dict["status"]
    assert "Missing: References: 0 of 2 satisfactory." in messages
    assert "Missing: Criminal-record check." in messages
    applicant.refresh_from_db()
    assert applicant.status == Mentor.Status.SCREENING


def test_a_test_score_below_80_percent_does_not_complete_training(applicant, coordinator, questions):
    _screen(applicant, coordinator)
    mentor_training_start(mentor=applicant, by=coordinator)
    applicant.refresh_from_db()
    mentor_training_record(
        mentor=applicant, course="Mentoring", completed_on=TODAY, test_score=79, by=coordinator
    )
    mentor_self_assessment_record(
        mentor=applicant, stage="start", answers={q.pk: 3 for q in questions}, by=coordinator
    )

    with pytest.raises(ValidationError) as excinfo:
        mentor_approve(mentor=applicant, by=coordinator)

    assert "best so far 79 %" in " ".join(excinfo.value.message_dict["status"])
    applicant.refresh_from_db()
    assert applicant.training_completed_on is None and applicant.status == Mentor.Status.TRAINING


def test_a_mentor_whose_check_has_expired_cannot_be_approved(applicant, coordinator, questions):
    _screen(applicant, coordinator)
    mentor_training_start(mentor=applicant, by=coordinator)
    applicant.refresh_from_db()
    mentor_training_record(
        mentor=applicant, course="Mentoring", completed_on=TODAY, test_score=92, by=coordinator
    )
    mentor_self_assessment_record(
        mentor=applicant, stage="start", answers={q.pk: 5 for q in questions}, by=coordinator
    )
    mentor_record_check_record(
        mentor=applicant, checked_on=TODAY - 900 * DAY, expires_on=TODAY - DAY, by=coordinator
    )

    with pytest.raises(ValidationError) as excinfo:
        mentor_approve(mentor=applicant, by=coordinator)

    assert any("Criminal-record check expired" in m for m in excinfo.value.message_dict["status"])
    assert mentor_missing_for(mentor=applicant, stage="approved") == [
        f"Criminal-record check expired on {TODAY - DAY:%d %b %Y}"
    ]


def test_a_self_assessment_must_answer_every_question_from_1_to_5(applicant, coordinator, questions):
    mentor_screening_start(mentor=applicant, by=coordinator)

    with pytest.raises(ValidationError) as excinfo:
        mentor_self_assessment_record(
            mentor=applicant, stage="start", answers={questions[0].pk: 7}, by=coordinator
        )

    assert excinfo.value.message_dict["answers"] == [
        "Answer every question (1 unanswered).",
        "Each answer is a whole number from 1 to 5.",
    ]


def test_an_applicant_cannot_fill_in_the_self_assessment_before_screening(applicant, coordinator, questions):
    with pytest.raises(ValidationError) as excinfo:
        mentor_self_assessment_record(
            mentor=applicant, stage="start", answers={q.pk: 3 for q in questions}, by=coordinator
        )

    assert excinfo.value.message_dict == {"status": ["Not possible while the mentor is applied."]}


def test_a_mentor_with_open_matches_cannot_be_withdrawn(programme, coordinator):
    from tests.factories import MatchFactory

    match = MatchFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        mentor_withdraw(mentor=match.mentor, by=coordinator, reason="Moving abroad")

    assert "open matches" in str(excinfo.value.message_dict["status"])


def test_a_withdrawal_needs_a_reason(applicant, coordinator):
    with pytest.raises(ValidationError):
        mentor_withdraw(mentor=applicant, by=coordinator, reason=" ")

    withdrawn = mentor_withdraw(mentor=applicant, by=coordinator, reason="Moved to Cluj")
    assert withdrawn.status == Mentor.Status.WITHDRAWN and withdrawn.leaving_reason == "Moved to Cluj"


def _member(kind="parent", mentored=True, **person):
    values = {"first_name": "Leila", "last_name": "Haddad", "consents": [ConsentPurpose.CASE_MANAGEMENT]}
    values.update(person)
    return MemberSpec(kind=kind, mentored=mentored, person=PersonSpec(**values))


def test_a_referred_family_with_a_bad_member_writes_nothing(programme, coordinator):
    with pytest.raises(ValidationError) as excinfo:
        family_refer(
            programme=programme,
            reference="FAM-2031",
            referral_source="school",
            members=[_member(), _member("pupil", first_name="Omar", age_band="forty")],
            recorded_by=coordinator,
        )

    assert "members.1.person.age_band" in excinfo.value.message_dict
    assert not Family.objects.exists() and not Person.objects.exists() and not Mentee.objects.exists()


def test_intake_complete_puts_the_mentee_on_the_waiting_list_from_today(programme, coordinator):
    family = family_refer(
        programme=programme,
        reference="FAM-2032",
        referral_source="school",
        referrer_name="Ms Pop, class teacher",
        members=[_member(), _member("pupil", first_name="Omar", mentored=False)],
        recorded_by=coordinator,
    )
    (mentee,) = family.mentees.all()

    mentee = mentee_intake_complete(mentee=mentee, needs_assessment="Understand report cards", by=coordinator)

    assert mentee.status == Mentee.Status.WAITING and mentee.waiting_since == TODAY
    # Omar is recorded as a member of the household without being mentored.
    assert sorted(family.members.values_list("first_name", flat=True)) == ["Leila", "Omar"]


def test_intake_cannot_complete_without_consent_to_case_management(programme, coordinator):
    mentee = MenteeFactory(programme=programme, status=Mentee.Status.INTAKE, person__consents=[])

    with pytest.raises(ValidationError) as excinfo:
        mentee_intake_complete(mentee=mentee, needs_assessment="Homework routines", by=coordinator)

    assert "consent" in excinfo.value.message_dict
    mentee.refresh_from_db()
    assert mentee.status == Mentee.Status.INTAKE


def test_withdrawn_consent_stops_background_matching(programme, coordinator, mentor, waiting_mentee):
    from matching.selectors import mentor_suggestions_for_mentee

    consent = Consent.objects.get(person=waiting_mentee.person, purpose=ConsentPurpose.BACKGROUND_MATCHING)
    assert mentor_suggestions_for_mentee(mentee=waiting_mentee)[0].score > 0

    consent_withdraw(consent=consent, withdrawn_by=coordinator)

    assert mentor_suggestions_for_mentee(mentee=waiting_mentee)[0].score == 0
