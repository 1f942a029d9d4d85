"""Writes that change matches; each checks its rule, writes atomically and is audited."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, Mentor, MentorStatusChange, User
from mentoring.permissions import is_coordinator_of
from mentoring.selectors import mentor_unmatchable_reasons


def match_create(
    *,
    mentee: Mentee,
    mentor: Mentor,
    created_by: User,
    started_on: datetime.date | None = None,
    score: int | None = None,
    request: HttpRequest | None = None,
) -> Match:
    """Match a waiting mentee with a matchable mentor; the match is active from ``started_on``
    (today by default). The mentor's row is locked so two coordinators matching the same
    mentor at once cannot exceed the mentor's capacity."""
    if not (created_by.is_admin or is_coordinator_of(user=created_by, programme_id=mentee.programme_id)):
        raise PermissionDenied("Only the programme's coordinators can make matches.")
    started_on = started_on or timezone.localdate()
    with transaction.atomic():
        mentor = Mentor.objects.select_for_update().get(pk=mentor.pk)
        mentee = Mentee.objects.select_for_update().get(pk=mentee.pk)
        errors: dict[str, list[str]] = {}
        if mentor.programme_id != mentee.programme_id:
            errors.setdefault("mentor", []).append("The mentor belongs to another programme.")
        else:
            reasons = mentor_unmatchable_reasons(mentor=mentor, on=started_on)
            if reasons:
                errors.setdefault("mentor", []).extend(reasons)
        if mentee.status != Mentee.Status.WAITING:
            errors.setdefault("mentee", []).append(
                f"The mentee is not waiting for a match (status: {mentee.get_status_display().lower()})."
            )
        if errors:
            raise ValidationError(errors)

        match = Match(
            programme_id=mentee.programme_id,
            mentor=mentor,
            mentee=mentee,
            status=Match.Status.ACTIVE,
            proposed_by=created_by,
            started_on=started_on,
            score=score,
        )
        match.full_clean()
        match.save()
        mentee.status = Mentee.Status.MATCHED
        mentee.save(update_fields=["status"])
        if mentor.status == Mentor.Status.APPROVED:
            mentor.status = Mentor.Status.ACTIVE
            mentor.save(update_fields=["status"])
            MentorStatusChange.objects.create(
                mentor=mentor,
                from_status=Mentor.Status.APPROVED,
                to_status=Mentor.Status.ACTIVE,
                changed_by=created_by,
                note="First match started",
            )
        audit_record(user=created_by, action=AuditEvent.Action.CREATE, obj=match, request=request)
    return match
