"""The API of the programme's records: the mentor lifecycle, family referral, intake, consent
and the vocabularies, each action with its refusals; and the query count of every list."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching.models import Match
from mentoring.models import (
    AuditEvent,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorStatusChange,
    Need,
    Person,
    SelfAssessmentQuestion,
)
from mentoring.permissions import grant_programme_role
from tests.factories import (
    ConsentFactory,
    CulturalBackgroundFactory,
    FamilyFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    PersonFactory,
    ProgrammeFactory,
)
from tests.mentoring.builders import DAY, answers_for, mentor_at, needs, self_assessment_questions, today

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def _errors(response) -> list[tuple[str | None, str]]:
    return [(error["field"], error["message"]) for error in response.json()["errors"]]


def _fields(response) -> set[str | None]:
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def api(client_for, coordinator):
    """The coordinator's API client."""
    return client_for(coordinator)


def _person(**overrides) -> dict:
    values = {
        "first_name": "Amal",
        "last_name": "Haddad",
        "email": "amal.haddad@example.org",
        "phone": "+40 722 000 111",
        "gender": "woman",
        "age_band": "30_44",
        "country_of_birth": "SY",
        "migrant_background": "first_generation",
        "municipality": "Baia Mare",
        "postcode": "430011",
        "latitude": 47.659,
        "longitude": 23.565,
        "availability": ["tue_evening", "sat_morning"],
        "session_modes": ["in_person", "phone"],
        "languages": [
            {"language": "ar", "level": "native", "is_preferred": True},
            {"language": "ro", "level": "fluent"},
        ],
        "cultural_backgrounds": ["syrian"],
        "needs": ["homework"],
        "consents": ["case_management", "background_matching", "statistics"],
    }
    values.update(overrides)
    return values


# --- Mentor application ----------------------------------------------------------------------


def test_coordinator_records_a_mentor_application_with_the_persons_profile(api, programme):
    CulturalBackgroundFactory(programme=programme, code="syrian", name="Syrian")
    needs(programme)

    response = api.post(f"{API}/mentors/", {"programme": programme.pk, "person": _person(), "capacity": 2})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "applied"
    assert body["capacity"] == 2
    assert (body["first_name"], body["email"], body["availability"]) == (
        "Amal",
        "amal.haddad@example.org",
        ["tue_evening", "sat_morning"],
    )
    assert [(lang["code"], lang["is_preferred"]) for lang in body["languages"]] == [
        ("ar", True),
        ("ro", False),
    ]
    assert [cb["code"] for cb in body["cultural_backgrounds"]] == ["syrian"]
    assert [need["code"] for need in body["needs"]] == ["homework"]
    assert body["migrant_background"] == "first_generation"
    assert [(c["from_status"], c["to_status"]) for c in body["status_history"]] == [("", "applied")]
    assert "Screening interview" in body["missing_for_approval"]
    mentor = Mentor.objects.get(pk=body["id"])
    assert set(mentor.person.consents.values_list("purpose", flat=True)) == set(ConsentPurpose.values)


def test_background_data_without_consent_refuses_the_application_and_saves_nothing(api, programme):
    people = Person.objects.count()

    response = api.post(
        f"{API}/mentors/",
        {
            "programme": programme.pk,
            "person": _person(cultural_backgrounds=[], needs=[], consents=["case_management"]),
        },
    )

    assert response.status_code == 400
    assert _fields(response) == {"person.consents"}
    assert Person.objects.count() == people
    assert not Mentor.objects.exists()


def test_application_errors_name_the_nested_field(api, programme):
    person = _person(cultural_backgrounds=["atlantean"], languages=[{"language": "xx", "level": "native"}])

    response = api.post(f"{API}/mentors/", {"programme": programme.pk, "person": person})

    assert response.status_code == 400
    assert _fields(response) == {"person.languages.0.language", "person.cultural_backgrounds"}


def test_application_input_types_are_checked_per_nested_field(api, programme):
    person = _person(languages=[{"language": "ro", "level": "perfect"}], availability=["someday"])

    response = api.post(f"{API}/mentors/", {"programme": programme.pk, "person": person, "capacity": 4})

    assert response.status_code == 400
    assert _fields(response) == {"person.languages.0.level", "person.availability.0", "capacity"}


def test_an_application_to_another_programme_names_the_programme_not_found(
    client_for, other_coordinator, programme
):
    response = client_for(other_coordinator).post(
        f"{API}/mentors/", {"programme": programme.pk, "person": _person(cultural_backgrounds=[])}
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("programme", "not_found")


# --- Mentor lifecycle ------------------------------------------------------------------------


def test_screening_starts_for_an_applicant_and_is_recorded_in_the_history(api, coordinator, programme):
    mentor = mentor_at(programme, "applied")

    response = api.post(f"{API}/mentors/{mentor.pk}/start-screening/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "screening"
    change = MentorStatusChange.objects.get(mentor=mentor, to_status="screening")
    assert (change.from_status, change.changed_by) == ("applied", coordinator)
    assert response.json()["status_history"][-1]["changed_by_name"]


def test_screening_cannot_start_twice(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(f"{API}/mentors/{mentor.pk}/start-screening/")

    assert response.status_code == 400
    assert _errors(response) == [("status", "A mentor who is screening cannot move to screening.")]


def test_interview_is_recorded_during_screening(api, coordinator, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/record-interview/", {"interviewed_on": str(today() - DAY)}
    )

    assert response.status_code == 200
    assert response.json()["interviewed_on"] == str(today() - DAY)
    mentor.refresh_from_db()
    assert mentor.interviewed_by == coordinator


def test_an_interview_in_the_future_is_refused(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/record-interview/", {"interviewed_on": str(today() + DAY)}
    )

    assert response.status_code == 400
    assert _fields(response) == {"interviewed_on"}


def test_an_interview_before_screening_is_refused(api, programme):
    mentor = mentor_at(programme, "applied")

    response = api.post(f"{API}/mentors/{mentor.pk}/record-interview/", {"interviewed_on": str(today())})

    assert response.status_code == 400
    assert _fields(response) == {"status"}


def test_a_reference_is_added_during_screening(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/references/",
        {
            "referee_name": "Maria Ionescu",
            "relationship": "employer",
            "received_on": str(today()),
            "satisfactory": True,
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["referee_name"] == "Maria Ionescu"
    assert mentor.references.count() == 1


def test_a_reference_needs_the_mentor_in_screening(api, programme):
    mentor = mentor_at(programme, "applied")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/references/",
        {
            "referee_name": "Maria Ionescu",
            "relationship": "employer",
            "received_on": str(today()),
            "satisfactory": True,
        },
    )

    assert response.status_code == 400
    assert _fields(response) == {"status"}
    assert not mentor.references.exists()


def test_a_reference_without_its_verdict_names_the_field(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/references/",
        {"referee_name": "Maria Ionescu", "relationship": "employer", "received_on": str(today())},
    )

    assert response.status_code == 400
    assert _fields(response) == {"satisfactory"}


def test_a_record_check_is_recorded_with_its_expiry(api, programme):
    mentor = mentor_at(programme, "screening")
    expires = today() + 365 * DAY

    response = api.post(
        f"{API}/mentors/{mentor.pk}/record-check/",
        {"checked_on": str(today()), "expires_on": str(expires), "reference": "CJ-2025-0412"},
    )

    assert response.status_code == 200
    assert response.json()["record_check_expires_on"] == str(expires)
    assert response.json()["record_check_reference"] == "CJ-2025-0412"


def test_a_record_check_expiring_before_it_was_made_is_refused(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/record-check/",
        {"checked_on": str(today()), "expires_on": str(today() - DAY)},
    )

    assert response.status_code == 400
    assert _fields(response) == {"expires_on"}


def test_training_starts_only_when_screening_is_complete_and_lists_what_is_missing(api, programme):
    mentor = mentor_at(programme, "screening")

    response = api.post(f"{API}/mentors/{mentor.pk}/start-training/")

    assert response.status_code == 400
    assert _errors(response) == [
        ("status", "Missing: Screening interview."),
        ("status", "Missing: References: 0 of 2 satisfactory."),
        ("status", "Missing: Criminal-record check."),
    ]
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.SCREENING


def test_a_screened_mentor_starts_training(api, programme):
    mentor = mentor_at(programme, "screened")

    response = api.post(f"{API}/mentors/{mentor.pk}/start-training/")

    assert response.status_code == 200
    assert response.json()["status"] == "training"


def test_a_test_score_of_79_percent_does_not_complete_the_training(api, programme):
    mentor = mentor_at(programme, "training")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/training-records/",
        {"course": "Parent mentoring basics", "completed_on": str(today()), "test_score": 79},
    )

    assert response.status_code == 201
    assert response.json()["passed"] is False
    mentor.refresh_from_db()
    assert mentor.training_completed_on is None
    missing = api.get(f"{API}/mentors/{mentor.pk}/").json()["missing_for_approval"]
    assert "Training course and end-of-course test (pass mark 80 %; best so far 79 %)" in missing


def test_a_test_score_of_80_percent_completes_the_training(api, programme):
    mentor = mentor_at(programme, "training")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/training-records/",
        {"course": "Parent mentoring basics", "completed_on": str(today()), "test_score": 80},
    )

    assert response.status_code == 201
    assert response.json()["passed"] is True
    mentor.refresh_from_db()
    assert mentor.training_completed_on == today()


def test_a_test_score_above_100_percent_is_refused(api, programme):
    mentor = mentor_at(programme, "training")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/training-records/",
        {"course": "Parent mentoring basics", "completed_on": str(today()), "test_score": 101},
    )

    assert response.status_code == 400
    assert _fields(response) == {"test_score"}
    assert not mentor.training_records.exists()


def test_a_training_record_needs_the_mentor_in_training(api, programme):
    mentor = mentor_at(programme, "screened")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/training-records/",
        {"course": "Parent mentoring basics", "completed_on": str(today()), "test_score": 90},
    )

    assert response.status_code == 400
    assert _fields(response) == {"status"}


def test_the_start_self_assessment_answers_every_question(api, programme):
    mentor = mentor_at(programme, "training")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/self-assessments/", {"stage": "start", "answers": answers_for(programme)}
    )

    assert response.status_code == 201, response.content
    assert response.json()["stage"] == "start"
    assert response.json()["completed_on"] == str(today())


def test_a_self_assessment_with_an_unanswered_question_is_refused(api, programme):
    mentor = mentor_at(programme, "training")
    answers = answers_for(programme)
    answers.popitem()

    response = api.post(
        f"{API}/mentors/{mentor.pk}/self-assessments/", {"stage": "start", "answers": answers}
    )

    assert response.status_code == 400
    assert _errors(response) == [("answers", "Answer every question (1 unanswered).")]


def test_a_self_assessment_is_filled_in_once_per_stage(api, programme):
    mentor = mentor_at(programme, "trained")

    response = api.post(
        f"{API}/mentors/{mentor.pk}/self-assessments/", {"stage": "start", "answers": answers_for(programme)}
    )

    assert response.status_code == 400
    assert _fields(response) == {"stage"}


def test_a_trained_mentor_is_approved(api, programme):
    mentor = mentor_at(programme, "trained")

    response = api.post(f"{API}/mentors/{mentor.pk}/approve/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["approved_on"]) == ("approved", str(today()))
    assert body["missing_for_approval"] == []
    assert body["unmatchable_reasons"] == []


def test_approval_is_refused_with_every_missing_step_listed(api, programme):
    mentor = mentor_at(programme, "training")

    response = api.post(f"{API}/mentors/{mentor.pk}/approve/")

    assert response.status_code == 400
    assert _errors(response) == [
        ("status", "Missing: Training course and end-of-course test (pass mark 80 %)."),
        ("status", "Missing: Competence self-assessment (start of service)."),
    ]
    mentor.refresh_from_db()
    assert (mentor.status, mentor.approved_on) == (Mentor.Status.TRAINING, None)


def test_a_mentor_whose_record_check_has_expired_cannot_be_approved(api, programme):
    expired = today() - DAY
    mentor = mentor_at(programme, "trained", record_check_expires_on=expired)

    response = api.post(f"{API}/mentors/{mentor.pk}/approve/")

    assert response.status_code == 400
    assert _errors(response) == [
        ("status", f"Missing: Criminal-record check expired on {expired:%d %b %Y}."),
    ]


def test_an_applicant_cannot_be_approved(api, programme):
    mentor = mentor_at(programme, "applied")

    response = api.post(f"{API}/mentors/{mentor.pk}/approve/")

    assert response.status_code == 400
    assert _errors(response) == [("status", "A mentor who is applied cannot move to approved.")]


def test_an_approved_mentor_is_deactivated_with_a_note(api, programme):
    mentor = mentor_at(programme, "approved")

    response = api.post(f"{API}/mentors/{mentor.pk}/deactivate/", {"note": "Exams until June"})

    assert response.status_code == 200
    assert response.json()["status"] == "inactive"
    assert response.json()["status_history"][-1]["note"] == "Exams until June"


def test_a_mentor_with_an_open_match_cannot_be_deactivated(api, programme):
    mentor = mentor_at(programme, "approved")
    MatchFactory(programme=programme, mentor=mentor)
    mentor.refresh_from_db()  # the match made them active

    response = api.post(f"{API}/mentors/{mentor.pk}/deactivate/")

    assert response.status_code == 400
    assert _errors(response) == [("status", "Close or hand over the mentor's open matches first.")]


def test_an_inactive_mentor_is_reactivated(api, programme):
    mentor = mentor_at(programme, "inactive")

    response = api.post(f"{API}/mentors/{mentor.pk}/reactivate/")

    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_an_inactive_mentor_with_an_expired_check_is_not_reactivated(api, programme):
    expired = today() - 10 * DAY
    mentor = mentor_at(programme, "inactive", record_check_expires_on=expired)

    response = api.post(f"{API}/mentors/{mentor.pk}/reactivate/")

    assert response.status_code == 400
    assert _errors(response) == [
        ("status", f"Missing: Criminal-record check expired on {expired:%d %b %Y}."),
    ]


def test_a_mentor_withdraws_with_a_reason(api, programme):
    mentor = mentor_at(programme, "approved")

    response = api.post(f"{API}/mentors/{mentor.pk}/withdraw/", {"reason": "Moved to Cluj"})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["left_on"], body["leaving_reason"]) == (
        "withdrawn",
        str(today()),
        "Moved to Cluj",
    )


def test_a_withdrawal_without_a_reason_is_refused(api, programme):
    mentor = mentor_at(programme, "approved")

    response = api.post(f"{API}/mentors/{mentor.pk}/withdraw/", {"reason": "   "})

    assert response.status_code == 400
    assert _fields(response) == {"reason"}


def test_a_withdrawn_mentor_cannot_withdraw_again(api, programme):
    mentor = mentor_at(programme, "approved", status=Mentor.Status.WITHDRAWN)

    response = api.post(f"{API}/mentors/{mentor.pk}/withdraw/", {"reason": "Again"})

    assert response.status_code == 400
    assert _fields(response) == {"status"}


# --- Mentor detail and list ------------------------------------------------------------------


def test_mentor_detail_shows_the_lifecycle_records_and_is_audited_once(api, coordinator, programme):
    mentor = mentor_at(programme, "trained")

    response = api.get(f"{API}/mentors/{mentor.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["missing_for_approval"] == []
    assert [ref["referee_name"] for ref in body["references"]] == ["Ana Pop", "Pr. Ioan Rus"]
    assert [(tr["test_score"], tr["passed"]) for tr in body["training_records"]] == [(85, True)]
    assert [sa["stage"] for sa in body["self_assessments"]] == ["start"]
    assert "status_history" in body
    reads = AuditEvent.objects.filter(user=coordinator, object_type="mentoring.Mentor", action="read")
    assert list(reads.values_list("object_id", flat=True)) == [str(mentor.pk)]


def test_a_lifecycle_action_is_audited_as_a_change_not_a_read(api, coordinator, programme):
    mentor = mentor_at(programme, "applied")

    api.post(f"{API}/mentors/{mentor.pk}/start-screening/")

    events = AuditEvent.objects.filter(user=coordinator, object_type="mentoring.Mentor")
    assert list(events.values_list("action", flat=True)) == ["update"]


def test_a_mentor_reads_their_own_record_without_the_references(client_for, programme):
    mentor = mentor_at(programme, "trained")

    body = client_for(mentor.user).get(f"{API}/mentors/{mentor.pk}/").json()

    assert body["references"] is None
    assert [tr["test_score"] for tr in body["training_records"]] == [85]


def test_mentor_list_searches_by_name(api, programme):
    wanted = MentorFactory(programme=programme, person__first_name="Zsófia", person__last_name="Kovács")
    MentorFactory(programme=programme, person__first_name="Ahmet", person__last_name="Yılmaz")

    response = api.get(f"{API}/mentors/", {"q": "zsófia kov"})

    assert _ids(response) == [wanted.pk]


def test_mentor_list_finds_record_checks_expiring_within_60_days(api, programme):
    soon = mentor_at(programme, "approved", record_check_expires_on=today() + 59 * DAY)
    expired = mentor_at(programme, "training", record_check_expires_on=today() - DAY)
    later = mentor_at(programme, "approved", record_check_expires_on=today() + 61 * DAY)
    applicant = mentor_at(programme, "applied")
    withdrawn = mentor_at(
        programme, "approved", status=Mentor.Status.WITHDRAWN, record_check_expires_on=today()
    )

    due = api.get(f"{API}/mentors/", {"record_check_expiring": "true"})
    not_due = api.get(f"{API}/mentors/", {"record_check_expiring": "false"})

    assert set(_ids(due)) == {soon.pk, expired.pk}
    assert set(_ids(not_due)) == {later.pk, applicant.pk, withdrawn.pk}


def test_mentor_list_filters_by_programme_for_an_admin(client_for, admin_user, programme, other_programme):
    here = mentor_at(programme, "applied")
    mentor_at(other_programme, "applied")

    response = client_for(admin_user).get(f"{API}/mentors/", {"programme": programme.pk})

    assert _ids(response) == [here.pk]


# --- Families --------------------------------------------------------------------------------


def _referral(programme, **overrides) -> dict:
    values = {
        "programme": programme.pk,
        "reference": "BM-2025-031",
        "referral_source": "school",
        "referrer_name": "Dna. Elena Marinescu",
        "referrer_organisation": "Școala Gimnazială Nr. 5",
        "municipality": "Baia Mare",
        "members": [
            {
                "kind": "parent",
                "person": _person(
                    first_name="Iryna", last_name="Shevchenko", country_of_birth="UA", cultural_backgrounds=[]
                ),
            },
            {
                "kind": "pupil",
                "school": "Școala Gimnazială Nr. 5",
                "grade": "5B",
                "person": _person(
                    first_name="Taras",
                    last_name="Shevchenko",
                    country_of_birth="UA",
                    cultural_backgrounds=[],
                    age_band="under_12",
                ),
            },
            {
                "kind": "parent",
                "mentored": False,
                "person": _person(
                    first_name="Petro",
                    last_name="Shevchenko",
                    cultural_backgrounds=[],
                    consents=[],
                    country_of_birth="",
                    migrant_background="unknown",
                ),
            },
        ],
    }
    values.update(overrides)
    return values


def test_a_family_is_referred_with_its_mentored_members(api, coordinator, programme):
    needs(programme)

    response = api.post(f"{API}/families/", _referral(programme))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "BM-2025-031"
    assert [(m["kind"], m["first_name"], m["status"]) for m in body["members"]] == [
        ("parent", "Iryna", "referred"),
        ("pupil", "Taras", "referred"),
    ]
    pupil = Mentee.objects.get(pk=body["members"][1]["id"])
    assert (pupil.school.name, pupil.grade) == ("Școala Gimnazială Nr. 5", "5B")
    assert AuditEvent.objects.filter(
        user=coordinator, action="create", object_type="mentoring.Family"
    ).exists()


def test_a_family_with_a_bad_member_is_refused_naming_the_member_field_and_nothing_is_saved(api, programme):
    needs(programme)
    referral = _referral(programme)
    referral["members"][1]["person"]["country_of_birth"] = "XX"
    referral["members"][1]["person"]["needs"] = ["astrology"]
    counts = (Family.objects.count(), Person.objects.count(), Mentee.objects.count(), Consent.objects.count())

    response = api.post(f"{API}/families/", referral)

    assert response.status_code == 400
    assert _fields(response) == {"members.1.person.country_of_birth", "members.1.person.needs"}
    assert (
        Family.objects.count(),
        Person.objects.count(),
        Mentee.objects.count(),
        Consent.objects.count(),
    ) == counts


def test_a_member_input_error_names_the_member_field(api, programme):
    referral = _referral(programme)
    referral["members"][0]["kind"] = "grandparent"

    response = api.post(f"{API}/families/", referral)

    assert response.status_code == 400
    assert _fields(response) == {"members.0.kind"}
    assert not Family.objects.exists()


def test_a_family_with_no_member_to_mentor_is_refused(api, programme):
    referral = _referral(programme)
    referral["members"] = referral["members"][2:]

    response = api.post(f"{API}/families/", referral)

    assert response.status_code == 400
    assert _fields(response) == {"members"}
    assert not Person.objects.exists()


def test_a_family_reference_is_unique_in_the_programme(api, programme):
    FamilyFactory(programme=programme, reference="BM-2025-031")

    response = api.post(f"{API}/families/", _referral(programme))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["reference"]
    assert Family.objects.count() == 1


def test_family_detail_lists_its_mentees_and_is_audited(api, coordinator, programme):
    family = FamilyFactory(programme=programme)
    mother = MenteeFactory(programme=programme, family=family, person__first_name="Iryna")
    son = MenteeFactory(programme=programme, family=family, kind=Mentee.Kind.PUPIL, person__consents=[])

    response = api.get(f"{API}/families/{family.pk}/")

    assert response.status_code == 200
    members = {m["id"]: m for m in response.json()["members"]}
    assert set(members) == {mother.pk, son.pk}
    assert members[mother.pk]["languages"][0]["code"] == "uk"
    assert members[son.pk]["languages"] is None  # no consent
    assert (
        AuditEvent.objects.filter(
            user=coordinator, action="read", object_type="mentoring.Family", object_id=str(family.pk)
        ).count()
        == 1
    )


def test_family_list_searches_the_reference(api, programme, other_programme):
    wanted = FamilyFactory(programme=programme, reference="BM-2025-031")
    FamilyFactory(programme=programme, reference="BM-2025-044")
    FamilyFactory(programme=other_programme, reference="GE-2025-031")

    response = api.get(f"{API}/families/", {"q": "031"})

    assert _ids(response) == [wanted.pk]


# --- Mentees: intake and closing -------------------------------------------------------------


def _referred(programme, **kwargs) -> Mentee:
    values = {
        "programme": programme,
        "status": Mentee.Status.REFERRED,
        "intake_completed_on": None,
        "waiting_since": None,
    }
    return MenteeFactory(**(values | kwargs))


def test_a_referred_mentees_intake_starts(api, programme):
    mentee = _referred(programme)

    response = api.post(f"{API}/mentees/{mentee.pk}/start-intake/")

    assert response.status_code == 200
    assert response.json()["status"] == "intake"


def test_a_waiting_mentees_intake_does_not_start_again(api, waiting_mentee):
    response = api.post(f"{API}/mentees/{waiting_mentee.pk}/start-intake/")

    assert response.status_code == 400
    assert _errors(response) == [("status", "A mentee who is waiting cannot move to intake.")]


def test_completing_the_intake_puts_the_mentee_on_the_waiting_list(api, programme):
    mentee = _referred(programme, status=Mentee.Status.INTAKE)

    response = api.post(
        f"{API}/mentees/{mentee.pk}/complete-intake/",
        {"needs_assessment": "Understand the Romanian school system; help with homework in Romanian."},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["waiting_since"], body["days_waiting"]) == ("waiting", str(today()), 0)
    assert body["needs_assessment"].startswith("Understand")


def test_intake_completion_requires_consent_to_case_management(api, programme):
    mentee = _referred(
        programme, status=Mentee.Status.INTAKE, person__consents=[ConsentPurpose.BACKGROUND_MATCHING]
    )

    response = api.post(f"{API}/mentees/{mentee.pk}/complete-intake/", {"needs_assessment": "Homework help."})

    assert response.status_code == 400
    assert _errors(response) == [
        ("consent", "Record consent to case management before the intake is complete.")
    ]
    mentee.refresh_from_db()
    assert mentee.status == Mentee.Status.INTAKE


def test_intake_completion_requires_the_needs_assessment(api, programme):
    mentee = _referred(programme, status=Mentee.Status.INTAKE)

    response = api.post(f"{API}/mentees/{mentee.pk}/complete-intake/", {"needs_assessment": ""})

    assert response.status_code == 400
    assert _fields(response) == {"needs_assessment"}


def test_a_waiting_mentee_is_closed(api, waiting_mentee):
    response = api.post(f"{API}/mentees/{waiting_mentee.pk}/close/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["closed_on"]) == ("closed", str(today()))


def test_a_mentee_in_an_open_match_is_not_closed(api, programme):
    match = MatchFactory(programme=programme)

    response = api.post(f"{API}/mentees/{match.mentee.pk}/close/")

    assert response.status_code == 400
    assert _errors(response) == [("status", "Close the mentee's match first.")]


def test_mentee_list_filters_by_kind_and_name(api, programme):
    pupil = MenteeFactory(programme=programme, kind=Mentee.Kind.PUPIL, person__first_name="Taras")
    MenteeFactory(programme=programme, kind=Mentee.Kind.PARENT, person__first_name="Taras")
    MenteeFactory(programme=programme, kind=Mentee.Kind.PUPIL, person__first_name="Denys")

    response = api.get(f"{API}/mentees/", {"kind": "pupil", "q": "taras"})

    assert _ids(response) == [pupil.pk]


def test_the_waiting_list_counts_the_days_waited_longest_first(api, programme):
    recent = MenteeFactory(programme=programme, waiting_since=today() - 3 * DAY)
    oldest = MenteeFactory(programme=programme, waiting_since=today() - 90 * DAY)
    _referred(programme)

    rows = api.get(f"{API}/mentees/", {"status": "waiting"}).json()["results"]

    assert [(row["id"], row["days_waiting"]) for row in rows] == [(oldest.pk, 90), (recent.pk, 3)]


def test_a_mentor_reads_their_mentees_contact_languages_and_needs_but_not_their_background(
    client_for, programme, mentor
):
    mentee = MenteeFactory(
        programme=programme,
        status=Mentee.Status.MATCHED,
        person__phone="+40 744 123 456",
        person__backgrounds=["ukrainian"],
        needs_assessment="Worried about her son's attendance.",
    )
    mentee.person.needs.set(needs(programme)[:1])
    MatchFactory(programme=programme, mentor=mentor, mentee=mentee)

    row = client_for(mentor.user).get(f"{API}/mentees/{mentee.pk}/").json()

    assert row["phone"] == "+40 744 123 456"
    assert row["languages"][0]["code"] == "uk"
    assert [need["code"] for need in row["needs"]] == ["homework"]
    for hidden in ("migrant_background", "country_of_birth", "cultural_backgrounds", "needs_assessment"):
        assert row[hidden] is None, hidden


def test_a_mentor_no_longer_reads_the_mentee_of_a_closed_match(client_for, programme, mentor):
    match = MatchFactory(
        programme=programme,
        mentor=mentor,
        status=Match.Status.CLOSED,
        closed_on=today(),
        closure_reason=Match.ClosureReason.PLANNED_COMPLETION,
    )

    response = client_for(mentor.user).get(f"{API}/mentees/{match.mentee.pk}/")

    assert response.status_code == 404


# --- Consent ---------------------------------------------------------------------------------


def test_consent_is_recorded_for_a_person_of_the_programme(api, coordinator, waiting_mentee):
    Consent.objects.filter(person=waiting_mentee.person, purpose=ConsentPurpose.STATISTICS).delete()

    response = api.post(
        f"{API}/consents/",
        {
            "person": waiting_mentee.person_id,
            "purpose": "statistics",
            "given_by": "Iryna Shevchenko",
            "language": "uk",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["is_active"], body["recorded_by"]) == ("statistics", True, coordinator.pk)


def test_an_active_consent_is_not_recorded_twice(api, waiting_mentee):
    response = api.post(
        f"{API}/consents/",
        {"person": waiting_mentee.person_id, "purpose": "statistics", "given_by": "Iryna", "language": "uk"},
    )

    assert response.status_code == 400
    assert _errors(response) == [("purpose", "This consent is already recorded and active.")]


def test_consent_on_a_form_in_an_unknown_language_is_refused(api, programme):
    person = PersonFactory(programme=programme, consents=[])

    response = api.post(
        f"{API}/consents/",
        {"person": person.pk, "purpose": "statistics", "given_by": "Iryna", "language": "qq"},
    )

    assert response.status_code == 400
    assert _fields(response) == {"language"}


def test_withdrawing_background_consent_hides_the_background_at_once(api, waiting_mentee):
    consent = Consent.objects.get(person=waiting_mentee.person, purpose=ConsentPurpose.BACKGROUND_MATCHING)

    response = api.post(f"{API}/consents/{consent.pk}/withdraw/")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["withdrawn_at"]
    row = api.get(f"{API}/mentees/{waiting_mentee.pk}/").json()
    assert (row["languages"], row["migrant_background"]) == (None, None)


def test_a_withdrawn_consent_is_not_withdrawn_again(api, waiting_mentee):
    consent = Consent.objects.get(person=waiting_mentee.person, purpose=ConsentPurpose.STATISTICS)
    api.post(f"{API}/consents/{consent.pk}/withdraw/")

    response = api.post(f"{API}/consents/{consent.pk}/withdraw/")

    assert response.status_code == 400
    assert _errors(response) == [("consent", "This consent was already withdrawn.")]


def test_consent_list_filters_by_person(api, programme, waiting_mentee):
    MenteeFactory(programme=programme)

    response = api.get(f"{API}/consents/", {"person": waiting_mentee.person_id})

    assert {row["person"] for row in response.json()["results"]} == {waiting_mentee.person_id}
    assert response.json()["count"] == len(ConsentPurpose.values)


def test_a_mentor_lists_only_their_own_consents(client_for, programme, mentor, waiting_mentee):
    MatchFactory(programme=programme, mentor=mentor)

    rows = client_for(mentor.user).get(f"{API}/consents/").json()["results"]

    assert {row["person"] for row in rows} == {mentor.person_id}


# --- Vocabularies ----------------------------------------------------------------------------


def test_vocabularies_are_listed_per_programme(api, programme, other_programme):
    CulturalBackgroundFactory(programme=programme, code="roma", name="Roma")
    CulturalBackgroundFactory(programme=other_programme, code="kurdish", name="Kurdish")
    needs(programme)
    self_assessment_questions(programme)
    SelfAssessmentQuestion.objects.create(programme=programme, text="Retired statement", is_active=False)

    backgrounds = api.get(f"{API}/cultural-backgrounds/").json()["results"]
    need_codes = [
        row["code"] for row in api.get(f"{API}/needs/", {"programme": programme.pk}).json()["results"]
    ]
    questions = api.get(f"{API}/self-assessment-questions/", {"is_active": "true"}).json()["results"]

    assert [row["code"] for row in backgrounds] == ["roma"]
    assert need_codes == ["homework", "parent_teacher", "school_system"]  # by name
    assert len(questions) == 3
    assert all(row["is_active"] for row in questions)


# --- Query counts ----------------------------------------------------------------------------


def _mentee_rows(coordinator, programme, n: int) -> None:
    for mentee in MenteeFactory.create_batch(n, programme=programme, person__backgrounds=["roma"]):
        mentee.person.needs.set(needs(programme))


def _mentor_rows(coordinator, programme, n: int) -> None:
    MentorFactory.create_batch(
        n, programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)]
    )


def _family_rows(coordinator, programme, n: int) -> None:
    for family in FamilyFactory.create_batch(n, programme=programme):
        MenteeFactory(programme=programme, family=family)
        MenteeFactory(programme=programme, family=family, kind=Mentee.Kind.PUPIL)


def _consent_rows(coordinator, programme, n: int) -> None:
    ConsentFactory.create_batch(
        n,
        person=PersonFactory(programme=programme, consents=[]),
        purpose="statistics",
        withdrawn_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
    )


def _background_rows(coordinator, programme, n: int) -> None:
    start = CulturalBackground.objects.count()
    for i in range(n):
        CulturalBackground.objects.create(
            programme=programme, code=f"bg-{start + i}", name=f"Background {start + i}"
        )


def _need_rows(coordinator, programme, n: int) -> None:
    start = Need.objects.count()
    for i in range(n):
        Need.objects.create(programme=programme, code=f"need-{start + i}", name=f"Need {start + i}")


def _question_rows(coordinator, programme, n: int) -> None:
    for i in range(n):
        SelfAssessmentQuestion.objects.create(programme=programme, text=f"Statement {i}", order=i)


def _programme_rows(coordinator, programme, n: int) -> None:
    for other in ProgrammeFactory.create_batch(n):
        grant_programme_role(user=coordinator, programme=other)


LIST_ROWS = {
    "programmes": _programme_rows,
    "mentees": _mentee_rows,
    "mentors": _mentor_rows,
    "families": _family_rows,
    "consents": _consent_rows,
    "cultural-backgrounds": _background_rows,
    "needs": _need_rows,
    "self-assessment-questions": _question_rows,
}


def _count_queries(client, url: str) -> tuple[int, int]:
    # Warm the per-process caches (content types, guardian's permission lookup) first, so the
    # count does not depend on which test ran before.
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("resource", sorted(LIST_ROWS))
def test_list_query_count_does_not_grow_with_rows(api, coordinator, programme, resource):
    url = f"{API}/{resource}/"
    LIST_ROWS[resource](coordinator, programme, 2)
    few, count_few = _count_queries(api, url)

    LIST_ROWS[resource](coordinator, programme, 8)
    many, count_many = _count_queries(api, url)

    assert count_many > count_few >= 2
    assert many == few
