"""The coordinator's "Needs attention" page and /api/v1/attention-flags/."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from sessions.models import AttentionFlag, CheckIn, Concern
from sessions.services.health import match_health_run
from tests.factories import MatchFactory, SessionLogFactory

Kind = AttentionFlag.Kind
URL = "/api/v1/attention-flags/"


def _needs_attention(programme, *, n: int = 1):
    """``n`` drifting matches whose mentors' logs are overdue, one concern waiting for 3 days and
    one uncertain family, all of ``programme``."""
    today = timezone.localdate()
    matches = []
    for i in range(n):
        match = MatchFactory(programme=programme, started_on=today - datetime.timedelta(days=80))
        SessionLogFactory(match=match, held_on=today - datetime.timedelta(days=30 + i))
        matches.append(match)
    Concern.objects.create(
        programme=programme,
        mentee=matches[0].mentee,
        match=matches[0],
        severity=Concern.Severity.HIGH,
        description="Worried about the family's housing.",
        created_at=timezone.now() - datetime.timedelta(days=3),
    )
    CheckIn.objects.create(
        match=matches[-1],
        respondent=CheckIn.Respondent.FAMILY,
        due_on=today - datetime.timedelta(days=20),
        token=f"t-{programme.pk}-{n}",
        language="uk",
        uncertain=True,
        answered_at=timezone.now() - datetime.timedelta(days=19),
    )
    return matches


@pytest.fixture
def flagged(programme, other_programme, coordinator):
    ours = _needs_attention(programme)
    theirs = _needs_attention(other_programme)
    match_health_run()
    return ours, theirs


def test_the_page_lists_each_kind_for_the_coordinator_and_nothing_of_another_programme(
    client, coordinator, flagged
):
    (ours,), (theirs,) = flagged
    client.force_login(coordinator)

    response = client.get(reverse("sessions:attention"))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-flag="match:{ours.pk}"' in html
    assert "no session for 30 days" in html
    assert f'data-flag="mentor:{ours.mentor_id}"' in html
    assert 'data-flag="concern:' in html and "waiting 72 hours" in html
    assert 'data-flag="checkin:' in html
    assert "Last checked at" in html
    assert f"match:{theirs.pk}" not in html and f"mentor:{theirs.mentor_id}" not in html
    assert reverse("matching:match-close", args=[ours.pk]) in html


def test_the_page_lists_every_open_concern_and_marks_the_late_ones(client, coordinator, programme, flagged):
    (ours,), _theirs = flagged
    fresh = Concern.objects.create(
        programme=programme,
        mentee=ours.mentee,
        match=ours,
        severity=Concern.Severity.LOW,
        description="Seemed tired.",
    )
    closed = Concern.objects.create(
        programme=programme,
        mentee=ours.mentee,
        severity=Concern.Severity.LOW,
        description="Solved.",
        status=Concern.Status.CLOSED,
        acknowledged_at=timezone.now(),
        closed_at=timezone.now(),
    )
    late = Concern.objects.get(programme=programme, severity=Concern.Severity.HIGH)
    client.force_login(coordinator)

    html = client.get(reverse("sessions:attention")).content.decode()

    assert f'data-concern="{fresh.pk}"' in html and f'data-concern="{late.pk}"' in html
    assert f'data-concern="{closed.pk}"' not in html
    late_item = html[html.index(f'data-concern="{late.pk}"') :].split("</li>")[0]
    fresh_item = html[html.index(f'data-concern="{fresh.pk}"') :].split("</li>")[0]
    assert "not acknowledged in time" in late_item and "not acknowledged in time" not in fresh_item
    theirs_concern = Concern.objects.exclude(programme=programme).get()
    assert f'data-concern="{theirs_concern.pk}"' not in html


def test_the_page_is_oldest_first(client, coordinator, programme):
    matches = _needs_attention(programme, n=3)
    match_health_run()
    client.force_login(coordinator)

    html = client.get(reverse("sessions:attention")).content.decode()

    positions = [html.index(f'data-flag="match:{match.pk}"') for match in reversed(matches)]
    assert positions == sorted(positions)


def test_the_page_reads_a_fixed_number_of_queries(client, coordinator, programme):
    client.force_login(coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("sessions:attention")).status_code == 200
        return len(queries)

    _needs_attention(programme, n=1)
    match_health_run()
    few = count()
    with freeze_time(timezone.now() + datetime.timedelta(minutes=5)):
        _needs_attention(programme, n=4)
        match_health_run()
    assert AttentionFlag.objects.filter(resolved_at__isnull=True, kind=Kind.DRIFTING_MATCH).count() == 5
    assert count() == few


def test_mentors_and_managers_have_no_attention_page(client, manager, mentor):
    for user in (manager, mentor.user):
        client.force_login(user)
        assert client.get(reverse("sessions:attention")).status_code == 404


def test_the_coordinator_dismisses_an_uncertain_family_from_the_page(client, coordinator, flagged):
    flag = AttentionFlag.objects.get(
        kind=Kind.FAMILY_UNCERTAIN, programme__in=[flagged[0][0].programme], resolved_at__isnull=True
    )
    client.force_login(coordinator)

    response = client.post(reverse("sessions:attention-dismiss", args=[flag.pk]))

    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.resolved_at is not None


def test_the_api_lists_the_coordinators_programmes_flags_only(client_for, coordinator, flagged):
    (ours,), _theirs = flagged

    response = client_for(coordinator).get(URL)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["programme"] for row in rows} == {ours.programme_id}
    assert {row["kind"] for row in rows} == set(Kind.values)
    drifting = client_for(coordinator).get(URL, {"kind": Kind.DRIFTING_MATCH}).json()["results"]
    assert [row["subject"] for row in drifting] == [f"match:{ours.pk}"]


def test_mentors_and_managers_get_no_flags(client_for, manager, flagged):
    (ours,), _theirs = flagged
    for user in (manager, ours.mentor.user):
        response = client_for(user).get(URL)
        assert response.status_code == 200 and response.json()["results"] == []


def test_the_api_list_query_count_does_not_grow_with_rows(client_for, coordinator, programme):
    client = client_for(coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    _needs_attention(programme, n=1)
    match_health_run()
    few = count()
    _needs_attention(programme, n=4)
    match_health_run()
    assert count() == few


def test_the_api_dismisses_an_uncertain_family_flag(client_for, coordinator, other_coordinator, flagged):
    flag = AttentionFlag.objects.get(
        kind=Kind.FAMILY_UNCERTAIN, programme=flagged[0][0].programme, resolved_at__isnull=True
    )

    assert client_for(other_coordinator).post(f"{URL}{flag.pk}/dismiss/").status_code == 404
    response = client_for(coordinator).post(f"{URL}{flag.pk}/dismiss/")

    assert response.status_code == 200 and response.json()["resolved_at"]
