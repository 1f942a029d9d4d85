import os
import time

import pytest

from mentoring.models import ConsentPurpose, MigrantBackground
from reports.models import ReportSnapshot
from reports.services import snapshot_compute, snapshot_request
from tests.factories import MatchFactory, MenteeFactory, MentorFactory, ProgrammeFactory

FIRST = MigrantBackground.FIRST_GENERATION
NONE = MigrantBackground.NONE


def _groups(snapshot, population):
    return {row["group"]: row for row in snapshot.figures["populations"][population]["groups"]}


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
    mentees = _groups(snapshot, "mentees")
    assert mentees["first_generation"]["total"]["value"] == 12
    assert mentees["first_generation"]["matched"]["value"] == 7
    assert mentees["first_generation"]["matched_share"] == round(7 / 12, 4)
    assert mentees["none"]["total"]["value"] == 10
    # Nobody who declined or withheld consent (5 people) is matched. Were the 5 matched
    # non-migrant mentees shown, 12 − 7 − 5 = 0 would reveal that, so they are withheld.
    assert mentees["none"]["matched"]["suppressed"]
    assert mentees["none"]["matched_share"] is None
    total = snapshot.figures["populations"]["mentees"]["total"]
    assert total["total"]["value"] == 27
    assert total["matched"]["value"] == 12
    mentors = _groups(snapshot, "mentors")
    assert mentors["first_generation"]["total"]["value"] == 6
    assert mentors["none"]["total"]["value"] == 8
    assert snapshot.data_as_of is not None and snapshot.duration_ms is not None


def test_groups_below_k_are_withheld_with_a_second_cell_so_totals_do_not_reveal_them(db):
    programme = _build_programme(k=5)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    mentees = _groups(snapshot, "mentees")
    declined = mentees["declined"]
    assert declined["total"] == {"value": None, "suppressed": True, "display": "< 5"}
    assert declined["matched_share"] is None
    # The 2 people without consent form a group below k too, and the published total of 27
    # minus the published groups must not give back either withheld group on its own.
    no_consent = mentees["no_consent"]
    assert no_consent["total"]["suppressed"]
    published = [row["total"]["value"] for row in mentees.values() if not row["total"]["suppressed"]]
    total = snapshot.figures["populations"]["mentees"]["total"]["total"]["value"]
    hidden_groups = [row for row in mentees.values() if row["total"]["suppressed"]]
    assert total is None or len(hidden_groups) >= 2 or total == sum(published)


def test_people_without_consent_to_statistics_are_left_out_of_background_groups(db):
    programme = _build_programme(k=5)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    snapshot = snapshot_compute(snapshot_id=snapshot.pk)

    # 14 first-generation mentees exist, but 2 did not consent: the group counts 12.
    assert _groups(snapshot, "mentees")["first_generation"]["total"]["value"] == 12


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
    assert _groups(snapshot, "mentees")["first_generation"]["matched"]["value"] == 7
    # All 6 first-generation mentors are matched: "not matched" (0) is below k, so the
    # matched count would reveal it and is withheld with it.
    assert _groups(snapshot, "mentors")["first_generation"]["matched"]["suppressed"]
