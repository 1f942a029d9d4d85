"""The outbox's beat task (``CELERY_BEAT_SCHEDULE``): thin and safe to run twice at once (two
sweeps lock different rows). It is a module of its own, not ``mentoring/tasks.py``, and is
loaded through ``CELERY_IMPORTS``: autodiscovery finds only modules named ``tasks``."""

from celery import shared_task
from celery.signals import task_postrun

from mentoring.outbox import outbox_mark_done, outbox_sweep


@task_postrun.connect
def _outbox_task_finished(sender=None, state=None, **kwargs) -> None:
    """A task sent through the outbox has finished: succeeded, or failed for good (a retry is
    a new run of the same message and leaves the row open)."""
    if sender is not None and state in ("SUCCESS", "FAILURE"):
        outbox_mark_done(request=sender.request)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def outbox_sweep_task() -> int:
    return outbox_sweep()
