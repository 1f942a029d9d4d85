"""The pieces of the session-log load benchmark (``sessions/bench.py``), run small and fast:
its data, its bare endpoint, its load driver. No timings are asserted."""

import pytest
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from matching.models import Match
from sessions import bench
from sessions.models import SessionLog
from tests.factories import SessionLogFactory

BARE = bench.BARE_PATH


def _token_client(bench_client: bench.BenchClient) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {bench_client.token}")
    return client


def test_bare_endpoint_is_not_routed_under_the_normal_settings():
    with pytest.raises(Resolver404):
        resolve(BARE)


@pytest.mark.django_db
def test_bench_programme_is_reused_on_a_second_run():
    programme, first = bench.bench_programme(mentors=3)
    _, second = bench.bench_programme(mentors=3)

    assert second == first
    assert Match.objects.filter(programme=programme, status=Match.Status.ACTIVE).count() == 3


@pytest.mark.django_db
def test_clearing_the_bench_logs_leaves_other_programmes_alone():
    programme, clients = bench.bench_programme(mentors=1)
    SessionLog.objects.create(author=None, **_row(bench.log_payload(clients[0])))
    other = SessionLogFactory()

    assert bench.bench_logs_clear(programme) == 1
    assert list(SessionLog.objects.all()) == [other]


@pytest.mark.django_db
@pytest.mark.urls("config.bench_urls")
def test_bare_endpoint_stores_one_row_per_accepted_request():
    _, clients = bench.bench_programme(mentors=2)

    statuses = [
        _token_client(client).post(BARE, bench.log_payload(client), format="json").status_code
        for client in clients * 3
    ]

    assert statuses == [201] * 6
    assert SessionLog.objects.count() == 6


@pytest.mark.django_db
@pytest.mark.urls("config.bench_urls")
def test_bare_endpoint_refuses_requests_without_a_token():
    _, clients = bench.bench_programme(mentors=1)

    response = APIClient().post(BARE, bench.log_payload(clients[0]), format="json")

    assert response.status_code in (401, 403)
    assert not SessionLog.objects.exists()


@pytest.mark.django_db
def test_bench_payload_is_accepted_by_tandems_endpoint():
    _, clients = bench.bench_programme(mentors=1)

    response = _token_client(clients[0]).post(bench.TANDEM_PATH, bench.log_payload(clients[0]), format="json")

    assert response.status_code == 201, response.content


@pytest.mark.django_db(transaction=True)
def test_load_driver_counts_every_request_the_server_stored(live_server):
    programme, clients = bench.bench_programme(mentors=1)

    # One client: the live server shares the test's SQLite connection, which takes no concurrent
    # writers (the benchmark itself runs 50 against PostgreSQL).
    result = bench.drive(live_server.url, bench.TANDEM_PATH, clients, seconds=0.3)

    assert result.requests == result.accepted + result.errors > 0
    assert result.errors == 0, result.samples
    assert bench.bench_logs_count(programme) == result.accepted
    assert len(result.latencies) == result.requests


def _row(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if key != "match"} | {"match_id": payload["match"]}
