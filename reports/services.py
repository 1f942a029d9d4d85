"""Requesting and computing report snapshots.

A snapshot is computed in parts: one ``ReportSnapshotPart`` per population (mentees, mentors)
over the snapshot's programmes, each by its own Celery task (``reports.tasks``). There is no
result backend, so the parts are joined in the database: a part stores its result, then, in
the same transaction and holding the snapshot's row lock, counts the parts done; the one that
finds them all done assembles ``figures`` (``reports.figures``, version 2). The lock makes
exactly one part assemble, and every step is safe to run twice (tasks are ``acks_late``, so a
message may be delivered again): a done part is not recomputed, a done or failed snapshot is
left alone.

``snapshot_compute`` runs the same steps in the calling process (tests, the benchmark,
``manage.py shell``).

A snapshot's labels and definitions are stored in the site's default language
(``settings.LANGUAGE_CODE``), whoever asked for it; readers see them in their own language
(``reports.labels``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mentoring.models import MigrantBackground, Programme, User
from reports import figures as contract
from reports import metrics
from reports.models import ReportSnapshot, ReportSnapshotPart

logger = logging.getLogger(__name__)

POPULATIONS = list(ReportSnapshotPart.Population.values)
PROGRESS_STARTED = 5
PROGRESS_PARTS = 90  # shared by the parts; assembly brings the snapshot to 100

DEFAULT_PARAMETERS = {
    "period_start": None,
    "period_end": None,
    "reference_group": MigrantBackground.NONE.value,
}


# --- Parameters ------------------------------------------------------------------------------


def _clean_date(value, *, field: str, errors: dict) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    errors[field] = ValidationError(_("Give a date as YYYY-MM-DD."), code="invalid_date")
    return None


def snapshot_parameters_clean(parameters: dict | None) -> dict:
    """The normalised parameters of a snapshot: ``period_start`` / ``period_end`` (ISO dates or
    None, both inclusive) and ``reference_group`` (a ``MigrantBackground`` value, "none" unless
    given). Raises ``ValidationError`` naming each parameter at fault."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise ValidationError(
            {"parameters": ValidationError(_("Give the parameters as an object."), code="invalid")}
        )
    errors: dict[str, ValidationError] = {}
    for key in parameters:
        if key not in DEFAULT_PARAMETERS:
            errors[str(key)] = ValidationError(_("Unknown parameter."), code="unknown")
    start = _clean_date(parameters.get("period_start"), field="period_start", errors=errors)
    end = _clean_date(parameters.get("period_end"), field="period_end", errors=errors)
    if start and end and start > end:
        errors["period_end"] = ValidationError(
            _("The period cannot end before it starts."), code="before_start"
        )
    reference = parameters.get("reference_group") or DEFAULT_PARAMETERS["reference_group"]
    if reference not in MigrantBackground.values:
        errors["reference_group"] = ValidationError(
            _("Choose one of: %(choices)s."),
            code="invalid_choice",
            params={"choices": ", ".join(MigrantBackground.values)},
        )
    if errors:
        raise ValidationError(errors)
    return {"period_start": start, "period_end": end, "reference_group": reference}


def parameters_key(*, kind: str, parameters: dict, programme_ids: Iterable[int] | None = None) -> str:
    """Hash of the kind and the normalised parameters (and, for a snapshot of several
    programmes, their ids): equal requests get equal keys."""
    payload: dict = {"kind": kind, "parameters": snapshot_parameters_clean(parameters)}
    if programme_ids is not None:
        payload["programmes"] = sorted(set(programme_ids))
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --- Requests --------------------------------------------------------------------------------


def _enqueue(snapshot_id: int) -> None:
    from mentoring.outbox import enqueue_after_commit
    from reports.tasks import snapshot_compute_task

    enqueue_after_commit(snapshot_compute_task, snapshot_id)


def snapshot_request(
    *,
    programme: Programme,
    requested_by: User | None,
    kind: str = ReportSnapshot.Kind.PARTICIPATION,
    parameters: dict | None = None,
) -> tuple[ReportSnapshot, bool]:
    """Ask for a fresh snapshot of one programme. If one with the same parameters is already
    waiting or being computed, the request joins it: returns ``(snapshot, created)``. The task
    is enqueued only once the snapshot row is committed. Bad parameters raise
    ``ValidationError`` naming the parameter."""
    parameters = snapshot_parameters_clean(parameters)
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
            snapshot.programmes.set([programme])
            _enqueue(snapshot.pk)
    except IntegrityError:
        # Another request created it between our check and insert: join that one.
        return ReportSnapshot.objects.get(
            programme=programme, parameters_key=key, status__in=ReportSnapshot.IN_FLIGHT
        ), False
    return snapshot, True


def snapshot_request_multi(
    *,
    programmes: Iterable[Programme],
    requested_by: User | None,
    kind: str = ReportSnapshot.Kind.PARTICIPATION,
    parameters: dict | None = None,
) -> tuple[ReportSnapshot, bool]:
    """Ask for one snapshot covering several programmes together (e.g. every programme a
    manager reads). The caller passes programmes the requester reads the reports of; the
    snapshot is readable by whoever reads the reports of all of them. Its k is the largest of
    the programmes' k (the strictest). One programme is an ordinary ``snapshot_request``."""
    programmes = sorted({p.pk: p for p in programmes}.values(), key=lambda p: p.pk)
    if not programmes:
        raise ValidationError(
            {"programmes": ValidationError(_("Choose at least one programme."), code="required")}
        )
    if len(programmes) == 1:
        return snapshot_request(
            programme=programmes[0], requested_by=requested_by, kind=kind, parameters=parameters
        )
    parameters = snapshot_parameters_clean(parameters)
    ids = [p.pk for p in programmes]
    key = parameters_key(kind=kind, parameters=parameters, programme_ids=ids)
    in_flight_filter = {
        "programme__isnull": True,
        "parameters_key": key,
        "status__in": ReportSnapshot.IN_FLIGHT,
    }
    in_flight = ReportSnapshot.objects.filter(**in_flight_filter).first()
    if in_flight is not None:
        return in_flight, False
    try:
        with transaction.atomic():
            snapshot = ReportSnapshot.objects.create(
                programme=None,
                kind=kind,
                parameters=parameters,
                parameters_key=key,
                requested_by=requested_by,
                small_cell_k=max(p.small_cell_k for p in programmes),
            )
            snapshot.programmes.set(programmes)
            _enqueue(snapshot.pk)
    except IntegrityError:
        return ReportSnapshot.objects.get(**in_flight_filter), False
    return snapshot, True


def snapshot_refresh_all() -> int:
    """Request a fresh participation snapshot of every programme (the nightly schedule)."""
    count = 0
    for programme in Programme.objects.all():
        _, created = snapshot_request(programme=programme, requested_by=None)
        count += int(created)
    return count


# --- Computation -----------------------------------------------------------------------------


def snapshot_programme_ids(snapshot: ReportSnapshot) -> list[int]:
    if snapshot.programme_id is not None:
        return [snapshot.programme_id]
    return sorted(snapshot.programmes.values_list("pk", flat=True))


def _compute_population(*, snapshot: ReportSnapshot, population: str) -> dict:
    """One part's figures: ``metrics.compute_population`` over the snapshot's programmes."""
    parameters = snapshot_parameters_clean(snapshot.parameters)
    with translation.override(settings.LANGUAGE_CODE):  # stored labels: the default language
        return metrics.compute_population(
            programme_ids=snapshot_programme_ids(snapshot),
            population=population,
            k=snapshot.small_cell_k,
            period_start=_date_or_none(parameters["period_start"]),
            period_end=_date_or_none(parameters["period_end"]),
            reference_group=parameters["reference_group"],
            as_of=timezone.localdate(snapshot.data_as_of) if snapshot.data_as_of else None,
        )


def _date_or_none(value: str | None) -> datetime.date | None:
    return None if value is None else datetime.date.fromisoformat(value)


def snapshot_start(*, snapshot_id: int) -> list[int]:
    """Mark a snapshot running (its data as of now) and create its parts; returns the ids of
    the parts still to compute (none when the snapshot is already done or failed)."""
    with transaction.atomic():
        snapshot = ReportSnapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status not in ReportSnapshot.IN_FLIGHT:
            return []
        if snapshot.status == ReportSnapshot.Status.PENDING:
            now = timezone.now()
            snapshot.status = ReportSnapshot.Status.RUNNING
            snapshot.started_at = now
            snapshot.data_as_of = now
            snapshot.progress = PROGRESS_STARTED
            snapshot.save(update_fields=["status", "started_at", "data_as_of", "progress"])
        for population in POPULATIONS:
            ReportSnapshotPart.objects.get_or_create(snapshot=snapshot, population=population)
        return list(
            snapshot.parts.exclude(status=ReportSnapshotPart.Status.DONE)
            .order_by("population")
            .values_list("pk", flat=True)
        )


def snapshot_dispatch(*, snapshot_id: int) -> list[int]:
    """Start a snapshot and enqueue one task per part still to compute (after commit)."""
    from mentoring.outbox import enqueue_after_commit
    from reports.tasks import snapshot_part_task

    with transaction.atomic():
        part_ids = snapshot_start(snapshot_id=snapshot_id)
        for part_id in part_ids:
            enqueue_after_commit(snapshot_part_task, part_id)
    return part_ids


def snapshot_part_compute(*, part_id: int) -> bool:
    """Compute one part and store its result; if it is the last part, assemble the snapshot.
    Returns whether this call assembled it. A part already done is not computed again (but
    still checks for assembly, in case the run that finished it stopped before)."""
    part = ReportSnapshotPart.objects.select_related("snapshot").get(pk=part_id)
    snapshot = part.snapshot
    if snapshot.status != ReportSnapshot.Status.RUNNING:
        return False
    if part.status == ReportSnapshotPart.Status.DONE:
        return _finish_part(snapshot_id=snapshot.pk, part_id=part_id, result=None, duration_ms=None)
    ReportSnapshotPart.objects.filter(pk=part_id).exclude(status=ReportSnapshotPart.Status.DONE).update(
        status=ReportSnapshotPart.Status.RUNNING, started_at=timezone.now(), attempts=part.attempts + 1
    )
    started = time.monotonic()
    result = _compute_population(snapshot=snapshot, population=part.population)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _finish_part(snapshot_id=snapshot.pk, part_id=part_id, result=result, duration_ms=duration_ms)


def _finish_part(*, snapshot_id: int, part_id: int, result: dict | None, duration_ms: int | None) -> bool:
    with transaction.atomic():
        # The snapshot's row lock serialises the parts' ends: exactly one sees all parts done.
        snapshot = ReportSnapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status != ReportSnapshot.Status.RUNNING:
            return False
        part = ReportSnapshotPart.objects.select_for_update().get(pk=part_id)
        if part.status != ReportSnapshotPart.Status.DONE and result is not None:
            part.status = ReportSnapshotPart.Status.DONE
            part.result = result
            part.finished_at = timezone.now()
            part.duration_ms = duration_ms
            part.error = ""
            part.save(update_fields=["status", "result", "finished_at", "duration_ms", "error"])
        statuses = list(snapshot.parts.values_list("status", flat=True))
        done = statuses.count(ReportSnapshotPart.Status.DONE)
        if done < len(POPULATIONS):
            progress = PROGRESS_STARTED + PROGRESS_PARTS * done // len(POPULATIONS)
            ReportSnapshot.objects.filter(pk=snapshot_id).update(progress=progress)
            return False
        _assemble(snapshot)
        return True


def _assemble(snapshot: ReportSnapshot) -> None:
    """Join the parts into ``figures`` and mark the snapshot done (under its row lock)."""
    results = dict(snapshot.parts.values_list("population", "result"))
    parameters = snapshot_parameters_clean(snapshot.parameters)
    k = snapshot.small_cell_k
    snapshot.figures = {
        "version": contract.VERSION,
        "k": k,
        "reference_group": parameters["reference_group"],
        "period": {"start": parameters["period_start"], "end": parameters["period_end"]},
        "definitions": metrics.definitions_text(settings.LANGUAGE_CODE),
        "populations": {population: results[population] for population in POPULATIONS},
        "participation": metrics.compute_participation(
            mentees=results["mentees"], mentors=results["mentors"], k=k
        ),
    }
    now = timezone.now()
    snapshot.generated_at = now
    snapshot.duration_ms = int((now - (snapshot.started_at or now)).total_seconds() * 1000)
    snapshot.status = ReportSnapshot.Status.DONE
    snapshot.progress = 100
    snapshot.error = ""
    snapshot.save(update_fields=["figures", "generated_at", "duration_ms", "status", "progress", "error"])
    # The parts' results now live in ``figures``; keep the parts' timings, drop the copies.
    snapshot.parts.update(result={})


def snapshot_fail(*, snapshot_id: int, error: BaseException, part_id: int | None = None) -> None:
    """Mark a snapshot (and the part at fault) failed. Only the error's type is stored: its
    message may quote data about a person."""
    error_type = type(error).__name__
    logger.error("Report snapshot %s failed: %s", snapshot_id, error_type)
    with transaction.atomic():
        ReportSnapshot.objects.filter(pk=snapshot_id, status__in=ReportSnapshot.IN_FLIGHT).update(
            status=ReportSnapshot.Status.FAILED, error=error_type
        )
        if part_id is not None:
            ReportSnapshotPart.objects.filter(pk=part_id).exclude(
                status=ReportSnapshotPart.Status.DONE
            ).update(status=ReportSnapshotPart.Status.FAILED, error=error_type)


def snapshot_part_fail(*, part_id: int, error: BaseException) -> None:
    snapshot_id = ReportSnapshotPart.objects.values_list("snapshot_id", flat=True).get(pk=part_id)
    snapshot_fail(snapshot_id=snapshot_id, error=error, part_id=part_id)


def snapshot_compute(*, snapshot_id: int) -> ReportSnapshot:
    """Compute a whole snapshot in this process: the same parts and assembly as the tasks,
    one after the other. Safe to run twice: a snapshot that is already done (or failed) is
    returned as it is."""
    part_id = None
    try:
        for part_id in snapshot_start(snapshot_id=snapshot_id):
            snapshot_part_compute(part_id=part_id)
    except Exception as exc:
        snapshot_fail(snapshot_id=snapshot_id, error=exc, part_id=part_id)
        raise
    return ReportSnapshot.objects.select_related("programme").get(pk=snapshot_id)
