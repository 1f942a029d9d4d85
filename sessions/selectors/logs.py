"""Reads of session logs, scoped to the asking user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from mentoring.audit import audited_get
from mentoring.models import User
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
    return audited_get(
        session_log_list_visible_to(user=user),
        pk=session_log_id,
        user=user,
        request=request,
        programme_id_of=lambda log: log.match.programme_id,
    )
