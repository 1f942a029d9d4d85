"""Benchmark of batch matching and suggestions: ``python -m matching.bench`` (``make bench-matching``).

On synthetic programmes of 1,000 × 500, 5,000 × 2,500 and 20,000 × 10,000 (waiting mentees ×
mentors; ``--sizes``), built once in a database of their own (PostgreSQL, ``--database-url``,
default ``tandem_matching_bench`` on 127.0.0.1, created and migrated if missing; ``--rebuild``
drops it and builds everything again) and reused by later runs, it prints for each size:

1. Tandem's batch matcher, end to end through ``matching.batch.batch_run_compute``: the waiting
   list and the mentors read from PostgreSQL, scored, solved (``matching.optimize.solve``, with
   the greedy pass the run stores beside it), explained and written back as the run's proposal;
   its wall time (split into loading, the solver with its scoring passes and restricted
   problems, the greedy pass, which runs beside the solver's rounds, and explaining and
   writing) and CPU time, the peak memory of the
   process doing it, mentees matched, total score and the share of pairs in the mentee's
   preferred language (the machine's load average is printed beside the times);
2. the greedy baseline (``matching.optimize.greedy``) on the same data, in its own process;
3. an upper bound on the optimum over **every** feasible pair: the dual bound
   Σ places·price + Σ max(0, best score − price) with the solver's prices, computed here from
   ``MatchingData.score_block`` (and by ``optimize.dual_bound``: both must agree), and Tandem's
   gap to it (target ≤ 0.01 %);
4. up to 5,000 mentees, the total of an independent exact solver on the full graph
   (``scipy.optimize.linear_sum_assignment`` on a dense profit matrix, each mentor expanded into
   their free places, profit max(score, 0) on feasible pairs and 0 elsewhere) and whether it
   equals Tandem's;
5. checks of the proposal as written: every pair feasible and scored as the engine scores it,
   no mentor over their free places, no mentee twice.

The 20,000 × 10,000 run must finish in under 30 s within 4 GB. Each measured step runs in a
fresh Python process (``--phase``), so its peak resident memory (``ru_maxrss``) is its own.

Then (unless ``--skip-api``) the latency of ``GET /api/v1/mentees/{id}/suggestions/`` (top 10)
in the programme with 10,000 mentors: gunicorn (``config.settings.bench``) on a free port of
127.0.0.1 against the bench database, the programme's coordinator authenticated with an API
token, warmed up, then ``--requests`` requests over different waiting mentees, one at a time;
p50 and p95 (target p95 < 50 ms). gunicorn is stopped by its process id at the end.

Prints PASS or FAIL for every target and exits 1 when one is missed.

The people are generated from a seed (``--seed``): a town of about 40 km across (Baia Mare
and the towns around it, so the 30 km limit for in-person-only pairs excludes a few pairs);
Romanian, Roma, Hungarian, Ukrainian, Moldovan, Syrian, Afghan, Turkish, Eritrean and Nigerian
families and mentors, most of whom also speak Romanian; languages with levels and a preferred
one; cultural backgrounds; weekly availability; ways of meeting; needs and mentors' strengths;
consent to matching on language and background for most people; capacities 1–3; some mentors
already holding a match (a sibling or parent of a waiting mentee now and then), some with an
expired record check; a few pairs excluded or declined. Rows are written with PostgreSQL's COPY
(``mentoring.demo.BulkWriter``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from random import Random
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tandem_matching_bench"
DEFAULT_SIZES = "1000x500,5000x2500,20000x10000"
DEFAULT_SEED = 7
# Part of every bench programme's slug: a change to the generator builds new programmes.
GENERATOR_VERSION = 1
ORGANISATION = "Tandem matching benchmark"
COORDINATOR = "matching-bench-coordinator"

GAP_TARGET = 1e-4  # 0.01 %
END_TO_END_SIZE = (20000, 10000)
TIME_TARGET_S = 30.0
MEMORY_TARGET_MB = 4096.0
P95_TARGET_MS = 50.0
API_MENTORS = 10000
EXACT_LIMIT = 5000  # mentees: the dense exact solver runs up to this size
BLOCK = 1000

SUGGESTIONS_PATH = "/api/v1/mentees/{id}/suggestions/"

# --- Synthetic people --------------------------------------------------------------------------

CENTRE = (47.6567, 23.5850)  # Baia Mare
KM_PER_DEG_LAT = 111.2
# (municipality, postcode, km east, km north of the centre, spread in km, share of people)
PLACES = (
    ("Baia Mare", "430", 0.0, 0.0, 3.5, 0.66),
    ("Tăuții-Măgherăuș", "437", -6.0, 4.0, 1.2, 0.06),
    ("Baia Sprie", "435", 9.0, 1.0, 1.2, 0.06),
    ("Seini", "445", -17.0, 7.0, 1.2, 0.05),
    ("Cavnic", "435", 18.0, 2.0, 1.0, 0.04),
    ("Șomcuta Mare", "437", -4.0, -17.0, 1.2, 0.05),
    ("Recea", "437", -4.0, -2.5, 1.0, 0.04),
    ("Satulung", "437", -10.0, -10.0, 1.0, 0.04),
)

NEEDS = (
    ("school-system", "School-system orientation"),
    ("homework", "Homework support"),
    ("parent-teacher", "Parent–teacher meetings"),
    ("bilingual", "Bilingual upbringing"),
    ("local-language", "Learning Romanian"),
    ("well-being", "Well-being"),
)

SLOT_WEIGHTS = {
    "morning": 0.6,
    "afternoon": 0.9,
    "evening": 1.6,
}
WEEKEND_WEIGHT = 1.5


@dataclass(frozen=True)
class Community:
    """How the people of one community speak, for the generator."""

    code: str
    name: str
    country: str
    mentee_share: float
    mentor_share: float
    language: str  # spoken natively by the community
    romanian: tuple[float, float, float]  # a mentee's Romanian: P(native), P(fluent), P(basic)
    prefers_own: float  # a mentee's preferred language is the community's (else Romanian, if spoken)
    extras: tuple[tuple[str, float, float], ...] = ()  # (language, P(fluent), P(basic))


COMMUNITIES = (
    Community("romanian", "Romanian", "RO", 0.22, 0.50, "ro", (1.0, 0.0, 0.0), 1.0,
              (("en", 0.15, 0.25), ("hu", 0.03, 0.05), ("fr", 0.05, 0.10))),
    Community("roma", "Roma", "RO", 0.18, 0.07, "rom", (0.55, 0.35, 0.06), 0.3, (("hu", 0.08, 0.05),)),
    Community("hungarian", "Hungarian", "RO", 0.10, 0.12, "hu", (0.10, 0.60, 0.22), 0.6,
              (("en", 0.10, 0.20),)),
    Community("ukrainian", "Ukrainian", "UA", 0.18, 0.10, "uk", (0.0, 0.25, 0.45), 0.85,
              (("ru", 0.60, 0.20), ("en", 0.10, 0.30))),
    Community("moldovan", "Moldovan", "MD", 0.05, 0.05, "ro", (1.0, 0.0, 0.0), 1.0, (("ru", 0.75, 0.15),)),
    Community("syrian", "Syrian", "SY", 0.08, 0.04, "ar", (0.0, 0.25, 0.45), 0.9,
              (("en", 0.10, 0.30), ("ku", 0.10, 0.0))),
    Community("afghan", "Afghan", "AF", 0.05, 0.02, "fa", (0.0, 0.15, 0.45), 0.95,
              (("ps", 0.30, 0.10), ("en", 0.05, 0.20))),
    Community("turkish", "Turkish", "TR", 0.05, 0.04, "tr", (0.0, 0.40, 0.40), 0.8, (("en", 0.10, 0.20),)),
    Community("eritrean", "Eritrean", "ER", 0.03, 0.003, "ti", (0.0, 0.05, 0.45), 1.0,
              (("ar", 0.30, 0.10), ("en", 0.10, 0.30))),
    Community("nigerian", "Nigerian", "NG", 0.03, 0.03, "en", (0.0, 0.20, 0.50), 1.0, (("yo", 0.50, 0.10),)),
)  # fmt: skip

FIRST_NAMES = {
    "female": ("Ana", "Maria", "Elena", "Ioana", "Olena", "Fatima", "Zsófia", "Amina", "Mirela", "Leyla"),
    "male": ("Mihai", "Andrei", "Ion", "Oleh", "Ahmad", "Kiros", "Ahmet", "Gábor", "Emeka", "Florin"),
}


def _weighted(rng: Random, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def _place(rng: Random) -> tuple[str, str, float, float]:
    name, postcode, east, north, spread, _share = _weighted(rng, PLACES, [p[5] for p in PLACES])
    dx = east + rng.gauss(0.0, spread)
    dy = north + rng.gauss(0.0, spread)
    lat = CENTRE[0] + dy / KM_PER_DEG_LAT
    lon = CENTRE[1] + dx / (KM_PER_DEG_LAT * math.cos(math.radians(CENTRE[0])))
    return name, f"{postcode}{rng.randrange(1000):03d}", round(lat, 6), round(lon, 6)


def _slots(rng: Random, low: int, high: int) -> tuple[str, ...]:
    from mentoring.models import AVAILABILITY_SLOTS

    weights = [
        SLOT_WEIGHTS[slot.split("_")[1]] * (WEEKEND_WEIGHT if slot[:3] in ("sat", "sun") else 1.0)
        for slot in AVAILABILITY_SLOTS
    ]
    k = rng.randint(low, high)
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(_weighted(rng, AVAILABILITY_SLOTS, weights))
    return tuple(slot for slot in AVAILABILITY_SLOTS if slot in chosen)


def _modes(rng: Random, in_person: float, phone: float, video: float) -> tuple[str, ...]:
    modes = tuple(
        mode for mode, p in (("in_person", in_person), ("phone", phone), ("video", video)) if rng.random() < p
    )
    return modes or ("in_person",)


def _level(rng: Random, native: float, fluent: float, basic: float) -> str | None:
    x = rng.random()
    if x < native:
        return "native"
    if x < native + fluent:
        return "fluent"
    if x < native + fluent + basic:
        return "basic"
    return None


def _mentee_languages(rng: Random, c: Community) -> list[tuple[str, str, bool]]:
    spoken: dict[str, str] = {c.language: "native"}
    if c.language != "ro" and (level := _level(rng, *c.romanian)):
        spoken["ro"] = level
    for code, fluent, basic in c.extras:
        if code not in spoken and (level := _level(rng, 0.0, fluent, basic)):
            spoken[code] = level
    preferred = c.language
    if rng.random() >= c.prefers_own and spoken.get("ro") in ("native", "fluent"):
        preferred = "ro"
    return [(code, level, code == preferred) for code, level in spoken.items()]


def _mentor_languages(rng: Random, c: Community) -> list[tuple[str, str, bool]]:
    # Mentors speak Romanian at a usable level: many are second-generation, all were trained here.
    spoken: dict[str, str] = {c.language: "native"}
    if c.language != "ro":
        spoken["ro"] = "native" if rng.random() < 0.3 else "fluent"
    extras = (
        c.extras if c.code != "romanian" else (("en", 0.45, 0.30), ("fr", 0.10, 0.15), ("hu", 0.05, 0.05))
    )
    for code, fluent, basic in extras:
        if code not in spoken and (level := _level(rng, 0.0, fluent, basic)):
            spoken[code] = level
    return [(code, level, code == c.language) for code, level in spoken.items()]


def programme_slug(mentees: int, mentors: int, seed: int) -> str:
    return f"matching-bench-v{GENERATOR_VERSION}-{mentees}x{mentors}-s{seed}"


def programme_build(*, mentees: int, mentors: int, seed: int = DEFAULT_SEED, slug: str | None = None):
    """A new synthetic programme with ``mentees`` waiting mentees and ``mentors`` approved or
    active mentors (and the mentees some of them already mentor), written in one transaction.
    The same arguments give the same people."""
    from django.db import transaction

    from matching.models import Match, MatchExclusion
    from mentoring.demo import BulkWriter
    from mentoring.models import (
        Consent,
        ConsentPurpose,
        CulturalBackground,
        Family,
        Mentee,
        Mentor,
        MigrantBackground,
        Need,
        Organisation,
        Person,
        PersonLanguage,
        Programme,
    )

    rng = Random(seed * 1_000_003 + mentees * 31 + mentors)  # noqa: S311 - repeatable synthetic people
    today = datetime.date.today()
    now = datetime.datetime.now(tz=datetime.UTC)
    slug = slug or programme_slug(mentees, mentors, seed)
    with transaction.atomic():
        organisation, _ = Organisation.objects.get_or_create(name=ORGANISATION)
        programme = Programme.objects.create(
            organisation=organisation,
            slug=slug,
            name=f"Matching benchmark {mentees} × {mentors} (synthetic data, seed {seed})",
            country="RO",
            local_language="ro",
        )
        backgrounds = {
            c.code: CulturalBackground.objects.create(programme=programme, code=c.code, name=c.name).pk
            for c in COMMUNITIES
        }
        need_ids = [Need.objects.create(programme=programme, code=code, name=name).pk for code, name in NEEDS]

        writer = BulkWriter()
        # Mentors who already hold a match: about a quarter, each with one more mentee.
        holders = [j for j in range(mentors) if rng.random() < 0.25]
        n_people = mentors + mentees + len(holders)
        person_ids = iter(writer.reserve_ids(Person, n_people))
        mentor_ids = writer.reserve_ids(Mentor, mentors)
        mentee_ids = writer.reserve_ids(Mentee, mentees + len(holders))

        people, languages, person_bgs, person_needs, consents = [], [], [], [], []
        families, mentor_rows, mentee_rows = [], [], []
        communities = COMMUNITIES
        mentee_weights = [c.mentee_share for c in communities]
        mentor_weights = [c.mentor_share for c in communities]

        def person(c: Community, *, gender: str, age_band: str, place, household, langs, needs_k, slots,
                   modes, consent: float, first_generation: bool) -> int:  # fmt: skip
            pk = next(person_ids)
            municipality, postcode, lat, lon = place
            people.append((
                pk, programme.pk, _weighted(rng, FIRST_NAMES[gender], [1] * 10), f"P{pk}", gender, age_band,
                c.country if first_generation else "RO",
                MigrantBackground.FIRST_GENERATION if first_generation
                else (MigrantBackground.NONE if c.code in ("romanian", "roma", "hungarian")
                      else MigrantBackground.SECOND_GENERATION),
                municipality, postcode, lat, lon, slots, modes, household, now, now,
            ))  # fmt: skip
            for code, level, preferred in langs:
                languages.append((pk, code, level, preferred))
            person_bgs.append((pk, backgrounds[c.code]))
            for need in rng.sample(need_ids, needs_k):
                person_needs.append((pk, need))
            if rng.random() < consent:
                consents.append((pk, ConsentPurpose.BACKGROUND_MATCHING, "The person", now, "ro"))
            return pk

        # Waiting families: one or two mentees each (a parent, a pupil, or both).
        family_ids: list[int] = []
        family_of_mentee: list[tuple[int, Community, tuple]] = []
        while len(family_of_mentee) < mentees:
            family_ids.append(len(family_ids))
            size = 2 if rng.random() < 0.3 and mentees - len(family_of_mentee) >= 2 else 1
            c = _weighted(rng, communities, mentee_weights)
            place = _place(rng)
            for _ in range(size):
                family_of_mentee.append((family_ids[-1], c, place))
        n_families = len(family_ids) + len(holders)
        family_pks = writer.reserve_ids(Family, n_families)
        for k in range(n_families):
            families.append(
                (family_pks[k], programme.pk, f"MB-{k + 1:06d}", "school", today, "Baia Mare", now)
            )

        waiting_index_of_family: dict[int, int] = {}
        for i, (family, c, place) in enumerate(family_of_mentee):
            kind = (
                "pupil"
                if (i > 0 and family_of_mentee[i - 1][0] == family) or rng.random() < 0.35
                else "parent"
            )
            gender = "female" if rng.random() < (0.78 if kind == "parent" else 0.5) else "male"
            first_generation = c.code not in ("romanian", "roma", "hungarian") and (
                kind == "parent" or rng.random() < 0.6
            )
            pk = person(
                c, gender=gender, age_band="30_44" if kind == "parent" else "12_17", place=place,
                household=family_pks[family], langs=_mentee_languages(rng, c), needs_k=rng.randint(1, 3),
                slots=_slots(rng, 3, 8), modes=_modes(rng, 0.85, 0.45, 0.35), consent=0.9,
                first_generation=first_generation,
            )  # fmt: skip
            waited = rng.randint(0, 400)
            mentee_rows.append((
                mentee_ids[i], programme.pk, family_pks[family], pk, kind, "waiting",
                today - datetime.timedelta(days=waited + 30), today - datetime.timedelta(days=waited + 5),
                today - datetime.timedelta(days=waited), rng.random() < 0.03,
                "female" if rng.random() < 0.12 else "",
            ))  # fmt: skip
            waiting_index_of_family.setdefault(family, i)

        matches = []
        holder_set = set(holders)
        next_holder_mentee = mentees
        next_family = len(family_ids)
        mentor_communities = []
        for j in range(mentors):
            c = _weighted(rng, communities, mentor_weights)
            mentor_communities.append(c)
            gender = "female" if rng.random() < 0.7 else "male"
            pk = person(
                c, gender=gender,
                age_band=_weighted(rng, ("18_29", "30_44", "45_64", "65_plus"), (3, 4, 3, 1)),
                place=_place(rng), household=None, langs=_mentor_languages(rng, c), needs_k=rng.randint(1, 3),
                slots=_slots(rng, 2, 6), modes=_modes(rng, 0.75, 0.55, 0.5), consent=0.93,
                first_generation=c.code not in ("romanian", "roma", "hungarian") and rng.random() < 0.6,
            )  # fmt: skip
            capacity = _weighted(rng, (1, 2, 3), (0.5, 0.3, 0.2))
            expired = rng.random() < 0.03
            applied = today - datetime.timedelta(days=rng.randint(120, 900))
            mentor_rows.append((
                mentor_ids[j], programme.pk, pk, "active" if j in holder_set else "approved", capacity,
                applied, applied + datetime.timedelta(days=20),
                today + datetime.timedelta(days=-5 if expired else rng.randint(30, 900)),
                applied + datetime.timedelta(days=40), applied + datetime.timedelta(days=50),
            ))  # fmt: skip
            if j in holder_set:
                # The mentee they already mentor: half the time a parent or sibling of a waiting mentee.
                k = next_holder_mentee - mentees
                if rng.random() < 0.5 and mentees:
                    family_index = family_of_mentee[rng.randrange(mentees)][0]
                    family_c, place = family_of_mentee[waiting_index_of_family[family_index]][1:]
                else:
                    family_index = next_family
                    next_family += 1
                    family_c, place = c, _place(rng)
                mentee_pk = mentee_ids[next_holder_mentee]
                person_pk = person(
                    family_c, gender="female", age_band="30_44", place=place,
                    household=family_pks[family_index],
                    langs=_mentee_languages(rng, family_c), needs_k=1, slots=_slots(rng, 3, 6),
                    modes=("in_person",), consent=0.9, first_generation=False,
                )  # fmt: skip
                mentee_rows.append((
                    mentee_pk, programme.pk, family_pks[family_index], person_pk, "parent", "matched",
                    today - datetime.timedelta(days=300), today - datetime.timedelta(days=280),
                    today - datetime.timedelta(days=270), False, "",
                ))  # fmt: skip
                matches.append((programme.pk, mentor_ids[j], mentee_pk, "active", now,
                                today - datetime.timedelta(days=60 + k % 200)))  # fmt: skip
                next_holder_mentee += 1

        writer.insert(
            Family, ("id", "programme_id", "reference", "referral_source", "referred_on", "municipality",
                     "created_at"), families[:next_family],
        )  # fmt: skip
        writer.insert(
            Person,
            ("id", "programme_id", "first_name", "last_name", "gender", "age_band", "country_of_birth",
             "migrant_background", "municipality", "postcode", "latitude", "longitude", "availability",
             "session_modes", "household_id", "created_at", "updated_at"),
            people,
        )  # fmt: skip
        writer.insert(PersonLanguage, ("person_id", "language", "level", "is_preferred"), languages)
        writer.insert(Person.cultural_backgrounds.through, ("person_id", "culturalbackground_id"), person_bgs)
        writer.insert(Person.needs.through, ("person_id", "need_id"), person_needs)
        writer.insert(Consent, ("person_id", "purpose", "given_by", "given_at", "language"), consents)
        writer.insert(
            Mentor,
            ("id", "programme_id", "person_id", "status", "capacity", "applied_on", "record_check_on",
             "record_check_expires_on", "training_completed_on", "approved_on"),
            mentor_rows,
        )  # fmt: skip
        writer.insert(
            Mentee,
            ("id", "programme_id", "family_id", "person_id", "kind", "status", "referred_on",
             "intake_completed_on", "waiting_since", "interpreter_arranged", "preferred_mentor_gender"),
            mentee_rows,
        )  # fmt: skip
        writer.insert(
            Match, ("programme_id", "mentor_id", "mentee_id", "status", "proposed_at", "started_on"), matches
        )

        # A few pairs the coordinators ruled out (relatives, conflicts), and a few declined.
        excluded = set()
        for _ in range(max(1, mentees // 100)):
            excluded.add((mentee_ids[rng.randrange(mentees)], mentor_ids[rng.randrange(mentors)]))
        writer.insert(
            MatchExclusion, ("programme_id", "mentee_id", "mentor_id", "reason", "created_at"),
            [(programme.pk, a, b, _weighted(rng, ("relative", "conflict_of_interest", "known_conflict"),
                                              (2, 1, 1)), now) for a, b in sorted(excluded)],
        )  # fmt: skip
        declined = set()
        for _ in range(max(1, mentees // 200)):
            pair = (mentee_ids[rng.randrange(mentees)], mentor_ids[rng.randrange(mentors)])
            if pair not in excluded:
                declined.add(pair)
        writer.insert(
            Match,
            (
                "programme_id",
                "mentee_id",
                "mentor_id",
                "status",
                "proposed_at",
                "declined_at",
                "decline_reason",
            ),
            [(programme.pk, a, b, "declined", now, now, "no_time") for a, b in sorted(declined)],
        )
        writer.analyze()
    return programme


def coordinator_token(programme) -> str:
    """The bench coordinator (one login for every bench programme) and their API token."""
    from rest_framework.authtoken.models import Token

    from mentoring.models import User
    from mentoring.permissions import grant_programme_role, is_coordinator_of

    user, _ = User.objects.get_or_create(username=COORDINATOR, defaults={"role": User.Role.COORDINATOR})
    if not is_coordinator_of(user=user, programme_id=programme.pk):
        grant_programme_role(user=user, programme=programme)
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def programme_get_or_build(*, mentees: int, mentors: int, seed: int):
    """The bench programme of this size and seed, built if it is not in the database yet."""
    from mentoring.models import Programme

    slug = programme_slug(mentees, mentors, seed)
    programme = Programme.objects.filter(slug=slug).first()
    if programme is not None:
        return programme, None
    started = time.perf_counter()
    programme = programme_build(mentees=mentees, mentors=mentors, seed=seed, slug=slug)
    return programme, time.perf_counter() - started


# --- Measured steps ----------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User and system CPU time of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Timers:
    """Wall time and calls of named functions, by wrapping them for the length of a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.ends: dict[str, float] = {}  # when each name last finished (perf_counter)
        self.results: dict[str, object] = {}
        self._undo: list = []

    def wrap(self, owner, attribute: str, name: str, *, keep: bool = False) -> None:
        """Time ``owner.attribute`` under ``name``; ``keep``: also keep its last result."""
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] = self.calls.get(name, 0) + 1
                self.ends[name] = time.perf_counter()
            if keep:
                self.results[name] = result
            return result

        setattr(owner, attribute, timed)
        self._undo.append((owner, attribute, original))

    def restore(self) -> None:
        while self._undo:
            owner, attribute, original = self._undo.pop()
            setattr(owner, attribute, original)


def run_tandem(*, programme_id: int) -> dict:
    """Tandem's batch matcher end to end: a new run of the programme computed by
    ``batch_run_compute`` (read, score, solve, greedy, explain, write), timed by step. Earlier
    runs of the programme are removed first. Returns the figures of the proposal as written
    and the solver's prices."""
    from matching import batch, engine, flow, optimize
    from matching.models import BatchPair, BatchRun

    BatchRun.objects.filter(programme_id=programme_id).delete()
    run = BatchRun.objects.create(programme_id=programme_id, objective=BatchRun.Objective.TOTAL_SCORE)
    timers = _Timers()
    timers.wrap(engine, "load_matching_data", "load", keep=True)
    timers.wrap(engine.MatchingData, "score_block", "scoring")
    timers.wrap(engine.MatchingData, "explain", "explain")
    timers.wrap(engine.MatchingData, "unmatched_causes", "explain")
    timers.wrap(optimize, "solve", "solve", keep=True)
    timers.wrap(optimize, "greedy", "greedy")
    # The restricted problems inside ``solve`` (over the candidate pairs): solved afresh, and
    # solved from the previous round's answer.
    timers.wrap(optimize, "_solve_restricted", "lp")
    timers.wrap(flow.Assignment, "solve", "lp_warm")
    rss_before = peak_rss_mb()
    load_average = os.getloadavg()[0]
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    try:
        done = batch.batch_run_compute(run_id=run.pk)
    finally:
        wall = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        timers.restore()
    if done.status != BatchRun.Status.DONE:
        raise RuntimeError(f"The batch run failed: {done.error}")
    pairs = list(
        BatchPair.objects.filter(run_id=run.pk).values_list(
            "mentee_id", "mentor_id", "score", "language_concordant"
        )
    )
    result = timers.results["solve"]
    data = timers.results["load"]
    seconds = timers.seconds
    return {
        "run_id": run.pk,
        "wall": wall,
        "cpu": cpu,
        "load": seconds.get("load", 0.0),
        "solve": seconds.get("solve", 0.0),
        "greedy": seconds.get("greedy", 0.0),
        # Scoring passes happen inside the solver and the greedy pass (and a few explanations).
        "scoring": seconds.get("scoring", 0.0),
        "scoring_calls": timers.calls.get("scoring", 0),
        "lp": seconds.get("lp"),
        "explain": seconds.get("explain", 0.0),
        "lp_calls": timers.calls.get("lp", 0),
        "lp_warm": seconds.get("lp_warm", 0.0),
        "lp_warm_calls": timers.calls.get("lp_warm", 0),
        # The greedy pass runs beside the solver's rounds: only what is left of it after the
        # solver is done adds to the wall time.
        "greedy_after": max(0.0, timers.ends.get("greedy", 0.0) - timers.ends.get("solve", 0.0)),
        "rest": wall
        - seconds.get("load", 0.0)
        - seconds.get("solve", 0.0)
        - max(0.0, timers.ends.get("greedy", 0.0) - timers.ends.get("solve", 0.0)),
        "peak_mb": peak_rss_mb(),
        "peak_mb_before": rss_before,
        "load_average": load_average,
        "waiting": int(done.waiting_count),
        "mentors": len(data.mentor_ids),
        "places": int(np.asarray(data.mentor_free).sum()),
        "matched": len(pairs),
        "total": sum(score for _, _, score, _ in pairs),
        "concordant": sum(bool(c) for *_, c in pairs),
        "run_matched": int(done.matched_count),
        "run_total": int(done.total_score),
        "run_upper_bound": done.upper_bound,
        "run_greedy_total": done.greedy_total_score,
        "rounds": int(result.rounds),
        "edges": int(result.edges),
        "solver_total": int(result.total),
        "solver_gap": result.gap,
        "pairs": [[int(a), int(b), int(s)] for a, b, s, _ in pairs],
        "mentor_ids": [int(x) for x in data.mentor_ids],
        "prices": [float(x) for x in np.asarray(result.prices)] if result.prices is not None else None,
    }


def run_greedy(*, programme_id: int) -> dict:
    """The greedy baseline on the same waiting list and mentors (read as Tandem reads them)."""
    from matching import engine, optimize

    started = time.perf_counter()
    data = engine.load_matching_data(programme_id)
    loaded = time.perf_counter()
    result = optimize.greedy(data.score_block, len(data.mentee_ids), np.asarray(data.mentor_free))
    solved = time.perf_counter()
    mentor_of = np.asarray(result.mentor_of)
    if hasattr(data, "concordant_count"):
        concordant = data.concordant_count(mentor_of)
    else:
        assigned = np.flatnonzero(mentor_of >= 0)
        concordant = sum(bool(data.explain(int(i), int(mentor_of[i])).language_concordant) for i in assigned)
    return {
        "wall": solved - started,
        "load": loaded - started,
        "solve": solved - loaded,
        "peak_mb": peak_rss_mb(),
        "matched": int(result.matched),
        "total": int(result.total),
        "concordant": int(concordant),
    }


def dual_bound_over_every_pair(data, capacities: np.ndarray, prices: np.ndarray, *, block: int = BLOCK):
    """Σ places·price + Σ over mentees of max(0, best feasible score − price): an upper bound on
    the total score of any assignment, for any prices ≥ 0 (LP duality), scanning every pair.
    Also returns how many pairs are feasible."""
    n, m = len(data.mentee_ids), len(data.mentor_ids)
    prices = np.maximum(np.asarray(prices, dtype=np.float64), 0.0)
    bound = float(np.dot(np.asarray(capacities, dtype=np.float64), prices))
    feasible_pairs = 0
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block), dtype=np.int64)
        scores, feasible = data.score_block(rows)
        feasible_pairs += int(feasible.sum())
        if m:
            reduced = np.where(feasible, scores - prices[None, :], -np.inf)
            bound += float(np.maximum(reduced.max(axis=1), 0.0).sum())
    return bound, feasible_pairs


def exact_total(data, capacities: np.ndarray, *, block: int = BLOCK) -> tuple[int, float]:
    """The optimum by ``scipy.optimize.linear_sum_assignment`` on the full dense graph: a column
    per free place, profit max(score, 0) on feasible pairs and 0 elsewhere (leaving a mentee
    unmatched is worth 0). Returns (total, seconds)."""
    from scipy.optimize import linear_sum_assignment

    started = time.perf_counter()
    n = len(data.mentee_ids)
    columns = np.repeat(np.arange(len(capacities)), np.asarray(capacities, dtype=np.int64))
    if n == 0 or len(columns) == 0:
        return 0, time.perf_counter() - started
    profit = np.zeros((n, len(columns)), dtype=np.float64)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block), dtype=np.int64)
        scores, feasible = data.score_block(rows)
        profit[start : start + len(rows)] = np.where(feasible, np.maximum(scores, 0), 0)[:, columns]
    r, c = linear_sum_assignment(profit, maximize=True)
    return int(round(profit[r, c].sum())), time.perf_counter() - started


def run_check(*, programme_id: int, tandem: dict, exact_limit: int = EXACT_LIMIT) -> dict:
    """Checks of Tandem's proposal against the data read afresh: the dual bound over every
    feasible pair with the solver's prices (here and by ``optimize.dual_bound``), the exact
    optimum on the full graph (up to ``exact_limit`` mentees), and every written pair feasible,
    scored as the engine scores it, within the mentors' free places."""
    from matching import engine, optimize

    data = engine.load_matching_data(programme_id)
    n, m = len(data.mentee_ids), len(data.mentor_ids)
    capacities = np.asarray(data.mentor_free)
    out: dict = {"mentees": n, "mentors": m, "places": int(capacities.sum())}

    problems: list[str] = []
    if [int(x) for x in data.mentor_ids] != tandem["mentor_ids"]:
        problems.append("the mentors read now differ from the run's")
    mentee_index = {int(pk): i for i, pk in enumerate(data.mentee_ids)}
    mentor_index = {int(pk): j for j, pk in enumerate(data.mentor_ids)}
    mentor_of = np.full(n, -1, dtype=np.int64)
    stated = {}
    for mentee_id, mentor_id, score in tandem["pairs"]:
        i, j = mentee_index.get(mentee_id), mentor_index.get(mentor_id)
        if i is None or j is None:
            problems.append(f"pair ({mentee_id}, {mentor_id}) names someone not waiting or not matchable")
            continue
        if mentor_of[i] >= 0:
            problems.append(f"mentee {mentee_id} twice")
        mentor_of[i] = j
        stated[i] = score
    load = np.bincount(mentor_of[mentor_of >= 0], minlength=m)
    over = int((load > capacities).sum())
    if over:
        problems.append(f"{over} mentors over their free places")
    infeasible = wrong_score = 0
    total = 0
    rows = np.array(sorted(stated), dtype=np.int64)
    for start in range(0, len(rows), BLOCK):
        chunk = rows[start : start + BLOCK]
        scores, feasible = data.score_block(chunk)
        picked = mentor_of[chunk]
        ok = feasible[np.arange(len(chunk)), picked]
        got = scores[np.arange(len(chunk)), picked]
        infeasible += int((~ok).sum())
        wrong_score += int(sum(int(g) != stated[int(i)] for g, i in zip(got, chunk, strict=True)))
        total += int(got.sum())
    if infeasible:
        problems.append(f"{infeasible} pairs not feasible")
    if wrong_score:
        problems.append(f"{wrong_score} pairs scored differently from the engine")
    out.update(problems=problems, rescored_total=total)

    if tandem["prices"] is None:
        problems.append("the solver gave no prices")
        out.update(bound=None, bound_optimize=None, feasible_pairs=None)
    else:
        prices = np.zeros(m)
        by_id = dict(zip(tandem["mentor_ids"], tandem["prices"], strict=True))
        for j, pk in enumerate(data.mentor_ids):
            prices[j] = by_id.get(int(pk), 0.0)
        started = time.perf_counter()
        bound, feasible_pairs = dual_bound_over_every_pair(data, capacities, prices)
        out["bound_seconds"] = time.perf_counter() - started
        out["bound_optimize"] = float(optimize.dual_bound(data.score_block, n, capacities, prices))
        out.update(bound=bound, feasible_pairs=feasible_pairs, negative_prices=int((prices < 0).sum()))
    if n <= exact_limit:
        out["exact"], out["exact_seconds"] = exact_total(data, capacities)
        out["exact_columns"] = int(capacities.sum())
    out["peak_mb"] = peak_rss_mb()
    return out


def gap_of(total: float, bound: float | None) -> float | None:
    if bound is None:
        return None
    return (bound - total) / max(1.0, abs(total))


def size_verdicts(size: tuple[int, int], tandem: dict, check: dict) -> list[tuple[str, bool]]:
    """The targets of one size: (what, met)."""
    verdicts = []
    gap = gap_of(tandem["total"], check.get("bound"))
    verdicts.append(("gap to the upper bound ≤ 0.01 %", gap is not None and gap <= GAP_TARGET))
    if check.get("bound") is not None and check.get("bound_optimize") is not None:
        agree = abs(check["bound"] - check["bound_optimize"]) <= 1e-6 * max(1.0, abs(check["bound"]))
        verdicts.append(("the bound computed here equals optimize.dual_bound", agree))
    if "exact" in check:
        verdicts.append(("total equals the exact solver's", check["exact"] == tandem["total"]))
    verdicts.append(("proposal checks", not check["problems"]))
    verdicts.append(("run's figures match its pairs", tandem["run_total"] == tandem["total"]
                     and tandem["run_matched"] == tandem["matched"]))  # fmt: skip
    if size == END_TO_END_SIZE:
        verdicts.append((f"end to end < {TIME_TARGET_S:.0f} s", tandem["wall"] < TIME_TARGET_S))
        verdicts.append(
            (f"peak memory < {MEMORY_TARGET_MB / 1024:.0f} GB", tandem["peak_mb"] < MEMORY_TARGET_MB)
        )
    return verdicts


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    –  "


def size_report(size: tuple[int, int], tandem: dict, greedy: dict, check: dict) -> list[str]:
    """The lines printed for one size."""
    n, m = size
    feasible = check.get("feasible_pairs")
    density = _share(feasible, check["mentees"] * check["mentors"]).strip() if feasible is not None else ""
    lines = [
        f"== {n:,} × {m:,}: {check['mentees']:,} waiting mentees, {check['mentors']:,} mentors "
        f"({check['places']:,} free places)"
        + (f"; {feasible:,} feasible pairs ({density} of all)" if feasible is not None else ""),
        f"{'':<22}{'wall s':>8}{'load s':>8}{'solve s':>9}{'peak MB':>9}{'matched':>9}{'total score':>13}"
        f"{'concordant':>12}",
    ]  # fmt: skip
    for name, r in (("Tandem (batch run)", tandem), ("Greedy", greedy)):
        lines.append(
            f"{name:<22}{r['wall']:>8.2f}{r['load']:>8.2f}{r['solve']:>9.2f}{r['peak_mb']:>9.0f}"
            f"{r['matched']:>9,}{r['total']:>13,}{_share(r['concordant'], r['matched']):>12}"
        )
    lines.append(
        f"  Tandem's wall time: load {tandem['load']:.2f} s, solve {tandem['solve']:.2f} s, "
        f"greedy pass {tandem['greedy']:.2f} s beside the solver's rounds "
        f"({tandem.get('greedy_after', 0.0):.2f} s of it after them), "
        f"explaining and writing {tandem['rest']:.2f} s "
        f"(explanations and unmatched reasons {tandem.get('explain', 0.0):.2f} s); machine load average "
        f"{tandem.get('load_average', 0.0):.1f} on {os.cpu_count()} CPUs at the start, CPU time of the run "
        f"{tandem.get('cpu', 0.0):.1f} s; peak memory "
        f"{tandem['peak_mb']:,.0f} MB, {tandem['peak_mb_before']:,.0f} MB of it before the run (Django)"
    )
    lp = tandem.get("lp")
    lines.append(
        f"  Scoring passes (in the solver and the greedy pass, summed over threads): "
        f"{tandem['scoring']:.2f} s in {tandem['scoring_calls']} blocks; "
        + (
            f"restricted problems {lp:.2f} s ({tandem['lp_calls']} solved afresh), "
            f"{tandem.get('lp_warm', 0.0):.2f} s ({tandem.get('lp_warm_calls', 0)} from the round before); "
            if lp is not None
            else ""
        )
        + f"{tandem['rounds']} pricing rounds, {tandem['edges']:,} pairs in the final restricted problem"
    )
    gain = tandem["total"] - greedy["total"]
    lines.append(
        f"  Tandem − greedy: {gain:+,} points ({_share(gain, greedy['total']).strip()}), "
        f"{tandem['matched'] - greedy['matched']:+,} mentees matched"
    )
    gap = gap_of(tandem["total"], check.get("bound"))
    if gap is None:
        lines.append("  Upper bound: not available (no prices)")
    else:
        lines.append(
            f"  Upper bound over every feasible pair (dual, solver's prices): {check['bound']:,.2f} "
            f"(optimize.dual_bound: {check['bound_optimize']:,.2f}); Tandem's gap {100 * gap:.4f} % "
            f"(target ≤ {100 * GAP_TARGET:.2f} %)"
        )
    if "exact" in check:
        lines.append(
            f"  Exact solver (linear_sum_assignment, {check['mentees']:,} × {check['exact_columns']:,} "
            f"places, dense): {check['exact']:,} in {check['exact_seconds']:.2f} s — "
            f"{'equal to' if check['exact'] == tandem['total'] else 'NOT EQUAL to'} "
            f"Tandem's {tandem['total']:,}"
        )
    lines.append(
        "  Proposal as written: "
        + ("every pair feasible and scored as the engine scores it, capacities respected"
           if not check["problems"] else "; ".join(check["problems"][:5]))
    )  # fmt: skip
    for what, met in size_verdicts(size, tandem, check):
        if size == END_TO_END_SIZE and what.startswith(("end to end", "peak")):
            figure = f"{tandem['wall']:.1f} s" if what.startswith("end") else f"{tandem['peak_mb']:,.0f} MB"
            what = f"{what} ({figure}, read from PostgreSQL and written back)"
        lines.append(f"  {'PASS' if met else 'FAIL'}  {what}")
    return lines


# --- Suggestions through the API ---------------------------------------------------------------


def _get(url: str, token: str) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback URL  # nosec B310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def api_latency(*, programme, database_url: str, requests: int, workers: int, seed: int) -> dict:
    """p50/p95 of top-10 suggestions for one mentee at a time, over ``requests`` different
    waiting mentees, after a warm-up on others."""
    from django.db import connection

    from mentoring.models import AuditEvent, Mentee
    from sessions.bench import _free_port, start_gunicorn, stop_gunicorn

    token = coordinator_token(programme)
    AuditEvent.objects.filter(programme_id=programme.pk).delete()  # earlier runs' read rows
    waiting = list(
        Mentee.objects.filter(programme=programme, status=Mentee.Status.WAITING).values_list("pk", flat=True)
    )
    Random(seed).shuffle(waiting)  # noqa: S311 - a repeatable sample, not a secret
    measured, spare = waiting[:requests], waiting[requests:] or waiting
    connection.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_gunicorn(port=port, workers=workers, threads=2, database_url=database_url)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode} before serving.")
            try:
                # Unauthenticated: any answer (401/403) means Django is serving.
                urllib.request.urlopen(base + "/api/v1/programmes/", timeout=2)  # noqa: S310  # nosec B310
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 60 s.") from None
                time.sleep(0.2)
        # Warm-up: until 20 requests in a row are fast (every worker has its arrays), at most 300.
        warm, fast_in_row, first = 0, 0, None
        while fast_in_row < 20 and warm < 300:
            status, seconds = _get(base + SUGGESTIONS_PATH.format(id=spare[warm % len(spare)]), token)
            if status != 200:
                raise RuntimeError(f"The suggestions answered {status} during the warm-up.")
            first = seconds if first is None else first
            fast_in_row = fast_in_row + 1 if seconds < 0.2 else 0
            warm += 1
        latencies, errors = [], 0
        for mentee_id in measured:
            status, seconds = _get(base + SUGGESTIONS_PATH.format(id=mentee_id), token)
            latencies.append(seconds)
            errors += status != 200
    finally:
        stop_gunicorn(process)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "errors": errors,
        "warmup": warm,
        "first_ms": (first or 0.0) * 1000,
        "p50_ms": quantiles[49] * 1000,
        "p95_ms": quantiles[94] * 1000,
        "workers": workers,
    }


# --- Running it --------------------------------------------------------------------------------


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()


def _database_prepare(database_url: str, *, rebuild: bool) -> bool:
    """Create (or, with ``rebuild``, drop and create) the bench database; True if created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    return False


def _phase(args) -> int:
    """One measured step in this (fresh) process; figures as JSON to ``--out``."""
    _setup_django(args.database_url)
    if args.phase == "tandem":
        figures = run_tandem(programme_id=args.programme)
    elif args.phase == "greedy":
        figures = run_greedy(programme_id=args.programme)
    else:
        tandem = json.loads(Path(args.tandem).read_text())
        figures = run_check(programme_id=args.programme, tandem=tandem, exact_limit=args.exact_limit)
    Path(args.out).write_text(json.dumps(figures))
    return 0


class PhaseFailed(Exception):
    pass


def _run_phase(
    phase: str, programme_id: int, workdir: Path, database_url: str, *, exact_limit: int, timeout: float
) -> dict:
    """One measured step in a fresh process; stopped (that process only) after ``timeout`` s."""
    out = workdir / f"{phase}-{programme_id}.json"
    command = [
        sys.executable, "-m", "matching.bench", "--phase", phase, "--programme", str(programme_id),
        "--out", str(out), "--database-url", database_url, "--exact-limit", str(exact_limit),
        "--tandem", str(workdir / f"tandem-{programme_id}.json"),
    ]  # fmt: skip
    try:
        subprocess.run(command, cwd=ROOT, check=True, timeout=timeout)  # noqa: S603 - our own module
    except subprocess.TimeoutExpired:
        raise PhaseFailed(f"{phase}: not finished within {timeout:.0f} s (stopped)") from None
    except subprocess.CalledProcessError as exc:
        raise PhaseFailed(f"{phase}: exited with {exc.returncode}") from None
    return json.loads(out.read_text())


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        mentees, _, mentors = item.strip().lower().partition("x")
        sizes.append((int(mentees), int(mentors)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matching.bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help=f"mentees x mentors, … (default {DEFAULT_SIZES}; empty: none)"
    )
    parser.add_argument("--skip-api", action="store_true", help="do not measure the suggestions endpoint")
    parser.add_argument("--rebuild", action="store_true", help="drop the bench database and build it again")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the synthetic people")
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL, help="the bench's own PostgreSQL database"
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="measured suggestion requests (default 300)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the API (default 2)")
    parser.add_argument(
        "--exact-limit", type=int, default=EXACT_LIMIT, help="largest size for the exact solver"
    )
    parser.add_argument(
        "--phase-timeout", type=float, default=900.0, help="seconds before a measured step is stopped (900)"
    )
    parser.add_argument("--phase", choices=("tandem", "greedy", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--programme", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--tandem", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return _phase(args)

    sizes = _sizes(args.sizes)
    created = _database_prepare(args.database_url, rebuild=args.rebuild)
    _setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(
        f"Database: {connection.settings_dict['NAME']} on "
        f"{connection.settings_dict.get('HOST') or 'localhost'} "
        f"({'created' if created else 'reused'}, migrated in {time.perf_counter() - started:.1f} s); "
        f"{os.cpu_count()} CPUs; seed {args.seed}"
    )
    programmes = {}
    for mentees, mentors in sizes:
        programme, seconds = programme_get_or_build(mentees=mentees, mentors=mentors, seed=args.seed)
        programmes[(mentees, mentors)] = programme
        print(
            f"Programme {programme.slug}: "
            + (f"built in {seconds:.1f} s" if seconds is not None else "reused (--rebuild to build it again)")
        )
    connection.close()

    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="matching-bench-") as tmp:
        workdir = Path(tmp)
        for size in sizes:
            pid = programmes[size].pk
            options = {"exact_limit": args.exact_limit, "timeout": args.phase_timeout}
            try:
                tandem = _run_phase("tandem", pid, workdir, args.database_url, **options)
                greedy = _run_phase("greedy", pid, workdir, args.database_url, **options)
                check = _run_phase("check", pid, workdir, args.database_url, **options)
            except PhaseFailed as exc:
                print(f"\n== {size[0]:,} × {size[1]:,}\n  FAIL  {exc}", flush=True)
                failed.append(f"{size[0]}×{size[1]}: {exc}")
                continue
            print()
            for line in size_report(size, tandem, greedy, check):
                print(line, flush=True)
            failed += [
                f"{size[0]}×{size[1]}: {what}" for what, met in size_verdicts(size, tandem, check) if not met
            ]

    if not args.skip_api:
        from mentoring.models import Mentor

        programme = next((p for (_, m), p in programmes.items() if m == API_MENTORS), None)
        if programme is None:
            programme, _ = programme_get_or_build(
                mentees=2 * API_MENTORS, mentors=API_MENTORS, seed=args.seed
            )
        mentor_count = Mentor.objects.filter(programme=programme).count()
        latency = api_latency(
            programme=programme,
            database_url=args.database_url,
            requests=args.requests,
            workers=args.workers,
            seed=args.seed,
        )
        met = latency["p95_ms"] < P95_TARGET_MS and not latency["errors"]
        print()
        print(
            f"== Suggestions through the API (GET {SUGGESTIONS_PATH}, top 10), programme {programme.slug} "
            f"with {mentor_count:,} mentors; gunicorn gthread, {latency['workers']} workers, token of the "
            f"programme's coordinator; {latency['warmup']} warm-up requests (the first took "
            f"{latency['first_ms']:.0f} ms)"
        )
        print(
            f"  {latency['requests']} requests over different waiting mentees, one at a time: "
            f"p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms, {latency['errors']} errors"
        )
        print(f"  {'PASS' if met else 'FAIL'}  p95 < {P95_TARGET_MS:.0f} ms and no errors")
        if not met:
            failed.append("suggestions p95")

    print()
    print("All targets met." if not failed else "Targets missed: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
