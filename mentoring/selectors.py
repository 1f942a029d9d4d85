"""Reads of people, each scoped to what the asking user may see."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.errors import NotFound
from mentoring.models import (
    AuditEvent,
    Consent,
    ConsentPurpose,
    Mentee,
    Mentor,
    PersonLanguage,
    Programme,
    User,
)
from mentoring.permissions import coordinated_programmes, reported_programmes


def programme_list_visible_to(*, user: User) -> QuerySet[Programme]:
    """Staff read the programmes they are assigned to; mentors read none."""
    return (
        (coordinated_programmes(user=user) | reported_programmes(user=user))
        .distinct()
        .select_related("organisation")
        .order_by("name")
    )


def programme_get_for_user(*, user: User, programme_id: int) -> Programme:
    try:
        return programme_list_visible_to(user=user).get(pk=programme_id)
    except Programme.DoesNotExist as exc:
        raise NotFound("Programme not found.") from exc


def has_active_consent(purpose: str, person_ref: str = "person") -> Exists:
    """An ``Exists`` expression: the person has active consent to ``purpose``."""
    return Exists(
        Consent.objects.filter(person=OuterRef(person_ref), purpose=purpose, withdrawn_at__isnull=True)
    )


def _person_prefetches(prefix: str = "person") -> list:
    return [
        Prefetch(
            f"{prefix}__languages", queryset=PersonLanguage.objects.order_by("-is_preferred", "language")
        ),
        f"{prefix}__cultural_backgrounds",
    ]


def mentee_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Mentee]:
    """Coordinators: their programmes' mentees. Mentors: mentees of their own open matches.
    Managers read aggregates only, never rows."""
    filters = filters or {}
    qs = Mentee.objects.select_related("person", "family", "programme", "school")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(
            matches__mentor__user=user,
            matches__status__in=[Match.Status.ACTIVE, Match.Status.PAUSED],
        ).distinct()
    else:
        return Mentee.objects.none()
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    qs = qs.annotate(
        background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person")
    ).prefetch_related(*_person_prefetches())
    return qs


def mentee_with_profile(*, mentee_id: int) -> Mentee:
    """One mentee with what matching reads: languages, backgrounds and consent."""
    return (
        Mentee.objects.select_related("person", "programme")
        .annotate(background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"))
        .prefetch_related(*_person_prefetches())
        .get(pk=mentee_id)
    )


def mentee_waiting_list(*, user: User, programme_id: int | None = None) -> QuerySet[Mentee]:
    """Waiting mentees, longest wait first."""
    filters = {"status": Mentee.Status.WAITING}
    if programme_id:
        filters["programme"] = programme_id
    return mentee_list_visible_to(user=user, filters=filters).order_by("waiting_since", "id")


def mentee_get_for_user(
    *, user: User, mentee_id: int, request: HttpRequest | None = None, audit: bool = True
) -> Mentee:
    """Fetch one mentee the user may see; another programme's mentee is simply not found.
    Every successful read of the case record is audited."""
    try:
        mentee = mentee_list_visible_to(user=user).get(pk=mentee_id)
    except Mentee.DoesNotExist as exc:
        audit_record(
            user=user,
            action=AuditEvent.Action.DENIED,
            object_type=Mentee._meta.label,
            object_id=mentee_id,
            request=request,
        )
        raise NotFound("Mentee not found.") from exc
    if audit:
        audit_record(user=user, action=AuditEvent.Action.READ, obj=mentee, request=request)
    return mentee


def mentor_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Mentor]:
    """Coordinators: their programmes' mentors. Mentors: only their own profile."""
    filters = filters or {}
    qs = Mentor.objects.select_related("person", "programme")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(user=user)
    else:
        return Mentor.objects.none()
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    return (
        qs.annotate(
            open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES)),
            background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"),
        )
        .prefetch_related(*_person_prefetches())
        .order_by("person__last_name", "person__first_name", "pk")
    )


def mentor_get_for_user(*, user: User, mentor_id: int, request: HttpRequest | None = None) -> Mentor:
    try:
        mentor = mentor_list_visible_to(user=user).get(pk=mentor_id)
    except Mentor.DoesNotExist as exc:
        audit_record(
            user=user,
            action=AuditEvent.Action.DENIED,
            object_type=Mentor._meta.label,
            object_id=mentor_id,
            request=request,
        )
        raise NotFound("Mentor not found.") from exc
    audit_record(user=user, action=AuditEvent.Action.READ, obj=mentor, request=request)
    return mentor


def mentor_matchable_queryset(*, programme: Programme, on: datetime.date | None = None) -> QuerySet[Mentor]:
    """Mentors who may take a new mentee on ``on``: approved or active, a record check valid
    that day, training completed, and fewer open matches than their capacity."""
    on = on or timezone.localdate()
    return (
        Mentor.objects.filter(
            programme=programme,
            status__in=Mentor.MATCHABLE_STATUSES,
            record_check_expires_on__gte=on,
            training_completed_on__isnull=False,
        )
        .annotate(open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES)))
        .filter(open_matches__lt=F("capacity"))
        .annotate(background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"))
        .select_related("person")
        .prefetch_related(*_person_prefetches())
    )


def mentor_unmatchable_reasons(*, mentor: Mentor, on: datetime.date | None = None) -> list[str]:
    """Why a mentor cannot take a new mentee now, in the coordinator's words (empty if they can)."""
    on = on or timezone.localdate()
    reasons = []
    if mentor.status not in Mentor.MATCHABLE_STATUSES:
        reasons.append(f"Not approved yet (status: {mentor.get_status_display().lower()}).")
    if mentor.record_check_expires_on is None:
        reasons.append("No criminal-record check recorded.")
    elif mentor.record_check_expires_on < on:
        reasons.append(f"Criminal-record check expired on {mentor.record_check_expires_on:%d %b %Y}.")
    if mentor.training_completed_on is None:
        reasons.append("Training not completed.")
    load = mentor.matches.filter(status__in=Match.OPEN_STATUSES).count()
    if load >= mentor.capacity:
        reasons.append(f"No free capacity ({load} of {mentor.capacity} places taken).")
    return reasons
