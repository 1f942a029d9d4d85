"""Requesting and computing report snapshots."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from mentoring.models import Programme, User
from reports import metrics
from reports.models import ReportSnapshot

logger = logging.getLogger(__name__)


def parameters_key(*, kind: str, parameters: dict) -> str:
    payload = json.dumps({"kind": kind, "parameters": parameters}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def snapshot_request(
    *,
    programme: Programme,
    requested_by: User | None,
    kind: str = ReportSnapshot.Kind.PARTICIPATION,
    parameters: dict | None = None,
) -> tuple[ReportSnapshot, bool]:
    """Ask for a fresh snapshot. If one with the same parameters is already waiting or being
    computed, the request joins it: returns ``(snapshot, created)``. The task is enqueued only
    once the snapshot row is committed."""
    from reports.tasks import snapshot_compute_task

    parameters = parameters or {}
    key = parameters_key(kind=kind, parameters=parameters)
    in_flight = ReportSnapshot.objects.filter(
        programme=programme, parameters_key=key, status__in=ReportSnapshot.IN_FLIGHT
    ).first()
    if in_flight is not None:
        return in_flight, False
    try:
        with transaction.atomic():
            snapshot = ReportSnapshot.objects.create(
                programme=programme,
                kind=kind,
                parameters=parameters,
                parameters_key=key,
                requested_by=requested_by,
                small_cell_k=programme.small_cell_k,
            )
            transaction.on_commit(lambda: snapshot_compute_task.delay(snapshot.pk))
    except IntegrityError:
        # Another request created it between our check and insert: join that one.
        return ReportSnapshot.objects.get(
            programme=programme, parameters_key=key, status__in=ReportSnapshot.IN_FLIGHT
        ), False
    return snapshot, True


def _set_progress(snapshot: ReportSnapshot, progress: int) -> None:
    snapshot.progress = progress
    ReportSnapshot.objects.filter(pk=snapshot.pk).update(progress=progress)


def snapshot_compute(*, snapshot_id: int) -> ReportSnapshot:
    """Compute a snapshot's figures and store them. Safe to run twice: a snapshot that is
    already done is returned as it is."""
    with transaction.atomic():
        snapshot = ReportSnapshot.objects.select_for_update().select_related("programme").get(pk=snapshot_id)
        if snapshot.status == ReportSnapshot.Status.DONE:
            return snapshot
        snapshot.status = ReportSnapshot.Status.RUNNING
        snapshot.started_at = timezone.now()
        snapshot.progress = 5
        snapshot.save(update_fields=["status", "started_at", "progress"])

    started = time.monotonic()
    k = snapshot.small_cell_k
    try:
        data_as_of = timezone.now()
        mentees = metrics.participation_mentees(programme=snapshot.programme, k=k)
        _set_progress(snapshot, 50)
        mentors = metrics.participation_mentors(programme=snapshot.programme, k=k)
        _set_progress(snapshot, 95)
    except Exception as exc:
        logger.exception("Snapshot %s failed", snapshot_id)
        ReportSnapshot.objects.filter(pk=snapshot.pk).update(
            status=ReportSnapshot.Status.FAILED, error=type(exc).__name__
        )
        raise

    snapshot.figures = {
        "k": k,
        "definitions": metrics.DEFINITIONS,
        "populations": {"mentees": mentees, "mentors": mentors},
    }
    snapshot.data_as_of = data_as_of
    snapshot.generated_at = timezone.now()
    snapshot.duration_ms = int((time.monotonic() - started) * 1000)
    snapshot.status = ReportSnapshot.Status.DONE
    snapshot.progress = 100
    snapshot.save(
        update_fields=["figures", "data_as_of", "generated_at", "duration_ms", "status", "progress"]
    )
    return snapshot


def snapshot_refresh_all() -> int:
    """Request a fresh participation snapshot of every programme (the nightly schedule)."""
    count = 0
    for programme in Programme.objects.all():
        _, created = snapshot_request(programme=programme, requested_by=None)
        count += int(created)
    return count
