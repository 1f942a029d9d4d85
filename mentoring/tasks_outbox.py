"""The outbox's beat task (``CELERY_BEAT_SCHEDULE``): thin and safe to run twice at once (two
sweeps lock different rows). It is a module of its own, not ``mentoring/tasks.py``, and is
loaded through ``CELERY_IMPORTS``: autodiscovery finds only modules named ``tasks``."""

from celery import shared_task

from mentoring.outbox import outbox_sweep


@shared_task(acks_late=True, reject_on_worker_lost=True)
def outbox_sweep_task() -> int:
    return outbox_sweep()
