"""Reads of session logs, scoped to the asking user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from mentoring.audit import audit_record
from mentoring.errors import NotFound
from mentoring.models import AuditEvent, User
from mentoring.permissions import coordinated_programmes
from sessions.models import SessionLog


def session_log_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[SessionLog]:
    """Coordinators: every log of their programmes. Mentors: logs of their own matches."""
    filters = filters or {}
    qs = SessionLog.objects.select_related("match__mentee__person", "match__mentor__person", "author")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(match__programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(match__mentor__user=user)
    else:
        return SessionLog.objects.none()
    if match := filters.get("match"):
        qs = qs.filter(match_id=match)
    return qs


def session_log_get_for_user(
    *, user: User, session_log_id: int, request: HttpRequest | None = None
) -> SessionLog:
    try:
        log = session_log_list_visible_to(user=user).get(pk=session_log_id)
    except SessionLog.DoesNotExist as exc:
        audit_record(
            user=user,
            action=AuditEvent.Action.DENIED,
            object_type=SessionLog._meta.label,
            object_id=session_log_id,
            request=request,
        )
        raise NotFound("Session log not found.") from exc
    audit_record(
        user=user,
        action=AuditEvent.Action.READ,
        obj=log,
        programme_id=log.match.programme_id,
        request=request,
    )
    return log
