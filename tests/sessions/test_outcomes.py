import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mentoring.models import AuditEvent
from sessions.models import OutcomeInstrument, OutcomeMeasure
from sessions.services import outcome_measure_record
from tests.factories import MatchFactory

TODAY = datetime.date.today()


@pytest.fixture
def engagement(programme):
    return OutcomeInstrument.objects.create(
        programme=programme,
        code="parent_engagement",
        name="Parent engagement in schooling",
        scale_min=1,
        scale_max=5,
        is_headline=True,
    )


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


def _record(match, instrument, user, **overrides):
    values = {"stage": "baseline", "value": 2.5, "measured_on": TODAY - datetime.timedelta(days=30)}
    values.update(overrides)
    return outcome_measure_record(mentee=match.mentee, instrument=instrument, recorded_by=user, **values)


def test_the_mentor_records_a_baseline_and_a_midway_measure_of_their_mentee(match, engagement):
    _record(match, engagement, match.mentor.user)
    _record(match, engagement, match.mentor.user, stage="midway", value=3.5, measured_on=TODAY)

    stages = dict(OutcomeMeasure.objects.values_list("stage", "value"))
    assert {key: float(value) for key, value in stages.items()} == {"baseline": 2.5, "midway": 3.5}
    assert (
        AuditEvent.objects.filter(object_type="mentoring_sessions.OutcomeMeasure", action="create").count()
        == 2
    )


def test_another_mentor_cannot_record_a_measure(match, engagement, other_mentor):
    with pytest.raises(PermissionDenied):
        _record(match, engagement, other_mentor.user)

    assert not OutcomeMeasure.objects.exists()


def test_the_programme_coordinator_records_a_measure(match, engagement, coordinator):
    measure = _record(match, engagement, coordinator)

    assert measure.recorded_by == coordinator


def test_a_later_measure_needs_the_baseline_first(match, engagement, coordinator):
    with pytest.raises(ValidationError) as excinfo:
        _record(match, engagement, coordinator, stage="closure")

    assert excinfo.value.message_dict["stage"] == ["Take the baseline first."]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": 7}, "value"),
        ({"value": "a lot"}, "value"),
        ({"stage": "someday"}, "stage"),
        ({"measured_on": TODAY + datetime.timedelta(days=1)}, "measured_on"),
    ],
)
def test_bad_measures_are_refused_with_the_field_named(match, engagement, coordinator, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        _record(match, engagement, coordinator, **overrides)

    assert field in excinfo.value.message_dict
    assert not OutcomeMeasure.objects.exists()


def test_a_stage_is_measured_once(match, engagement, coordinator):
    _record(match, engagement, coordinator)

    with pytest.raises(ValidationError) as excinfo:
        _record(match, engagement, coordinator, value=3)

    assert "already measured" in excinfo.value.message_dict["stage"][0]
    assert OutcomeMeasure.objects.count() == 1


def test_an_instrument_of_another_programme_is_refused(match, other_programme, coordinator):
    foreign = OutcomeInstrument.objects.create(
        programme=other_programme, code="attendance", name="Attendance rate", scale_min=0, scale_max=100
    )

    with pytest.raises(ValidationError) as excinfo:
        _record(match, foreign, coordinator, value=90)

    assert "instrument" in excinfo.value.message_dict
