"""Reads of matches and suggestions, scoped to the asking user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from matching.engine import Explanation, Part, mentee_suggestions, mentor_suggestions, programme_data
from matching.models import Match
from mentoring.audit import audited_get
from mentoring.models import Mentee, Mentor, PersonLanguage, User
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import mentor_unmatchable_reasons


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


# --- Suggestions ------------------------------------------------------------------------------
#
# ``matching.engine`` scores and ranks; these selectors add the people's rows a page or the API
# shows (names, languages, free places), fetched for the top k only, so a request costs the same
# few queries however many mentors the programme has.

Person = TypeVar("Person", Mentor, Mentee)


@dataclass
class Suggestion(Generic[Person]):
    """One suggested pair: the other person's row and the engine's explanation of the score."""

    person: Person
    explanation: Explanation

    @property
    def score(self) -> int:
        return self.explanation.score

    @property
    def parts(self) -> list[Part]:
        return self.explanation.parts

    @property
    def reasons(self) -> list[str]:
        """Each part in the coordinator's words: "Speaks Romanian natively (+40)"."""
        return [str(part) for part in self.explanation.parts]

    @property
    def language_concordant(self) -> bool:
        return self.explanation.language_concordant


@dataclass
class MentorSuggestion(Suggestion[Mentor]):
    @property
    def mentor(self) -> Mentor:
        return self.person

    @property
    def free_places(self) -> int:
        return max(self.person.capacity - self.person.open_matches, 0)


@dataclass
class MenteeSuggestion(Suggestion[Mentee]):
    @property
    def mentee(self) -> Mentee:
        return self.person


S = TypeVar("S", MentorSuggestion, MenteeSuggestion)


@dataclass
class SuggestionList(Generic[S]):
    """The best suggestions first, and how many people each hard rule left out."""

    items: list[S]
    excluded: list[tuple[str, int]]  # (rule, how many it excluded), most first
    considered: int  # how many were scored

    def __getitem__(self, index: int) -> S:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[S]:
        return iter(self.items)


def _languages() -> Prefetch:
    return Prefetch(
        "person__languages", queryset=PersonLanguage.objects.order_by("-is_preferred", "language")
    )


def _in_order(queryset: QuerySet, ids: list[int]) -> list:
    rows = queryset.in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


def mentor_suggestions_for_mentee(
    *, mentee: Mentee, limit: int = 10, languages: bool = True
) -> SuggestionList[MentorSuggestion]:
    """The mentors who may be matched with ``mentee`` now, best first, each with the named parts
    of its score; and how many mentors each hard rule excluded. ``languages``: read the
    mentors' languages too (the pages show them; the API does not)."""
    result = mentor_suggestions(mentee=mentee, limit=limit)
    mentors = Mentor.objects.select_related("person").annotate(
        open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES))
    )
    if languages:
        mentors = mentors.prefetch_related(_languages())
    mentors = _in_order(mentors, [item.mentor_id for item in result.items])
    explanations = {item.mentor_id: item for item in result.items}
    return SuggestionList(
        items=[MentorSuggestion(person=mentor, explanation=explanations[mentor.pk]) for mentor in mentors],
        excluded=list(result.excluded),
        considered=result.considered,
    )


def mentee_suggestions_for_mentor(*, mentor: Mentor, limit: int = 10) -> SuggestionList[MenteeSuggestion]:
    """The programme's waiting mentees ``mentor`` may be matched with now, best first, each with
    the named parts of its score; and how many mentees each hard rule excluded."""
    result = mentee_suggestions(mentor=mentor, limit=limit)
    mentees = _in_order(
        Mentee.objects.select_related("person", "family").prefetch_related(_languages()),
        [item.mentee_id for item in result.items],
    )
    explanations = {item.mentee_id: item for item in result.items}
    return SuggestionList(
        items=[MenteeSuggestion(person=mentee, explanation=explanations[mentee.pk]) for mentee in mentees],
        excluded=list(result.excluded),
        considered=result.considered,
    )


def pair_explanation(*, mentee: Mentee, mentor: Mentor) -> Explanation:
    """Why ``mentor`` is (or is not) a match for ``mentee``: the score's parts, and the hard rules
    that exclude the pair. A mentor the engine does not consider at all (not approved, say) is
    explained by the rules of the mentor's own record."""
    data = programme_data(mentee.programme_id).with_mentees([mentee.pk], on=timezone.localdate())
    j = data.mentors.index.get(mentor.pk)
    if j is not None and len(data.mentee_ids):
        explanation = data.explain(0, j)
    else:
        explanation = Explanation(
            mentee_id=mentee.pk,
            mentor_id=mentor.pk,
            score=0,
            parts=[],
            excluded_by=mentor_unmatchable_reasons(mentor=mentor) or [_("The mentor cannot be matched now.")],
            language_concordant=False,
        )
    if mentee.status != Mentee.Status.WAITING:
        # The pair's rules say nothing of the mentee's own state; the match service refuses it.
        explanation = replace(
            explanation,
            excluded_by=[
                *explanation.excluded_by,
                _("The mentee is not waiting for a match (status: %(status)s).")
                % {"status": mentee.get_status_display().lower()},
            ],
        )
    return explanation


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
