"""The task outbox: Celery tasks are recorded in the database with the rows they are about, and
sent to the broker only once those rows are committed.

``enqueue_after_commit(task, *ids)`` writes a ``TaskOutbox`` row in the caller's transaction and,
on commit, sends the task. A broker that is down or slow never fails the request (nor undoes
what it wrote): the error is logged and the row stays unsent; ``outbox_sweep`` (a beat task,
every minute) sends the unsent rows again, oldest first, counting the attempts. A task may thus
arrive twice (a sweep racing a slow send, a worker lost under ``acks_late``): every task is
idempotent, which is the house rule anyway.

Arguments are ids only (ints, strings of digits, UUIDs, or flat lists of those), checked here
before anything is written, so no name, e-mail address or case note can travel through the
broker, sit in its queues or land in a worker's log.

It lives in ``mentoring`` beside its model (as ``mentoring.audit`` does for the audit trail)
rather than in ``config/``: it needs the ORM, and ``config`` is imported before the apps load.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid

from celery import Task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mentoring.models import TaskOutbox

logger = logging.getLogger(__name__)

# A row younger than this may still be being sent by the request that wrote it.
SWEEP_GRACE = datetime.timedelta(seconds=60)
SWEEP_BATCH = 500
# The message header that carries a task's outbox row id to the worker.
OUTBOX_HEADER = "tandem_outbox"
# Finished rows are kept this long for the admin page, then deleted by the sweep.
KEEP_SENT = datetime.timedelta(days=7)

_DIGITS = re.compile(r"\d{1,20}")
_ERROR_LENGTH = TaskOutbox._meta.get_field("last_error").max_length


class NotAnId(TypeError):
    """A task argument that is not an id. The message names its position and type, never its
    value (which may be exactly the personal data that must not travel)."""


def _clean_id(value, *, where: str):
    if isinstance(value, bool):
        raise NotAnId(f"Task argument {where} is a bool, not an id.")
    if isinstance(value, int):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        if _DIGITS.fullmatch(value):
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
        raise NotAnId(f"Task argument {where} is a string that is not an id (digits or a UUID).")
    raise NotAnId(f"Task argument {where} is a {type(value).__name__}, not an id.")


def task_args_clean(args) -> list:
    """The arguments as they are stored and sent (UUIDs as strings); raises ``NotAnId`` for
    anything that is not an id or a flat list of ids."""
    cleaned = []
    for position, value in enumerate(args):
        if isinstance(value, list | tuple):
            cleaned.append([_clean_id(item, where=f"{position}[{i}]") for i, item in enumerate(value)])
        else:
            cleaned.append(_clean_id(value, where=str(position)))
    return cleaned


def enqueue_after_commit(task: Task, *args) -> TaskOutbox:
    """Record ``task(*args)`` in the caller's transaction and send it once that commits (at once
    outside a transaction). Returns the outbox row."""
    cleaned = task_args_clean(args)
    row = TaskOutbox.objects.create(task_name=task.name, args=cleaned)
    # robust: whatever goes wrong after the commit is logged, never raised into the request.
    transaction.on_commit(lambda: _send(task, row.pk, cleaned), robust=True)
    return row


def _send(task: Task, row_id: int, args: list) -> bool:
    """Send one row's task; mark it sent, or record the error and leave it to the sweeper. The
    message carries the row's id in a header, so the worker can mark the row done."""
    try:
        task.apply_async(args, headers={OUTBOX_HEADER: row_id})
    except Exception as exc:  # any broker error: the row stays for the sweeper
        logger.warning("Could not send task %s (outbox %s): %s", task.name, row_id, type(exc).__name__)
        TaskOutbox.objects.filter(pk=row_id).update(attempts=F("attempts") + 1, last_error=_describe(exc))
        return False
    TaskOutbox.objects.filter(pk=row_id).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )
    return True


def _describe(exc: BaseException) -> str:
    # Broker errors name the host and the failure; the arguments are ids, so nothing personal.
    return f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]


def outbox_mark_done(*, request) -> None:
    """Mark the outbox row of the task ``request`` finished (called by the worker when a task
    succeeds or fails for good; a task that will be retried is not finished)."""
    row_id = getattr(request, OUTBOX_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        OUTBOX_HEADER
    )
    if row_id:
        TaskOutbox.objects.filter(pk=row_id, done_at__isnull=True).update(done_at=timezone.now())


def outbox_sweep(
    *,
    grace: datetime.timedelta = SWEEP_GRACE,
    resend_after: datetime.timedelta | None = None,
    batch: int = SWEEP_BATCH,
) -> int:
    """Send the unsent rows older than ``grace``, and again the sent rows no worker finished
    within ``resend_after`` (``TANDEM_OUTBOX_RESEND_AFTER``: the broker lost their message),
    oldest first, at most ``batch`` of them; stop at the first broker error (the rest would
    fail the same way). Deletes finished rows older than ``KEEP_SENT``. Returns how many were
    sent. Two sweeps at once take different rows."""
    from django.conf import settings

    from config.celery import app

    if resend_after is None:
        resend_after = datetime.timedelta(seconds=settings.TANDEM_OUTBOX_RESEND_AFTER)
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        rows = list(
            TaskOutbox.objects.select_for_update(skip_locked=True)
            .filter(
                Q(sent_at__isnull=True, created_at__lte=now - grace)
                | Q(sent_at__lte=now - resend_after, done_at__isnull=True)
            )
            .order_by("created_at", "pk")[:batch]
        )
        for row in rows:
            task = app.tasks.get(row.task_name)
            if task is None:  # not imported in this process yet? (a worker has them all)
                app.loader.import_default_modules()
                task = app.tasks.get(row.task_name)
            if task is None:
                # A task renamed or removed since: keep the row for a person to look at, and
                # let the rows behind it go.
                logger.error("Outbox %s names no registered task: %s", row.pk, row.task_name)
                TaskOutbox.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1, last_error="NotRegistered"
                )
                continue
            if not _send(task, row.pk, row.args):
                break
            sent += 1
    TaskOutbox.objects.filter(done_at__lt=now - KEEP_SENT).delete()
    if sent:
        logger.info("Outbox sweep sent %s task(s)", sent)
    return sent
