"""Writes of session logs; each checks its rule, writes atomically and is audited."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, User
from mentoring.permissions import is_coordinator_of
from sessions.models import OutcomeInstrument, OutcomeMeasure, OutcomeStage, Participant, SessionLog, Topic


def _choice_list_error(values, allowed, *, required: bool) -> str | None:
    if not isinstance(values, list | tuple):
        return "Give a list."
    unknown = [v for v in values if v not in allowed.values]
    if unknown:
        return f"Unknown value(s): {', '.join(map(str, unknown))}."
    if required and not values:
        return "Choose at least one."
    return None


def session_log_create(
    *,
    author: User,
    match: Match,
    held_on: datetime.date,
    duration_minutes: int,
    mode: str,
    language: str,
    participants: list[str],
    topics: list[str] | None = None,
    interpreter_used: bool = False,
    notes: str = "",
    follow_ups: str = "",
    idempotency_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> tuple[SessionLog, bool]:
    """Record a session of an active match by its mentor. Returns ``(log, created)``.

    A retry with an ``idempotency_key`` the author already used returns the first log
    instead of writing a second one.
    """
    if idempotency_key is not None:
        existing = SessionLog.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.match_id != match.pk:
                raise ValidationError(
                    {"idempotency_key": "This key was already used for a session of another match."}
                )
            return existing, False

    errors: dict[str, str] = {}
    if match.mentor.user_id != author.pk:
        errors["match"] = "Only the match's mentor can log its sessions."
    elif match.status != Match.Status.ACTIVE:
        errors["match"] = (
            f"The match is {match.get_status_display().lower()}; sessions are logged for active matches."
        )
    if held_on > timezone.localdate():
        errors["held_on"] = "The session date cannot be in the future."
    elif match.started_on and held_on < match.started_on:
        errors["held_on"] = (
            f"The match started on {match.started_on:%d %b %Y}; the session cannot be earlier."
        )
    for field, values, allowed, required in (
        ("participants", participants, Participant, True),
        ("topics", topics or [], Topic, False),
    ):
        if message := _choice_list_error(values, allowed, required=required):
            errors[field] = message

    log = SessionLog(
        match=match,
        author=author,
        held_on=held_on,
        duration_minutes=duration_minutes,
        mode=mode,
        language=language,
        participants=list(dict.fromkeys(participants)) if "participants" not in errors else [],
        topics=list(dict.fromkeys(topics or [])) if "topics" not in errors else [],
        interpreter_used=interpreter_used,
        notes=notes,
        follow_ups=follow_ups,
        idempotency_key=idempotency_key,
    )
    # Report every problem at once: the rules above and the fields' own validation.
    try:
        log.full_clean(exclude=[field for field in errors if field in ("participants", "topics")])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            log.save()
            audit_record(
                user=author,
                action=AuditEvent.Action.CREATE,
                obj=log,
                programme_id=match.programme_id,
                request=request,
            )
    except IntegrityError:
        # Two retries raced: the other one stored the log; answer with it.
        if idempotency_key is None:
            raise
        return SessionLog.objects.get(author=author, idempotency_key=idempotency_key), False
    return log, True


def outcome_measure_record(
    *,
    mentee: Mentee,
    instrument: OutcomeInstrument,
    stage: str,
    value: Decimal | float | int,
    measured_on: datetime.date,
    recorded_by: User,
    request: HttpRequest | None = None,
) -> OutcomeMeasure:
    """Record a mentee's score on one of the programme's instruments. The programme's
    coordinators may record any mentee's; a mentor, those of the mentees they mentor now
    (``domain.md``: "own mentees: read, add"). A stage is measured once; the baseline first."""
    allowed = recorded_by.is_admin or is_coordinator_of(user=recorded_by, programme_id=mentee.programme_id)
    if not allowed and recorded_by.role == User.Role.MENTOR:
        allowed = mentee.matches.filter(
            mentor__user=recorded_by, status__in=[Match.Status.ACTIVE, Match.Status.PAUSED]
        ).exists()
    if not allowed:
        raise PermissionDenied("Only the mentee's coordinators and mentor can record outcome measures.")

    errors: dict[str, str] = {}
    if instrument.programme_id != mentee.programme_id:
        errors["instrument"] = "The instrument belongs to another programme."
    if stage not in OutcomeStage.values:
        errors["stage"] = f"Choose one of: {', '.join(OutcomeStage.values)}."
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors["value"] = "Give a number."
    else:
        if not instrument.scale_min <= value <= instrument.scale_max:
            errors["value"] = f"The scale runs from {instrument.scale_min} to {instrument.scale_max}."
    if measured_on > timezone.localdate():
        errors["measured_on"] = "The date cannot be in the future."
    existing = dict(
        OutcomeMeasure.objects.filter(mentee=mentee, instrument=instrument).values_list(
            "stage", "measured_on"
        )
    )
    if stage in existing:
        errors["stage"] = "This stage is already measured for this instrument."
    elif stage != OutcomeStage.BASELINE and OutcomeStage.BASELINE not in existing:
        errors["stage"] = "Take the baseline first."
    elif OutcomeStage.BASELINE in existing and measured_on < existing[OutcomeStage.BASELINE]:
        errors["measured_on"] = "A later measure cannot be dated before the baseline."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        measure = OutcomeMeasure(
            mentee=mentee,
            instrument=instrument,
            stage=stage,
            value=value,
            measured_on=measured_on,
            recorded_by=recorded_by,
        )
        measure.full_clean()
        measure.save()
        audit_record(
            user=recorded_by,
            action=AuditEvent.Action.CREATE,
            obj=measure,
            programme_id=mentee.programme_id,
            request=request,
        )
    return measure
