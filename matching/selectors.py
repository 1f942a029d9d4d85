"""Reads of matches and suggestions, scoped to the asking user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from matching.models import Match
from matching.scoring import Suggestion, score_pair
from mentoring.audit import audited_get
from mentoring.models import Mentee, User
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import mentee_with_profile, mentor_matchable_queryset


def match_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Match]:
    """Coordinators: their programmes' matches. Mentors: their own. Managers: none."""
    filters = filters or {}
    qs = Match.objects.select_related("mentor__person", "mentee__person", "mentee__family", "programme")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(mentor__user=user)
    else:
        return Match.objects.none()
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    return qs


def match_get_for_user(*, user: User, match_id: int, request: HttpRequest | None = None) -> Match:
    """One match the user may see; another mentor's or programme's match is not found."""
    return audited_get(match_list_visible_to(user=user), pk=match_id, user=user, request=request)


def mentor_suggestions_for_mentee(*, mentee: Mentee, limit: int = 10) -> list[Suggestion]:
    """The matchable mentors of the mentee's programme, best first, each with its reasons.
    Ties go to the mentor with the most free places, then to the longest-approved."""
    mentee = mentee_with_profile(mentee_id=mentee.pk)
    mentors = mentor_matchable_queryset(programme=mentee.programme)
    suggestions = [score_pair(mentee=mentee, mentor=mentor) for mentor in mentors]
    suggestions.sort(
        key=lambda s: (
            -s.score,
            -(s.mentor.capacity - s.mentor.open_matches),
            s.mentor.approved_on or s.mentor.applied_on,
            s.mentor.pk,
        )
    )
    return suggestions[:limit]


def mentees_mentored_by(*, user: User) -> QuerySet[Match]:
    """The ids of the mentees ``user`` mentors now (an active or paused match), for filters."""
    return Match.objects.filter(mentor__user=user, status__in=Match.CURRENT_STATUSES).values("mentee_id")


def is_current_mentor_of(*, user: User, mentee: Mentee) -> bool:
    """Whether ``user`` mentors ``mentee`` now (domain.md: a mentor's "own mentees")."""
    return (
        user.is_authenticated
        and user.role == User.Role.MENTOR
        and mentee.matches.filter(mentor__user=user, status__in=Match.CURRENT_STATUSES).exists()
    )
