import datetime
import os
import time

import pytest
from django.core.exceptions import ValidationError

from mentoring.models import ConsentPurpose, MigrantBackground
from reports import figures as contract
from reports.figures import DIMENSIONS
from reports.models import ReportSnapshot
from reports.services import (
    snapshot_compute,
    snapshot_parameters_clean,
    snapshot_request,
    snapshot_request_multi,
)
from tests.factories import MatchFactory, MenteeFactory, MentorFactory, ProgrammeFactory

FIRST = MigrantBackground.FIRST_GENERATION
NONE = MigrantBackground.NONE


def _groups(snapshot, population, dimension="migrant_background"):
    breakdown = snapshot.figures["populations"][population]["breakdowns"][dimension]
    return {row["group"]: row for row in breakdown["groups"]}


def _total(snapshot, population, dimension="migrant_background"):
    return snapshot.figures["populations"][population]["breakdowns"][dimension]["total"]


def _build_programme(k=5):
    """12 first-generation mentees (7 matched), 10 non-migrant (5 matched), 3 who declined
    (none matched), 2 first-generation without consent to statistics; 6 first-generation
    mentors who are all matched, 8 non-migrant mentors of whom 5 matched."""
    programme = ProgrammeFactory(small_cell_k=k)
    mentors_first = MentorFactory.create_batch(
        6, programme=programme, approved=True, capacity=3, person__migrant_background=FIRST
    )
    mentors_none = MentorFactory.create_batch(
        8, programme=programme, approved=True, capacity=3, person__migrant_background=NONE
    )
    pool = mentors_first + mentors_none[:5]

    def mentees(n, background, matched, **person):
        for i in range(n):
            if i < matched:
                MatchFactory(
                    programme=programme,
                    mentor=pool[i % len(pool)],
                    mentee__person__migrant_background=background,
                    **{f"mentee__person__{key}": value for key, value in person.items()},
                )
            else:
                MenteeFactory(
                    programme=programme,
                    person__migrant_background=background,
                    **{f"person__{key}": value for key, value in person.items()},
                )

    mentees(12, FIRST, 7)
    mentees(10, NONE, 5)
    mentees(3, MigrantBackground.DECLINED, 0)
    mentees(2, FIRST, 0, consents=[ConsentPurpose.CASE_MANAGEMENT])
    return programme


def test_snapshot_counts_mentees_and_mentors_by_migrant_background(db):
    programme = _build_programme(k=5)
    snapshot, created = snapshot_request(programme=programme, requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    assert created and snapshot.status == ReportSnapshot.Status.DONE
    assert snapshot.figures["version"] == contract.VERSION and snapshot.figures["k"] == 5
    assert snapshot.figures["reference_group"] == "none"
    assert snapshot.figures["period"] == {"start": None, "end": None}
    assert set(snapshot.figures["participation"]) == {
        "migrant_share_mentees",
        "migrant_share_mentors",
        "mentor_to_mentee_ratio",
    }
    assert snapshot.figures["definitions"]
    mentees = _groups(snapshot, "mentees")
    assert mentees["first_generation"]["funnel"]["referred"]["value"] == 12
    assert mentees["none"]["funnel"]["referred"]["value"] == 10
    assert _total(snapshot, "mentees")["funnel"]["referred"]["value"] == 27
    mentors = _groups(snapshot, "mentors")
    assert mentors["first_generation"]["funnel"]["applied"]["value"] == 6
    assert mentors["none"]["funnel"]["applied"]["value"] == 8
    assert set(snapshot.figures["populations"]["mentees"]["breakdowns"]) == {key for key, _ in DIMENSIONS}
    assert snapshot.data_as_of is not None and snapshot.duration_ms is not None


def test_groups_below_k_are_withheld(db):
    programme = _build_programme(k=5)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    mentees = _groups(snapshot, "mentees")
    assert mentees["declined"]["funnel"]["referred"] == {"value": None, "suppressed": True, "display": "< 5"}
    assert mentees["no_consent"]["funnel"]["referred"]["suppressed"]
    assert mentees["declined"]["conversion"]["intake_complete"] is None


def test_people_without_consent_to_statistics_are_left_out_of_background_groups(db):
    programme = _build_programme(k=5)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    # 14 first-generation mentees exist, but 2 did not consent: the group counts 12.
    assert _groups(snapshot, "mentees")["first_generation"]["funnel"]["referred"]["value"] == 12


def test_the_parameters_reach_the_figures(db):
    programme = _build_programme(k=5)
    parameters = {
        "period_start": "2020-01-01",
        "period_end": "2099-12-31",
        "reference_group": "first_generation",
    }
    snapshot, _ = snapshot_request(programme=programme, requested_by=None, parameters=parameters)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    assert snapshot.parameters == parameters
    assert snapshot.figures["reference_group"] == "first_generation"
    assert snapshot.figures["period"] == {"start": "2020-01-01", "end": "2099-12-31"}


# --- Parameters ------------------------------------------------------------------------------


def test_parameters_are_normalised_so_equal_requests_join(db):
    programme = ProgrammeFactory()

    first, _ = snapshot_request(programme=programme, requested_by=None)
    second, created = snapshot_request(
        programme=programme,
        requested_by=None,
        parameters={"period_start": None, "reference_group": "none"},
    )

    assert not created and second.pk == first.pk
    assert first.parameters == {"period_start": None, "period_end": None, "reference_group": "none"}


def test_dates_are_accepted_as_dates_or_iso_text(db):
    assert snapshot_parameters_clean(
        {"period_start": datetime.date(2025, 9, 1), "period_end": "2026-08-31"}
    ) == {
        "period_start": "2025-09-01",
        "period_end": "2026-08-31",
        "reference_group": "none",
    }


@pytest.mark.parametrize(
    ("parameters", "fields"),
    [
        ({"period_start": "2025-13-01"}, {"period_start"}),
        ({"period_start": "2026-01-01", "period_end": "2025-12-31"}, {"period_end"}),
        ({"period_end": 20250101}, {"period_end"}),
        ({"reference_group": "migrants"}, {"reference_group"}),
        ({"colour": "red", "period_start": "x"}, {"colour", "period_start"}),
        (["period_start"], {"parameters"}),
    ],
)
def test_bad_parameters_are_refused_naming_each_field(db, parameters, fields):
    programme = ProgrammeFactory()

    with pytest.raises(ValidationError) as error:
        snapshot_request(programme=programme, requested_by=None, parameters=parameters)

    assert set(error.value.message_dict) == fields
    assert not ReportSnapshot.objects.exists()


# --- Several programmes ----------------------------------------------------------------------


def test_a_snapshot_of_several_programmes_joins_an_identical_one_in_flight(db):
    first, second = ProgrammeFactory(), ProgrammeFactory()

    one, created_one = snapshot_request_multi(programmes=[first, second], requested_by=None)
    two, created_two = snapshot_request_multi(programmes=[second, first], requested_by=None)
    other, created_other = snapshot_request_multi(
        programmes=[first, second], requested_by=None, parameters={"reference_group": "first_generation"}
    )

    assert (created_one, created_two, created_other) == (True, False, True)
    assert one.pk == two.pk != other.pk
    assert one.programme is None


def test_a_snapshot_of_one_programme_through_the_several_programmes_service_is_an_ordinary_one(db):
    programme = ProgrammeFactory()

    single, _ = snapshot_request(programme=programme, requested_by=None)
    same, created = snapshot_request_multi(programmes=[programme, programme], requested_by=None)

    assert not created and same.pk == single.pk


def test_a_snapshot_of_no_programme_is_refused(db):
    with pytest.raises(ValidationError) as error:
        snapshot_request_multi(programmes=[], requested_by=None)

    assert set(error.value.message_dict) == {"programmes"}


def test_figures_of_several_programmes_count_the_people_of_all_of_them(db):
    first, second = _build_programme(k=5), _build_programme(k=5)
    snapshot, _ = snapshot_request_multi(programmes=[first, second], requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    assert _groups(snapshot, "mentees")["first_generation"]["funnel"]["referred"]["value"] == 24
    assert _total(snapshot, "mentors")["funnel"]["applied"]["value"] == 28


def test_a_second_refresh_while_one_is_in_flight_joins_it(db):
    programme = ProgrammeFactory()

    first, created_first = snapshot_request(programme=programme, requested_by=None)
    second, created_second = snapshot_request(programme=programme, requested_by=None)

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert ReportSnapshot.objects.count() == 1


def test_computing_a_snapshot_twice_gives_the_same_figures_and_one_result(db):
    programme = _build_programme(k=5)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    first = snapshot_compute(snapshot_id=snapshot.pk)
    figures, generated_at = first.figures, first.generated_at
    again = snapshot_compute(snapshot_id=snapshot.pk)

    assert again.figures == figures and again.generated_at == generated_at
    fresh, _ = snapshot_request(programme=programme, requested_by=None)
    assert snapshot_compute(snapshot_id=fresh.pk).figures["populations"] == figures["populations"]


@pytest.mark.worker
def test_a_real_worker_computes_a_requested_snapshot_through_the_broker(celery_worker_live):
    """Through Redis when REDIS_URL is set (as in CI), else kombu's in-memory transport."""
    if os.environ.get("REDIS_URL"):
        with celery_worker_live.connection_for_write() as connection:
            assert connection.transport.driver_type == "redis"
    programme = _build_programme(k=5)

    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot.refresh_from_db()
        if snapshot.status in (ReportSnapshot.Status.DONE, ReportSnapshot.Status.FAILED):
            break
        time.sleep(0.2)
    assert snapshot.status == ReportSnapshot.Status.DONE, snapshot.error
    assert _groups(snapshot, "mentees")["first_generation"]["funnel"]["referred"]["value"] == 12
    assert _groups(snapshot, "mentors")["first_generation"]["funnel"]["applied"]["value"] == 6
    assert set(snapshot.parts.values_list("population", "status")) == {
        ("mentees", "done"),
        ("mentors", "done"),
    }
    assert snapshot.progress == 100
