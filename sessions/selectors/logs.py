"""Reads of session logs, scoped to the asking user, and what the log form offers: the
programme's topics, the fields it shows, the defaults of a match's next log and the other
mentees of the family the mentor may log the same meeting for."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from matching.selectors import match_list_visible_to
from mentoring.audit import audited_get
from mentoring.models import Programme, SessionMode, User
from mentoring.permissions import coordinated_programmes
from sessions.models import Participant, SessionLog, SessionLogRevision, SessionTopic, Topic

# The optional parts of a log a programme may switch off (``Programme.session_hidden_fields``).
HIDEABLE_FIELDS = ("topics", "interpreter_used", "follow_ups")


def session_log_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[SessionLog]:
    """Coordinators: every log of their programmes. Mentors: logs of their own matches."""
    filters = filters or {}
    qs = SessionLog.objects.select_related(
        "match__mentee__person", "match__mentor__person", "match__programme", "author"
    )
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


def session_log_editable_by(
    *, log: SessionLog, user: User, coordinated_programme_ids: set[int] | None = None
) -> bool:
    """domain.md: mentors correct their own log for ``SessionLog.EDIT_WINDOW`` after writing
    it; the programme's coordinators (and admins) always. ``coordinated_programme_ids`` saves
    a query per log when a list asks this of every row."""
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if user.role == User.Role.COORDINATOR:
        if coordinated_programme_ids is None:
            coordinated_programme_ids = set(coordinated_programmes(user=user).values_list("pk", flat=True))
        return log.match.programme_id in coordinated_programme_ids
    return log.author_id == user.pk and timezone.now() - log.created_at <= SessionLog.EDIT_WINDOW


def session_log_siblings(*, log: SessionLog) -> QuerySet[SessionLog]:
    """The other logs of the same meeting (one per mentee of the family), oldest first."""
    if log.shared_key is None:
        return SessionLog.objects.none()
    return (
        SessionLog.objects.filter(shared_key=log.shared_key)
        .exclude(pk=log.pk)
        .select_related("match__mentee__person")
        .order_by("pk")
    )


def session_log_revisions(*, log: SessionLog) -> QuerySet[SessionLogRevision]:
    """A log's history, oldest first; the caller has checked the user may read the log."""
    return log.revisions.select_related("changed_by").order_by("changed_at", "pk")


def session_topics_for(programme: Programme) -> list[tuple[str, str]]:
    """The topics a session of ``programme`` may have: its own active vocabulary when it has
    one, else the default ``Topic`` choices (no query then)."""
    if not programme.has_session_topics:
        return list(Topic.choices)
    own = list(
        SessionTopic.objects.filter(programme=programme, is_active=True)
        .order_by("order", "name")
        .values_list("code", "name")
    )
    return own or list(Topic.choices)


def session_hidden_fields_for(programme: Programme) -> set[str]:
    """The optional fields the programme does not use; anything else listed is ignored."""
    return {field for field in (programme.session_hidden_fields or []) if field in HIDEABLE_FIELDS}


def session_log_family_matches(*, match: Match) -> QuerySet[Match]:
    """The mentor's other active matches with a mentee of the same family: a meeting with a
    mother and her son may be logged once for both."""
    return (
        Match.objects.filter(
            mentor_id=match.mentor_id,
            status=Match.Status.ACTIVE,
            mentee__family_id=match.mentee.family_id,
        )
        .exclude(pk=match.pk)
        .select_related("mentee__person")
        .order_by("pk")
    )


DEFAULT_SESSION_MINUTES = 60


def session_log_defaults_for(*, match: Match) -> dict:
    """What a new log of ``match`` starts with: today, the mode, length and language of the
    match's latest log (else in person for an hour in the mentee's preferred language, else the
    programme's), and the mentee as participant (a parent or a pupil)."""
    latest = (
        match.session_logs.order_by("-held_on", "-pk").values("mode", "language", "duration_minutes").first()
    )
    if latest:
        mode, language, minutes = latest["mode"], latest["language"], latest["duration_minutes"]
    else:
        preferred = next((pl.language for pl in match.mentee.person.languages.all() if pl.is_preferred), None)
        mode, language = SessionMode.IN_PERSON, preferred or match.programme.local_language
        minutes = DEFAULT_SESSION_MINUTES
    return {
        "held_on": timezone.localdate(),
        "mode": mode,
        "duration_minutes": minutes,
        "language": language,
        "participants": [match.mentee.kind] if match.mentee.kind in Participant.values else [],
    }


def match_list_loggable_by(*, user: User) -> QuerySet[Match]:
    """The matches whose id a user may give when logging a session, with what the rules of a
    new log read (its mentor and programme) in the same query. Mentors log their own matches
    only, so theirs reads just the columns the rules read (the mentor's user id as
    ``mentor_user_id``); anyone else gets what they may see, and the service then answers why
    they cannot log it."""
    if user.is_authenticated and user.role == User.Role.MENTOR:
        qs = (
            Match.objects.filter(mentor__user=user)
            .select_related("programme")
            .only(
                "status",
                "started_on",
                "mentee_id",
                "mentor_id",
                "programme__local_language",
                "programme__session_hidden_fields",
                "programme__has_session_topics",
            )
            .annotate(mentor_user_id=F("mentor__user_id"))
        )
    else:
        qs = match_list_visible_to(user=user).select_related("mentor", "programme")
    return qs
