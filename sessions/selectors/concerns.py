"""Reads of concerns and of each user's inbox, scoped to the asking user.

A concern's details are for the mentor who raised it and the programme's coordinators only
(``domain.md``): managers, other mentors and other programmes' staff see no rows, and a
concern they ask for by id is not found.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from matching.selectors import mentees_mentored_by
from mentoring.audit import audited_get
from mentoring.models import Mentee, User
from mentoring.permissions import coordinated_programmes
from sessions.models import Concern, Notification

STATUS_ORDER = [
    Concern.Status.OPEN,
    Concern.Status.ACKNOWLEDGED,
    Concern.Status.REFERRED,
    Concern.Status.CLOSED,
]
SEVERITY_ORDER = [
    Concern.Severity.URGENT,
    Concern.Severity.HIGH,
    Concern.Severity.MEDIUM,
    Concern.Severity.LOW,
]


def _rank(field: str, order: list[str]) -> Case:
    return Case(
        *(When(**{field: value}, then=Value(i)) for i, value in enumerate(order)),
        default=Value(len(order)),
        output_field=IntegerField(),
    )


def concern_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Concern]:
    """Coordinators: the concerns of their programmes; mentors: the concerns they raised;
    anyone else: none. Open ones first, then the most severe, then the newest.

    ``filters``: ``status``, ``severity``, ``programme`` (id), ``mentee`` (id)."""
    filters = filters or {}
    qs = Concern.objects.select_related("programme", "mentee__person", "raised_by", "match")
    if not user.is_authenticated:
        return Concern.objects.none()
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(raised_by=user)
    else:
        return Concern.objects.none()
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if severity := filters.get("severity"):
        qs = qs.filter(severity=severity)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    if mentee := filters.get("mentee"):
        qs = qs.filter(mentee_id=mentee)
    return qs.order_by(_rank("status", STATUS_ORDER), _rank("severity", SEVERITY_ORDER), "-created_at", "-id")


def concern_get_for_user(*, user: User, concern_id: int, request: HttpRequest | None = None) -> Concern:
    """One concern the user may read; reading it is audited, and a refusal too."""
    return audited_get(concern_list_visible_to(user=user), pk=concern_id, user=user, request=request)


def concern_mentees_for(*, user: User) -> QuerySet[Mentee]:
    """The mentees ``user`` may raise a concern about: a mentor's mentees of their active or
    paused matches, a coordinator's programmes' mentees, anyone for an administrator."""
    qs = Mentee.objects.select_related("person")
    if not user.is_authenticated:
        return Mentee.objects.none()
    if user.is_admin:
        return qs
    if user.role == User.Role.COORDINATOR:
        return qs.filter(programme__in=coordinated_programmes(user=user))
    if user.role == User.Role.MENTOR:
        return qs.filter(pk__in=mentees_mentored_by(user=user))
    return Mentee.objects.none()


def notification_list_for(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications: unread first, newest first within each."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by(
        Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "-created_at",
        "-id",
    )


def notification_unread_count(*, user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
