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
