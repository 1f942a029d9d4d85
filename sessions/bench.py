"""Load benchmark of the session-log endpoint: ``python -m sessions.bench`` (``make bench-sessions``).

Against the configured database (PostgreSQL via ``DATABASE_URL``), in a dedicated programme
("session-log-bench", created if missing: ``--mentors`` mentors, each with an active match and
an API token), it starts its own gunicorn (``config.settings.bench``: production settings plus
the bare endpoint, on a free port of 127.0.0.1) and drives ``--clients`` concurrent clients
(aiohttp, one event loop), each posting logs of its own mentor's match with a fresh
``idempotency_key`` as fast as answers come, for ``--duration`` seconds after ``--warmup``
seconds, against:

1. ``POST /bench/bare-session-log/``: token authentication and ``SessionLog.objects.create``,
   nothing else (``config/bench_urls.py``), the floor of a session-log write on this stack;
2. ``POST /api/v1/session-logs/``: Tandem's endpoint (serializer, rules, audit row).

Prints for each: requests, accepted (201), errors, throughput, p50 and p95 latency; then the
ratio Tandem ÷ bare (target ≥ 0.5) and whether the rows stored during each run equal the
accepted requests. Exits 1 when a target is missed. gunicorn is stopped at the end (by its
process id), on error too. Every run first removes the logs and audit rows of the bench
programme left by the previous run, and touches no other programme.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BENCH_SLUG = "session-log-bench"
RATIO_TARGET = 0.5
TANDEM_PATH = "/api/v1/session-logs/"
BARE_PATH = "/bench/bare-session-log/"
ROOT = Path(__file__).resolve().parent.parent


# --- Data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchClient:
    token: str
    match_id: int


def bench_programme(
    *, mentors: int, slug: str = BENCH_SLUG, name: str = "Session-log benchmark (synthetic data)"
) -> tuple[object, list[BenchClient]]:
    """The bench programme ``slug`` with ``mentors`` approved mentors, each with one active match
    and a token; made once, reused (and repaired) by later runs."""
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from matching.models import Match
    from mentoring.models import Family, Mentee, Mentor, Organisation, Person, Programme, User

    today = datetime.date.today()
    with transaction.atomic():
        organisation, _ = Organisation.objects.get_or_create(name="Tandem session-log benchmark")
        programme, _ = Programme.objects.get_or_create(
            slug=slug,
            defaults={
                "organisation": organisation,
                "name": name,
                "country": "RO",
                "local_language": "ro",
            },
        )
        clients = []
        for i in range(mentors):
            user, _ = User.objects.get_or_create(
                username=f"{slug}-mentor-{i:03d}", defaults={"role": User.Role.MENTOR}
            )
            mentor = Mentor.objects.filter(user=user).first()
            if mentor is None:
                person = Person.objects.create(
                    programme=programme, first_name="Bench", last_name=f"Mentor {i}"
                )
                mentor = Mentor.objects.create(
                    programme=programme,
                    person=person,
                    user=user,
                    status=Mentor.Status.APPROVED,
                    applied_on=today - datetime.timedelta(days=120),
                    record_check_on=today - datetime.timedelta(days=90),
                    record_check_expires_on=today + datetime.timedelta(days=640),
                    training_completed_on=today - datetime.timedelta(days=60),
                    approved_on=today - datetime.timedelta(days=50),
                )
            if mentor.programme_id != programme.pk:
                sys.exit(f"The user {user.username} is a mentor of another programme; not touching it.")
            match = Match.objects.filter(mentor=mentor).order_by("pk").first()
            if match is None:
                family, _ = Family.objects.get_or_create(
                    programme=programme, reference=f"BENCH-{i:03d}", defaults={"referral_source": "school"}
                )
                mentee = Mentee.objects.create(
                    programme=programme,
                    family=family,
                    person=Person.objects.create(
                        programme=programme, first_name="Bench", last_name=f"Mentee {i}"
                    ),
                    kind=Mentee.Kind.PARENT,
                    status=Mentee.Status.MATCHED,
                )
                match = Match.objects.create(programme=programme, mentor=mentor, mentee=mentee)
            # A later run finds the match as the bench needs it, whatever happened to it since.
            Match.objects.filter(pk=match.pk).update(
                status=Match.Status.ACTIVE, started_on=today - datetime.timedelta(days=60), closed_on=None,
                closure_reason="",
            )  # fmt: skip
            token, _ = Token.objects.get_or_create(user=user)
            clients.append(BenchClient(token=token.key, match_id=match.pk))
    return programme, clients


def bench_logs_clear(programme) -> int:
    """Remove the logs (and their audit rows) earlier runs left in the bench programme."""
    from mentoring.models import AuditEvent
    from sessions.models import SessionLog

    deleted, _ = SessionLog.objects.filter(match__programme=programme).delete()
    AuditEvent.objects.filter(programme_id=programme.pk).delete()
    return deleted


def bench_logs_count(programme) -> int:
    from sessions.models import SessionLog

    return SessionLog.objects.filter(match__programme=programme).count()


def log_payload(client: BenchClient) -> dict:
    """A valid new log of the client's own match, with a key never used before."""
    return {
        "match": client.match_id,
        "held_on": (datetime.date.today() - datetime.timedelta(days=2)).isoformat(),
        "duration_minutes": 60,
        "mode": "in_person",
        "participants": ["parent", "pupil"],
        "topics": ["homework", "parent_teacher"],
        "language": "ro",
        "interpreter_used": False,
        "notes": "Went through the school's homework platform together; next time the report card.",
        "follow_ups": "Ask the class teacher about the Romanian support lessons.",
        "idempotency_key": str(uuid.uuid4()),
    }


# --- Load ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int = 0
    accepted: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)  # error → how often

    def merged(self, other: LoadResult) -> LoadResult:
        samples = dict(self.samples)
        for key, count in other.samples.items():
            samples[key] = samples.get(key, 0) + count
        return LoadResult(
            requests=self.requests + other.requests,
            accepted=self.accepted + other.accepted,
            errors=self.errors + other.errors,
            seconds=self.seconds + other.seconds,
            latencies=self.latencies + other.latencies,
            samples=samples,
        )

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q) - 1] * 1000


async def _drive(base_url: str, path: str, clients: list[BenchClient], *, seconds: float) -> LoadResult:
    """Each client posts a log, waits for the answer, posts the next, until ``seconds`` have
    passed; a request in flight at the deadline is awaited (and counted), never cancelled, so
    every request the server may have stored is accounted for."""
    import aiohttp

    result = LoadResult()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as session:

        async def one_client(client: BenchClient) -> None:
            headers = {"Authorization": f"Token {client.token}"}
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(path, json=log_payload(client), headers=headers) as response:
                        body = await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, body = None, type(exc).__name__.encode()
                result.latencies.append(time.perf_counter() - started)
                result.requests += 1
                if status == 201:
                    result.accepted += 1
                else:
                    result.errors += 1
                    key = f"{status}: {body[:160].decode(errors='replace')}"
                    result.samples[key] = result.samples.get(key, 0) + 1

        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(*(one_client(client) for client in clients))
        result.seconds = time.perf_counter() - began
    return result


def drive(base_url: str, path: str, clients: list[BenchClient], *, seconds: float) -> LoadResult:
    """Run the clients on an event loop of their own thread, so the driver also works where the
    calling thread already runs a loop (a test process with Playwright in it)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _drive(base_url, path, clients, seconds=seconds)).result()


# --- Server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    *, port: int, workers: int, threads: int, database_url: str | None = None
) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads),
        "--backlog", "512", "--graceful-timeout", "10", "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    if database_url:
        env["DATABASE_URL"] = database_url
    # Our own interpreter and fixed arguments: no untrusted input reaches the command. A session
    # of its own, so gunicorn's workers can be stopped by the master's process group.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603


def wait_ready(process: subprocess.Popen, base_url: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before serving.")
        try:
            urllib.request.urlopen(base_url + BARE_PATH, timeout=2)  # noqa: S310 - our own loopback URL  # nosec B310
        except urllib.error.HTTPError:
            return  # any answer (401/403/405) means Django is serving
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s.")


def stop_gunicorn(process: subprocess.Popen) -> None:
    """Graceful stop of this master and its workers; killed (its process group only) if slow."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind by a killed master, if any


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- Run -------------------------------------------------------------------------------------


def _line(name: str, result: LoadResult) -> str:
    return (
        f"{name:<8}{result.requests:>9}{result.accepted:>10}{result.errors:>8}"
        f"{result.throughput:>12.1f}{result.percentile_ms(50):>10.1f}{result.percentile_ms(95):>10.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sessions.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--mentors", type=int, default=50, help="bench mentors, one per client (default 50)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per endpoint first")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (default 2)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(
            "The load benchmark needs PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1/db)."
        )

    programme, clients = bench_programme(mentors=args.mentors)
    cleared = bench_logs_clear(programme)
    connection.close()  # the clients' event loop runs between our queries; no idle transaction
    clients = [clients[i % len(clients)] for i in range(args.clients)]
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    print(
        f"Database: postgresql {connection.settings_dict.get('NAME')}, programme {programme.slug} "
        f"({args.mentors} mentors with an active match; {cleared} logs of the last run removed)"
    )
    print(
        f"gunicorn: gthread, {args.workers} workers × {args.threads} threads, config.settings.bench, "
        f"{base_url}; {os.cpu_count()} CPUs"
    )
    print(f"Load: {args.clients} concurrent clients (aiohttp), {args.warmup:.0f} s warm-up, then "
          f"{args.duration:.0f} s per endpoint in two halves (bare, Tandem, Tandem, bare)")  # fmt: skip

    results: dict[str, tuple[LoadResult, int]] = {}
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    process = start_gunicorn(port=port, workers=args.workers, threads=args.threads)
    try:
        wait_ready(process, base_url)
        paths = {"bare": BARE_PATH, "Tandem": TANDEM_PATH}
        for path in paths.values():
            drive(base_url, path, clients, seconds=args.warmup)
        # Two halves each, in the order bare, Tandem, Tandem, bare, so whatever changes over the
        # run (the tables growing, a checkpoint) weighs on both endpoints alike.
        for name in ("bare", "Tandem", "Tandem", "bare"):
            before = bench_logs_count(programme)
            result = drive(base_url, paths[name], clients, seconds=args.duration / 2)
            stored = bench_logs_count(programme) - before
            connection.close()
            if name in results:
                earlier, earlier_stored = results[name]
                result, stored = earlier.merged(result), earlier_stored + stored
            results[name] = (result, stored)
    finally:
        stop_gunicorn(process)
        signal.signal(signal.SIGTERM, previous)

    print()
    print(f"{'':<8}{'requests':>9}{'accepted':>10}{'errors':>8}{'req/s':>12}{'p50 ms':>10}{'p95 ms':>10}")
    for name, (result, _) in results.items():
        print(_line(name, result))
    bare, tandem = results["bare"][0], results["Tandem"][0]
    ratio = tandem.throughput / bare.throughput if bare.throughput else 0.0
    print(f"\nThroughput Tandem ÷ bare: {ratio:.2f}   (target ≥ {RATIO_TARGET})")
    missed = []
    if ratio < RATIO_TARGET:
        missed.append(f"ratio {ratio:.2f} < {RATIO_TARGET}")
    for name, (result, stored) in results.items():
        same = stored == result.accepted
        print(f"Stored logs, {name}: {stored} for {result.accepted} accepted requests"
              f"   {'equal' if same else 'NOT EQUAL'}")  # fmt: skip
        if not same:
            missed.append(f"{name}: {stored} stored ≠ {result.accepted} accepted")
        if result.errors:
            missed.append(f"{name}: {result.errors} errors")
            for sample, count in sorted(result.samples.items(), key=lambda item: -item[1])[:3]:
                print(f"  {count} × {sample}")
    print("Targets met." if not missed else "Targets missed: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
