"""Reads of report snapshots: aggregates only, for the programmes a user reads reports of."""

from __future__ import annotations

from django.db.models import QuerySet

from mentoring.errors import NotFound
from mentoring.models import Programme, User
from mentoring.permissions import reported_programmes
from reports.models import ReportSnapshot


def snapshot_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[ReportSnapshot]:
    filters = filters or {}
    qs = ReportSnapshot.objects.filter(programme__in=reported_programmes(user=user)).select_related(
        "programme"
    )
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs


def snapshot_get_for_user(*, user: User, snapshot_id: int) -> ReportSnapshot:
    try:
        return snapshot_list_visible_to(user=user).get(pk=snapshot_id)
    except ReportSnapshot.DoesNotExist as exc:
        raise NotFound("Snapshot not found.") from exc


def snapshot_latest(
    *, programme: Programme, kind: str = ReportSnapshot.Kind.PARTICIPATION
) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(programme=programme, kind=kind, status=ReportSnapshot.Status.DONE)
        .order_by("-generated_at")
        .first()
    )


def snapshot_in_flight(
    *, programme: Programme, kind: str = ReportSnapshot.Kind.PARTICIPATION
) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(programme=programme, kind=kind, status__in=ReportSnapshot.IN_FLIGHT)
        .order_by("-requested_at")
        .first()
    )
