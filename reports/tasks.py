"""Celery tasks of the reports: thin, id-only, idempotent (``acks_late``: a message may be
delivered twice, and every step in ``reports.services`` is safe to repeat).

``snapshot_compute_task`` starts a snapshot and fans out one ``snapshot_part_task`` per
population; the part that finishes last assembles the snapshot (a join in the database, as
there is no result backend). Transient database or broker errors are retried here; any other
error, or the last retry, marks the snapshot failed with the error's type only.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports import services

RETRYABLE = (ConnectionError, OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def snapshot_compute_task(self, snapshot_id: int) -> None:
    try:
        services.snapshot_dispatch(snapshot_id=snapshot_id)
    except RETRYABLE as exc:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        services.snapshot_fail(snapshot_id=snapshot_id, error=exc)
        raise
    except Exception as exc:
        services.snapshot_fail(snapshot_id=snapshot_id, error=exc)
        raise


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def snapshot_part_task(self, part_id: int) -> None:
    try:
        services.snapshot_part_compute(part_id=part_id)
    except RETRYABLE as exc:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        services.snapshot_part_fail(part_id=part_id, error=exc)
        raise
    except Exception as exc:
        services.snapshot_part_fail(part_id=part_id, error=exc)
        raise


@shared_task(acks_late=True)
def snapshot_refresh_all_task() -> None:
    services.snapshot_refresh_all()
