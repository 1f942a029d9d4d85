"""Writes of session logs; each checks its rule, writes atomically and is audited."""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, User
from sessions.models import Participant, SessionLog, Topic


def _validate_choice_list(values: list[str], allowed, field: str, *, required: bool) -> list[str]:
    if not isinstance(values, list | tuple):
        raise ValidationError({field: "Give a list."})
    unknown = [v for v in values if v not in allowed.values]
    if unknown:
        raise ValidationError({field: f"Unknown value(s): {', '.join(map(str, unknown))}."})
    if required and not values:
        raise ValidationError({field: "Choose at least one."})
    return list(dict.fromkeys(values))


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
    if errors:
        raise ValidationError(errors)

    log = SessionLog(
        match=match,
        author=author,
        held_on=held_on,
        duration_minutes=duration_minutes,
        mode=mode,
        language=language,
        participants=_validate_choice_list(participants, Participant, "participants", required=True),
        topics=_validate_choice_list(topics or [], Topic, "topics", required=False),
        interpreter_used=interpreter_used,
        notes=notes,
        follow_ups=follow_ups,
        idempotency_key=idempotency_key,
    )
    log.full_clean()
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
