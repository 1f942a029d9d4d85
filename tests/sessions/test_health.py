"""The match-health job on a fixed clock: each flag and its reminder once, resolved when the
condition ends, raised again when it comes back; and the task through a real worker."""

import datetime
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from freezegun import freeze_time

from mentoring.models import AuditEvent
from sessions.models import AttentionFlag, CheckIn, Concern, Notification
from sessions.selectors.health import drifting_matches, matches_with_last_session
from sessions.services.health import attention_flag_dismiss, match_health_run
from sessions.tasks import match_health_task
from tests.factories import MatchFactory, SessionLogFactory

D0 = datetime.date(2025, 3, 10)
Kind = AttentionFlag.Kind


def _at(day: datetime.date, hour: int = 9) -> str:
    return f"{day:%Y-%m-%d} {hour:02d}:00:00+01:00"


def _days(n: int) -> datetime.date:
    return D0 + datetime.timedelta(days=n)


def _reminders(**filters):
    return Notification.objects.filter(dedupe_key__startswith="flag:", **filters)


def _open(kind):
    return AttentionFlag.objects.filter(kind=kind, resolved_at__isnull=True)


@pytest.fixture
def quiet_match(programme, mentor, coordinator):
    """Started 60 days before D0; last session 25 days before D0."""
    with freeze_time(_at(_days(-60))):
        match = MatchFactory(programme=programme, mentor=mentor, started_on=_days(-60))
    SessionLogFactory(match=match, held_on=_days(-25))
    return match


def test_last_session_and_quiet_since_share_one_definition(programme, quiet_match):
    never_met = MatchFactory(programme=programme, started_on=_days(-30))

    rows = {m.pk: m for m in matches_with_last_session(type(quiet_match).objects.all())}

    assert rows[quiet_match.pk].last_session_on == _days(-25)
    assert rows[quiet_match.pk].quiet_since == _days(-25)
    assert rows[never_met.pk].last_session_on is None
    assert rows[never_met.pk].quiet_since == _days(-30)
    assert {m.pk for m in drifting_matches(programme=programme, today=D0)} == {quiet_match.pk, never_met.pk}
    assert not drifting_matches(programme=programme, today=_days(-10)).filter(pk=never_met.pk).exists()


def test_a_drifting_match_is_flagged_and_reminded_once_then_resolves_and_comes_back(quiet_match, coordinator):
    with freeze_time(_at(D0)):
        counts = match_health_run()
    assert counts[Kind.DRIFTING_MATCH] == {"raised": 1, "resolved": 0}
    flag = _open(Kind.DRIFTING_MATCH).get()
    assert (flag.subject, flag.match_id, flag.since) == (
        f"match:{quiet_match.pk}",
        quiet_match.pk,
        _days(-25),
    )
    reminder = _reminders(recipient=coordinator).get()
    assert reminder.title == f"Match M-{quiet_match.pk} has no session for 25 days"
    assert reminder.dedupe_key == f"flag:{flag.pk}"
    assert quiet_match.mentor.person.first_name not in reminder.title + reminder.body

    with freeze_time(_at(D0, hour=15)):
        counts = match_health_run()
    with freeze_time(_at(_days(1))):
        match_health_run()
    assert counts[Kind.DRIFTING_MATCH] == {"raised": 0, "resolved": 0}
    assert _open(Kind.DRIFTING_MATCH).get() == flag
    assert _reminders(recipient=coordinator).count() == 1

    SessionLogFactory(match=quiet_match, held_on=_days(1))
    with freeze_time(_at(_days(1), hour=15)):
        counts = match_health_run()
    assert counts[Kind.DRIFTING_MATCH] == {"raised": 0, "resolved": 1}
    assert not _open(Kind.DRIFTING_MATCH).exists()

    with freeze_time(_at(_days(31))):
        counts = match_health_run()
    assert counts[Kind.DRIFTING_MATCH] == {"raised": 1, "resolved": 0}
    again = _open(Kind.DRIFTING_MATCH).get()
    assert again.pk != flag.pk and again.since == _days(1)
    assert list(_reminders(recipient=coordinator).values_list("dedupe_key", flat=True)) == [
        f"flag:{again.pk}",
        f"flag:{flag.pk}",
    ]


def test_a_mentor_with_overdue_logs_is_reminded_once_however_many_matches_are_quiet(
    programme, mentor, quiet_match
):
    MatchFactory(programme=programme, mentor=mentor, started_on=_days(-16))  # never met, 16 days

    for hour in (9, 12, 18):
        with freeze_time(_at(D0, hour=hour)):
            match_health_run()

    flag = _open(Kind.OVERDUE_LOGS).get()
    assert (flag.subject, flag.mentor_id, flag.since) == (f"mentor:{mentor.pk}", mentor.pk, _days(-25))
    assert flag.details == {"matches": 2, "days": 25}
    reminder = _reminders(recipient=mentor.user).get()
    assert reminder.kind == "overdue_logs" and "25 days" in reminder.body


def test_a_mentor_quiet_for_fewer_days_than_the_programme_allows_is_not_reminded(programme, mentor):
    MatchFactory(programme=programme, mentor=mentor, started_on=_days(-13))

    with freeze_time(_at(D0)):
        match_health_run()

    assert not AttentionFlag.objects.exists()
    assert not _reminders().exists()


@pytest.fixture
def concern(quiet_match, mentor):
    return Concern.objects.create(
        programme=quiet_match.programme,
        mentee=quiet_match.mentee,
        match=quiet_match,
        raised_by=mentor.user,
        severity=Concern.Severity.MEDIUM,
        description="The son has missed school for two weeks.",
        created_at=timezone.make_aware(datetime.datetime(2025, 3, 10, 9, 0)),
    )


def test_a_concern_still_open_after_48_hours_reminds_the_coordinators_once(concern, coordinator):
    with freeze_time(_at(_days(2), hour=8)):  # 47 hours
        match_health_run()
    assert not _open(Kind.UNACKNOWLEDGED_CONCERN).exists()

    for hour in (10, 11):  # 49 and 50 hours
        with freeze_time(_at(_days(2), hour=hour)):
            match_health_run()

    flag = _open(Kind.UNACKNOWLEDGED_CONCERN).get()
    assert (flag.subject, flag.concern_id, flag.since) == (f"concern:{concern.pk}", concern.pk, D0)
    reminder = _reminders(recipient=coordinator, kind=Kind.UNACKNOWLEDGED_CONCERN).get()
    assert reminder.title == f"Concern C-{concern.pk} not acknowledged after 49 hours"
    assert "school" not in reminder.title + reminder.body


def test_an_acknowledged_concern_resolves_its_flag(concern, coordinator):
    with freeze_time(_at(_days(3))):
        match_health_run()
    Concern.objects.filter(pk=concern.pk).update(
        status=Concern.Status.ACKNOWLEDGED, acknowledged_by=coordinator, acknowledged_at=timezone.now()
    )

    with freeze_time(_at(_days(3), hour=10)):
        counts = match_health_run()

    assert counts[Kind.UNACKNOWLEDGED_CONCERN] == {"raised": 0, "resolved": 1}
    assert not _open(Kind.UNACKNOWLEDGED_CONCERN).exists()


@pytest.fixture
def uncertain_checkin(quiet_match):
    return CheckIn.objects.create(
        match=quiet_match,
        respondent=CheckIn.Respondent.FAMILY,
        due_on=_days(-30),
        token="t-uncertain",
        language="uk",
        answers={"overall": 2},
        uncertain=True,
        answered_at=timezone.make_aware(datetime.datetime(2025, 3, 1, 18, 0)),
    )


def test_a_family_uncertain_flag_stays_until_a_coordinator_dismisses_it(uncertain_checkin, coordinator):
    with freeze_time(_at(D0)):
        match_health_run()
    flag = _open(Kind.FAMILY_UNCERTAIN).get()
    assert (flag.subject, flag.match_id, flag.since) == (
        f"checkin:{uncertain_checkin.pk}",
        uncertain_checkin.match_id,
        datetime.date(2025, 3, 1),
    )
    assert not _reminders(kind=Kind.FAMILY_UNCERTAIN).exists()  # told when the family answered

    attention_flag_dismiss(flag=flag, user=coordinator)
    with freeze_time(_at(_days(1))):
        counts = match_health_run()

    assert counts[Kind.FAMILY_UNCERTAIN] == {"raised": 0, "resolved": 0}
    assert not _open(Kind.FAMILY_UNCERTAIN).exists()
    assert AuditEvent.objects.filter(
        user=coordinator, action=AuditEvent.Action.UPDATE, object_id=str(flag.pk)
    ).exists()


def test_only_the_programmes_coordinators_dismiss_and_only_uncertain_flags(
    uncertain_checkin, mentor, other_coordinator, coordinator
):
    with freeze_time(_at(D0)):
        match_health_run()

    with pytest.raises(PermissionDenied):
        attention_flag_dismiss(flag=_open(Kind.FAMILY_UNCERTAIN).get(), user=mentor.user)
    with pytest.raises(PermissionDenied):
        attention_flag_dismiss(flag=_open(Kind.FAMILY_UNCERTAIN).get(), user=other_coordinator)
    with pytest.raises(ValidationError):
        attention_flag_dismiss(flag=_open(Kind.DRIFTING_MATCH).get(), user=coordinator)


def test_each_run_records_when_it_checked_each_programme(programme, other_programme):
    with freeze_time(_at(D0)):
        match_health_run()

    assert set(
        AuditEvent.objects.filter(role="system", object_type="mentoring_sessions.AttentionFlag").values_list(
            "programme_id", flat=True
        )
    ) == {programme.pk, other_programme.pk}


def test_the_run_reads_a_few_queries_per_programme_however_many_matches(
    programme, django_assert_max_num_queries
):
    for n in range(6):
        match = MatchFactory(programme=programme, started_on=_days(-40))
        SessionLogFactory(match=match, held_on=_days(-n))
    with freeze_time(_at(D0)):
        match_health_run()  # nothing new to raise

    with freeze_time(_at(D0, hour=10)), django_assert_max_num_queries(20):
        match_health_run()


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_the_job_through_a_real_worker(celery_worker_live, quiet_match, coordinator):
    match_health_task.delay()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _open(Kind.DRIFTING_MATCH).exists():
        time.sleep(0.2)
    assert _open(Kind.DRIFTING_MATCH).filter(match=quiet_match).count() == 1
    assert _reminders(recipient=coordinator, kind=Kind.DRIFTING_MATCH).count() == 1
