"""Closing a match: its rules, the closure outcome measures in the same transaction, the
mentee's status, early closure derived from the dates, and the API and page on top."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from matching.models import Match
from matching.services import match_close
from mentoring.models import AuditEvent, Mentee
from sessions.models import AttentionFlag, OutcomeInstrument, OutcomeMeasure
from sessions.services import outcome_measure_record
from tests.factories import MatchFactory

TODAY = datetime.date.today()


def _ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor, started_on=_ago(200), planned_end_on=_ago(10))


@pytest.fixture
def instruments(programme):
    engagement = OutcomeInstrument.objects.create(
        programme=programme, code="parent_engagement", name="Parent engagement", scale_min=1, scale_max=5
    )
    attendance = OutcomeInstrument.objects.create(
        programme=programme, code="attendance", name="Attendance rate", scale_min=0, scale_max=100, order=1
    )
    return engagement, attendance


@pytest.fixture
def baselines(match, instruments, coordinator):
    for instrument, value in zip(instruments, (2, 80), strict=True):
        outcome_measure_record(
            mentee=match.mentee,
            instrument=instrument,
            stage="baseline",
            value=value,
            measured_on=_ago(190),
            recorded_by=coordinator,
        )


def _close(match, user, **overrides):
    values = {"reason": "planned_completion", "closed_on": TODAY, "note": ""}
    values.update(overrides)
    return match_close(match=match, closed_by=user, **values)


def test_coordinator_closes_a_match_with_its_closure_measures(match, coordinator, instruments, baselines):
    engagement, attendance = instruments

    closed = _close(
        match, coordinator, closure_measures={engagement.pk: Decimal("4"), attendance.pk: Decimal("95")}
    )

    closed.refresh_from_db()
    assert (closed.status, closed.closed_on, closed.closure_reason) == ("closed", TODAY, "planned_completion")
    assert dict(
        OutcomeMeasure.objects.filter(mentee=match.mentee, stage="closure").values_list(
            "instrument_id", "value"
        )
    ) == {engagement.pk: Decimal("4.00"), attendance.pk: Decimal("95.00")}
    mentee = Mentee.objects.get(pk=match.mentee_id)
    assert (mentee.status, mentee.closed_on) == (Mentee.Status.CLOSED, TODAY)
    assert AuditEvent.objects.filter(
        user=coordinator, action="update", object_type="matching.Match", object_id=str(match.pk)
    ).exists()


def test_all_errors_are_reported_at_once_and_nothing_is_saved(match, coordinator, instruments, baselines):
    engagement, attendance = instruments

    with pytest.raises(ValidationError) as caught:
        _close(
            match,
            coordinator,
            reason="safeguarding",
            closure_measures={
                engagement.pk: Decimal("4"),
                attendance.pk: Decimal("140"),
                999999: Decimal("1"),
            },
        )

    errors = caught.value.message_dict
    assert set(errors) == {
        "note",
        f"closure_measures.{attendance.pk}",
        "closure_measures.999999",
    }
    match.refresh_from_db()
    assert match.status == Match.Status.ACTIVE
    assert not OutcomeMeasure.objects.filter(stage="closure").exists()
    assert Mentee.objects.get(pk=match.mentee_id).status == Mentee.Status.MATCHED


def test_a_measure_without_a_baseline_is_refused(match, coordinator, instruments):
    with pytest.raises(ValidationError) as caught:
        _close(match, coordinator, closure_measures={instruments[0].pk: Decimal("3")})

    assert "Take the baseline first." in caught.value.message_dict[f"closure_measures.{instruments[0].pk}"]
    assert Match.objects.get(pk=match.pk).status == Match.Status.ACTIVE


@pytest.mark.parametrize("reason", ["other", "safeguarding"])
def test_other_and_safeguarding_need_a_note(match, coordinator, reason):
    with pytest.raises(ValidationError) as caught:
        _close(match, coordinator, reason=reason, note="  ")
    assert set(caught.value.message_dict) == {"note"}

    assert _close(match, coordinator, reason=reason, note="Referred to social services.").status == "closed"


def test_a_closing_date_before_the_start_or_an_unknown_reason_is_refused(match, coordinator):
    with pytest.raises(ValidationError) as caught:
        _close(match, coordinator, reason="bored", closed_on=_ago(201))
    assert set(caught.value.message_dict) == {"reason", "closed_on"}


def test_a_closed_match_cannot_be_closed_again(match, coordinator):
    _close(match, coordinator)
    with pytest.raises(ValidationError) as caught:
        _close(match, coordinator)
    assert set(caught.value.message_dict) == {"match"}


def test_only_the_programmes_coordinators_close_matches(match, other_coordinator, manager):
    for user in (match.mentor.user, other_coordinator, manager):
        with pytest.raises(PermissionDenied):
            _close(match, user)
    assert Match.objects.get(pk=match.pk).status == Match.Status.ACTIVE


def test_admin_closes_any_match(match, admin_user):
    assert _close(match, admin_user).status == Match.Status.CLOSED


def test_early_closure_is_derived_from_the_dates(programme, coordinator):
    short = MatchFactory(programme=programme, started_on=_ago(60))
    before_plan = MatchFactory(
        programme=programme, started_on=_ago(200), planned_end_on=TODAY + datetime.timedelta(days=30)
    )
    full = MatchFactory(programme=programme, started_on=_ago(200), planned_end_on=_ago(5))
    no_plan = MatchFactory(programme=programme, started_on=_ago(90))

    assert not short.is_early_closure  # not closed yet
    for m in (short, before_plan, full, no_plan):
        _close(m, coordinator, reason="lost_contact")

    assert Match.objects.get(pk=short.pk).is_early_closure
    assert Match.objects.get(pk=before_plan.pk).is_early_closure
    assert not Match.objects.get(pk=full.pk).is_early_closure
    assert not Match.objects.get(pk=no_plan.pk).is_early_closure  # exactly 90 days


def test_closing_resolves_the_matchs_attention_flags(match, coordinator):
    flag = AttentionFlag.objects.create(
        programme=match.programme,
        kind="drifting_match",
        match=match,
        subject=f"match:{match.pk}",
        since=_ago(30),
    )

    _close(match, coordinator)

    flag.refresh_from_db()
    assert flag.resolved_at is not None


# --- API -------------------------------------------------------------------------------------


def _url(match) -> str:
    return f"/api/v1/matches/{match.pk}/close/"


def test_api_closes_the_match_and_answers_with_early_closure(
    client_for, coordinator, match, instruments, baselines
):
    response = client_for(coordinator).post(
        _url(match),
        {
            "closure_reason": "family_moved",
            "closed_on": TODAY.isoformat(),
            "closure_measures": {str(instruments[0].pk): "4.5"},
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["closure_reason"], body["is_early_closure"]) == (
        "closed",
        "family_moved",
        False,
    )
    assert OutcomeMeasure.objects.get(stage="closure").value == Decimal("4.50")


def test_api_answers_every_error_in_the_one_shape(client_for, coordinator, match, instruments):
    response = client_for(coordinator).post(
        _url(match),
        {"closure_reason": "other", "closure_measures": {str(instruments[1].pk): "50"}},
        format="json",
    )

    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"note", f"closure_measures.{instruments[1].pk}"}
    assert Match.objects.get(pk=match.pk).status == Match.Status.ACTIVE


def test_api_close_is_not_found_for_another_programme_and_forbidden_for_the_mentor(
    client_for, other_coordinator, manager, match
):
    payload = {"closure_reason": "planned_completion"}
    assert client_for(other_coordinator).post(_url(match), payload, format="json").status_code == 404
    assert client_for(manager).post(_url(match), payload, format="json").status_code == 404
    assert client_for(match.mentor.user).post(_url(match), payload, format="json").status_code == 403


# --- Page ------------------------------------------------------------------------------------


def test_close_page_shows_the_instruments_and_whether_the_closure_is_early(
    client, coordinator, programme, instruments
):
    early = MatchFactory(programme=programme, started_on=_ago(30))
    client.force_login(coordinator)

    response = client.get(reverse("matching:match-close", args=[early.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Parent engagement" in html and "Attendance rate" in html
    assert 'data-early-closure="yes"' in html
    assert "No baseline was taken" in html


def test_close_page_closes_the_match(client, coordinator, match):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:match-close", args=[match.pk]),
        {"reason": "planned_completion", "closed_on": TODAY.isoformat(), "note": ""},
    )

    assert response.status_code == 302
    assert Match.objects.get(pk=match.pk).status == Match.Status.CLOSED


def test_close_page_keeps_the_input_and_shows_the_errors(client, coordinator, match):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:match-close", args=[match.pk]),
        {"reason": "safeguarding", "closed_on": TODAY.isoformat(), "note": ""},
    )

    assert response.status_code == 422
    assert "Say in a closure note what happened." in response.content.decode()
    assert Match.objects.get(pk=match.pk).status == Match.Status.ACTIVE


def test_close_page_is_not_found_for_another_programmes_coordinator(client, other_coordinator, match):
    client.force_login(other_coordinator)
    assert client.get(reverse("matching:match-close", args=[match.pk])).status_code == 404
