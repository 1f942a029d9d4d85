"""Celery tasks of matching: thin, id-only, idempotent (``acks_late``: a message may be
delivered twice; ``batch_run_compute`` returns a done run as it is and recomputes any other).

The project's time limits apply (``CELERY_TASK_SOFT_TIME_LIMIT`` / ``CELERY_TASK_TIME_LIMIT``,
below the broker's visibility timeout): a batch of 20,000 mentees takes well under a minute.
Transient database or broker errors are retried here; the service has already marked the run
failed with a readable error, and a retry computes it afresh.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from matching.batch import batch_run_compute

RETRYABLE = (ConnectionError, OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def batch_run_compute_task(self, run_id: int) -> None:
    try:
        batch_run_compute(run_id=run_id)
    except RETRYABLE as exc:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        raise
