"""The API of report snapshots: aggregates only, for the people who read the programme's reports."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import figures as contract
from reports.figures import MENTEE_STAGES
from reports.models import ReportSnapshot
from reports.services import snapshot_compute, snapshot_request
from tests.factories import ManagerFactory, MenteeFactory, ReportSnapshotFactory

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
    assert body["figures"]["version"] == contract.VERSION
    groups = body["figures"]["populations"]["mentees"]["breakdowns"]["migrant_background"]["groups"]
    first_generation = next(line for line in groups if line["group"] == "first_generation")
    assert first_generation["funnel"]["referred"] == {"value": None, "suppressed": True, "display": "< 10"}
    assert first_generation["conversion"]["matched"] is None


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
    for multi in ReportSnapshotFactory.create_batch(3, programme=None):
        multi.programmes.set([programme])
    many, rows = count()

    assert rows == 13
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


# --- Parameters and several programmes -------------------------------------------------------


def test_a_snapshot_is_asked_for_with_parameters_which_come_back_normalised(client_for, manager, programme):
    response = client_for(manager).post(
        SNAPSHOTS,
        {"programme": programme.pk, "parameters": {"period_start": "2025-09-01", "period_end": "2026-08-31"}},
        format="json",
    )

    assert response.status_code == 202
    assert response.json()["parameters"] == {
        "period_start": "2025-09-01",
        "period_end": "2026-08-31",
        "reference_group": "none",
    }
    assert response.json()["programmes"] == [programme.pk]


def test_requests_with_other_parameters_are_other_snapshots(client_for, manager, programme):
    client = client_for(manager)
    whole = client.post(SNAPSHOTS, {"programme": programme.pk}, format="json").json()
    same = client.post(
        SNAPSHOTS, {"programme": programme.pk, "parameters": {"reference_group": "none"}}, format="json"
    ).json()
    other = client.post(
        SNAPSHOTS,
        {"programme": programme.pk, "parameters": {"reference_group": "first_generation"}},
        format="json",
    ).json()

    assert same["id"] == whole["id"]
    assert other["id"] != whole["id"]


@pytest.mark.parametrize(
    ("parameters", "field", "code"),
    [
        ({"period_start": "1 Sept 2025"}, "parameters.period_start", "invalid_date"),
        ({"period_start": "2026-01-01", "period_end": "2025-01-01"}, "parameters.period_end", "before_start"),
        ({"reference_group": "martians"}, "parameters.reference_group", "invalid_choice"),
        ({"programme": 3}, "parameters.programme", "unknown"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(
    client_for, manager, programme, parameters, field, code
):
    response = client_for(manager).post(
        SNAPSHOTS, {"programme": programme.pk, "parameters": parameters}, format="json"
    )

    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]
    assert not ReportSnapshot.objects.exists()


def test_a_snapshot_of_several_programmes_needs_all_of_them_readable(
    client_for, manager, programme, other_programme
):
    response = client_for(manager).post(
        SNAPSHOTS, {"programmes": [programme.pk, other_programme.pk]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "programmes"
    assert not ReportSnapshot.objects.exists()


def test_a_snapshot_of_several_programmes_is_seen_only_by_readers_of_all_of_them(
    client_for, programme, other_programme
):
    both = ManagerFactory(programmes=[programme, other_programme])
    one = ManagerFactory(programmes=[programme])

    response = client_for(both).post(
        SNAPSHOTS, {"programmes": [programme.pk, other_programme.pk]}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    assert body["programme"] is None
    assert sorted(body["programmes"]) == sorted([programme.pk, other_programme.pk])
    again = client_for(both).post(
        SNAPSHOTS, {"programmes": [other_programme.pk, programme.pk]}, format="json"
    )
    assert again.json()["id"] == body["id"]
    assert [
        row["id"] for row in client_for(both).get(SNAPSHOTS, {"covers": programme.pk}).json()["results"]
    ] == [body["id"]]
    assert client_for(one).get(SNAPSHOTS).json()["results"] == []
    assert client_for(one).get(f"{SNAPSHOTS}{body['id']}/").status_code == 404


def test_programme_and_programmes_together_are_refused(client_for, manager, programme):
    response = client_for(manager).post(
        SNAPSHOTS, {"programme": programme.pk, "programmes": [programme.pk]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "programmes"


# --- One breakdown of a snapshot -------------------------------------------------------------


def _done_snapshot(programme):
    MenteeFactory.create_batch(12, programme=programme, person__migrant_background="first_generation")
    MenteeFactory.create_batch(10, programme=programme, person__migrant_background="second_generation")
    MenteeFactory.create_batch(3, programme=programme, person__migrant_background="none")
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)
    return snapshot_compute(snapshot_id=snapshot.pk)


def test_figures_give_one_breakdown_of_a_population(client_for, manager, programme):
    snapshot = _done_snapshot(programme)

    response = client_for(manager).get(
        f"{SNAPSHOTS}{snapshot.pk}/figures/", {"population": "mentees", "dimension": "migrant_background"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["snapshot"], body["population"], body["dimension"]) == (
        snapshot.pk,
        "mentees",
        "migrant_background",
    )
    assert body["k"] == 10 and body["reference_group"] == "none"
    assert body["period"] == {"start": None, "end": None}
    assert [stage["key"] for stage in body["stages"]] == [key for key, _ in MENTEE_STAGES]
    groups = {group["group"]: group for group in body["breakdown"]["groups"]}
    assert groups["first_generation"]["funnel"]["referred"] == {
        "value": 12,
        "suppressed": False,
        "display": "12",
    }
    assert groups["none"]["funnel"]["referred"]["value"] is None
    assert groups["none"]["funnel"]["referred"]["display"] == "< 10"
    assert body["definitions"]


def test_figures_default_to_mentees_by_migrant_background(client_for, coordinator, programme):
    snapshot = _done_snapshot(programme)

    body = client_for(coordinator).get(f"{SNAPSHOTS}{snapshot.pk}/figures/").json()

    assert (body["population"], body["dimension"]) == ("mentees", "migrant_background")


def test_figures_of_an_unknown_dimension_answer_400(client_for, manager, programme):
    snapshot = _done_snapshot(programme)

    response = client_for(manager).get(f"{SNAPSHOTS}{snapshot.pk}/figures/", {"dimension": "name"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "dimension"


def test_figures_of_a_snapshot_in_flight_answer_409(client_for, manager, programme):
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)

    response = client_for(manager).get(f"{SNAPSHOTS}{snapshot.pk}/figures/")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "not_done"


def test_figures_of_another_programme_are_not_found(client_for, manager, other_programme):
    snapshot = _done_snapshot(other_programme)

    response = client_for(manager).get(f"{SNAPSHOTS}{snapshot.pk}/figures/")

    assert response.status_code == 404


def test_figures_are_not_for_mentors(client_for, mentor, programme):
    snapshot = _done_snapshot(programme)

    assert client_for(mentor.user).get(f"{SNAPSHOTS}{snapshot.pk}/figures/").status_code == 404


def test_nothing_a_manager_reads_names_a_person(client_for, manager, programme):
    snapshot = _done_snapshot(programme)
    names = {m.person.last_name for m in programme.mentees.select_related("person")}
    client = client_for(manager)

    texts = [
        client.get(f"{SNAPSHOTS}{snapshot.pk}/").content.decode(),
        client.get(SNAPSHOTS).content.decode(),
        client.get(f"{SNAPSHOTS}{snapshot.pk}/figures/").content.decode(),
        client.get(LATEST, {"programme": programme.pk}).content.decode(),
    ]

    assert names and not any(name in text for name in names for text in texts)


def test_latest_with_parameters_is_the_snapshot_of_exactly_those(client_for, manager, programme):
    whole = _done_snapshot(programme)
    period, _ = snapshot_request(
        programme=programme, requested_by=None, parameters={"period_start": "2025-09-01"}
    )
    snapshot_compute(snapshot_id=period.pk)
    client = client_for(manager)

    assert client.get(LATEST, {"programme": programme.pk}).json()["id"] == period.pk
    assert client.get(LATEST, {"programme": programme.pk, "reference_group": "none"}).json()["id"] == whole.pk
    bad = client.get(LATEST, {"programme": programme.pk, "period_end": "soon"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period_end"
