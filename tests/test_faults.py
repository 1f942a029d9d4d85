"""Faults the queue must survive, against the real PostgreSQL and Redis (CI sets both).

- A worker killed with SIGKILL in the middle of a report snapshot, twenty times: the task is
  acknowledged late and rejected when its worker is lost, so the broker hands it to the next
  process, and every step of a snapshot is safe to repeat. Each snapshot must end done exactly
  once, with figures equal to a recompute from scratch.
- Redis stopped, then its queue flushed: the web server (gunicorn) and a worker run as their own
  processes on a Redis of the test's own; session logs are answered 201 and stored while the
  broker is down, and the reports asked for meanwhile are computed once the outbox sweeper sends
  their tasks again (also those the broker lost with its queue).
- PostgreSQL restarted under load: gunicorn with production's settings (persistent connections,
  checked before reuse) keeps serving afterwards without a restart of its own, and every session
  log is whole: stored once with its audit row, or not at all and then stored by the retry.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.db import connection

from mentoring.demo import MAIN_SLUG
from mentoring.models import AuditEvent, Programme, TaskOutbox
from reports.models import ReportSnapshot, ReportSnapshotPart
from reports.services import snapshot_compute, snapshot_request
from reports.tasks import snapshot_compute_task
from sessions.models import SessionLog
from tests.factories import MatchFactory, MenteeFactory

ROOT = Path(__file__).resolve().parent.parent
KILLS = 20


def _needs_real_services() -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("Fault tests need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), as CI has")


def _database_url() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    return [int(line) for line in found.stdout.split()]


def _env(**extra: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        **extra,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Worker:
    """A Celery worker in its own process (prefork, one child), as production runs it."""

    def __init__(self, **env_extra: str) -> None:
        env = _env(**env_extra)
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def child(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = _children(self.process.pid)
            if children:
                return children[0]
            assert self.process.poll() is None, self.process.stderr.read().decode()
            time.sleep(0.05)
        raise AssertionError("the worker started no pool process")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _figures(snapshot: ReportSnapshot) -> dict:
    snapshot.refresh_from_db()
    return snapshot.figures


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_snapshot_twenty_times_loses_and_repeats_nothing():
    _needs_real_services()
    from config.celery import app

    # A programme large enough that computing one population takes a moment to kill.
    with open(os.devnull, "w") as quiet:
        call_command(
            "seed_demo", "--mentors", "600", "--mentees", "1500", "--sessions", "20000", stdout=quiet
        )
    programme = Programme.objects.get(slug=MAIN_SLUG)
    app.control.purge()
    worker = Worker()
    killed_parts = []
    try:
        snapshots = []
        for n in range(KILLS):
            # A different period each time, so each request is a snapshot of its own.
            start = f"2001-01-{n + 1:02d}"
            snapshot, created = snapshot_request(
                programme=programme, requested_by=None, parameters={"period_start": start}
            )
            assert created
            child = worker.child()
            part = _wait(
                lambda s=snapshot: ReportSnapshotPart.objects.filter(
                    snapshot=s, status=ReportSnapshotPart.Status.RUNNING
                ).first(),
                timeout=60,
                what="a part to start",
            )
            os.kill(child, signal.SIGKILL)
            killed_parts.append(part.pk)
            snapshots.append(snapshot)
            _wait(
                lambda s=snapshot: ReportSnapshot.objects.filter(
                    pk=s.pk, status__in=(ReportSnapshot.Status.DONE, ReportSnapshot.Status.FAILED)
                ).exists(),
                timeout=120,
                what=f"snapshot {n + 1} to finish after its worker was killed",
            )
    finally:
        worker.stop()
        app.control.purge()

    for snapshot in snapshots:
        snapshot.refresh_from_db()
        assert snapshot.status == ReportSnapshot.Status.DONE, snapshot.error
        assert snapshot.parts.count() == 2
    # Every killed part ran again: the kill landed while it was computing.
    for part in ReportSnapshotPart.objects.filter(pk__in=killed_parts):
        assert part.status == ReportSnapshotPart.Status.DONE
        assert part.attempts >= 2, part.population
    # Exactly one snapshot per request, none left in flight.
    assert ReportSnapshot.objects.filter(programme=programme).count() == KILLS
    # Equal to a recompute from scratch, in this process, with no worker involved.
    for snapshot in (snapshots[0], snapshots[-1]):
        fresh, _ = snapshot_request(programme=programme, requested_by=None, parameters=snapshot.parameters)
        recomputed = snapshot_compute(snapshot_id=fresh.pk)
        assert recomputed.figures == _figures(snapshot)
    app.control.purge()


class RedisServer:
    """A Redis of the test's own, on a free port, that keeps nothing on disk (as CI's)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait(self.answers, timeout=10, what="Redis to start")

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def flushall(self) -> None:
        redis.Redis(port=self.port).flushall()


class WebServer:
    """gunicorn serving Tandem, as production does."""

    def __init__(self, settings: str = "config.settings.test", **env_extra: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=_env(DJANGO_SETTINGS_MODULE=settings, **env_extra),
            start_new_session=True,
        )
        _wait(self.answers, timeout=60, what="gunicorn to serve")

    def answers(self) -> bool:
        assert self.process.poll() is None, "gunicorn exited"
        try:
            urllib.request.urlopen(f"{self.base}/login/", timeout=2)  # noqa: S310
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def post(self, path: str, body: dict, token: str) -> tuple[int, dict]:
        request = urllib.request.Request(  # noqa: S310
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {"body": error.read().decode()[:500]}

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=20)


def _sweep(redis_url: str, *flags: str) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "outbox_sweep", *flags],
        cwd=ROOT,
        env=_env(REDIS_URL=redis_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _log_body(match_id: int, n: int) -> dict:
    return {
        "match": match_id,
        "held_on": (datetime.date.today() - datetime.timedelta(days=1 + n % 20)).isoformat(),
        "duration_minutes": 45,
        "mode": "in_person",
        "language": "uk",
        "participants": ["parent"],
        "topics": ["homework"],
        "notes": "",
        "idempotency_key": str(uuid.UUID(int=n + 1)),
    }


def _post_logs(web: WebServer, token: str, match_id: int, numbers: range) -> list[int]:
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda n: web.post("/api/v1/session-logs/", _log_body(match_id, n), token), numbers)
        )
    return [status for status, _body in answers]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_or_flushed_nothing_is_lost_and_the_sweeper_refreshes_the_reports(
    programme, mentor, manager
):
    _needs_real_services()
    from rest_framework.authtoken.models import Token

    match = MatchFactory(programme=programme, mentor=mentor)
    MenteeFactory.create_batch(3, programme=programme)
    mentor_token = Token.objects.create(user=mentor.user).key
    manager_token = Token.objects.create(user=manager).key
    broker = RedisServer()
    web = WebServer(REDIS_URL=broker.url)
    worker = None
    try:
        # Redis stops: every session log is still answered 201 and stored, and so is a report
        # request; its task waits in the outbox.
        broker.stop()
        statuses = _post_logs(web, mentor_token, match.pk, range(100))
        status, asked = web.post("/api/v1/report-snapshots/", {"programme": programme.pk}, manager_token)
        assert statuses == [201] * 100
        assert status == 202, asked
        assert SessionLog.objects.filter(match=match).count() == 100
        snapshot = ReportSnapshot.objects.get(pk=asked["id"])
        assert snapshot.status == ReportSnapshot.Status.PENDING
        assert TaskOutbox.objects.filter(sent_at__isnull=True).count() == 1

        # Redis is back: the sweeper sends the task and a worker computes the report.
        broker.start()
        worker = Worker(REDIS_URL=broker.url)
        assert _sweep(broker.url, "--grace", "0") == "Sent 1 task(s).\n"
        _wait(lambda: _done(snapshot), timeout=120, what="the report after Redis came back")
        assert _reflects_every_log(snapshot)

        # The worker is down and the broker loses its queue (FLUSHALL) after a report request
        # was sent: the sweeper sends again what no worker finished.
        worker.stop()
        worker = None
        statuses = _post_logs(web, mentor_token, match.pk, range(100, 200))
        status, asked = web.post(
            "/api/v1/report-snapshots/",
            {"programme": programme.pk, "parameters": {"period_start": "2001-01-01"}},
            manager_token,
        )
        assert statuses == [201] * 100 and status == 202, asked
        lost = ReportSnapshot.objects.get(pk=asked["id"])
        assert TaskOutbox.objects.filter(sent_at__isnull=False, done_at__isnull=True).get().args == [lost.pk]
        broker.flushall()
        worker = Worker(REDIS_URL=broker.url)
        assert _sweep(broker.url, "--grace", "0", "--resend-after", "0") == "Sent 1 task(s).\n"
        _wait(lambda: _done(lost), timeout=120, what="the report after the broker lost its queue")
        assert _reflects_every_log(lost)
        assert SessionLog.objects.filter(match=match).count() == 200
        _wait(
            lambda: not TaskOutbox.objects.filter(done_at__isnull=True).exists(),
            timeout=30,
            what="every task to be marked finished",
        )
    finally:
        if worker is not None:
            worker.stop()
        web.stop()
        if broker.answers():
            broker.stop()


def _done(snapshot: ReportSnapshot) -> bool:
    snapshot.refresh_from_db()
    assert snapshot.status != ReportSnapshot.Status.FAILED, snapshot.error
    return snapshot.status == ReportSnapshot.Status.DONE


def _reflects_every_log(snapshot: ReportSnapshot) -> bool:
    """The report was computed after the last session log was stored, and its figures equal a
    recompute from scratch."""
    snapshot.refresh_from_db()
    last_log = SessionLog.objects.filter(match__programme=snapshot.programme).latest("created_at")
    programme, parameters = snapshot.programme, snapshot.parameters
    fresh, _ = snapshot_request(programme=programme, requested_by=None, parameters=parameters)
    recomputed = snapshot_compute(snapshot_id=fresh.pk).figures
    # Computed here, in the test's process: its task (sent to the test run's broker) is moot.
    rows = TaskOutbox.objects.filter(task_name=snapshot_compute_task.name)
    rows.filter(pk__in=[row.pk for row in rows if row.args == [fresh.pk]]).delete()
    return snapshot.data_as_of > last_log.created_at and recomputed == _figures(snapshot)


def _restart_postgresql() -> None:
    versions = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(  # noqa: S603
        [
            shutil.which("pg_ctlcluster") or "/usr/bin/pg_ctlcluster",
            "--skip-systemctl-redirect",
            versions[-1],
            "main",
            "restart",
            "-m",
            "fast",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_postgresql_restarted_under_load_leaves_nothing_half_written_and_the_app_recovers(programme, mentor):
    _needs_real_services()
    if not os.path.isdir("/etc/postgresql") or os.geteuid() != 0:
        pytest.skip("Restarting PostgreSQL needs its local cluster and root, as CI has")
    from rest_framework.authtoken.models import Token

    match = MatchFactory(programme=programme, mentor=mentor)
    token = Token.objects.create(user=mentor.user).key
    web = WebServer(settings="config.settings.bench")
    stop = threading.Event()
    succeeded_at: list[float] = []
    acknowledged: dict[int, int] = {}  # key number → the status that acknowledged it
    failures_seen = []
    lock = threading.Lock()
    counter = iter(range(1, 10**6))

    def client() -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            # The same request (same idempotency key) until it is acknowledged.
            while True:
                try:
                    status, _body = web.post("/api/v1/session-logs/", _log_body(match.pk, n), token)
                except OSError:
                    status = 0  # the connection itself failed
                if status in (200, 201):
                    acknowledged[n] = status
                    succeeded_at.append(time.monotonic())
                    break
                failures_seen.append(status)
                time.sleep(0.05)

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(6):
                pool.submit(client)
            time.sleep(3)
            _restart_postgresql()
            back = time.monotonic()
            time.sleep(4)
            stop.set()
        assert web.process.poll() is None, "gunicorn itself died"
    finally:
        web.stop()
    connection.close()  # the test's own connection did not survive the restart either

    # The app recovered without a restart: requests succeeded after PostgreSQL came back.
    assert any(t > back for t in succeeded_at), "no request succeeded after the restart"
    assert failures_seen, "the restart interrupted no request: it proves nothing"
    # Nothing half-written: one log per acknowledged key, each with its audit row, and none else.
    logs = SessionLog.objects.filter(match=match)
    keys = sorted(uuid.UUID(str(key)).int - 1 for key in logs.values_list("idempotency_key", flat=True))
    assert keys == sorted(acknowledged), (len(keys), len(acknowledged))
    audited = set(
        AuditEvent.objects.filter(
            object_type="mentoring_sessions.SessionLog", action=AuditEvent.Action.CREATE
        ).values_list("object_id", flat=True)
    )
    assert {str(pk) for pk in logs.values_list("pk", flat=True)} == audited
    assert all(status >= 500 for status in failures_seen), sorted(set(failures_seen))
