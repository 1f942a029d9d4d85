"""Benchmark of participation-equality snapshots: ``python -m reports.bench`` (``make bench-reports``).

Against the configured database (PostgreSQL via ``DATABASE_URL``; build the data with ``make
bench-seed``) and broker (``REDIS_URL``), on the programme with the most mentees (or
``--programme SLUG``), prints:

1. a full snapshot computed in this process (every part, then the assembly), the median of
   ``--repeat`` runs, with each part's and the assembly's time;
2. ``reports.metrics.floor_queries`` over the same programmes (the floor: the queries no
   computation of these figures can avoid), and the ratio snapshot ÷ floor (target ≤ 1.5);
3. the reports dashboard served from the snapshot to a manager (Django's test client), the
   median of ``--requests`` requests (target < 100 ms);
4. the snapshot's wall time through the broker with real workers: ``celery -A config worker``
   subprocesses with ``--concurrency`` 1, then 2, from the request until the snapshot is done.
   The workers are stopped afterwards (by their process ids).

Exits 1 when a target is missed. Settings are found as ``manage.py`` finds them
(``DJANGO_SETTINGS_MODULE``, default ``config.settings.local``; ``DJANGO_DEBUG`` defaults to
false here, as in production, so pages are timed without debug instrumentation). Every run
adds done snapshots to the programme; don't point it at a database with real programmes.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

RATIO_TARGET = 1.5
PAGE_TARGET_MS = 100.0
WORKER_TIMEOUT_S = 600.0
ROOT = Path(__file__).resolve().parent.parent


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def _programme(slug: str | None):
    from django.db.models import Count

    from mentoring.models import Programme

    qs = Programme.objects.annotate(n=Count("mentees")).order_by("-n", "pk")
    programme = qs.filter(slug=slug).first() if slug else qs.first()
    if programme is None:
        sys.exit(f"No programme{' ' + slug if slug else ''} in this database: run `make bench-seed` first.")
    return programme


def _fresh_snapshot(programme):
    """A new pending snapshot of the programme (waiting for one in flight to finish first)."""
    from reports.models import ReportSnapshot
    from reports.services import snapshot_request

    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while time.monotonic() < deadline:
        snapshot, created = snapshot_request(programme=programme, requested_by=None)
        if created:
            return snapshot
        _wait_done(snapshot.pk, timeout=WORKER_TIMEOUT_S)
        ReportSnapshot.objects.filter(pk=snapshot.pk, status__in=ReportSnapshot.IN_FLIGHT).update(
            status=ReportSnapshot.Status.FAILED, error="BenchTimeout"
        )
    sys.exit("Could not request a fresh snapshot.")


def _wait_done(snapshot_id: int, *, timeout: float) -> str:
    from reports.models import ReportSnapshot

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = ReportSnapshot.objects.values_list("status", flat=True).get(pk=snapshot_id)
        if status not in ReportSnapshot.IN_FLIGHT:
            return status
        time.sleep(0.02)
    return "timeout"


def bench_in_process(programme, *, repeat: int) -> tuple[float, dict]:
    """Median wall time of ``snapshot_compute`` on fresh snapshots, and the split of the last."""
    from reports import services
    from reports.models import ReportSnapshot

    compute, assemble = services._compute_population, services._assemble
    split: dict[str, float] = {}

    def timed_compute(*, snapshot, population):
        started = time.perf_counter()
        try:
            return compute(snapshot=snapshot, population=population)
        finally:
            split[f"part {population}"] = time.perf_counter() - started

    def timed_assemble(snapshot):
        started = time.perf_counter()
        try:
            return assemble(snapshot)
        finally:
            split["assembly"] = time.perf_counter() - started

    services._compute_population, services._assemble = timed_compute, timed_assemble
    times = []
    try:
        for _ in range(repeat):
            split.clear()
            snapshot = _fresh_snapshot(programme)
            started = time.perf_counter()
            done = services.snapshot_compute(snapshot_id=snapshot.pk)
            times.append(time.perf_counter() - started)
            if done.status != ReportSnapshot.Status.DONE:
                sys.exit(f"The snapshot failed: {done.error}")
    finally:
        services._compute_population, services._assemble = compute, assemble
    return statistics.median(times), dict(split)


def bench_floor(programme, *, repeat: int) -> float:
    from reports import metrics

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        metrics.floor_queries(programme_ids=[programme.pk])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_dashboard(programme, *, requests: int) -> float:
    from django.test import Client
    from django.urls import reverse

    from mentoring.models import User
    from mentoring.permissions import grant_programme_role, reported_programmes

    manager = next(
        (
            user
            for user in User.objects.filter(role=User.Role.MANAGER, is_active=True).order_by("pk")
            if reported_programmes(user=user).filter(pk=programme.pk).exists()
        ),
        None,
    )
    if manager is None:
        manager, _ = User.objects.get_or_create(
            username="reports-bench-manager", defaults={"role": User.Role.MANAGER}
        )
        grant_programme_role(user=manager, programme=programme)
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    url = reverse("reports:dashboard")
    first = client.get(url)  # warm-up: templates, caches, connection
    if first.status_code != 200:
        sys.exit(f"The dashboard answered {first.status_code}.")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(times)


def _start_worker(concurrency: int, name: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "WARNING",
        "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    # Our own interpreter and fixed arguments: no untrusted input reaches the command.
    return subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL)  # noqa: S603


def _stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown of this worker (and its pool) only
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_ready(name: str, *, timeout: float = 60.0) -> None:
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if any(reply_name.startswith(f"{name}@") for reply in replies for reply_name in reply):
            return
    sys.exit(f"The worker {name} did not answer within {timeout:.0f} s.")


def bench_workers(programme, *, concurrency: int) -> tuple[float, int | None]:
    """Wall time from the request to the snapshot done, with one worker process of the given
    concurrency consuming the configured broker."""
    from reports.models import ReportSnapshot

    name = f"reports-bench-{os.getpid()}-c{concurrency}"
    process = _start_worker(concurrency, name)
    try:
        _wait_ready(name)
        started = time.perf_counter()
        snapshot = _fresh_snapshot(programme)
        status = _wait_done(snapshot.pk, timeout=WORKER_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        if status != ReportSnapshot.Status.DONE:
            error = ReportSnapshot.objects.values_list("error", flat=True).get(pk=snapshot.pk)
            sys.exit(f"The snapshot through the worker ended {status} {error}")
        duration_ms = ReportSnapshot.objects.values_list("duration_ms", flat=True).get(pk=snapshot.pk)
        return elapsed, duration_ms
    finally:
        _stop_worker(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--programme", help="the programme's slug (default: the one with most mentees)")
    parser.add_argument("--repeat", type=int, default=3, help="in-process runs to take the median of")
    parser.add_argument("--requests", type=int, default=20, help="dashboard requests to take the median of")
    parser.add_argument("--no-workers", action="store_true", help="skip the runs through real workers")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from mentoring.models import Mentee, Mentor
    from sessions.models import SessionLog

    programme = _programme(args.programme)
    print(f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    print(f"Broker:   {settings.CELERY_BROKER_URL.split('://')[0]}")
    print(
        f"Programme {programme.slug}: {Mentee.objects.filter(programme=programme).count()} mentees, "
        f"{Mentor.objects.filter(programme=programme).count()} mentors, "
        f"{SessionLog.objects.count()} session logs in the database"
    )

    snapshot_s, split = bench_in_process(programme, repeat=args.repeat)
    floor_s = bench_floor(programme, repeat=args.repeat)
    ratio = snapshot_s / floor_s if floor_s else float("inf")
    print(f"Snapshot in process (median of {args.repeat}): {_ms(snapshot_s)}")
    for key, seconds in split.items():
        print(f"  {key:<17}{_ms(seconds)}")
    print(f"Floor queries (median of {args.repeat}):        {_ms(floor_s)}")
    print(f"Ratio snapshot ÷ floor:  {ratio:6.2f}   (target ≤ {RATIO_TARGET})")

    page_s = bench_dashboard(programme, requests=args.requests)
    print(
        f"Dashboard page (median of {args.requests}):       {_ms(page_s)}"
        f"   (target < {PAGE_TARGET_MS:.0f} ms)"
    )

    if not args.no_workers:
        for concurrency in (1, 2):
            elapsed, duration_ms = bench_workers(programme, concurrency=concurrency)
            print(
                f"Through workers, concurrency {concurrency}:  {_ms(elapsed)}  "
                f"(request → done; the snapshot's own duration {duration_ms} ms)"
            )

    missed = []
    if ratio > RATIO_TARGET:
        missed.append(f"ratio {ratio:.2f} > {RATIO_TARGET}")
    if page_s * 1000 >= PAGE_TARGET_MS:
        missed.append(f"page {page_s * 1000:.0f} ms ≥ {PAGE_TARGET_MS:.0f} ms")
    print("Targets met." if not missed else "Targets missed: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
