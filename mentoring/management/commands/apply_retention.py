"""``manage.py apply_retention [--dry-run]``: erase the people whose programme's retention
period has passed since their closure (``mentoring.privacy.retention_apply``). The dry run
lists counts per programme only, never names; the nightly beat job runs the same service."""

from django.core.management.base import BaseCommand

from mentoring.privacy import retention_apply


class Command(BaseCommand):
    help = "Erase people whose retention period has passed (--dry-run: counts only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be erased; erase nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        counts = retention_apply(dry_run=dry_run)
        verb = "would be erased" if dry_run else "erased"
        if not counts:
            self.stdout.write(f"No one {verb}.")
            return
        for slug, row in sorted(counts.items()):
            self.stdout.write(
                f"{slug}: {row['people']} people {verb} ({row['mentees']} mentees, {row['mentors']} mentors)"
            )
