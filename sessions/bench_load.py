"""Mixed load of mentors and coordinators: ``python -m sessions.bench_load`` (``make bench-load``).

In a PostgreSQL database of its own (``--database-url``, default ``tandem_load_bench`` on
127.0.0.1, created and migrated if missing) and a programme of its own ("mixed-load-bench",
built once and reused: mentors with an active match, coordinators of the programme, each with
an API token; mentees waiting for a mentor; a few concerns), it starts gunicorn
(``config.settings.bench``, as ``sessions.bench`` does) on a free port of 127.0.0.1 and drives
``--clients`` concurrent users (aiohttp, one event loop), four in five of them mentors and one
in five coordinators, each sending its next request as soon as the last is answered (no think
time), for ``--duration`` seconds after ``--warmup`` seconds:

- a mentor logs a session (``POST /api/v1/session-logs/`` with a fresh ``idempotency_key``;
  ``--retry-share`` of them, 10 %, are sent a second time with the same key and body, as a phone
  does when the first answer was lost), reads their matches, their session logs and their mentee;
- a coordinator reads a page of the mentee list, a mentee, the suggestions for a waiting mentee,
  the matches and the concerns.

Prints for each kind of request: requests, errors, req/s, p50 and p95 latency, and the totals.
An error is any answer but the expected one: 201 with a new log for a log, 200 with the first
log for its retry (``sessions.services.session_log_create``), 200 for a read. Then the
reconciliation, PASS or FAIL each: the rows stored during the run are exactly the logs the 201
answers named; every retried key stored one row; every log has its one "create" audit row.
Exits 1 on any error or mismatch. Every run first removes the logs and audit rows the previous
run left in the bench programme, and touches no other programme; gunicorn is stopped (by its
process id) at the end, on error too.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import signal
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from random import Random

from sessions.bench import (
    TANDEM_PATH,
    BenchClient,
    LoadResult,
    _free_port,
    _raise_interrupt,
    bench_logs_clear,
    bench_programme,
    log_payload,
    start_gunicorn,
    stop_gunicorn,
    wait_ready,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tandem_load_bench"
LOAD_SLUG = "mixed-load-bench"
COORDINATOR_SHARE = 0.2
WAITING_MENTEES = 30
PAGE_SIZE = 50  # REST_FRAMEWORK["PAGE_SIZE"]

LOG_CREATE = "log"
LOG_RETRY = "log, retried"
# What each kind of user does, and how often (relative weights); a log may be followed by its retry.
MENTOR_MIX = {LOG_CREATE: 4, "mentor: matches": 2, "mentor: session logs": 2, "mentor: mentee": 2}
COORDINATOR_MIX = {
    "coordinator: mentees": 3,
    "coordinator: mentee": 3,
    "coordinator: suggestions": 2,
    "coordinator: matches": 1,
    "coordinator: concerns": 1,
}
KINDS = (LOG_CREATE, LOG_RETRY, *list(MENTOR_MIX)[1:], *COORDINATOR_MIX)


# --- Data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentorUser:
    client: BenchClient  # token and match, as ``log_payload`` takes them
    mentee_id: int


@dataclass(frozen=True)
class LoadPopulation:
    programme: object  # mentoring.models.Programme
    mentors: tuple[MentorUser, ...]
    coordinator_tokens: tuple[str, ...]
    mentee_ids: tuple[int, ...]
    waiting_mentee_ids: tuple[int, ...]

    @property
    def mentee_pages(self) -> int:
        return max(1, math.ceil(len(self.mentee_ids) / PAGE_SIZE))


def load_population(*, mentors: int, coordinators: int, waiting: int = WAITING_MENTEES) -> LoadPopulation:
    """The bench programme with ``mentors`` mentors (``sessions.bench.bench_programme``: an active
    match and a token each, with a free place, Romanian and ways of meeting, so suggestions have
    someone to suggest), ``coordinators`` coordinators with tokens, ``waiting`` waiting mentees
    and a concern for one match in five; made once, reused (and repaired) by later runs."""
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from matching.models import Match
    from mentoring.models import (
        Consent,
        ConsentPurpose,
        Family,
        LanguageLevel,
        Mentee,
        Mentor,
        Person,
        PersonLanguage,
        User,
    )
    from mentoring.permissions import grant_programme_role
    from sessions.models import Concern

    programme, clients = bench_programme(
        mentors=mentors, slug=LOAD_SLUG, name="Mixed load benchmark (synthetic data)"
    )
    today = datetime.date.today()
    profile = {
        "session_modes": ["in_person", "video"],
        "availability": ["tue_evening", "thu_evening", "sat_morning"],
        "municipality": "Baia Mare",
    }
    with transaction.atomic():
        matches = {
            m.pk: m
            for m in Match.objects.select_related("mentor").filter(pk__in=[c.match_id for c in clients])
        }
        Mentor.objects.filter(programme=programme).update(capacity=2)

        tokens = []
        for i in range(coordinators):
            user, _ = User.objects.get_or_create(
                username=f"{LOAD_SLUG}-coordinator-{i:03d}", defaults={"role": User.Role.COORDINATOR}
            )
            if user.role != User.Role.COORDINATOR:
                sys.exit(f"The user {user.username} is not a coordinator; not touching it.")
            grant_programme_role(user=user, programme=programme)
            tokens.append(Token.objects.get_or_create(user=user)[0].key)

        for i in range(waiting):
            family, _ = Family.objects.get_or_create(
                programme=programme, reference=f"LOAD-WAIT-{i:03d}", defaults={"referral_source": "school"}
            )
            if not Mentee.objects.filter(family=family).exists():
                Mentee.objects.create(
                    programme=programme,
                    family=family,
                    person=Person.objects.create(
                        programme=programme, first_name="Waiting", last_name=f"Mentee {i}", **profile
                    ),
                    kind=Mentee.Kind.PARENT,
                    intake_completed_on=today - datetime.timedelta(days=30 + i),
                    waiting_since=today - datetime.timedelta(days=30 + i),
                )
        # A later run finds them waiting, whatever happened to them since.
        Mentee.objects.filter(family__programme=programme, family__reference__startswith="LOAD-WAIT-").update(
            status=Mentee.Status.WAITING, closed_on=None
        )

        people = Person.objects.filter(programme=programme)
        people.update(**profile)
        PersonLanguage.objects.bulk_create(
            [
                PersonLanguage(person_id=pk, language="ro", level=LanguageLevel.NATIVE, is_preferred=True)
                for pk in people.exclude(languages__language="ro").values_list("pk", flat=True)
            ]
        )
        consenting = Consent.objects.filter(
            purpose=ConsentPurpose.BACKGROUND_MATCHING, withdrawn_at__isnull=True
        ).values("person_id")
        given = {"purpose": ConsentPurpose.BACKGROUND_MATCHING, "given_by": "In person", "language": "ro"}
        Consent.objects.bulk_create(
            [
                Consent(person_id=pk, **given)
                for pk in people.exclude(pk__in=consenting).values_list("pk", flat=True)
            ]
        )

        for match in [matches[c.match_id] for c in clients][::5]:
            if not Concern.objects.filter(match=match).exists():
                Concern.objects.create(
                    programme=programme,
                    mentee_id=match.mentee_id,
                    match=match,
                    raised_by=match.mentor.user,
                    kind=Concern.Kind.SCHOOL,
                    severity=Concern.Severity.MEDIUM,
                    description="The pupil has missed two weeks of school since the family moved flats.",
                )

        mentees = Mentee.objects.filter(programme=programme).order_by("pk")
        return LoadPopulation(
            programme=programme,
            mentors=tuple(MentorUser(client=c, mentee_id=matches[c.match_id].mentee_id) for c in clients),
            coordinator_tokens=tuple(tokens),
            mentee_ids=tuple(mentees.values_list("pk", flat=True)),
            waiting_mentee_ids=tuple(
                mentees.filter(status=Mentee.Status.WAITING).values_list("pk", flat=True)
            ),
        )


def stored_log_ids(population: LoadPopulation) -> set[int]:
    from sessions.models import SessionLog

    return set(SessionLog.objects.filter(match__programme=population.programme).values_list("pk", flat=True))


# --- Load ------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    results: dict[str, LoadResult]  # by kind of request; ``accepted`` counts the expected answers
    seconds: float = 0.0
    created: list[int] = field(default_factory=list)  # the log of every 201 answer
    retried: dict[str, int] = field(default_factory=dict)  # retried key → the first answer's log

    @property
    def total(self) -> LoadResult:
        total = LoadResult()
        for result in self.results.values():
            total = total.merged(result)
        total.seconds = self.seconds
        return total


def _fail(result: LoadResult, sample: str) -> None:
    result.accepted -= 1
    result.errors += 1
    result.samples[sample] = result.samples.get(sample, 0) + 1


async def _drive_load(
    base_url: str, population: LoadPopulation, *, seconds: float, retry_share: float, seed: int
) -> LoadRun:
    """Every user sends a request, waits for the answer, sends the next, until ``seconds`` have
    passed; each first does every kind of request once (and the run's first log is retried), so
    even a short run covers the whole mix. A request in flight at the deadline (and the retry of
    a log answered by then) is awaited and counted, never cancelled, so every row the server may
    have stored is accounted for."""
    import aiohttp

    run = LoadRun(results={kind: LoadResult() for kind in KINDS})
    rng = Random(seed)  # noqa: S311 - a repeatable mix, not a secret
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as session:

        async def call(kind: str, token: str, path: str, *, body: dict | None = None, expected: int = 200):
            """The decoded answer when it is the expected one, else None (and an error counted)."""
            result = run.results[kind]
            headers = {"Authorization": f"Token {token}"}
            method = "POST" if body is not None else "GET"
            started = time.perf_counter()
            try:
                async with session.request(method, path, json=body, headers=headers) as response:
                    content = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, content = None, type(exc).__name__.encode()
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            result.accepted += 1
            if status != expected:
                _fail(result, f"{status}: {content[:160].decode(errors='replace')}")
                return None
            return json.loads(content) if body is not None else content

        async def mentor(user: MentorUser) -> None:
            token, kinds, weights = user.client.token, list(MENTOR_MIX), list(MENTOR_MIX.values())
            paths = {
                "mentor: matches": "/api/v1/matches/",
                "mentor: session logs": TANDEM_PATH,
                "mentor: mentee": f"/api/v1/mentees/{user.mentee_id}/",
            }
            # Every kind once (the first log retried), then a random mix until the deadline.
            round_one = list(kinds)
            while round_one or time.perf_counter() < deadline:
                kind = round_one.pop(0) if round_one else rng.choices(kinds, weights)[0]
                if kind != LOG_CREATE:
                    await call(kind, token, paths[kind])
                    continue
                payload = log_payload(user.client)
                first = await call(LOG_CREATE, token, TANDEM_PATH, body=payload, expected=201)
                if first is None:
                    continue
                run.created.append(first["id"])
                if not run.retried or rng.random() < retry_share:
                    run.retried[payload["idempotency_key"]] = first["id"]
                    again = await call(LOG_RETRY, token, TANDEM_PATH, body=payload, expected=200)
                    if again is not None and again.get("id") != first["id"]:
                        _fail(run.results[LOG_RETRY], f"200 with log {again.get('id')}, not {first['id']}")

        async def coordinator(token: str) -> None:
            kinds, weights = list(COORDINATOR_MIX), list(COORDINATOR_MIX.values())
            round_one = list(kinds)  # every kind once, then a random mix until the deadline
            while round_one or time.perf_counter() < deadline:
                kind = round_one.pop(0) if round_one else rng.choices(kinds, weights)[0]
                if kind == "coordinator: mentees":
                    path = f"/api/v1/mentees/?page={rng.randint(1, population.mentee_pages)}"
                elif kind == "coordinator: mentee":
                    path = f"/api/v1/mentees/{rng.choice(population.mentee_ids)}/"
                elif kind == "coordinator: suggestions":
                    path = f"/api/v1/mentees/{rng.choice(population.waiting_mentee_ids)}/suggestions/"
                elif kind == "coordinator: matches":
                    path = "/api/v1/matches/"
                else:
                    path = "/api/v1/concerns/"
                await call(kind, token, path)

        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(
            *(mentor(user) for user in population.mentors),
            *(coordinator(token) for token in population.coordinator_tokens),
        )
        run.seconds = time.perf_counter() - began
    for result in run.results.values():
        result.seconds = run.seconds
    return run


def drive_load(
    base_url: str, population: LoadPopulation, *, seconds: float, retry_share: float = 0.1, seed: int = 1
) -> LoadRun:
    """Run the users on an event loop of their own thread (as ``sessions.bench.drive``), so this
    also works where the calling thread already runs a loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        coroutine = _drive_load(base_url, population, seconds=seconds, retry_share=retry_share, seed=seed)
        return pool.submit(asyncio.run, coroutine).result()


# --- Reconciliation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def reconcile(population: LoadPopulation, run: LoadRun, *, before: set[int]) -> list[Check]:
    """What the database holds after ``run`` against what its answers said; ``before``: the ids
    of the programme's logs before the run."""
    from mentoring.models import AuditEvent
    from sessions.models import SessionLog

    stored = stored_log_ids(population) - before
    created = set(run.created)
    checks = [
        Check(
            "stored rows = 201 responses",
            stored == created and len(created) == len(run.created),
            f"{len(stored)} logs stored during the run; {len(run.created)} answers 201 naming "
            f"{len(created)} distinct logs; {len(stored - created)} stored without a 201, "
            f"{len(created - stored)} answered 201 but not stored",
        )
    ]

    stored_by_key: dict[str, list[int]] = {}
    for key, pk in SessionLog.objects.filter(
        match__programme=population.programme, idempotency_key__in=[uuid.UUID(key) for key in run.retried]
    ).values_list("idempotency_key", "pk"):
        stored_by_key.setdefault(str(key), []).append(pk)
    one_row = sum(1 for key, log_id in run.retried.items() if stored_by_key.get(key) == [log_id])
    checks.append(
        Check(
            "a retried key stores one row",
            bool(run.retried) and one_row == len(run.retried),
            f"{len(run.retried)} logs sent twice with the same key; {one_row} stored exactly one row, "
            f"the one the first answer named",
        )
    )

    audited = Counter(
        AuditEvent.objects.filter(
            programme_id=population.programme.pk,
            object_type=SessionLog._meta.label,
            action=AuditEvent.Action.CREATE,
        ).values_list("object_id", flat=True)
    )
    expected = Counter(str(pk) for pk in stored)
    missing = sum(1 for pk in expected if audited[pk] == 0)
    doubled = sum(1 for pk in expected if audited[pk] > 1)
    stray = sum(count for pk, count in audited.items() if pk not in expected)
    checks.append(
        Check(
            "every log has its create audit row",
            not (missing or doubled or stray),
            f"{sum(audited.values())} create rows of {SessionLog._meta.label} for {len(stored)} logs; "
            f"{missing} logs without one, {doubled} with more than one, {stray} rows without a log",
        )
    )
    return checks


# --- Run -------------------------------------------------------------------------------------


def _line(name: str, result: LoadResult) -> str:
    return (
        f"{name:<26}{result.requests:>9}{result.errors:>8}{result.throughput:>10.1f}"
        f"{result.percentile_ms(50):>10.1f}{result.percentile_ms(95):>10.1f}"
    )


def report(run: LoadRun, checks: list[Check]) -> bool:
    """Print the figures and the checks; True when there was no error and every check passed."""
    print(f"\n{'':<26}{'requests':>9}{'errors':>8}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for kind, result in run.results.items():
        print(_line(kind, result))
    total = run.total
    print(_line("total", total))
    for kind, result in run.results.items():
        for sample, count in sorted(result.samples.items(), key=lambda item: -item[1])[:3]:
            print(f"  {kind}: {count} × {sample}")
    print()
    checks = [Check("0 errors", total.errors == 0, f"{total.errors} of {total.requests} requests"), *checks]
    for check in checks:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    return all(check.passed for check in checks)


def _prepare_database(database_url: str) -> bool:
    """The bench database, created if missing and migrated; True if created."""
    from matching.bench import _database_prepare, _setup_django

    created = _database_prepare(database_url, rebuild=False)
    _setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sessions.bench_load", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds (default 120)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first (default 5)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent users, 1 in 5 coordinators (50)")
    parser.add_argument(
        "--retry-share", type=float, default=0.1, help="logs sent again with the same key (default 0.1)"
    )
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL, help="the bench's own PostgreSQL database"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the users' choices (default 1)")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the load benchmark needs PostgreSQL: --database-url postgres://…")
    if args.clients < 2:
        parser.error("--clients: at least 2, a mentor and a coordinator")

    created = _prepare_database(args.database_url)
    from django.db import connection

    coordinators = max(1, round(args.clients * COORDINATOR_SHARE))
    population = load_population(mentors=args.clients - coordinators, coordinators=coordinators)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    database = connection.settings_dict
    print(
        f"Database: {database['NAME']} on {database.get('HOST') or 'localhost'} "
        f"({'created' if created else 'reused'}); programme {LOAD_SLUG}: {len(population.mentors)} mentors "
        f"with an active match, {len(population.coordinator_tokens)} coordinators, "
        f"{len(population.mentee_ids)} mentees ({len(population.waiting_mentee_ids)} waiting)"
    )
    print(
        f"gunicorn: gthread, {args.workers} workers × {args.threads} threads, config.settings.bench, "
        f"{base_url}; {os.cpu_count()} CPUs"
    )
    print(
        f"Load: {args.clients} concurrent users (aiohttp, no think time), {len(population.mentors)} mentors "
        f"and {len(population.coordinator_tokens)} coordinators; {args.warmup:.0f} s warm-up, then "
        f"{args.duration:.0f} s measured; {args.retry_share:.0%} of the logs retried with the same key"
    )

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    process = start_gunicorn(port=port, workers=args.workers, threads=args.threads)
    try:
        wait_ready(process, base_url)
        if args.warmup > 0:
            drive_load(
                base_url, population, seconds=args.warmup, retry_share=args.retry_share, seed=args.seed
            )
        # The measured run starts from an empty programme: no log and no audit row of the last
        # run or of the warm-up, so every row found afterwards is this run's.
        cleared = bench_logs_clear(population.programme)
        before = stored_log_ids(population)
        connection.close()  # the users' event loop runs between our queries; no idle transaction
        run = drive_load(
            base_url, population, seconds=args.duration, retry_share=args.retry_share, seed=args.seed + 1
        )
    finally:
        stop_gunicorn(process)
        signal.signal(signal.SIGTERM, previous)

    print(f"({cleared} logs of the last run and the warm-up removed first)")
    passed = report(run, reconcile(population, run, before=before))
    print("Targets met." if passed else "Targets missed.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
