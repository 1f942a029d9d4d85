"""How well a mentor suits a mentee, as a sum of named parts a coordinator can question.

Language first, cultural background second, as programmes match. Languages and backgrounds are
special-category data: a part that uses them counts only when both people have active consent
to matching on language and background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mentoring.models import LanguageLevel, Mentee, Mentor
from mentoring.vocabulary import language_name

PREFERRED_LANGUAGE_POINTS = {LanguageLevel.NATIVE: 40, LanguageLevel.FLUENT: 30, LanguageLevel.BASIC: 10}
SHARED_LANGUAGE_POINTS = 5
SHARED_BACKGROUND_POINTS = 25


@dataclass(frozen=True)
class ScorePart:
    points: int
    reason: str


@dataclass
class Suggestion:
    mentor: Mentor
    parts: list[ScorePart] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(part.points for part in self.parts)

    @property
    def reasons(self) -> list[str]:
        return [f"{part.reason} ({part.points:+d})" for part in self.parts]


def _uses_background(person_holder) -> bool:
    return bool(getattr(person_holder, "background_consent", False))


def score_pair(*, mentee: Mentee, mentor: Mentor) -> Suggestion:
    """Score one pair. ``mentee`` and ``mentor`` carry the ``background_consent`` annotation
    and prefetched languages and backgrounds (see the selectors)."""
    suggestion = Suggestion(mentor=mentor)
    if not (_uses_background(mentee) and _uses_background(mentor)):
        suggestion.parts.append(
            ScorePart(0, "Language and background not used: consent to matching on them is missing")
        )
        return suggestion

    mentee_languages = list(mentee.person.languages.all())
    mentor_levels = {pl.language: pl for pl in mentor.person.languages.all()}
    preferred = next((pl.language for pl in mentee_languages if pl.is_preferred), None)
    if preferred and preferred in mentor_levels:
        level = mentor_levels[preferred].level
        suggestion.parts.append(
            ScorePart(
                PREFERRED_LANGUAGE_POINTS[level],
                f"Speaks {language_name(preferred)}, the mentee's preferred language "
                f"({LanguageLevel(level).label.lower()})",
            )
        )
    for pl in mentee_languages:
        if pl.language != preferred and pl.language in mentor_levels:
            suggestion.parts.append(
                ScorePart(SHARED_LANGUAGE_POINTS, f"Also speaks {language_name(pl.language)}")
            )

    mentee_backgrounds = {cb.pk: cb.name for cb in mentee.person.cultural_backgrounds.all()}
    for cb in mentor.person.cultural_backgrounds.all():
        if cb.pk in mentee_backgrounds:
            suggestion.parts.append(ScorePart(SHARED_BACKGROUND_POINTS, f"Shares {cb.name} background"))
    return suggestion
