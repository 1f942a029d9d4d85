"""The coordinator's record pages (mentor pipeline, list, application and case file; family
referral and intake; the waiting list's search), through Django's test client."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mentoring.models import (
    Consent,
    ConsentPurpose,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorReference,
    Person,
    SelfAssessmentQuestion,
    TrainingRecord,
)
from tests.factories import (
    CulturalBackgroundFactory,
    FamilyFactory,
    MenteeFactory,
    MentorFactory,
)

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _column(response, stage: str) -> str:
    """The HTML of one column of the pipeline board."""
    match = re.search(
        rf'<section class="board__column board__column--{stage}".*?</section>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no {stage} column"
    return html.unescape(match.group(0))


def _form(response, form_id: str) -> str:
    match = re.search(rf'<form[^>]*id="{form_id}".*?</form>', response.content.decode(), re.S)
    assert match, f"no form {form_id}"
    return html.unescape(match.group(0))


def _screened(programme, **kwargs) -> Mentor:
    """A mentor in screening with the interview held and one of two references."""
    mentor = MentorFactory(
        programme=programme, status=Mentor.Status.SCREENING, interviewed_on=TODAY - 5 * DAY, **kwargs
    )
    MentorReference.objects.create(
        mentor=mentor, referee_name="Former employer", relationship="employer", satisfactory=True
    )
    return mentor


def _in_training(programme, **kwargs) -> Mentor:
    """A mentor in training with screening complete and a failed end-of-course test."""
    mentor = MentorFactory(
        programme=programme,
        status=Mentor.Status.TRAINING,
        interviewed_on=TODAY - 40 * DAY,
        record_check_on=TODAY - 30 * DAY,
        record_check_expires_on=TODAY + 700 * DAY,
        **kwargs,
    )
    for name in ("Imam of the community centre", "Class teacher"):
        MentorReference.objects.create(
            mentor=mentor, referee_name=name, relationship="community", satisfactory=True
        )
    TrainingRecord.objects.create(
        mentor=mentor, course="Parent mentoring basics", completed_on=TODAY, test_score=70
    )
    return mentor


# The pipeline


def test_pipeline_shows_what_each_mentor_still_lacks_for_the_next_stage(client, coordinator, programme):
    applicant = MentorFactory(programme=programme, person__first_name="Amal", person__last_name="Haddad")
    screened = _screened(programme, person__first_name="Vlad", person__last_name="Bud")
    training = _in_training(programme, person__first_name="Ana", person__last_name="Hotea")
    client.force_login(coordinator)

    response = client.get(reverse("mentor-pipeline"))

    assert response.status_code == 200
    assert applicant.person.full_name in _column(response, "applied")
    screening = _column(response, "screening")
    assert screened.person.full_name in screening
    assert "References: 1 of 2 satisfactory" in screening
    assert "Criminal-record check" in screening
    assert "Screening interview" not in screening
    training_column = _column(response, "training")
    assert training.person.full_name in training_column
    assert "best so far 70 %" in training_column
    assert "Competence self-assessment (start of service)" in training_column


def test_pipeline_lists_record_checks_that_expired_or_expire_within_60_days(client, coordinator, programme):
    expired = MentorFactory(
        programme=programme, approved=True, person__first_name="Expired", record_check_expires_on=TODAY - DAY
    )
    soon = MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Soon",
        record_check_expires_on=TODAY + 30 * DAY,
    )
    MentorFactory(programme=programme, approved=True, person__first_name="Later")
    client.force_login(coordinator)

    text = _text(client.get(reverse("mentor-pipeline")))

    banner = text[text.index("Record checks to renew") : text.index('<div class="board">')]
    assert expired.person.full_name in banner and "expired on" in banner
    assert soon.person.full_name in banner and "expires in 30 days" in banner
    assert "Later" not in banner


def test_pipeline_query_count_does_not_grow_with_mentors(
    client, coordinator, programme, django_assert_max_num_queries
):
    client.force_login(coordinator)
    for _ in range(2):
        _screened(programme)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("mentor-pipeline"))
    for _ in range(10):
        _screened(programme)
        _in_training(programme)

    with CaptureQueriesContext(connection) as many:
        client.get(reverse("mentor-pipeline"))

    assert len(many) == len(few)


# The mentor list


def test_mentor_list_query_count_is_the_same_for_2_and_20_mentors(client, coordinator, programme):
    client.force_login(coordinator)
    MentorFactory.create_batch(2, programme=programme)
    with CaptureQueriesContext(connection) as two:
        response = client.get(reverse("mentor-list"))
    assert _text(response).count("/mentors/") >= 2
    MentorFactory.create_batch(18, programme=programme, approved=True)

    with CaptureQueriesContext(connection) as twenty:
        response = client.get(reverse("mentor-list"))

    assert response.context["page_obj"].paginator.count == 20
    assert len(twenty) == len(two)


def test_mentor_list_finds_by_name_and_filters_by_status(client, coordinator, programme):
    MentorFactory(programme=programme, person__first_name="Fatima", person__last_name="Haddad")
    MentorFactory(programme=programme, approved=True, person__first_name="Fatima", person__last_name="Yılmaz")
    MentorFactory(programme=programme, person__first_name="Mihai", person__last_name="Pop")
    client.force_login(coordinator)

    text = _text(client.get(reverse("mentor-list"), {"q": "fatima", "status": "applied"}))

    assert "Fatima Haddad" in text
    assert "Fatima Yılmaz" not in text and "Mihai Pop" not in text


def test_mentor_list_search_answers_htmx_with_the_results_only(client, coordinator, programme):
    MentorFactory(programme=programme, person__first_name="Fatima", person__last_name="Haddad")
    client.force_login(coordinator)

    response = client.get(reverse("mentor-list"), {"q": "Haddad"}, headers={"HX-Request": "true"})

    assert [t.name for t in response.templates][0] == "mentoring/_mentor_results.html"
    assert 'hx-swap-oob="innerHTML"' in response.content.decode()
    assert "Fatima Haddad" in _text(response)


# The application


def _application(**overrides) -> dict:
    data = {
        "first_name": "Amal",
        "last_name": "Haddad",
        "email": "amal.haddad@example.org",
        "phone": "+40 743 000 111",
        "municipality": "Baia Mare",
        "preferred_language": "ar",
        "preferred_level": "native",
        "language_2": "ro",
        "level_2": "fluent",
        "language_3": "",
        "level_3": "fluent",
        "cultural_backgrounds": ["syrian"],
        "country_of_birth": "SY",
        "migrant_background": "first_generation",
        "availability": ["tue_evening", "sat_morning"],
        "session_modes": ["in_person", "phone"],
        "capacity": "2",
        "consents": ["case_management", "background_matching", "statistics"],
        "consent_language": "ar",
    }
    data.update(overrides)
    return data


def test_application_records_the_mentor_with_languages_backgrounds_and_consents(
    client, coordinator, programme
):
    CulturalBackgroundFactory(programme=programme, code="syrian", name="Syrian")
    client.force_login(coordinator)

    response = client.post(reverse("mentor-apply"), _application())

    mentor = Mentor.objects.get(person__last_name="Haddad")
    assert response.status_code == 302 and response.url == reverse("mentor-detail", args=[mentor.pk])
    assert (mentor.status, mentor.capacity) == (Mentor.Status.APPLIED, 2)
    person = mentor.person
    assert [(pl.language, pl.level, pl.is_preferred) for pl in person.languages.all()] == [
        ("ar", "native", True),
        ("ro", "fluent", False),
    ]
    assert [cb.code for cb in person.cultural_backgrounds.all()] == ["syrian"]
    assert person.availability == ["tue_evening", "sat_morning"]
    assert sorted(c.purpose for c in person.consents.all()) == sorted(ConsentPurpose.values)
    assert {c.language for c in person.consents.all()} == {"ar"}


def test_application_with_background_but_no_consent_shows_the_error_and_keeps_the_input(
    client, coordinator, programme
):
    CulturalBackgroundFactory(programme=programme, code="syrian", name="Syrian")
    client.force_login(coordinator)

    response = client.post(reverse("mentor-apply"), _application(consents=["case_management"]))

    assert response.status_code == 422
    text = _text(response)
    assert 'id="id_consents_error"' in text
    assert "recorded only with consent to matching on it or to anonymous statistics" in text
    assert 'value="amal.haddad@example.org"' in text
    assert re.search(r'value="syrian"[^>]*checked', text)
    assert not Person.objects.exists()


def test_application_with_a_language_twice_marks_the_repeated_language(client, coordinator, programme):
    client.force_login(coordinator)

    response = client.post(
        reverse("mentor-apply"), _application(cultural_backgrounds=[], language_2="ar", level_2="basic")
    )

    assert response.status_code == 422
    assert response.context["form"].errors["language_2"] == ["A language is listed twice."]


# The case file and its steps


def test_approve_refused_shows_the_missing_steps_next_to_the_approve_button(client, coordinator, programme):
    mentor = _in_training(programme)
    client.force_login(coordinator)

    response = client.post(reverse("mentor-step", args=[mentor.pk, "approve"]))

    assert response.status_code == 422
    approve = _form(response, "step-approve")
    assert "Missing: Training course and end-of-course test (pass mark 80 %; best so far 70 %)." in approve
    assert "Missing: Competence self-assessment (start of service)." in approve
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.TRAINING


def test_a_future_interview_date_is_refused_next_to_the_date_and_kept(client, coordinator, programme):
    mentor = MentorFactory(programme=programme, status=Mentor.Status.SCREENING)
    tomorrow = (timezone.localdate() + DAY).isoformat()
    client.force_login(coordinator)

    response = client.post(
        reverse("mentor-step", args=[mentor.pk, "interview"]), {"interview-interviewed_on": tomorrow}
    )

    assert response.status_code == 422
    form = _form(response, "step-interview")
    assert 'id="id_interview-interviewed_on_error"' in form and "cannot be in the future" in form
    assert f'value="{tomorrow}"' in form
    mentor.refresh_from_db()
    assert mentor.interviewed_on is None


def test_case_file_shows_why_the_mentor_cannot_be_matched_yet(client, coordinator, programme):
    mentor = _screened(programme)
    client.force_login(coordinator)

    text = _text(client.get(reverse("mentor-detail", args=[mentor.pk])))

    assert "Not matchable yet" in text
    assert "No criminal-record check recorded." in text
    assert "Training not completed." in text
    # The steps of screening are offered; training's are not yet.
    assert 'id="step-reference"' in text and 'id="step-start-training"' in text
    assert 'id="step-approve"' not in text


def test_self_assessment_saves_one_answer_per_question(client, coordinator, programme):
    mentor = _in_training(programme)
    questions = [
        SelfAssessmentQuestion.objects.create(programme=programme, text=text, order=i)
        for i, text in enumerate(["I can explain the school system.", "I keep boundaries."])
    ]
    client.force_login(coordinator)
    url = reverse("mentor-step", args=[mentor.pk, "self-assessment"])

    unanswered = client.post(url, {f"self-assessment-q{questions[0].pk}": "4"})
    assert unanswered.status_code == 422
    assert "Choose a score from 1 to 5." in _form(unanswered, "step-self-assessment")

    done = client.post(
        url, {f"self-assessment-q{q.pk}": str(score) for q, score in zip(questions, (4, 5), strict=True)}
    )
    assert done.status_code == 302
    assert mentor.self_assessments.get().answers == {str(questions[0].pk): 4, str(questions[1].pk): 5}


def test_a_step_from_a_stale_page_is_refused_with_a_message(client, coordinator, programme):
    mentor = MentorFactory(programme=programme, approved=True)
    client.force_login(coordinator)

    response = client.post(reverse("mentor-step", args=[mentor.pk, "start-screening"]), follow=True)

    assert response.status_code == 200
    assert "cannot move to screening" in _text(response)
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.APPROVED


# Families


def _referral(**overrides) -> dict:
    data = {
        "reference": "BM-2025-0142",
        "referral_source": "school",
        "referrer_name": "Doamna Pop, class teacher",
        "referrer_organisation": "Școala Gimnazială Nr. 5",
        "municipality": "Baia Mare",
        "referred_on": TODAY.isoformat(),
        "consent_language": "uk",
        "members-TOTAL_FORMS": "4",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "1",
        "members-MAX_NUM_FORMS": "4",
        "members-0-first_name": "Iryna",
        "members-0-last_name": "Shevchenko",
        "members-0-kind": "parent",
        "members-0-mentored": "on",
        "members-0-preferred_language": "uk",
        "members-0-preferred_level": "native",
        "members-0-migrant_background": "first_generation",
        "members-0-consents": ["case_management", "statistics"],
        "members-1-first_name": "Dmytro",
        "members-1-last_name": "Shevchenko",
        "members-1-kind": "pupil",
        "members-1-mentored": "on",
        "members-1-school": "Școala Gimnazială Nr. 5",
        "members-1-grade": "5",
        "members-1-preferred_language": "uk",
        "members-1-preferred_level": "native",
        "members-1-migrant_background": "first_generation",
        "members-1-consents": ["case_management", "statistics"],
        "members-1-consent_given_by": "Iryna Shevchenko (mother)",
    }
    for i in (2, 3):  # untouched slots, as the page sends them
        data.update(
            {
                f"members-{i}-kind": "pupil",
                f"members-{i}-mentored": "on",
                f"members-{i}-preferred_level": "native",
                f"members-{i}-migrant_background": "unknown",
            }
        )
    data.update(overrides)
    return data


def test_referral_records_the_family_and_its_members_as_referred_mentees(client, coordinator, programme):
    client.force_login(coordinator)

    response = client.post(reverse("family-refer"), _referral())

    family = Family.objects.get(reference="BM-2025-0142")
    assert response.status_code == 302 and response.url == reverse("family-detail", args=[family.pk])
    mentees = {m.person.first_name: m for m in family.mentees.select_related("person", "school")}
    assert set(mentees) == {"Iryna", "Dmytro"}
    assert (
        mentees["Dmytro"].kind == Mentee.Kind.PUPIL
        and mentees["Dmytro"].school.name == "Școala Gimnazială Nr. 5"
    )
    assert all(m.status == Mentee.Status.REFERRED for m in mentees.values())
    assert Consent.objects.get(person=mentees["Dmytro"].person, purpose="statistics").given_by == (
        "Iryna Shevchenko (mother)"
    )


def test_referral_with_a_bad_member_shows_the_error_on_that_member_and_writes_nothing(
    client, coordinator, programme
):
    client.force_login(coordinator)

    # The pupil's migrant background is given without any consent that allows recording it.
    response = client.post(reverse("family-refer"), _referral(**{"members-1-consents": ["case_management"]}))

    assert response.status_code == 422
    members = response.context["members"]
    assert "consents" in members.forms[1].errors
    assert not members.forms[0].errors
    text = _text(response)
    assert 'id="id_members-1-consents_error"' in text
    assert 'value="Dmytro"' in text and 'value="BM-2025-0142"' in text
    assert not Family.objects.exists() and not Person.objects.exists() and not Mentee.objects.exists()


def test_referral_needs_a_parent(client, coordinator, programme):
    client.force_login(coordinator)

    response = client.post(reverse("family-refer"), _referral(**{"members-0-kind": "pupil"}))

    assert response.status_code == 422
    assert "Give at least one parent." in _text(response)
    assert not Family.objects.exists()


def test_referral_reference_used_twice_is_refused_on_the_reference(client, coordinator, programme):
    FamilyFactory(programme=programme, reference="BM-2025-0142")
    client.force_login(coordinator)

    response = client.post(reverse("family-refer"), _referral())

    assert response.status_code == 422
    assert response.context["form"].errors["reference"]
    assert Family.objects.count() == 1 and not Person.objects.exists()


def test_intake_takes_a_member_from_referral_to_the_waiting_list(client, coordinator, programme):
    mentee = MenteeFactory(
        programme=programme,
        status=Mentee.Status.REFERRED,
        waiting_since=None,
        intake_completed_on=None,
        person__consents=[],
    )
    family_url = reverse("family-detail", args=[mentee.family_id])
    step = lambda name: reverse("family-member-step", args=[mentee.family_id, mentee.pk, name])  # noqa: E731
    client.force_login(coordinator)

    assert client.post(step("intake-start")).status_code == 302
    refused = client.post(
        step("intake-complete"), {f"m{mentee.pk}-intake-complete-needs_assessment": "Homework."}
    )
    assert refused.status_code == 422
    assert "Record consent to case management" in _form(refused, f"m{mentee.pk}-intake-complete")
    assert "Homework." in _form(refused, f"m{mentee.pk}-intake-complete")

    consent = client.post(
        step("consent"),
        {
            f"consent-{mentee.person_id}-purpose": "case_management",
            f"consent-{mentee.person_id}-given_by": "Iryna Shevchenko",
            f"consent-{mentee.person_id}-language": "uk",
        },
    )
    assert consent.status_code == 302
    done = client.post(
        step("intake-complete"), {f"m{mentee.pk}-intake-complete-needs_assessment": "Homework."}
    )

    assert done.status_code == 302 and done.url.startswith(family_url)
    mentee.refresh_from_db()
    assert (mentee.status, mentee.waiting_since) == (Mentee.Status.WAITING, timezone.localdate())
    assert mentee.person.full_name in _text(client.get(reverse("mentee-waiting-list")))


# The waiting list


def test_waiting_list_filters_by_language_and_kind_longest_wait_first(client, coordinator, programme):
    MenteeFactory(programme=programme, person__first_name="Ukrainian", waiting_since=TODAY - 10 * DAY)
    older = MenteeFactory(
        programme=programme,
        person__first_name="Older",
        person__languages=[("ar", LanguageLevel.NATIVE)],
        waiting_since=TODAY - 50 * DAY,
    )
    newer = MenteeFactory(
        programme=programme,
        person__first_name="Newer",
        person__languages=[("ar", LanguageLevel.NATIVE)],
        waiting_since=TODAY - 5 * DAY,
    )
    MenteeFactory(
        programme=programme,
        kind=Mentee.Kind.PUPIL,
        person__first_name="Pupil",
        person__languages=[("ar", "native")],
    )
    client.force_login(coordinator)

    text = _text(client.get(reverse("mentee-waiting-list"), {"language": "ar", "kind": "parent"}))

    assert text.index(older.person.full_name) < text.index(newer.person.full_name)
    assert "50 days" in text
    assert "Ukrainian " not in text.split('id="results"')[1] and "Pupil " not in text.split('id="results"')[1]


# Who may see what


@pytest.fixture
def other_records(other_programme):
    return MentorFactory(programme=other_programme), FamilyFactory(programme=other_programme)


def test_another_programmes_mentor_and_family_are_not_found(client, coordinator, other_records):
    mentor, family = other_records
    client.force_login(coordinator)

    assert client.get(reverse("mentor-detail", args=[mentor.pk])).status_code == 404
    assert client.post(reverse("mentor-step", args=[mentor.pk, "start-screening"])).status_code == 404
    assert client.get(reverse("family-detail", args=[family.pk])).status_code == 404
    assert client.get(reverse("mentor-apply"), {"programme": family.programme_id}).status_code == 404
    assert client.get(reverse("family-refer"), {"programme": family.programme_id}).status_code == 404
    assert mentor.person.full_name not in _text(client.get(reverse("mentor-list")))
    assert family.reference not in _text(client.get(reverse("family-list")))
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.APPLIED


@pytest.mark.parametrize("role", ["mentor", "manager"])
def test_mentors_and_managers_find_no_record_pages(client, request, role, programme):
    user = request.getfixturevalue("mentor").user if role == "mentor" else request.getfixturevalue("manager")
    mentor = MentorFactory(programme=programme)
    family = FamilyFactory(programme=programme)
    client.force_login(user)

    for url in (
        reverse("mentor-pipeline"),
        reverse("mentor-list"),
        reverse("mentor-apply"),
        reverse("mentor-detail", args=[mentor.pk]),
        reverse("family-list"),
        reverse("family-refer"),
        reverse("family-detail", args=[family.pk]),
        reverse("mentee-waiting-list"),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("mentor-step", args=[mentor.pk, "start-screening"])).status_code == 404
    assert client.post(reverse("family-refer"), _referral()).status_code == 404
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.APPLIED and Family.objects.count() == 1
