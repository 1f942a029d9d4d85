"""``manage.py import_people``: import mentors or families from a CSV or XLSX file.

    manage.py import_people --programme baia-mare --kind mentors mentors.csv          # dry run
    manage.py import_people --programme baia-mare --kind mentors mentors.csv --commit
    manage.py import_people --programme baia-mare --kind families families.xlsx --commit --good-rows-only

A dry run lists what would be created, skipped and refused, and writes nothing. ``--commit``
writes nothing when any row is bad (exit status 1, the problems listed) unless
``--good-rows-only`` is given. The columns and rules are in ``mentoring.imports``.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mentoring.imports import KINDS, ImportReport, people_import
from mentoring.models import Programme, User


class Command(BaseCommand):
    help = "Import mentors or families from a CSV or XLSX file (a dry run unless --commit is given)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="the CSV (UTF-8) or XLSX file")
        parser.add_argument("--programme", required=True, help="the programme's slug")
        parser.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
        parser.add_argument("--commit", action="store_true", help="write the rows (default: dry run)")
        parser.add_argument(
            "--good-rows-only",
            action="store_true",
            help="with --commit: write the good rows even when some rows are bad",
        )
        parser.add_argument(
            "--user", help="username recorded as having entered the consents and run the import"
        )

    def handle(self, *args, **options) -> None:
        if options["good_rows_only"] and not options["commit"]:
            raise CommandError("--good-rows-only goes with --commit.")
        try:
            programme = Programme.objects.get(slug=options["programme"])
        except Programme.DoesNotExist as exc:
            raise CommandError(f"No programme with the slug “{options['programme']}”.") from exc
        user = None
        if options["user"]:
            try:
                user = User.objects.get(username=options["user"])
            except User.DoesNotExist as exc:
                raise CommandError(f"No user “{options['user']}”.") from exc
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc

        report = people_import(
            programme=programme,
            kind=options["kind"],
            content=content,
            filename=path.name,
            recorded_by=user,
            commit=options["commit"],
            good_rows_only=options["good_rows_only"],
        )
        self._print(report, programme=programme)
        if options["commit"] and not report.committed:
            if report.file_problems:
                raise CommandError("Nothing imported: the file itself has problems (line 1).")
            raise CommandError(
                f"Nothing imported: {self._bad(report)}. Fix the file, or add --good-rows-only "
                "to import the good rows."
            )

    @staticmethod
    def _bad(report: ImportReport) -> str:
        return f"{report.bad_rows} bad row{'s' if report.bad_rows != 1 else ''}"

    def _print(self, report: ImportReport, *, programme: Programme) -> None:
        for problem in report.problems:
            self.stdout.write(f"line {problem.line}: {problem.field}: {problem.message}")
        for skipped in report.skipped:
            self.stdout.write(f"line {skipped.line}: skipped: {skipped.message}")
        summary = (
            f"{programme.slug}, {report.kind}: {report.rows} rows; {report.good_rows} new, "
            f"{len(report.skipped)} already in the programme or skipped, {self._bad(report)}."
        )
        if report.committed:
            created = ", ".join(f"{name} {count}" for name, count in report.created.items() if count)
            self.stdout.write(self.style.SUCCESS(f"{summary} Imported: {created or 'nothing new'}."))
        else:
            self.stdout.write(f"{summary} Nothing written.")
