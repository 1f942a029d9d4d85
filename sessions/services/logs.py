"""Writes of session logs; each checks its rule, writes atomically and is audited.

A meeting with several of the mentor's mentees of one family (a mother and her son) is written
once and stored as one log per match, all carrying one ``shared_key``; a correction of one of
them is applied to all. Fields the programme hides (``Programme.session_hidden_fields``) are
ignored when sent: they keep their defaults on a new log and their value on a corrected one.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from contextlib import nullcontext

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from matching.models import Match
from mentoring.audit import audit_record, create_audited
from mentoring.models import AuditEvent, User
from sessions.models import Participant, SessionLog, SessionLogRevision
from sessions.selectors.logs import (
    session_hidden_fields_for,
    session_log_editable_by,
    session_log_family_matches,
    session_topics_for,
)

# What a correction may change; the match, author and key of a log are fixed.
EDITABLE_FIELDS = (
    "held_on",
    "duration_minutes",
    "mode",
    "participants",
    "topics",
    "language",
    "interpreter_used",
    "notes",
    "follow_ups",
)
_HIDDEN_DEFAULTS = {"topics": [], "interpreter_used": False, "follow_ups": ""}


def _choice_list_error(values, allowed: Iterable[str], *, required: bool) -> str | None:
    if not isinstance(values, list | tuple):
        return _("Give a list.")
    allowed = set(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        return _("Unknown value(s): %(values)s.") % {"values": ", ".join(map(str, unknown))}
    if required and not values:
        return _("Choose at least one.")
    return None


def _content_errors(log: SessionLog) -> dict[str, str]:
    """Every problem of a log's content at once: the date rules, the lists and the fields' own
    validation. Lists that fail are emptied so ``full_clean`` does not trip over them."""
    match = log.match
    errors: dict[str, str] = {}
    if isinstance(log.held_on, datetime.date):
        if log.held_on > timezone.localdate():
            errors["held_on"] = _("The session date cannot be in the future.")
        elif match.started_on and log.held_on < match.started_on:
            errors["held_on"] = _("The match started on %(date)s; the session cannot be earlier.") % {
                "date": formats.date_format(match.started_on, "d M Y")
            }
    topic_codes = [code for code, _label in session_topics_for(match.programme)]
    for field, allowed, required in (
        ("participants", Participant.values, True),
        ("topics", topic_codes, False),
    ):
        values = getattr(log, field)
        if message := _choice_list_error(values, allowed, required=required):
            errors[field] = message
        else:
            setattr(log, field, list(dict.fromkeys(values)))
    try:
        # The database holds the constraints (unique key, duration bounds) and the foreign keys
        # are loaded objects: checking them here would cost a query each on every write.
        log.full_clean(
            exclude=["match", "author", "updated_by", *errors],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, " ".join(messages))
    return errors


def _also_matches_error(*, match: Match, also_matches: list[Match]) -> str | None:
    allowed = {m.pk for m in session_log_family_matches(match=match)}
    wrong = [m for m in also_matches if m.pk not in allowed]
    if wrong:
        return _(
            "A session can be shared only with your other active matches of the same family; "
            "not with match(es) %(matches)s."
        ) % {"matches": ", ".join(str(m.pk) for m in wrong)}
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
    also_matches: list[Match] | None = None,
    request: HttpRequest | None = None,
) -> tuple[SessionLog, bool]:
    """Record a session of an active match by its mentor. Returns ``(log, created)`` of
    ``match``'s log.

    ``also_matches``: the mentor's other active matches with a mentee of the same family who
    took part; each gets a log with the same content and one ``shared_key``.

    A retry with an ``idempotency_key`` the author already used returns the first log (and
    writes nothing, for ``also_matches`` neither) instead of writing a second one.
    """
    also_matches = list({m.pk: m for m in (also_matches or []) if m.pk != match.pk}.values())
    errors: dict[str, str] = {}
    # ``match_list_loggable_by`` hands the mentor's user id along; otherwise ask the mentor.
    mentor_user_id = getattr(match, "mentor_user_id", None) or match.mentor.user_id
    if mentor_user_id != author.pk:
        errors["match"] = _("Only the match's mentor can log its sessions.")
    elif match.status != Match.Status.ACTIVE:
        errors["match"] = _("The match is %(status)s; sessions are logged for active matches.") % {
            "status": match.get_status_display().lower()
        }
    elif also_matches and (message := _also_matches_error(match=match, also_matches=also_matches)):
        errors["also_matches"] = message

    hidden = session_hidden_fields_for(match.programme)
    values = {
        "held_on": held_on,
        "duration_minutes": duration_minutes,
        "mode": mode,
        "language": language,
        "participants": participants,
        "topics": topics or [],
        "interpreter_used": interpreter_used,
        "notes": notes,
        "follow_ups": follow_ups,
    }
    values.update({field: _HIDDEN_DEFAULTS[field] for field in hidden})
    log = SessionLog(match=match, author=author, idempotency_key=idempotency_key, **values)
    for field, message in _content_errors(log).items():
        errors.setdefault(field, message)
    if errors:
        # A retry of a submission stored before (its match has closed since, say) still
        # answers with what was stored.
        if idempotency_key is not None and (retried := _retried(author, idempotency_key, match)):
            return retried, False
        raise ValidationError(errors)

    # The meeting's other logs share ``shared_key``; the key that makes a retry harmless is
    # kept on the log of ``match`` alone, so the database's unique constraint on (author, key)
    # catches a retry in the insert itself, without a query first.
    shared_key = uuid.uuid4() if also_matches else None
    logs = [log] + [SessionLog(match=other, author=author, **values) for other in also_matches]
    try:
        # One log (the usual case) is one statement with its audit row; a family meeting's
        # logs are written together or not at all.
        with transaction.atomic() if len(logs) > 1 else nullcontext():
            for each in logs:
                each.shared_key = shared_key
                each.participants, each.topics = list(log.participants), list(log.topics)
                create_audited(each, user=author, programme_id=each.match.programme_id, request=request)
    except IntegrityError:
        # A retry, or two racing: the first one stored the logs; answer with its log.
        if idempotency_key is None or (retried := _retried(author, idempotency_key, match)) is None:
            raise
        return retried, False
    return log, True


def _retried(author: User, idempotency_key: uuid.UUID, match: Match) -> SessionLog | None:
    """The log ``author`` stored with ``idempotency_key``, if any; a key used for a session of
    another match is refused."""
    used = SessionLog.objects.filter(author=author, idempotency_key=idempotency_key).first()
    if used is not None and used.match_id != match.pk:
        raise ValidationError(
            {"idempotency_key": _("This key was already used for a session of another match.")}
        )
    return used


def _jsonable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def session_log_update(
    *, log: SessionLog, user: User, request: HttpRequest | None = None, **changes
) -> SessionLog:
    """Correct a log: its author within ``SessionLog.EDIT_WINDOW`` of writing it, the
    programme's coordinators and admins at any time (domain.md). The same rules as a new log
    apply (every error at once). Each changed log gets one ``SessionLogRevision`` of the
    changed fields (``{field: [before, after]}``); nothing changed writes nothing. The logs of
    the same meeting (``shared_key``) get the same correction."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("This field cannot be changed.")))
    if not session_log_editable_by(log=log, user=user):
        if log.author_id == user.pk:
            written = timezone.localtime(log.created_at)
            raise PermissionDenied(
                _(
                    "Mentors can correct a session log for %(days)s days after writing it; this one "
                    "was written on %(date)s. Ask your coordinator to correct it."
                )
                % {"days": SessionLog.EDIT_WINDOW.days, "date": formats.date_format(written, "d M Y")}
            )
        raise PermissionDenied(
            _("Only the log's author (for 7 days) and the programme's coordinators can change it.")
        )

    hidden = session_hidden_fields_for(log.match.programme)
    changes = {field: value for field, value in changes.items() if field not in hidden}
    if "topics" in changes and changes["topics"] is None:
        changes["topics"] = []

    candidate = SessionLog.objects.select_related("match__programme").get(pk=log.pk)
    before = {field: getattr(candidate, field) for field in EDITABLE_FIELDS}
    for field, value in changes.items():
        setattr(candidate, field, value)
    errors = _content_errors(candidate)
    if errors:
        raise ValidationError(errors)
    after = {field: getattr(candidate, field) for field in changes}
    changed = {field: value for field, value in after.items() if value != before[field]}
    if not changed:
        return candidate

    now = timezone.now()
    with transaction.atomic():
        siblings = (
            list(
                SessionLog.objects.select_for_update()
                .filter(shared_key=candidate.shared_key)
                .exclude(pk=candidate.pk)
            )
            if candidate.shared_key
            else []
        )
        targets = [(candidate, before)] + [
            (sibling, {field: getattr(sibling, field) for field in changed}) for sibling in siblings
        ]
        for target, old in targets:
            diff = {
                field: [_jsonable(old[field]), _jsonable(value)]
                for field, value in changed.items()
                if old[field] != value
            }
            if not diff:
                continue
            for field in diff:
                setattr(target, field, changed[field])
            target.updated_by = user
            target.save(update_fields=[*diff, "updated_by", "updated_at"])
            SessionLogRevision.objects.create(log=target, changed_by=user, changed_at=now, changes=diff)
            audit_record(
                user=user,
                action=AuditEvent.Action.UPDATE,
                obj=target,
                programme_id=log.match.programme_id,
                request=request,
            )
    log.refresh_from_db()
    return log
