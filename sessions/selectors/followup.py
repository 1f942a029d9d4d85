"""Reads of a mentee's follow-up: outcome instruments and measures, goals, quality check-ins and
the mentee's timeline, scoped to the asking user.

Coordinators (and admins) read everything of their programmes. A mentor reads the measures and
goals of the mentees they mentor now (an active or paused match), and only their own mentor
check-ins: a family's check-in (its answers, comment, uncertainty, note) is never a mentor's to
read. Managers read aggregates only, never these rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from matching.models import Match
from mentoring.audit import audited_get
from mentoring.models import Mentee, Programme, User
from mentoring.permissions import coordinated_programmes
from sessions.models import CheckIn, Goal, GoalProgress, OutcomeInstrument, OutcomeMeasure
from sessions.selectors.logs import session_log_list_visible_to

_OPEN = Match.CURRENT_STATUSES


def _mentee_ids_visible_to(user: User) -> QuerySet[Mentee] | None:
    """The ids of the mentees whose follow-up ``user`` reads; None for all (admins)."""
    if user.is_admin:
        return None
    if user.role == User.Role.COORDINATOR:
        return Mentee.objects.filter(programme__in=coordinated_programmes(user=user)).values("pk")
    if user.role == User.Role.MENTOR:
        return Mentee.objects.filter(matches__mentor__user=user, matches__status__in=_OPEN).values("pk")
    return Mentee.objects.none().values("pk")


def outcome_instrument_list_visible_to(*, user: User) -> QuerySet[OutcomeInstrument]:
    """The instruments of the user's programmes (a mentor's: the programme they mentor in)."""
    qs = OutcomeInstrument.objects.select_related("programme").order_by("programme_id", "order", "id")
    if user.is_admin:
        return qs
    if user.role == User.Role.COORDINATOR:
        return qs.filter(programme__in=coordinated_programmes(user=user))
    if user.role == User.Role.MENTOR:
        return qs.filter(programme__in=Programme.objects.filter(mentors__user=user).values("pk"))
    return qs.none()


def outcome_measure_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[OutcomeMeasure]:
    filters = filters or {}
    qs = OutcomeMeasure.objects.select_related("instrument", "recorded_by")
    mentee_ids = _mentee_ids_visible_to(user)
    if mentee_ids is not None:
        qs = qs.filter(mentee_id__in=mentee_ids)
    if mentee := filters.get("mentee"):
        qs = qs.filter(mentee_id=mentee)
    return qs.order_by("measured_on", "id")


def goal_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Goal]:
    filters = filters or {}
    qs = Goal.objects.select_related("created_by").prefetch_related(
        Prefetch("updates", queryset=GoalProgress.objects.order_by("recorded_on", "id"))
    )
    mentee_ids = _mentee_ids_visible_to(user)
    if mentee_ids is not None:
        qs = qs.filter(mentee_id__in=mentee_ids)
    if mentee := filters.get("mentee"):
        qs = qs.filter(mentee_id=mentee)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs.order_by("agreed_on", "id")


def goal_get_for_user(*, user: User, goal_id: int, request: HttpRequest | None = None) -> Goal:
    return audited_get(
        goal_list_visible_to(user=user).select_related("mentee"),
        pk=goal_id,
        user=user,
        request=request,
        programme_id_of=lambda goal: goal.mentee.programme_id,
    )


def checkin_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[CheckIn]:
    """Coordinators: every check-in of their programmes, the families' answers included.
    Mentors: their own mentor check-ins only, never a family's."""
    filters = filters or {}
    qs = CheckIn.objects.select_related("match")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(match__programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(match__mentor__user=user, respondent=CheckIn.Respondent.MENTOR)
    else:
        return CheckIn.objects.none()
    if match := filters.get("match"):
        qs = qs.filter(match_id=match)
    if mentee := filters.get("mentee"):
        qs = qs.filter(match__mentee_id=mentee)
    if respondent := filters.get("respondent"):
        qs = qs.filter(respondent=respondent)
    if (answered := filters.get("answered")) is not None:
        qs = qs.filter(answered_at__isnull=not answered)
    return qs.order_by("-due_on", "respondent", "id")


def checkin_get_for_user(*, user: User, checkin_id: int, request: HttpRequest | None = None) -> CheckIn:
    return audited_get(
        checkin_list_visible_to(user=user).select_related("match__mentor", "match__programme"),
        pk=checkin_id,
        user=user,
        request=request,
        programme_id_of=lambda checkin: checkin.match.programme_id,
    )


def checkin_get_for_family(*, token: str) -> CheckIn | None:
    """The family check-in of ``token`` while it can still be answered: not yet answered, its
    match still open. Anything else (unknown, used, a mentor's token) is None."""
    if not token or len(token) > 64:
        return None
    return (
        CheckIn.objects.select_related("match__programme", "match__mentee")
        .filter(
            token=token,
            respondent=CheckIn.Respondent.FAMILY,
            answered_at__isnull=True,
            match__status__in=_OPEN,
        )
        .first()
    )


# --- The mentee's timeline -------------------------------------------------------------------


@dataclass
class TimelineEntry:
    on: datetime.date
    kind: str  # "session", "measure", "goal", "progress", "checkin"
    record: object
    goal: Goal | None = None


@dataclass
class MenteeTimeline:
    entries: list[TimelineEntry] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    measures: list[OutcomeMeasure] = field(default_factory=list)
    instruments: list[OutcomeInstrument] = field(default_factory=list)


def mentee_timeline(*, user: User, mentee: Mentee) -> MenteeTimeline:
    """Sessions, outcome measures, goals (with each progress update) and answered check-ins of
    one mentee, in date order (oldest first, as the story of the match). Each is read through
    its own selector, so the timeline shows a mentor no more than the lists would (their own
    sessions and mentor check-ins only)."""
    sessions = list(session_log_list_visible_to(user=user).filter(match__mentee=mentee))
    measures = list(outcome_measure_list_visible_to(user=user, filters={"mentee": mentee.pk}))
    goals = list(goal_list_visible_to(user=user, filters={"mentee": mentee.pk}))
    checkins = list(checkin_list_visible_to(user=user, filters={"mentee": mentee.pk, "answered": True}))
    entries = [TimelineEntry(log.held_on, "session", log) for log in sessions]
    entries += [TimelineEntry(m.measured_on, "measure", m) for m in measures]
    for goal in goals:
        entries.append(TimelineEntry(goal.agreed_on, "goal", goal, goal))
        entries += [TimelineEntry(u.recorded_on, "progress", u, goal) for u in goal.updates.all()]
    entries += [TimelineEntry(timezone.localdate(c.answered_at), "checkin", c) for c in checkins]
    order = {"goal": 0, "progress": 1, "measure": 2, "session": 3, "checkin": 4}
    entries.sort(key=lambda e: (e.on, order[e.kind], getattr(e.record, "pk", 0)))
    instruments = list(OutcomeInstrument.objects.filter(programme_id=mentee.programme_id))
    return MenteeTimeline(entries=entries, goals=goals, measures=measures, instruments=instruments)
