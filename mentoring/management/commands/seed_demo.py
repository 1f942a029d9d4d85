"""``manage.py seed_demo``: a believable demo programme, or a large one for benchmarks.

    manage.py seed_demo                      # Baia Mare (40 mentors, 120 mentees) and Gent (100, 400)
    manage.py seed_demo --reset --seed 7     # delete the demo, rebuild it from another seed
    manage.py seed_demo --mentors 10000 --mentees 20000 --sessions 1000000   # benchmark size

The data is planned and written by ``mentoring.demo``; this command parses options and prints.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from mentoring.demo import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DemoOptionsError,
    DemoResult,
    demo_build,
    demo_delete,
    demo_exists,
    demo_validate_options,
)


class Command(BaseCommand):
    help = (
        "Build the demo programmes with demo logins (password “tandem-demo”). Sizes build one "
        "programme of exactly that size, fast, for benchmarks. Does nothing if the demo exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument("--mentors", type=int, help="number of mentors (default 40)")
        parser.add_argument("--mentees", type=int, help="number of mentees (default 120)")
        parser.add_argument(
            "--sessions",
            type=int,
            help="exact number of session logs (default: a believable rhythm per match)",
        )
        parser.add_argument("--reset", action="store_true", help="delete the demo data first, then rebuild")

    def handle(self, *args, **options) -> None:
        sizes = {key: options[key] for key in ("mentors", "mentees", "sessions")}
        try:
            demo_validate_options(**sizes)
        except DemoOptionsError as exc:
            raise CommandError(str(exc)) from exc

        started = time.perf_counter()
        try:
            with transaction.atomic():
                if demo_exists():
                    if not options["reset"]:
                        self.stdout.write(
                            "The demo already exists; nothing to do (run with --reset to rebuild it)."
                        )
                        return
                    deleted = demo_delete()
                    took = time.perf_counter() - started
                    self.stdout.write(f"Deleted the previous demo ({deleted:,} rows) in {took:.1f} s.")
                result = demo_build(seed=options["seed"], **sizes)
            # Timed after the commit: PostgreSQL checks the deferred foreign keys there.
            seconds = time.perf_counter() - started
        except DemoOptionsError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(f"Could not write the demo, nothing was saved: {exc}") from exc

        # Raise the demo's attention flags now, so the "Needs attention" page is not empty
        # until beat first runs.
        from sessions.services.health import match_health_run

        match_health_run()
        self._report(result, seconds)

    def _report(self, result: DemoResult, seconds: float) -> None:
        write = self.stdout.write
        for built in result.programmes:
            matches = ", ".join(f"{count:,} {status}" for status, count in sorted(built.matches.items()))
            write(
                f"{built.programme.name} [{built.programme.slug}]: {built.mentors:,} mentors, "
                f"{built.mentees:,} mentees, matches: {matches or 'none'}, {built.sessions:,} session logs"
            )
        write("")
        write("Rows written:")
        width = max((len(table) for table in result.counts), default=10)
        for table, count in sorted(result.counts.items()):
            write(f"  {table:<{width}}  {count:>10,}")
        write(f"  {'total':<{width}}  {sum(result.counts.values()):>10,}")
        write("")
        write(f"Demo logins (password: {DEMO_PASSWORD})")
        rows = [("username", "role", "sees")]
        for login, user in result.logins:
            sees = login.sees
            if login.username == "mentor":
                count = result.mentor_login_matches
                sees = (
                    f"{sees} ({count} active match{'' if count == 1 else 'es'})"
                    if count
                    else "no mentor profile: the programme has no active match to give it"
                )
            rows.append((login.username, user.get_role_display(), sees))
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        for username, role, sees in rows:
            write(f"  {username:<{widths[0]}}  {role:<{widths[1]}}  {sees}")
        write("")
        write(
            self.style.SUCCESS(
                f"Demo built in {seconds:.1f} s, commit included "
                f"({result.seconds:.1f} s planning and writing)."
            )
        )
