"""``manage.py seed_demo``: the demo programme, its logins, its rules, and its sizes."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from matching.models import Match
from matching.selectors import mentor_suggestions_for_mentee
from mentoring.demo import DEMO_PASSWORD, MAIN_SLUG, SECOND_SLUG
from mentoring.models import (
    Consent,
    ConsentPurpose,
    Family,
    Mentee,
    Mentor,
    MentorStatusChange,
    Person,
    Programme,
    SelfAssessment,
    TrainingRecord,
    User,
)
from mentoring.permissions import COORDINATE, READ_REPORTS
from sessions.models import OutcomeInstrument, OutcomeMeasure, OutcomeStage, SessionLog

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo():
    return seed()


def main_programme() -> Programme:
    return Programme.objects.get(slug=MAIN_SLUG)


def table_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in (Programme, Person, Mentor, Mentee, Family, Match, SessionLog, Consent, User)
    }


def test_default_demo_is_a_believable_programme(demo):
    programme = main_programme()

    assert programme.name == "Parent mentoring, Baia Mare 2025–26"
    assert (programme.country, programme.local_language, programme.small_cell_k) == ("RO", "ro", 10)
    assert programme.mentors.count() == 40
    assert programme.mentees.count() == 120
    assert programme.matches.filter(status=Match.Status.ACTIVE).count() >= 20
    assert programme.matches.filter(status=Match.Status.CLOSED).exclude(closure_reason="").count() >= 5
    assert SessionLog.objects.filter(match__programme=programme).count() >= 200
    assert {"roma", "hungarian", "ukrainian", "syrian", "romanian"} <= set(
        programme.cultural_backgrounds.values_list("code", flat=True)
    )
    assert Programme.objects.filter(slug=SECOND_SLUG, country="BE", local_language="nl").exists()


def test_demo_mentors_are_in_every_lifecycle_stage_and_one_check_has_expired(demo):
    mentors = Mentor.objects.filter(programme=main_programme())
    statuses = set(mentors.values_list("status", flat=True))

    assert {Mentor.Status.ACTIVE, Mentor.Status.APPROVED} <= statuses
    assert statuses & {Mentor.Status.APPLIED, Mentor.Status.SCREENING, Mentor.Status.TRAINING}
    assert mentors.filter(record_check_expires_on__lt=timezone.localdate()).count() == 1
    assert not mentors.filter(status=Mentor.Status.ACTIVE, training_completed_on__isnull=True).exists(), (
        "active mentors completed training"
    )


def test_demo_matchable_mentors_went_through_screening_and_training(demo):
    matchable = Mentor.objects.filter(status__in=Mentor.MATCHABLE_STATUSES)

    assert matchable.exists()
    for mentor in matchable.prefetch_related("references", "training_records", "self_assessments"):
        assert mentor.interviewed_on is not None
        assert sum(ref.satisfactory for ref in mentor.references.all()) >= 2
        assert any(record.test_score >= TrainingRecord.PASS_MARK for record in mentor.training_records.all())
        assert SelfAssessment.Stage.START in {sa.stage for sa in mentor.self_assessments.all()}
        assert mentor.applied_on <= mentor.interviewed_on <= mentor.record_check_on
        assert mentor.record_check_on <= mentor.training_completed_on <= mentor.approved_on


def test_demo_mentor_status_history_ends_in_the_current_status(demo):
    for mentor in Mentor.objects.prefetch_related("status_changes"):
        changes = list(mentor.status_changes.order_by("id"))
        assert changes[0].from_status == "" and changes[0].to_status == Mentor.Status.APPLIED
        assert changes[-1].to_status == mentor.status
        assert all(a.to_status == b.from_status for a, b in zip(changes, changes[1:], strict=False))
        assert all(a.changed_at <= b.changed_at for a, b in zip(changes, changes[1:], strict=False))
    assert MentorStatusChange.objects.filter(to_status=Mentor.Status.WITHDRAWN).exists()


def test_demo_people_have_languages_backgrounds_and_consents(demo):
    people = Person.objects.filter(programme=main_programme())

    assert (
        not people.annotate(preferred=Count("languages", filter=Q(languages__is_preferred=True)))
        .exclude(preferred=1)
        .exists()
    ), "every person has exactly one preferred language"
    languages = set(people.values_list("languages__language", flat=True))
    assert {"ro", "hu", "rom", "uk", "ar"} <= languages
    assert set(people.values_list("migrant_background", flat=True)) == {
        "first_generation",
        "second_generation",
        "none",
        "declined",
        "unknown",
    }
    consenting_to_all = people.annotate(
        purposes=Count("consents", filter=Q(consents__withdrawn_at__isnull=True))
    ).filter(purposes=len(ConsentPurpose.values))
    assert consenting_to_all.count() > people.count() * 0.6
    assert people.exclude(consents__purpose=ConsentPurpose.BACKGROUND_MATCHING).exists()
    assert people.filter(latitude__isnull=False, longitude__isnull=False).count() == people.count()


def test_demo_logins_authenticate_with_their_roles_and_programme_permissions(demo):
    programme = main_programme()
    gent = Programme.objects.get(slug=SECOND_SLUG)
    users = {
        name: authenticate(username=name, password=DEMO_PASSWORD)
        for name in ("coordinator", "manager", "mentor", "admin")
    }

    assert {name: user.role for name, user in users.items() if user} == {
        "coordinator": User.Role.COORDINATOR,
        "manager": User.Role.MANAGER,
        "mentor": User.Role.MENTOR,
        "admin": User.Role.ADMIN,
    }
    assert users["admin"].is_superuser
    assert users["coordinator"].has_perm(COORDINATE, programme)
    assert not users["coordinator"].has_perm(COORDINATE, gent)
    assert users["manager"].has_perm(READ_REPORTS, programme)
    assert not users["manager"].has_perm(COORDINATE, programme)
    assert users["mentor"].mentor.matches.filter(status=Match.Status.ACTIVE).exists()
    assert "tandem-demo" in demo and "coordinator" in demo


def test_demo_never_exceeds_a_mentor_capacity_nor_opens_two_matches_for_a_mentee(demo):
    overloaded = Mentor.objects.annotate(
        open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES))
    ).filter(open_matches__gt=F("capacity"))
    twice = Mentee.objects.annotate(
        open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES))
    ).filter(open_matches__gt=1)

    assert not overloaded.exists()
    assert not twice.exists()


def test_demo_mentee_statuses_agree_with_their_matches(demo):
    open_match = Q(matches__status__in=Match.OPEN_STATUSES)
    mentees = Mentee.objects.annotate(open_matches=Count("matches", filter=open_match))

    assert not mentees.filter(status=Mentee.Status.MATCHED, open_matches=0).exists()
    assert not mentees.exclude(status=Mentee.Status.MATCHED).filter(open_matches__gt=0).exists()
    assert not Mentee.objects.filter(status=Mentee.Status.WAITING, waiting_since__isnull=True).exists()
    assert Mentee.objects.filter(status=Mentee.Status.WAITING).count() >= 10
    assert not Mentee.objects.filter(intake_completed_on__lt=F("referred_on")).exists()
    assert not Mentee.objects.filter(status=Mentee.Status.CLOSED, closed_on__isnull=True).exists()
    assert not Mentee.objects.filter(intake_completed_on__isnull=False, needs_assessment="").exists()
    assert (
        not Match.objects.filter(started_on__lt=F("mentee__waiting_since"))
        .exclude(mentee__matches__status=Match.Status.CLOSED)
        .exists()
    )


def test_demo_matches_only_start_after_the_mentor_was_approved(demo):
    assert not Match.objects.filter(proposed_at__date__lt=F("mentor__approved_on")).exists()
    assert not Match.objects.filter(mentor__approved_on__isnull=True).exists()


def test_demo_sessions_fall_within_their_match(demo):
    today = timezone.localdate()
    logs = SessionLog.objects.all()

    assert not logs.filter(held_on__lt=F("match__started_on")).exists()
    assert not logs.filter(held_on__gt=today).exists()
    assert not logs.filter(match__closed_on__isnull=False, held_on__gt=F("match__closed_on")).exists()
    assert not logs.filter(match__started_on__isnull=True).exists()
    assert not logs.exclude(author=F("match__mentor__user")).exists()
    durations = logs.aggregate(low=Min("duration_minutes"), high=Max("duration_minutes"))
    assert 5 <= durations["low"] <= durations["high"] <= 600


def test_demo_waiting_mentees_have_suggestions_that_speak_their_language(demo):
    waiting = Mentee.objects.filter(programme=main_programme(), status=Mentee.Status.WAITING)
    with_language_match = 0
    for mentee in waiting:
        suggestions = mentor_suggestions_for_mentee(mentee=mentee, limit=10)
        if any(suggestion.language_concordant for suggestion in suggestions):
            with_language_match += 1
            # Language first: a free mentor who speaks the mentee's language comes first.
            assert suggestions[0].language_concordant, mentee.pk

    # Most of the demo's mentors are full, as in a real programme; a third of the waiting list
    # still has a free mentor who speaks their language.
    assert with_language_match >= len(waiting) // 3 > 0


def test_demo_mentees_are_measured_at_baseline_midway_and_closure_and_improve_a_little(demo):
    for programme in Programme.objects.all():
        instruments = OutcomeInstrument.objects.filter(programme=programme)
        assert set(instruments.values_list("code", flat=True)) == {
            "parent_engagement", "attendance_rate", "school_well_being", "early_leaving_risk",
        }  # fmt: skip
        headline = instruments.get(is_headline=True)
        assert headline.code == "parent_engagement"
        assert not instruments.get(code="early_leaving_risk").higher_is_better
        measures = OutcomeMeasure.objects.filter(instrument__programme=programme)
        assert not measures.filter(value__lt=F("instrument__scale_min")).exists()
        assert not measures.filter(value__gt=F("instrument__scale_max")).exists()
        assert not measures.filter(measured_on__gt=timezone.localdate()).exists()

        past_intake = programme.mentees.filter(intake_completed_on__isnull=False)
        baselines = measures.filter(instrument=headline, stage=OutcomeStage.BASELINE)
        assert baselines.count() >= 0.75 * past_intake.count()
        assert not baselines.exclude(measured_on=F("mentee__intake_completed_on")).exists()
        # Nothing later without a baseline, and never before it.
        later = measures.exclude(stage=OutcomeStage.BASELINE)
        assert not later.exclude(mentee__in=baselines.values("mentee")).exists()
        assert not later.filter(measured_on__lt=F("mentee__intake_completed_on")).exists()
        closures = measures.filter(instrument=headline, stage=OutcomeStage.CLOSURE)
        assert closures.exists() and measures.filter(stage=OutcomeStage.MIDWAY).exists()
        assert not closures.exclude(mentee__matches__closed_on=F("measured_on")).exists()

    baseline = dict(
        OutcomeMeasure.objects.filter(stage=OutcomeStage.BASELINE, instrument__is_headline=True).values_list(
            "mentee_id", "value"
        )
    )
    latest = dict(
        OutcomeMeasure.objects.filter(stage=OutcomeStage.MIDWAY, instrument__is_headline=True).values_list(
            "mentee_id", "value"
        )
    )
    latest.update(
        OutcomeMeasure.objects.filter(stage=OutcomeStage.CLOSURE, instrument__is_headline=True).values_list(
            "mentee_id", "value"
        )
    )
    changes = [float(value - baseline[mentee]) for mentee, value in latest.items()]
    assert len(changes) >= 20
    assert 0.05 <= sum(changes) / len(changes) <= 1.0, "a small improvement on average"


def test_running_twice_creates_nothing_new(demo):
    before = table_counts()

    output = seed()

    assert "already exists" in output
    assert table_counts() == before


def test_the_same_seed_builds_the_same_demo():
    def fingerprint():
        return (
            list(Person.objects.order_by("id").values_list("first_name", "last_name", "municipality")),
            list(
                Match.objects.order_by("id").values_list(
                    "mentor__person__last_name", "mentee__person__last_name", "status", "started_on"
                )
            ),
            SessionLog.objects.count(),
            list(
                OutcomeMeasure.objects.order_by("mentee_id", "instrument__code", "stage").values_list(
                    "mentee__person__last_name", "instrument__code", "stage", "value", "measured_on"
                )
            ),
        )

    seed("--seed", "7")
    first = fingerprint()
    output = seed("--seed", "7", "--reset")

    assert "Deleted the previous demo" in output
    assert fingerprint() == first
    assert authenticate(username="mentor", password=DEMO_PASSWORD) is not None


def test_a_sized_run_creates_exactly_the_numbers_asked_for():
    output = seed("--mentors", "50", "--mentees", "100", "--sessions", "500")

    programme = main_programme()
    assert Programme.objects.count() == 1
    assert programme.mentors.count() == 50
    assert programme.mentees.count() == 100
    assert SessionLog.objects.filter(match__programme=programme).count() == 500
    measured = OutcomeMeasure.objects.filter(instrument__programme=programme, instrument__is_headline=True)
    assert measured.filter(stage=OutcomeStage.BASELINE).count() >= 50
    assert measured.exclude(stage=OutcomeStage.BASELINE).exists()
    assert authenticate(username="mentor", password=DEMO_PASSWORD).mentor.programme == programme
    assert "Demo built in" in output and "mentoring_sessions_sessionlog" in output


def test_a_sized_run_with_more_mentors_than_mentees_still_logs_every_session():
    seed("--mentors", "30", "--mentees", "2", "--sessions", "40")

    assert SessionLog.objects.count() == 40
    assert Mentee.objects.filter(status=Mentee.Status.MATCHED).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--mentors", "-1"), "--mentors must be 0 or more"),
        (("--mentees", "-5"), "--mentees must be 0 or more"),
        (("--sessions", "-1"), "--sessions must be 0 or more"),
        (("--mentors", "0", "--sessions", "10"), "needs matches"),
        (("--mentees", "0", "--sessions", "1"), "needs matches"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)

    assert not Programme.objects.exists()
    assert not User.objects.exists()
    assert not Person.objects.exists()


def test_a_programme_without_mentors_is_allowed_when_no_sessions_are_asked_for():
    seed("--mentors", "0", "--mentees", "5", "--sessions", "0")

    assert Mentee.objects.count() == 5
    assert not Match.objects.exists()
    assert authenticate(username="coordinator", password=DEMO_PASSWORD) is not None


def test_reset_leaves_other_programmes_alone(programme, mentor):
    seed()

    seed("--reset")

    assert Programme.objects.filter(pk=programme.pk).exists()
    mentor.refresh_from_db()
    assert mentor.user is not None
    assert Programme.objects.filter(slug=MAIN_SLUG).count() == 1
    assert datetime.date.today() >= main_programme().starts_on


def test_an_existing_account_with_a_demo_login_name_is_refused_not_given_the_demo_password():
    admin = User.objects.create_user(username="admin", password="a-real-admin-secret", is_superuser=True)

    with pytest.raises(CommandError, match="already exists and is not a demo login"):
        seed()

    admin.refresh_from_db()
    assert admin.check_password("a-real-admin-secret")
    assert not Programme.objects.exists()


def test_demo_has_concerns_in_every_status_goals_with_progress_and_answered_checkins(demo):
    from sessions.models import CheckIn, Concern, Goal, GoalProgress

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for programme in Programme.objects.filter(slug__in=(MAIN_SLUG, SECOND_SLUG)):
        concerns = Concern.objects.filter(programme=programme)
        assert set(concerns.values_list("status", flat=True)) == set(Concern.Status.values)
        opened = concerns.get(status=Concern.Status.OPEN)
        assert timezone.localtime(opened.created_at).date() == yesterday
        assert concerns.get(status=Concern.Status.REFERRED).referred_to == Concern.ReferredTo.SOCIAL_SERVICES
        assert not concerns.exclude(status=Concern.Status.OPEN).filter(acknowledged_at__isnull=True).exists()
        assert not concerns.exclude(raised_by=F("match__mentor__user")).exists()
        assert not concerns.exclude(mentee=F("match__mentee")).exists()

        goals = Goal.objects.filter(mentee__programme=programme)
        assert goals.exists()
        assert GoalProgress.objects.filter(goal__in=goals).exists()
        assert not goals.exclude(progress__lte=100).exists()

        checkins = CheckIn.objects.filter(match__programme=programme, answered_at__isnull=False)
        assert checkins.filter(respondent=CheckIn.Respondent.FAMILY).exists()
        assert checkins.filter(uncertain=True, respondent=CheckIn.Respondent.FAMILY).count() == 1
        assert not checkins.exclude(due_on=F("match__started_on") + datetime.timedelta(days=30)).exists()
    mentor = authenticate(username="mentor", password=DEMO_PASSWORD)
    assert Concern.objects.filter(raised_by=mentor).exists()
