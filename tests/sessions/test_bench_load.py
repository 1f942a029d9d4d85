"""The mixed load benchmark (``sessions/bench_load.py``) run small and short: its population, its
driver and its reconciliation. No timings are asserted."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from mentoring.models import AuditEvent, Mentee
from sessions import bench, bench_load
from sessions.models import SessionLog


def _token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_load_population_is_reused_on_a_second_run():
    first = bench_load.load_population(mentors=3, coordinators=2, waiting=4)
    second = bench_load.load_population(mentors=3, coordinators=2, waiting=4)

    assert second == first
    assert len(first.mentee_ids) == 7
    assert len(first.waiting_mentee_ids) == 4
    assert Mentee.objects.filter(programme=first.programme, status=Mentee.Status.WAITING).count() == 4


@pytest.mark.django_db
def test_load_coordinators_coordinate_the_bench_programme():
    population = bench_load.load_population(mentors=2, coordinators=1, waiting=2)
    client = _token_client(population.coordinator_tokens[0])

    mentees = client.get("/api/v1/mentees/")
    suggestions = client.get(f"/api/v1/mentees/{population.waiting_mentee_ids[0]}/suggestions/")

    assert mentees.status_code == 200
    assert mentees.json()["count"] == 4
    assert suggestions.status_code == 200, suggestions.content
    assert suggestions.json()["results"], "the waiting mentee has someone to be suggested"


@pytest.mark.django_db
def test_reconciliation_fails_for_a_stored_log_no_answer_named():
    population = bench_load.load_population(mentors=1, coordinators=1, waiting=1)
    mentor = population.mentors[0].client
    _token_client(mentor.token).post(bench.TANDEM_PATH, bench.log_payload(mentor), format="json")
    run = bench_load.LoadRun(results={kind: bench.LoadResult() for kind in bench_load.KINDS})

    checks = {check.name: check for check in bench_load.reconcile(population, run, before=set())}

    assert not checks["stored rows = 201 responses"].passed
    assert checks["every log has its create audit row"].passed


@pytest.mark.django_db
def test_reconciliation_fails_for_a_log_without_its_audit_row():
    population = bench_load.load_population(mentors=1, coordinators=1, waiting=1)
    mentor = population.mentors[0].client
    payload = bench.log_payload(mentor)
    log_id = _token_client(mentor.token).post(bench.TANDEM_PATH, payload, format="json").json()["id"]
    AuditEvent.objects.filter(object_type=SessionLog._meta.label, object_id=str(log_id)).delete()
    run = bench_load.LoadRun(
        results={kind: bench.LoadResult() for kind in bench_load.KINDS},
        created=[log_id],
        retried={payload["idempotency_key"]: log_id},
    )

    checks = {check.name: check for check in bench_load.reconcile(population, run, before=set())}

    assert checks["stored rows = 201 responses"].passed
    assert checks["a retried key stores one row"].passed
    assert not checks["every log has its create audit row"].passed


@pytest.mark.django_db(transaction=True)
def test_mixed_load_has_no_error_and_reconciles_exactly(live_server):
    if connection.vendor != "postgresql":
        pytest.skip(
            "The mixed load needs PostgreSQL (DATABASE_URL): its concurrent users write through the "
            "live server, which shares the test's one SQLite connection"
        )
    population = bench_load.load_population(mentors=5, coordinators=1, waiting=5)

    # Half of the logs retried, so a short run retries some.
    run = bench_load.drive_load(live_server.url, population, seconds=3, retry_share=0.5)
    checks = bench_load.reconcile(population, run, before=set())

    assert run.total.errors == 0, {kind: result.samples for kind, result in run.results.items()}
    assert run.results[bench_load.LOG_RETRY].requests > 0
    assert all(run.results[kind].requests for kind in bench_load.KINDS), "every kind of request was sent"
    assert [check for check in checks if not check.passed] == []
