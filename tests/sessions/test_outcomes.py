import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

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


# --- API -------------------------------------------------------------------------------------

MEASURES = "/api/v1/outcome-measures/"
INSTRUMENTS = "/api/v1/outcome-instruments/"


def _payload(match, instrument, **overrides) -> dict:
    payload = {
        "mentee": match.mentee_id,
        "instrument": instrument.pk,
        "stage": "baseline",
        "value": "2.5",
        "measured_on": str(TODAY - datetime.timedelta(days=30)),
    }
    payload.update(overrides)
    return payload


def test_the_mentor_records_a_measure_through_the_api(client_for, match, engagement):
    response = client_for(match.mentor.user).post(MEASURES, _payload(match, engagement))

    assert response.status_code == 201, response.json()
    assert response.json()["stage"] == "baseline"
    assert OutcomeMeasure.objects.get().recorded_by == match.mentor.user


def test_api_errors_name_each_field_and_save_nothing(client_for, match, engagement, coordinator):
    response = client_for(coordinator).post(
        MEASURES, _payload(match, engagement, stage="someday", value="lots", measured_on="yesterday")
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"stage", "value", "measured_on"}
    assert not OutcomeMeasure.objects.exists()


def test_api_rules_of_the_service_answer_400_with_the_field(client_for, match, engagement, coordinator):
    response = client_for(coordinator).post(MEASURES, _payload(match, engagement, value="7", stage="closure"))

    assert response.status_code == 400
    messages = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert messages["value"] == "The scale runs from 1.00 to 5.00."
    assert messages["stage"] == "Take the baseline first."
    assert not OutcomeMeasure.objects.exists()


def test_a_mentee_of_another_programme_is_not_found(client_for, match, engagement, other_coordinator):
    response = client_for(other_coordinator).post(MEASURES, _payload(match, engagement))

    assert response.status_code == 400
    assert {e["field"]: e["code"] for e in response.json()["errors"]}["mentee"] == "not_found"


def test_measures_filter_by_mentee_and_stay_in_the_programme(
    client_for, programme, match, engagement, coordinator, other_coordinator
):
    other = MatchFactory(programme=programme)
    _record(match, engagement, coordinator)
    _record(other, engagement, coordinator, value=4)

    mine = client_for(coordinator).get(MEASURES, {"mentee": match.mentee_id}).json()["results"]

    assert [row["mentee"] for row in mine] == [match.mentee_id]
    assert client_for(other_coordinator).get(MEASURES).json()["results"] == []


def test_instruments_are_listed_for_the_users_programmes(
    client_for, match, engagement, other_programme, other_coordinator, manager
):
    OutcomeInstrument.objects.create(
        programme=other_programme, code="attendance", name="Attendance rate", scale_min=0, scale_max=100
    )

    assert [i["code"] for i in client_for(match.mentor.user).get(INSTRUMENTS).json()["results"]] == [
        "parent_engagement"
    ]
    assert [i["code"] for i in client_for(other_coordinator).get(INSTRUMENTS).json()["results"]] == [
        "attendance"
    ]
    assert client_for(manager).get(INSTRUMENTS).json()["results"] == []


def test_measure_list_query_count_does_not_grow(client_for, programme, match, engagement, coordinator):
    api = client_for(coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(MEASURES).status_code == 200
        return len(queries)

    _record(match, engagement, coordinator)
    few = count()
    for _ in range(3):
        _record(MatchFactory(programme=programme), engagement, coordinator)

    assert OutcomeMeasure.objects.count() == 4
    assert count() == few
