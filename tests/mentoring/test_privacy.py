"""Data-subject rights: the export of everything held about a person, its coverage of every
model that can reach a person, erasure, and the retention job."""

from __future__ import annotations

import datetime
import json

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from matching.models import Match
from mentoring import privacy
from mentoring.errors import NotFound
from mentoring.models import (
    AuditEvent,
    Consent,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    Person,
    SelfAssessment,
    TrainingRecord,
)
from mentoring.privacy import (
    ANONYMISE,
    DELETE,
    NO_PERSONAL_DATA,
    REGISTRY,
    TOMBSTONE,
    person_data_collect,
    person_data_export,
    person_erase,
    retention_apply,
)
from reports.models import ReportSnapshot
from sessions.models import (
    AttentionFlag,
    CheckIn,
    Goal,
    GoalProgress,
    Notification,
    OutcomeInstrument,
    OutcomeMeasure,
    SessionLogRevision,
)
from tests.factories import (
    ConcernFactory,
    ConsentFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    SessionLogFactory,
)

PROJECT_APPS = ("mentoring", "matching", "mentoring_sessions", "reports")
TODAY = datetime.date.today


# --- Coverage -------------------------------------------------------------------------------


def _reaches_a_person(model) -> bool:
    """Whether a chain of foreign keys leads from ``model`` to a Person, or to a login (which
    may be a mentor's)."""
    targets = {Person, get_user_model()}
    if model in targets:
        return True
    seen, stack = {model}, [model]
    while stack:
        current = stack.pop()
        for f in current._meta.get_fields():
            if not (f.concrete and f.is_relation and f.related_model):
                continue
            if f.related_model in targets:
                return True
            if f.related_model not in seen:
                seen.add(f.related_model)
                stack.append(f.related_model)
    return False


def _uncovered(covered: set[str]) -> list[str]:
    return sorted(
        model._meta.label
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.auto_created and _reaches_a_person(model) and model._meta.label not in covered
    )


def _covered() -> set[str]:
    return {holding.label for holding in REGISTRY} | set(NO_PERSONAL_DATA)


def test_every_model_that_can_reach_a_person_is_exported_or_declared_free_of_personal_data():
    assert _uncovered(_covered()) == [], (
        "Add these models to mentoring.privacy.REGISTRY (how to find a person's rows and how "
        "erasure treats them) or to NO_PERSONAL_DATA with the reason."
    )


def test_the_coverage_check_notices_a_model_left_out():
    assert _uncovered(_covered() - {"mentoring_sessions.Goal"}) == ["mentoring_sessions.Goal"]


def test_registry_names_real_models_each_once_and_never_as_free_of_personal_data():
    labels = [holding.label for holding in REGISTRY]
    assert len(labels) == len(set(labels))
    for label in [*labels, *NO_PERSONAL_DATA]:
        assert apps.get_model(label)
    assert not set(labels) & set(NO_PERSONAL_DATA)
    assert all(reason.strip() for reason in NO_PERSONAL_DATA.values())
    for holding in REGISTRY:
        fields = {f.name for f in holding.model._meta.concrete_fields}
        assert set(holding.blank) <= fields, holding.label


# --- A person's whole record -----------------------------------------------------------------


@pytest.fixture
def history(programme, coordinator):
    """A mentor with a closed match with a mother, and everything that hangs off both."""
    mentor = MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__email="olena@example.org",
        person__languages=[("uk", LanguageLevel.NATIVE)],
    )
    mentee = MenteeFactory(
        programme=programme,
        status=Mentee.Status.CLOSED,
        closed_on=TODAY() - datetime.timedelta(days=10),
        needs_assessment="Wants to follow her son's homework.",
        person__first_name="Iryna",
        person__last_name="Shevchenko",
        person__languages=[("uk", LanguageLevel.NATIVE)],
    )
    match = MatchFactory(
        programme=programme,
        mentor=mentor,
        mentee=mentee,
        status=Match.Status.CLOSED,
        started_on=TODAY() - datetime.timedelta(days=200),
        closed_on=TODAY() - datetime.timedelta(days=10),
        closure_reason=Match.ClosureReason.PLANNED_COMPLETION,
        closure_note="Iryna now talks to the teacher on her own.",
    )
    log = SessionLogFactory(match=match, notes="Iryna's landlord is threatening eviction.")
    SessionLogRevision.objects.create(log=log, changed_by=mentor.user, changes={"notes": ["a", "b"]})
    concern = ConcernFactory(programme=programme, match=match)
    CheckIn.objects.create(
        match=match,
        respondent=CheckIn.Respondent.FAMILY,
        due_on=TODAY(),
        token="t" * 40,
        language="uk",
        answers={"satisfied": 4},
        comment="Olena is very kind.",
        private_note="Worried about money.",
    )
    goal = Goal.objects.create(mentee=mentee, description="Attend the parents' evening", agreed_on=TODAY())
    GoalProgress.objects.create(goal=goal, progress=50, note="Went once.", recorded_on=TODAY())
    instrument = OutcomeInstrument.objects.create(
        programme=programme, code="engagement", name="Engagement", scale_min=1, scale_max=5
    )
    OutcomeMeasure.objects.create(
        mentee=mentee, instrument=instrument, stage="baseline", value=2, measured_on=TODAY()
    )
    AttentionFlag.objects.create(
        programme=programme,
        kind=AttentionFlag.Kind.UNACKNOWLEDGED_CONCERN,
        concern=concern,
        subject=f"concern:{concern.pk}",
        since=TODAY(),
    )
    Notification.objects.create(recipient=mentor.user, kind="reminder", title="Log your session")
    MentorReference.objects.create(
        mentor=mentor, referee_name="Petro Bondar", relationship="employer", satisfactory=True
    )
    TrainingRecord.objects.create(mentor=mentor, course="Basics", completed_on=TODAY(), test_score=90)
    SelfAssessment.objects.create(mentor=mentor, stage="start", answers={"1": 4})
    MentorStatusChange.objects.create(
        mentor=mentor, from_status="training", to_status="approved", note="Olena did great"
    )
    consent = mentor.person.consents.first() or ConsentFactory(person=mentor.person)
    assign_perm("mentoring.view_mentor", mentor.user, mentor)
    assign_perm("mentoring.view_consent", coordinator, consent)
    return mentor, mentee, match


def test_export_groups_everything_held_about_a_mentee(history, coordinator):
    _mentor, mentee, _match = history

    export = person_data_export(person=mentee.person, requested_by=coordinator)

    assert {
        "mentoring.Person",
        "mentoring.PersonLanguage",
        "mentoring.Consent",
        "mentoring.Family",
        "mentoring.Mentee",
        "matching.Match",
        "mentoring_sessions.SessionLog",
        "mentoring_sessions.Concern",
        "mentoring_sessions.CheckIn",
        "mentoring_sessions.Goal",
        "mentoring_sessions.GoalProgress",
        "mentoring_sessions.OutcomeMeasure",
        "mentoring_sessions.AttentionFlag",
    } <= set(export["records"])
    assert export["records"]["mentoring.Person"]["rows"][0]["first_name"] == "Iryna"
    json.dumps(export)  # JSON-ready as it is


def test_export_of_a_mentor_includes_their_login_without_its_password(history, coordinator):
    mentor, _mentee, _match = history

    export = person_data_export(person=mentor.person, requested_by=coordinator)

    assert {"mentoring.User", "mentoring.MentorReference", "mentoring.TrainingRecord"} <= set(
        export["records"]
    )
    assert "password" not in export["records"]["mentoring.User"]["rows"][0]
    assert "token" not in export["records"]["mentoring_sessions.CheckIn"]["rows"][0]


def test_export_is_audited_once_without_personal_values(history, coordinator):
    _mentor, mentee, _match = history
    before = AuditEvent.objects.count()

    person_data_export(person=mentee.person, requested_by=coordinator)

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.object_type, event.object_id) == (
        "export",
        "mentoring.Person",
        str(mentee.person_id),
    )


@pytest.mark.parametrize("who", ["other_coordinator", "manager"])
def test_export_is_refused_to_anyone_but_the_programmes_coordinators_and_admins(history, who, request):
    _mentor, mentee, _match = history
    user = request.getfixturevalue(who)

    with pytest.raises(NotFound):
        person_data_export(person=mentee.person, requested_by=user)


def test_api_export_answers_the_coordinator_and_hides_the_person_from_another_programme(
    history, coordinator, other_coordinator, client_for
):
    _mentor, mentee, _match = history
    url = f"/api/v1/people/{mentee.person_id}/data-export/"

    response = client_for(coordinator).get(url)
    assert response.status_code == 200
    assert response.json()["person_id"] == mentee.person_id
    assert "mentoring.Mentee" in response.json()["records"]
    assert client_for(other_coordinator).get(url).status_code == 404


def test_data_page_shows_the_records_and_links_to_the_json_download(history, coordinator, client):
    _mentor, mentee, _match = history
    client.force_login(coordinator)
    url = reverse("person-data", args=[mentee.person_id])

    page = client.get(url)
    download = client.get(url, {"format": "json"})

    assert page.status_code == 200
    assert "Download JSON" in page.content.decode()
    assert "Iryna" in page.content.decode()
    assert download["Content-Disposition"].startswith("attachment")
    assert json.loads(download.content)["person_id"] == mentee.person_id


def test_mentor_and_mentee_pages_link_to_the_data_page(history, coordinator, client):
    mentor, mentee, _match = history
    client.force_login(coordinator)

    mentor_page = client.get(reverse("mentor-detail", args=[mentor.pk])).content.decode()
    mentee_page = client.get(reverse("mentee-detail", args=[mentee.pk])).content.decode()

    assert reverse("person-data", args=[mentor.person_id]) in mentor_page
    assert reverse("person-data", args=[mentee.person_id]) in mentee_page


def test_data_page_is_not_found_for_a_mentor(history, client):
    mentor, mentee, _match = history
    client.force_login(mentor.user)

    assert client.get(reverse("person-data", args=[mentee.person_id])).status_code == 404


# --- Erasure ---------------------------------------------------------------------------------


def _assert_nothing_left(person: Person) -> None:
    person.refresh_from_db()
    for holding in REGISTRY:
        rows = holding.rows(person)
        if holding.erasure == DELETE:
            assert not rows.exists(), holding.label
        if holding.erasure in (ANONYMISE, TOMBSTONE):
            for row in rows:
                assert all(getattr(row, name) == "" for name in holding.blank), holding.label
    for name in ("first_name", "last_name", "email", "phone", "gender", "postcode", "municipality"):
        assert getattr(person, name) == ""
    assert person.erased_at is not None
    assert not person.languages.exists() and not person.needs.exists()
    assert not person.cultural_backgrounds.exists()
    for role in (Mentor.objects.filter(person=person).first(), Mentee.objects.filter(person=person).first()):
        if role is not None:
            assert getattr(role, "user_id", None) is None and getattr(role, "school_id", None) is None
            assert getattr(role, "family", None) is None or role.family.reference == privacy.ERASED_FAMILY


def test_erasing_a_mentor_leaves_only_a_tombstone(history, admin_user):
    mentor, mentee, match = history
    login_id = mentor.user_id

    person_erase(person=mentor.person, erased_by=admin_user, reason="Request of 3 May")

    _assert_nothing_left(mentor.person)
    assert not get_user_model().objects.filter(pk=login_id).exists()
    assert not UserObjectPermission.objects.filter(user_id=login_id).exists()
    mentor.refresh_from_db()
    assert mentor.user_id is None and mentor.status == Mentor.Status.APPROVED
    # The mentee's history stays whole.
    match.refresh_from_db()
    assert match.mentee_id == mentee.pk and match.status == Match.Status.CLOSED
    assert person_data_collect(person=mentor.person)["records"] == {}


def test_erasing_a_mentee_blanks_shared_records_and_leaves_no_orphaned_permission(history, coordinator):
    _mentor, mentee, match = history
    consent_ids = [str(pk) for pk in Consent.objects.values_list("pk", flat=True)]

    person_erase(person=mentee.person, erased_by=coordinator, reason="Request of 3 May")

    _assert_nothing_left(mentee.person)
    match.refresh_from_db()
    assert match.closure_note == ""
    assert not Goal.objects.filter(mentee=mentee).exclude(description="").exists()
    assert OutcomeMeasure.objects.filter(mentee=mentee).count() == 1  # figures feed the aggregates
    mentee.refresh_from_db()
    assert mentee.needs_assessment == "" and mentee.family.reference == privacy.ERASED_FAMILY
    remaining = UserObjectPermission.objects.filter(content_type__model="consent", object_pk__in=consent_ids)
    assert all(Consent.objects.filter(pk=p.object_pk).exists() for p in remaining)
    export = person_data_export(person=mentee.person, requested_by=coordinator)
    assert export["records"] == {}


def test_erasure_is_audited_once_and_requests_a_fresh_snapshot(history, admin_user, programme):
    _mentor, mentee, _match = history

    person_erase(person=mentee.person, erased_by=admin_user, reason="Request of 3 May")

    event = AuditEvent.objects.get(action="erase")
    assert (event.object_type, event.object_id, event.programme_id) == (
        "mentoring.Person",
        str(mentee.person_id),
        programme.pk,
    )
    assert ReportSnapshot.objects.filter(programme=programme, status=ReportSnapshot.Status.PENDING).exists()


def test_erasure_that_fails_half_way_changes_nothing(history, admin_user, monkeypatch):
    _mentor, mentee, _match = history

    def broken(**kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr("reports.services.snapshot_request", broken)
    with pytest.raises(RuntimeError):
        person_erase(person=mentee.person, erased_by=admin_user, reason="Request")

    mentee.person.refresh_from_db()
    assert mentee.person.first_name == "Iryna" and mentee.person.erased_at is None
    assert mentee.person.languages.exists()
    assert not AuditEvent.objects.filter(action="erase").exists()


def test_a_person_with_an_open_match_cannot_be_erased(programme, admin_user):
    match = MatchFactory(programme=programme)

    with pytest.raises(ValidationError):
        person_erase(person=match.mentee.person, erased_by=admin_user, reason="Request")


def test_another_programmes_coordinator_cannot_erase(history, other_coordinator):
    _mentor, mentee, _match = history

    with pytest.raises(NotFound):
        person_erase(person=mentee.person, erased_by=other_coordinator, reason="Request")


def test_api_erase_answers_the_coordinator(history, coordinator, client_for):
    _mentor, mentee, _match = history

    response = client_for(coordinator).post(
        f"/api/v1/people/{mentee.person_id}/erase/", {"reason": "Request"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["deleted"]["mentoring.PersonLanguage"] == 1


def test_erasure_form_on_the_data_page_erases_the_person(history, coordinator, client):
    _mentor, mentee, _match = history
    client.force_login(coordinator)

    response = client.post(reverse("person-erase", args=[mentee.person_id]), {"reason": "Request of 3 May"})

    assert response.status_code == 302
    mentee.person.refresh_from_db()
    assert mentee.person.erased_at is not None
    assert "No records are held" in client.get(response["Location"]).content.decode()


# --- Retention -------------------------------------------------------------------------------


@pytest.fixture
def long_closed_mentee(programme):
    return MenteeFactory(
        programme=programme,
        status=Mentee.Status.CLOSED,
        closed_on=TODAY() - datetime.timedelta(days=31 * 25),
        person__languages=[("uk", LanguageLevel.NATIVE)],
    )


def test_retention_dry_run_counts_without_erasing(long_closed_mentee, programme):
    MenteeFactory(programme=programme, status=Mentee.Status.CLOSED, closed_on=TODAY())

    counts = retention_apply(dry_run=True)

    assert counts == {programme.slug: {"people": 1, "mentees": 1, "mentors": 0}}
    long_closed_mentee.person.refresh_from_db()
    assert long_closed_mentee.person.erased_at is None


def test_retention_erases_people_past_their_programmes_period(long_closed_mentee):
    retention_apply(dry_run=False)

    long_closed_mentee.person.refresh_from_db()
    assert long_closed_mentee.person.erased_at is not None
    assert AuditEvent.objects.get(action="erase").role == "system"


def test_a_programmes_longer_retention_period_keeps_the_person(long_closed_mentee, programme):
    programme.retention_months = 36
    programme.save()

    assert retention_apply(dry_run=False) == {}


def test_apply_retention_command_dry_run_prints_counts_only(long_closed_mentee, programme, capsys):
    call_command("apply_retention", "--dry-run")

    out = capsys.readouterr().out
    assert f"{programme.slug}: 1 people would be erased" in out
    assert long_closed_mentee.person.last_name not in out


def test_retention_runs_nightly_through_its_task(long_closed_mentee):
    from mentoring.tasks import retention_apply_task

    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "mentoring.tasks.retention_apply_task" in entries

    retention_apply_task.apply()

    long_closed_mentee.person.refresh_from_db()
    assert long_closed_mentee.person.erased_at is not None


def test_no_personal_data_waits_in_a_task_result_backend():
    from mentoring.tasks import retention_apply_task

    assert settings.CELERY_RESULT_BACKEND is None and settings.CELERY_TASK_IGNORE_RESULT
    assert retention_apply_task.ignore_result
