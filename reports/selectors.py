"""Reads of report snapshots: aggregates only, for the programmes a user reads reports of.

A snapshot of one programme is visible to whoever reads that programme's reports; a snapshot
of several programmes (``programme`` empty) only to whoever reads the reports of every one
of them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from mentoring.errors import NotFound
from mentoring.models import Programme, User
from mentoring.permissions import reported_programmes
from reports.models import ReportSnapshot
from reports.services import parameters_key


def snapshot_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[ReportSnapshot]:
    """``filters``: ``programme`` (snapshots of that one programme), ``covers`` (snapshots
    whose programmes include it, several-programme ones too), ``status``."""
    filters = filters or {}
    reported = reported_programmes(user=user)
    covered = ReportSnapshot.programmes.through.objects.filter(reportsnapshot_id=OuterRef("pk"))
    qs = ReportSnapshot.objects.filter(
        Q(programme__in=reported)
        | Q(
            Exists(covered),
            ~Exists(covered.exclude(programme_id__in=reported.values("pk"))),
            programme__isnull=True,
        )
    ).select_related("programme")
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    if covers := filters.get("covers"):
        qs = qs.filter(Exists(covered.filter(programme_id=covers)))
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs


def snapshot_get_for_user(*, user: User, snapshot_id: int) -> ReportSnapshot:
    try:
        return snapshot_list_visible_to(user=user).get(pk=snapshot_id)
    except ReportSnapshot.DoesNotExist as exc:
        raise NotFound(_("Snapshot not found.")) from exc


def snapshot_latest(
    *,
    programme: Programme,
    kind: str = ReportSnapshot.Kind.PARTICIPATION,
    parameters: dict | None = None,
) -> ReportSnapshot | None:
    """The newest done snapshot of one programme: of the given parameter set, or of any
    parameter set when ``parameters`` is None."""
    qs = ReportSnapshot.objects.filter(programme=programme, kind=kind, status=ReportSnapshot.Status.DONE)
    if parameters is not None:
        qs = qs.filter(parameters_key=parameters_key(kind=kind, parameters=parameters))
    return qs.order_by("-generated_at").first()


def snapshot_in_flight(
    *, programme: Programme, kind: str = ReportSnapshot.Kind.PARTICIPATION
) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(programme=programme, kind=kind, status__in=ReportSnapshot.IN_FLIGHT)
        .order_by("-requested_at")
        .first()
    )
