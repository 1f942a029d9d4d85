"""Benchmark of the mentor import: ``python -m mentoring.bench_import [--rows 10000]``.

Writes a realistic CSV of ``--rows`` mentors to a temporary file, then imports it into a
dedicated programme ("import-bench", created with its vocabularies if missing) of the
configured database: a dry run, the commit, and a second dry run that must find every row
already in the programme. Prints the times and rows per second, and exits 1 when the dry run
and commit together take longer than the budget (30 s, the target on PostgreSQL).

Settings are found as ``manage.py`` finds them (``DJANGO_SETTINGS_MODULE``, default
``config.settings.local``; the database from ``DATABASE_URL``). Every run adds ``--rows``
new mentors to the bench programme: emails carry a per-run token. Don't point it at a
database with real programmes.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import secrets
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

BENCH_SLUG = "import-bench"
BUDGET_SECONDS = 30.0

FIRST_NAMES = [
    "Ana", "Mihai", "Fatima", "Olena", "Kiros", "Zsófia", "Ahmet", "Mirela", "Ioana", "Andrei",
    "Amina", "Yusuf", "Iryna", "Taras", "Lakshmi", "Daniela", "Gabriel", "Elif", "Mehmet", "Sára",
    "Bogdan", "Nour", "Omar", "Rahel", "Petra", "Florin", "Leyla", "Dmytro", "Marta", "Sorina",
]  # fmt: skip
LAST_NAMES = [
    "Pop", "Lakatos", "Haddad", "Kovalenko", "Tesfay", "Kovács", "Yılmaz", "Rostaș", "Popescu",
    "Ionescu", "Shevchenko", "Demir", "Horváth", "Al-Khatib", "Mengistu", "Stan", "Rusu", "Farkas",
    "Bondarenko", "Kaya", "Nagy", "Moldovan", "Sârbu", "Oltean", "Hassan", "Varga", "Melnyk",
]  # fmt: skip
MUNICIPALITIES = [
    ("Baia Mare", "430"),
    ("Baia Sprie", "435"),
    ("Tăuții-Măgherăuș", "437"),
    ("Satu Mare", "440"),
]
BACKGROUNDS = {
    "roma": "Roma",
    "hungarian": "Hungarian",
    "ukrainian": "Ukrainian",
    "syrian": "Syrian",
    "turkish": "Turkish",
    "eritrean": "Eritrean",
}
NEEDS = {
    "school_system": "School-system orientation",
    "homework": "Homework support",
    "parent_teacher": "Parent–teacher meetings",
    "bilingual": "Bilingual upbringing",
    "local_language": "Local language",
    "wellbeing": "Well-being",
}
# (preferred language, other languages, background, country of birth, migrant background)
PROFILES = [
    ("ro", "en:basic", "", "RO", "none"),
    ("ro", "hu:fluent", "hungarian", "RO", "none"),
    ("ro", "rom:native", "roma", "RO", "none"),
    ("uk", "ro:fluent; en:basic", "ukrainian", "UA", "first_generation"),
    ("ar", "ro:fluent; en:fluent", "syrian", "SY", "first_generation"),
    ("tr", "ro:fluent", "turkish", "TR", "first_generation"),
    ("ti", "ro:basic; en:fluent", "eritrean", "ER", "first_generation"),
    ("ro", "uk:native", "ukrainian", "RO", "second_generation"),
    ("hu", "ro:fluent", "hungarian", "HU", "first_generation"),
    ("ro", "", "", "", "declined"),
]
SLOTS = [
    f"{day}_{part}" for day in ("mon", "tue", "wed", "thu", "fri", "sat") for part in ("afternoon", "evening")
]


def _ascii(name: str) -> str:
    """An email-safe form of a name: "Yılmaz" → "yilmaz", "Rostaș" → "rostas"."""
    folded = unicodedata.normalize("NFKD", name.replace("ı", "i")).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == "-")


def bench_csv(path: Path, *, rows: int, token: str, seed: int = 7) -> None:
    """``rows`` mentors as a coordinator's spreadsheet would hold them."""
    from mentoring.imports import MENTOR_COLUMNS

    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not secrets
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[column.name for column in MENTOR_COLUMNS])
        writer.writeheader()
        for i in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            preferred, others, background, country, migrant = rng.choice(PROFILES)
            municipality, postcode = rng.choice(MUNICIPALITIES)
            with_email = rng.random() > 0.1  # one in ten gives a phone number only
            consents = ["case_management"]
            if background or country or migrant not in ("", "unknown"):
                consents += rng.choice([["background_matching", "statistics"], ["statistics"]])
            writer.writerow(
                {
                    "first_name": first,
                    "last_name": last,
                    "email": f"{_ascii(first)}.{_ascii(last)}.{token}.{i}@example.org" if with_email else "",
                    "phone": f"+40 {int(token, 16)} {i:06d}",
                    "gender": rng.choice(["woman", "man", "", "non-binary"]),
                    "age_band": rng.choice(["18_29", "30_44", "45_64", "65_plus"]),
                    "country_of_birth": country,
                    "migrant_background": migrant,
                    "municipality": municipality,
                    "postcode": f"{postcode}{rng.randint(0, 999):03d}",
                    "latitude": "",
                    "longitude": "",
                    "preferred_language": preferred,
                    "preferred_language_level": "native",
                    "other_languages": others,
                    "cultural_backgrounds": background,
                    "needs": "; ".join(rng.sample(list(NEEDS), k=rng.randint(1, 3))),
                    "availability": "; ".join(rng.sample(SLOTS, k=rng.randint(1, 4))),
                    "session_modes": "; ".join(
                        rng.sample(["in_person", "phone", "video"], k=rng.randint(1, 2))
                    ),
                    "consents": "; ".join(consents),
                    "consent_given_by": "",
                    "consent_language": "",
                    "capacity": rng.choice(["1", "1", "2", "3"]),
                    "applied_on": f"2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}",
                }
            )


def bench_programme():
    from mentoring.models import CulturalBackground, Need, Organisation, Programme

    organisation, _ = Organisation.objects.get_or_create(name="Tandem import benchmark")
    programme, _ = Programme.objects.get_or_create(
        slug=BENCH_SLUG,
        defaults={
            "organisation": organisation,
            "name": "Import benchmark (synthetic data)",
            "country": "RO",
            "local_language": "ro",
        },
    )
    for code, name in BACKGROUNDS.items():
        CulturalBackground.objects.get_or_create(programme=programme, code=code, defaults={"name": name})
    for code, name in NEEDS.items():
        Need.objects.get_or_create(programme=programme, code=code, defaults={"name": name})
    return programme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mentoring.bench_import", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=10_000, help="mentors in the file (default 10000)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.db import connection

    from mentoring.imports import MENTORS, people_import

    programme = bench_programme()
    token = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        path = Path(folder) / "mentors.csv"
        started = time.perf_counter()
        bench_csv(path, rows=args.rows, token=token)
        generated = time.perf_counter() - started
        content = path.read_bytes()

    def timed(**kwargs):
        started = time.perf_counter()
        report = people_import(programme=programme, kind=MENTORS, content=content, recorded_by=None, **kwargs)
        return report, time.perf_counter() - started

    dry, dry_seconds = timed()
    done, commit_seconds = timed(commit=True)
    again, again_seconds = timed()

    total = dry_seconds + commit_seconds
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), programme {programme.slug}")
    print(f"file: {args.rows} rows, {len(content) / 1024 / 1024:.1f} MB CSV (generated in {generated:.1f} s)")
    print(f"dry run: {dry_seconds:.2f} s, {dry.good_rows} new, {dry.bad_rows} bad")
    print(f"commit:  {commit_seconds:.2f} s, {done.created.get('mentors', 0)} mentors created")
    print(f"re-check of the same file: {again_seconds:.2f} s, {len(again.skipped)} already in the programme")
    print(
        f"total (dry run + commit): {total:.2f} s, {args.rows / total:,.0f} rows/s; "
        f"budget {BUDGET_SECONDS:.0f} s"
    )
    problems = []
    if dry.problems or not done.committed or done.created.get("mentors") != args.rows:
        problems.append("the generated file did not import cleanly")
    if len(again.skipped) != args.rows:
        problems.append("the second check did not find every row already imported")
    if total > BUDGET_SECONDS:
        problems.append(f"slower than the {BUDGET_SECONDS:.0f} s budget")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
