"""Faults the queue must survive, against the real PostgreSQL and Redis (CI sets both).

A worker killed with SIGKILL in the middle of a report snapshot, twenty times: the task is
acknowledged late and rejected when its worker is lost, so the broker hands it to the next
process, and every step of a snapshot is safe to repeat. Each snapshot must end done exactly
once, with figures equal to a recompute from scratch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from mentoring.demo import MAIN_SLUG
from mentoring.models import Programme
from reports.models import ReportSnapshot, ReportSnapshotPart
from reports.services import snapshot_compute, snapshot_request

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


class Worker:
    """A Celery worker in its own process (prefork, one child), as production runs it."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
        }
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
