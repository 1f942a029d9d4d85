"""Send the task outbox's unsent and unfinished tasks now, as the beat job does every minute.

After a broker incident (Redis restarted without persistence, its queues flushed), an operator
can resend at once what no worker finished: ``manage.py outbox_sweep --resend-after 0``.
"""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from mentoring.outbox import SWEEP_GRACE, outbox_sweep


class Command(BaseCommand):
    help = "Send the outbox's unsent tasks, and again the sent ones no worker finished."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--grace",
            type=int,
            default=int(SWEEP_GRACE.total_seconds()),
            help="leave unsent tasks younger than this many seconds to their request (default 60)",
        )
        parser.add_argument(
            "--resend-after",
            type=int,
            default=None,
            help="resend sent tasks not finished after this many seconds "
            "(default TANDEM_OUTBOX_RESEND_AFTER)",
        )

    def handle(self, *args, grace: int, resend_after: int | None, **options) -> None:
        if grace < 0 or (resend_after is not None and resend_after < 0):
            raise CommandError("--grace and --resend-after take a number of seconds, 0 or more.")
        sent = outbox_sweep(
            grace=datetime.timedelta(seconds=grace),
            resend_after=None if resend_after is None else datetime.timedelta(seconds=resend_after),
        )
        self.stdout.write(f"Sent {sent} task(s).")
