"""Writes that change matches; each checks its rule, writes atomically and is audited."""

from __future__ import annotations

import datetime
from decimal import Decimal

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


# Closure reasons that need a note saying what happened.
CLOSURE_REASONS_NEEDING_NOTE = (Match.ClosureReason.OTHER, Match.ClosureReason.SAFEGUARDING)


def match_close(
    *,
    match: Match,
    closed_by: User,
    reason: str,
    closed_on: datetime.date,
    note: str = "",
    closure_measures: dict[int, Decimal] | None = None,
    request: HttpRequest | None = None,
) -> Match:
    """Close a proposed, active or paused match with its reason, and record the mentee's
    closure outcome measures (``{instrument id: value}``) in the same transaction. Every error
    (of the match and of each measure) is reported at once and nothing is written unless all is
    well. The mentee's status becomes closed (domain.md: a closed mentee can be rematched), and
    the match's open attention flags resolve. Whether it was an early closure is derived from
    the dates (``Match.is_early_closure``), never chosen."""
    from sessions.models import AttentionFlag, OutcomeInstrument, OutcomeStage
    from sessions.services.outcomes import outcome_measure_record

    if not (closed_by.is_admin or is_coordinator_of(user=closed_by, programme_id=match.programme_id)):
        raise PermissionDenied("Only the programme's coordinators can close matches.")
    note = (note or "").strip()
    closure_measures = closure_measures or {}

    with transaction.atomic():
        match = Match.objects.select_for_update().get(pk=match.pk)
        errors: dict[str, list[ValidationError]] = {}

        def error(field: str, message: str, code: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message, code=code))

        if match.status not in Match.OPEN_STATUSES:
            error("match", f"The match is already {match.get_status_display().lower()}.", "not_open")
        if reason not in Match.ClosureReason.values:
            error("reason", f"Choose one of: {', '.join(Match.ClosureReason.values)}.", "invalid_choice")
        elif reason in CLOSURE_REASONS_NEEDING_NOTE and not note:
            error("note", "Say in a closure note what happened.", "required")
        if closed_on > timezone.localdate():
            error("closed_on", "The closing date cannot be in the future.", "future")
        start = match.started_on or timezone.localdate(match.proposed_at)
        if closed_on < start:
            error(
                "closed_on",
                f"The closing date cannot be before the match started ({start:%d %b %Y}).",
                "before_start",
            )

        instruments = OutcomeInstrument.objects.filter(
            programme_id=match.programme_id, pk__in=list(closure_measures)
        ).in_bulk()
        for instrument_id, value in closure_measures.items():
            field = f"closure_measures.{instrument_id}"
            instrument = instruments.get(instrument_id)
            if instrument is None:
                error(field, "No such instrument in this programme.", "not_found")
                continue
            try:
                # Written now and rolled back below if anything else is wrong: the service's own
                # checks (scale, baseline first, once per stage) stay in one place.
                outcome_measure_record(
                    mentee=match.mentee,
                    instrument=instrument,
                    stage=OutcomeStage.CLOSURE,
                    value=value,
                    measured_on=closed_on,
                    recorded_by=closed_by,
                    request=request,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    error(field, message, "invalid")
        if errors:
            raise ValidationError(errors)

        match.status = Match.Status.CLOSED
        match.closed_on = closed_on
        match.closure_reason = reason
        match.closure_note = note
        # ``proposed_by`` is emptied when its user is deleted (SET_NULL); that must not block closure.
        match.full_clean(exclude=["proposed_by"])
        match.save(update_fields=["status", "closed_on", "closure_reason", "closure_note"])
        mentee = Mentee.objects.select_for_update().get(pk=match.mentee_id)
        if mentee.status == Mentee.Status.MATCHED:
            mentee.status = Mentee.Status.CLOSED
            mentee.closed_on = closed_on
            mentee.save(update_fields=["status", "closed_on"])
        AttentionFlag.objects.filter(match=match, resolved_at__isnull=True).update(resolved_at=timezone.now())
        audit_record(user=closed_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match
