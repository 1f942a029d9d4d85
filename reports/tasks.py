"""Celery tasks of the reports: thin, id-only, idempotent."""

from celery import shared_task

from reports import services


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(ConnectionError,), max_retries=3)
def snapshot_compute_task(snapshot_id: int) -> None:
    services.snapshot_compute(snapshot_id=snapshot_id)


@shared_task(acks_late=True)
def snapshot_refresh_all_task() -> None:
    services.snapshot_refresh_all()
