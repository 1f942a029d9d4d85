"""The API of report snapshots: aggregates only, for the people who read the programme's reports."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports.models import ReportSnapshot
from reports.services import snapshot_compute
from tests.factories import MenteeFactory, ReportSnapshotFactory

pytestmark = pytest.mark.django_db

SNAPSHOTS = "/api/v1/report-snapshots/"
LATEST = "/api/v1/report-snapshots/latest/"


# --- Asking for a snapshot -------------------------------------------------------------------


def test_manager_asks_for_a_snapshot_and_is_answered_at_once(client_for, manager, programme):
    response = client_for(manager).post(SNAPSHOTS, {"programme": programme.pk})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["progress"] == 0
    assert body["programme"] == programme.pk
    assert body["small_cell_k"] == 10
    assert body["figures"] == {}
    assert response["Location"].endswith(f"{SNAPSHOTS}{body['id']}/")
    assert ReportSnapshot.objects.get().requested_by == manager


def test_a_second_request_joins_the_snapshot_in_flight(client_for, manager, coordinator, programme):
    first = client_for(manager).post(SNAPSHOTS, {"programme": programme.pk})
    second = client_for(coordinator).post(SNAPSHOTS, {"programme": programme.pk})

    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert ReportSnapshot.objects.count() == 1


def test_a_snapshot_of_a_programme_you_cannot_read_is_refused(client_for, manager, other_programme):
    response = client_for(manager).post(SNAPSHOTS, {"programme": other_programme.pk})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "programme", "code": "not_found", "message": "Programme not found."}
    ]
    assert not ReportSnapshot.objects.exists()


def test_a_mentor_cannot_ask_for_a_snapshot(client_for, mentor, programme):
    response = client_for(mentor.user).post(SNAPSHOTS, {"programme": programme.pk})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "programme"
    assert not ReportSnapshot.objects.exists()


def test_a_snapshot_request_needs_a_programme(client_for, manager):
    response = client_for(manager).post(SNAPSHOTS, {})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "programme", "code": "required", "message": "This field is required."}
    ]


# --- Reading snapshots -----------------------------------------------------------------------


def test_manager_reads_a_computed_snapshot_with_small_counts_withheld(client_for, manager, programme):
    MenteeFactory.create_batch(3, programme=programme)
    snapshot, _ = ReportSnapshot.objects.get_or_create(
        programme=programme, parameters_key="p", defaults={"small_cell_k": 10}
    )
    snapshot_compute(snapshot_id=snapshot.pk)

    response = client_for(manager).get(f"{SNAPSHOTS}{snapshot.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    assert body["progress"] == 100
    assert body["generated_at"] is not None
    assert body["data_as_of"] is not None
    mentees = body["figures"]["populations"]["mentees"]
    first_generation = next(line for line in mentees["groups"] if line["group"] == "first_generation")
    assert first_generation["total"] == {"value": None, "suppressed": True, "display": "< 10"}
    assert first_generation["matched_share"] is None


def test_manager_lists_the_snapshots_of_their_programme_only(client_for, manager, programme, other_programme):
    own = ReportSnapshotFactory(programme=programme)
    ReportSnapshotFactory(programme=other_programme)

    response = client_for(manager).get(SNAPSHOTS)

    assert [row["id"] for row in response.json()["results"]] == [own.pk]


def test_snapshot_of_another_programme_is_not_found(client_for, manager, other_programme):
    theirs = ReportSnapshotFactory(programme=other_programme)

    response = client_for(manager).get(f"{SNAPSHOTS}{theirs.pk}/")

    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Snapshot not found."


def test_a_mentor_sees_no_snapshots(client_for, mentor, programme):
    snapshot = ReportSnapshotFactory(programme=programme)
    client = client_for(mentor.user)

    assert client.get(SNAPSHOTS).json()["results"] == []
    assert client.get(f"{SNAPSHOTS}{snapshot.pk}/").status_code == 404


def test_snapshot_list_filters_by_status(client_for, coordinator, programme):
    ReportSnapshotFactory(programme=programme)
    failed = ReportSnapshotFactory(programme=programme, status=ReportSnapshot.Status.FAILED)

    response = client_for(coordinator).get(SNAPSHOTS, {"status": "failed", "programme": programme.pk})

    assert [row["id"] for row in response.json()["results"]] == [failed.pk]


def test_snapshot_list_query_count_does_not_grow_with_rows(client_for, manager, programme):
    client = client_for(manager)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(SNAPSHOTS)
        return len(queries), response.json()["count"]

    ReportSnapshotFactory.create_batch(2, programme=programme)
    few, rows = count()
    assert rows == 2
    ReportSnapshotFactory.create_batch(8, programme=programme)
    many, rows = count()

    assert rows == 10
    assert many == few


# --- The latest snapshot ---------------------------------------------------------------------


def test_latest_is_the_newest_finished_snapshot(client_for, manager, programme):
    now = timezone.now()
    ReportSnapshotFactory(programme=programme, generated_at=now - datetime.timedelta(days=1))
    newest = ReportSnapshotFactory(programme=programme, generated_at=now)
    ReportSnapshotFactory(programme=programme, status=ReportSnapshot.Status.RUNNING, generated_at=None)

    response = client_for(manager).get(LATEST, {"programme": programme.pk})

    assert response.status_code == 200
    assert response.json()["id"] == newest.pk


def test_latest_before_any_snapshot_is_done_is_not_found(client_for, manager, programme):
    response = client_for(manager).get(LATEST, {"programme": programme.pk})

    assert response.status_code == 404
    assert "No report" in response.json()["errors"][0]["message"]


def test_latest_of_a_programme_you_cannot_read_is_not_found(client_for, manager, other_programme):
    ReportSnapshotFactory(programme=other_programme)

    response = client_for(manager).get(LATEST, {"programme": other_programme.pk})

    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Programme not found."


def test_latest_needs_a_programme_id(client_for, manager):
    response = client_for(manager).get(LATEST)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "programme"
