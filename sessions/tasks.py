"""Celery tasks of what happens inside a match: thin and idempotent (``acks_late``: a message
may be delivered twice, and ``match_health_run`` is safe to repeat)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from sessions.services.health import match_health_run

RETRYABLE = (ConnectionError, OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def match_health_task(self) -> dict:
    """Check every programme's match health (beat runs it; see ``CELERY_BEAT_SCHEDULE``).
    It takes no ids: it looks at every programme, and each run re-reads the state of now."""
    try:
        return match_health_run()
    except RETRYABLE as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries * 30) from exc
