"""Celery tasks of the people's records: thin and idempotent (a person already erased is no
longer due, so a second delivery erases nothing more)."""

from celery import shared_task

from mentoring.privacy import retention_apply


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def retention_apply_task() -> None:
    """The nightly retention run (``CELERY_BEAT_SCHEDULE``). Returns nothing: counts stay in
    the audit trail, never in a result backend."""
    retention_apply(dry_run=False)
