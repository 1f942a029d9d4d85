"""Participation-equality figures (``reports.figures``, version 2), aggregated in the database.

Every figure comes from a set-based query: one ``GROUP BY`` per dimension over people (how far
each group got in the funnel, waiting times, mentees' mean outcome change) and one over matches
(match length, sessions, early closures, concordance); medians use ``percentile_cont`` on
PostgreSQL and a window-ranked subquery elsewhere, so both give the same numbers. The number of
queries depends on the number of dimensions, never on the number of people. Nothing here returns
a row about a person; every count passes ``reports.suppression`` before it leaves this module.

Public surface: ``compute_population``, ``compute_participation``, ``DEFINITIONS`` (lazily
translated; ``definitions_text`` gives them in one language) and ``floor_queries`` (the bare
aggregates, for the benchmark that compares a snapshot with them).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lower, RowNumber, Trim
from django.utils import formats, timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from matching.models import Match
from mentoring.models import (
    AgeBand,
    ConsentPurpose,
    CulturalBackground,
    Mentee,
    Mentor,
    MentorStatusChange,
    MigrantBackground,
    Person,
    PersonLanguage,
    TrainingRecord,
)
from mentoring.selectors import has_active_consent
from mentoring.vocabulary import language_name
from reports.figures import (
    DIMENSIONS,
    DISPARITY_HIGH,
    DISPARITY_LOW,
    MENTEE_STAGES,
    MENTOR_STAGES,
    NO_CONSENT,
    TOTAL,
)
from reports.suppression import OTHER, Cell, rate, suppress_funnels
from sessions.models import OutcomeMeasure, OutcomeStage, SessionLog

ACTIVE_DAYS = 90  # "active 3 months" and the early-closure threshold (domain.md: 3 months)
RETAINED_DAYS = 182  # "retained 6 months"
DAYS_PER_MONTH = 365.25 / 12
NOT_STATED = "not_stated"
NO_LANGUAGE = "none"
NO_BACKGROUND = "none"
MULTIPLE = "multiple"

NO_CONSENT_LABEL = _("Not used (no consent to statistics)")
OTHER_LABEL = _("Other groups combined")
TOTAL_LABEL = pgettext_lazy("report group", "All")
NO_LANGUAGE_LABEL = _("No preferred language recorded")
MULTIPLE_LABEL = _("More than one background")
NO_BACKGROUND_LABEL = _("No background recorded")
NOT_STATED_LABEL = pgettext_lazy("report group", "Not stated")

# Self-described gender is free text; these (lower-cased, trimmed) answers are read as the
# three reported groups, everything else as "another gender", blank as "not stated". The
# lists hold the programmes' languages' usual words.
WOMAN_WORDS = [
    "woman", "women", "female", "f", "w", "girl", "femeie", "fată", "fata", "vrouw", "meisje",
    "mulher", "feminino", "feminin", "femme", "frau", "weiblich", "mujer", "kobieta", "nő", "жінка",
]  # fmt: skip
MAN_WORDS = [
    "man", "men", "male", "m", "boy", "bărbat", "barbat", "băiat", "baiat", "masculin", "jongen",
    "homem", "masculino", "homme", "mann", "männlich", "hombre", "mężczyzna", "férfi", "чоловік",
]  # fmt: skip
NOT_STATED_WORDS = [
    "", "-", "not stated", "prefer not to say", "prefer not to answer", "declined", "unknown", "n/a",
]  # fmt: skip

GENDER_GROUPS = [
    ("woman", _("Woman")),
    ("man", _("Man")),
    ("another", _("Another gender")),
    (NOT_STATED, NOT_STATED_LABEL),
]
DIMENSION_LABELS = dict(DIMENSIONS)


def _filled(message: str, **params) -> str:
    """``message`` (lazily translated) with its ``%(placeholders)s`` filled when it is read, in
    the reader's language: labels translated and numbers written as that language writes them."""

    def build() -> str:
        values = {
            key: str(value)
            if isinstance(value, Promise)
            else formats.number_format(value)
            if isinstance(value, float | Decimal)
            else value
            for key, value in params.items()
        }
        return str(message) % values

    return lazy(build, str)()


DEFINITIONS: dict[str, str] = {  # lazily translated: read them with the reader's language active
    "funnel": _(
        "How many people of each group reached each stage, at any time up to the end of the "
        "period (or the data's as-of date). Stages are nested: someone who reached a later stage "
        "is counted at every earlier one, so each stage is at most the one before it."
    ),
    "referred": _("Mentees: every parent or pupil referred to the programme (entry stage)."),
    "intake_complete": _("Mentees whose intake (consent, needs assessment, baseline) was completed."),
    "matched": _("People with at least one match that has started (a start date: active, paused or closed)."),
    "active_3_months": _filled(
        _(
            "Mentees with a match that started at least %(days)s days before the end of the "
            "period and was not closed within its first %(days)s days."
        ),
        days=ACTIVE_DAYS,
    ),
    "completed": _("Mentees with a match closed with the reason “planned completion”."),
    "applied": _("Mentors: every volunteer who applied (entry stage)."),
    "screened": _(
        "Mentors who passed screening: moved on to training (or later) in their lifecycle "
        "history, or with a training record."
    ),
    "trained": _("Mentors whose training was completed (the date is recorded)."),
    "approved": _("Mentors approved to be matched (the approval date is recorded)."),
    "retained_6_months": _filled(
        _(
            "Mentors whose first match started at least %(days)s days before the end of the "
            "period and who did not leave within %(days)s days of it."
        ),
        days=RETAINED_DAYS,
    ),
    "conversion": _(
        "Reached the stage ÷ reached the stage before it, within the group. Withheld when either "
        "count is withheld or the earlier count is below k."
    ),
    "representation": _(
        "The group's share of everyone at the stage ÷ its share of everyone at entry: 1.0 means "
        "the group is as well represented at the stage as when it entered; below 1.0, it drops "
        "out more than others."
    ),
    "median_days_to_match": _(
        "Median days from intake complete to the start of the first match (mentees), or from "
        "approval to the start of the first match (mentors). Withheld when fewer than k people "
        "have both dates."
    ),
    "median_match_days": _(
        "Median days from a match's start to its close, or to the end of the period while it "
        "is open. Withheld when the group has fewer than k started matches."
    ),
    "sessions_per_active_month": _filled(
        _(
            "Session logs held up to the end of the period ÷ the months the group's matches were "
            "open (a month is %(days)s days). Withheld below k started matches."
        ),
        days=Decimal(f"{DAYS_PER_MONTH:.2f}"),
    ),
    "early_closure_rate": _filled(
        _("Matches closed within %(days)s days of their start or before their planned end ÷ closed matches."),
        days=ACTIVE_DAYS,
    ),
    "language_concordance": _(
        "Started matches in which the mentor speaks the mentee's preferred language ÷ started "
        "matches whose mentee has a preferred language. Only matches where both people consent "
        "to anonymous statistics count."
    ),
    "culture_concordance": _(
        "Started matches in which mentor and mentee share a cultural background ÷ started "
        "matches where both have one recorded. Only matches where both people consent to "
        "anonymous statistics count."
    ),
    "outcome_change": _(
        "Mentees: mean change on the programme's headline outcome instrument between the baseline "
        "and the latest measure (the one at closure, or the midway one while there is none), over "
        "the mentees who have both, measured up to the end of the period; a rise means a higher "
        "score on the instrument's scale. Withheld when fewer than k mentees have both measures or "
        "the group's count is withheld. Mentors: always empty, as a mentor's change is not an "
        "outcome measure."
    ),
    "matched_rate": _("Matched ÷ entered (referred mentees, applied mentors)."),
    "completion_rate": _(
        "Mentees: closed with planned completion ÷ matched. Mentors: retained 6 months ÷ matched."
    ),
    "disparity": _filled(
        _(
            "A group's rate ÷ the reference group's rate. For migrant background the reference is "
            "the chosen reference group (“No migrant background” unless the manager picks another); "
            "for the other dimensions it is everyone in the population. Flagged when below "
            "%(low)s or above %(high)s; empty when either rate is withheld or the "
            "reference rate is zero."
        ),
        low=DISPARITY_LOW,
        high=DISPARITY_HIGH,
    ),
    "groups": _(
        "Each person is in exactly one group of every dimension, so groups add up to the total. "
        "Preferred language: the language marked preferred (“none” when none is). Cultural "
        "background: the one recorded, “multiple” when several are, “none” when none is. "
        "Gender: the self-description read as woman, man, another gender, or not stated. Age "
        "band: as recorded, or not stated."
    ),
    "no_consent": _filled(
        _(
            "People without active consent to anonymous statistics are counted only in the group "
            "“%(group)s” of every dimension, never under their background, language, "
            "gender or age band."
        ),
        group=NO_CONSENT_LABEL,
    ),
    "suppression": _filled(
        _(
            "Counts below k are shown as “< k”. Groups of fewer than k people are counted together "
            "in the line “%(other)s” (listed under it), with the next smallest group added "
            "while that line would still hold fewer than k; their own figures are all withheld. "
            "Where the total of a stage would let a small count be worked out, a second count is "
            "withheld too (shown as “withheld”). Every rate, median, mean or ratio whose "
            "denominator is below k, or built on a withheld count, is withheld, and so is every "
            "figure about matches that rests on fewer than k people. Denominators of match rates "
            "are never shown."
        ),
        other=OTHER_LABEL,
    ),
    "period": _(
        "People who entered (referred or applied) between the period's start and end, followed "
        "up to the end of the period or the data's as-of date, whichever is earlier. Without a "
        "period: everyone, up to the as-of date."
    ),
    "migrant_share_mentees": _("First plus second generation ÷ all referred mentees."),
    "migrant_share_mentors": _("First plus second generation ÷ all mentors who applied."),
    "mentor_to_mentee_ratio": _(
        "Migrant share among mentors ÷ migrant share among mentees: 1.0 means migrants take part "
        "as mentors as much as they do as mentees."
    ),
}


def definitions_text(language: str) -> dict[str, str]:
    """``DEFINITIONS`` as plain text in ``language`` (what a snapshot stores)."""
    with translation.override(language):
        return {key: str(text) for key, text in DEFINITIONS.items()}


# --- SQL building blocks ---------------------------------------------------------------------


class Percentile(Aggregate):
    """The continuous median, ``percentile_cont(0.5)`` (PostgreSQL)."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class DaysBetween(Func):
    """Whole days from the first date to the second (negative if it is earlier)."""

    arity = 2
    output_field = IntegerField()

    def __init__(self, start, end, **extra):
        # Given as (end, start) so the joiner turns them into "end - start".
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


@dataclass(frozen=True)
class _Population:
    key: str
    model: type
    stages: list[tuple[str, str]]
    entry_field: str  # referred_on / applied_on
    waiting_from: str  # the date median_days_to_match counts from
    match_role: str  # the Match field pointing at this population


POPULATIONS = {
    "mentees": _Population("mentees", Mentee, MENTEE_STAGES, "referred_on", "intake_completed_on", "mentee"),
    "mentors": _Population("mentors", Mentor, MENTOR_STAGES, "applied_on", "approved_on", "mentor"),
}

_Backgrounds = Person.cultural_backgrounds.through


def _group_expression(qs: QuerySet, dimension: str, person: str) -> QuerySet:
    """Alias ``grp``: the person's group in ``dimension`` (``TOTAL`` for everyone)."""
    if dimension == TOTAL:
        return qs.alias(grp=Value(TOTAL, output_field=CharField()))
    qs = qs.alias(stats_consent=has_active_consent(ConsentPurpose.STATISTICS, person))
    if dimension == "migrant_background":
        inner = F(f"{person}__migrant_background")
    elif dimension == "preferred_language":
        preferred = PersonLanguage.objects.filter(person=OuterRef(person), is_preferred=True)
        inner = Coalesce(
            Subquery(preferred.values("language")[:1]), Value(NO_LANGUAGE), output_field=CharField()
        )
    elif dimension == "cultural_background":
        codes = _Backgrounds.objects.filter(person=OuterRef(person))
        qs = qs.alias(
            cb_first=Subquery(
                codes.order_by("culturalbackground__code").values("culturalbackground__code")[:1]
            ),
            cb_last=Subquery(
                codes.order_by("-culturalbackground__code").values("culturalbackground__code")[:1]
            ),
        )
        inner = Case(
            When(cb_first__isnull=True, then=Value(NO_BACKGROUND)),
            When(cb_first=F("cb_last"), then=F("cb_first")),
            default=Value(MULTIPLE),
            output_field=CharField(),
        )
    elif dimension == "gender":
        qs = qs.alias(gender_said=Lower(Trim(F(f"{person}__gender"))))
        inner = Case(
            When(gender_said__in=WOMAN_WORDS, then=Value("woman")),
            When(gender_said__in=MAN_WORDS, then=Value("man")),
            When(gender_said__in=NOT_STATED_WORDS, then=Value(NOT_STATED)),
            default=Value("another"),
            output_field=CharField(),
        )
    elif dimension == "age_band":
        inner = Case(
            When(**{f"{person}__age_band": ""}, then=Value(NOT_STATED)),
            default=F(f"{person}__age_band"),
            output_field=CharField(),
        )
    else:
        raise ValueError(f"Unknown dimension {dimension!r}")
    return qs.alias(
        grp=Case(When(stats_consent=True, then=inner), default=Value(NO_CONSENT), output_field=CharField())
    )


def _people(
    spec: _Population, *, programme_ids: list[int], period_start, period_end, until: datetime.date
) -> QuerySet:
    """The population with ``furthest`` (index of the furthest stage reached by ``until``) and
    ``wait_days`` (days to the first match) as aliases."""
    entry = {f"{spec.entry_field}__lte": until}
    if period_start:
        entry[f"{spec.entry_field}__gte"] = period_start
    if period_end:
        entry[f"{spec.entry_field}__lte"] = min(period_end, until)
    qs = spec.model.objects.filter(programme_id__in=programme_ids, **entry)
    started = Match.objects.filter(**{spec.match_role: OuterRef("pk")}, started_on__lte=until)
    first_start = Subquery(started.order_by("started_on").values("started_on")[:1], output_field=DateField())
    qs = qs.alias(first_start=first_start)
    if spec.key == "mentees":
        reached = [
            Q(intake_completed_on__lte=until),
            Exists(started),
            Exists(
                started.filter(started_on__lte=until - datetime.timedelta(days=ACTIVE_DAYS))
                .alias(open_days=DaysBetween("started_on", "closed_on"))
                .filter(Q(closed_on__isnull=True) | Q(open_days__gte=ACTIVE_DAYS))
            ),
            Exists(
                started.filter(closed_on__lte=until, closure_reason=Match.ClosureReason.PLANNED_COMPLETION)
            ),
        ]
        # The headline instrument's baseline and latest later measure (closure before midway).
        headline = OutcomeMeasure.objects.filter(
            mentee=OuterRef("pk"),
            instrument__programme=OuterRef("programme"),
            instrument__is_headline=True,
            measured_on__lte=until,
        ).order_by()
        closure_first = Case(
            When(stage=OutcomeStage.CLOSURE, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        qs = qs.alias(
            outcome_baseline=Subquery(headline.filter(stage=OutcomeStage.BASELINE).values("value")[:1]),
            outcome_latest=Subquery(
                headline.filter(stage__in=[OutcomeStage.MIDWAY, OutcomeStage.CLOSURE])
                .order_by(closure_first)
                .values("value")[:1]
            ),
            outcome_change=F("outcome_latest") - F("outcome_baseline"),
        )
    else:
        beyond_screening = [Mentor.Status.TRAINING, Mentor.Status.APPROVED, Mentor.Status.ACTIVE]
        qs = qs.alias(stayed_days=DaysBetween("first_start", "left_on"))
        reached = [
            Exists(
                MentorStatusChange.objects.filter(
                    mentor=OuterRef("pk"), to_status__in=beyond_screening, changed_at__date__lte=until
                )
            )
            | Exists(TrainingRecord.objects.filter(mentor=OuterRef("pk"), completed_on__lte=until)),
            Q(training_completed_on__lte=until),
            Q(approved_on__lte=until),
            Exists(started),
            Q(first_start__lte=until - datetime.timedelta(days=RETAINED_DAYS))
            & (Q(left_on__isnull=True) | Q(stayed_days__gte=RETAINED_DAYS)),
        ]
    furthest = Case(
        *[When(condition, then=Value(i + 1)) for i, condition in reversed(list(enumerate(reached)))],
        default=Value(0),
        output_field=IntegerField(),
    )
    return qs.alias(
        furthest=furthest,
        wait_days=Case(
            When(
                Q(**{f"{spec.waiting_from}__lte": until}) & Q(first_start__gte=F(spec.waiting_from)),
                then=DaysBetween(spec.waiting_from, "first_start"),
            ),
            default=None,
            output_field=IntegerField(),
        ),
    )


def _matches(
    spec: _Population, *, programme_ids: list[int], period_start, period_end, until: datetime.date
) -> QuerySet:
    """Started matches of the population's people, with per-match aliases for the aggregates."""
    role = spec.match_role
    entry = {f"{role}__{spec.entry_field}__lte": until}
    if period_start:
        entry[f"{role}__{spec.entry_field}__gte"] = period_start
    if period_end:
        entry[f"{role}__{spec.entry_field}__lte"] = min(period_end, until)
    qs = Match.objects.filter(**{f"{role}__programme_id__in": programme_ids}, started_on__lte=until, **entry)
    sessions = (
        SessionLog.objects.filter(match=OuterRef("pk"), held_on__lte=until)
        .order_by()
        .values("match")
        .annotate(n=Count("pk"))
        .values("n")
    )
    preferred = PersonLanguage.objects.filter(person=OuterRef("mentee__person"), is_preferred=True)
    mentee_backgrounds = _Backgrounds.objects.filter(person=OuterRef("mentee__person"))
    mentor_backgrounds = _Backgrounds.objects.filter(person=OuterRef("mentor__person"))
    return qs.alias(
        end=Case(
            When(closed_on__lte=until, then=F("closed_on")), default=Value(until), output_field=DateField()
        ),
        match_days=DaysBetween("started_on", "end"),
        sessions=Coalesce(Subquery(sessions, output_field=IntegerField()), Value(0)),
        both_consent=has_active_consent(ConsentPurpose.STATISTICS, "mentee__person")
        & has_active_consent(ConsentPurpose.STATISTICS, "mentor__person"),
        mentee_language=Subquery(preferred.values("language")[:1]),
        same_language=Exists(
            PersonLanguage.objects.filter(
                person=OuterRef("mentor__person"), language=OuterRef("mentee_language")
            )
        ),
        both_backgrounds=Exists(mentee_backgrounds) & Exists(mentor_backgrounds),
        same_background=Exists(
            _Backgrounds.objects.filter(
                person=OuterRef("mentor__person"),
                culturalbackground__in=_Backgrounds.objects.filter(
                    person=OuterRef(OuterRef("mentee__person"))
                ).values("culturalbackground"),
            )
        ),
    )


def _medians(qs: QuerySet, value: str) -> dict[str, tuple[int, float]]:
    """``{group: (how many values, median)}`` of the alias ``value`` over the alias ``grp``."""
    qs = qs.filter(**{f"{value}__isnull": False})
    if connection.vendor == "postgresql":
        rows = qs.values(g=F("grp")).annotate(n=Count("pk"), median=Percentile(value)).order_by()
        # A constant group (the total) is not grouped: an empty population answers one row, n = 0.
        return {row["g"]: (row["n"], float(row["median"])) for row in rows if row["n"]}
    # Elsewhere: rank the values within each group and keep the middle one or two.
    ranked = qs.annotate(
        g=F("grp"),
        v=F(value),
        rank=Window(RowNumber(), partition_by=[F("grp")], order_by=[F(value).asc(), F("pk").asc()]),
        n=Window(Count("pk"), partition_by=[F("grp")]),
    ).filter(rank__gte=(F("n") + 1) / 2, rank__lte=(F("n") + 2) / 2)
    middles: dict[str, list] = {}
    for group, middle, n in ranked.values_list("g", "v", "n"):
        middles.setdefault(group, [n, []])[1].append(middle)
    return {group: (n, sum(values) / len(values)) for group, (n, values) in middles.items()}


def _aggregate(
    spec: _Population, *, programme_ids: list[int], period_start, period_end, until: datetime.date
) -> dict:
    """The raw aggregates of a population: per dimension (and ``TOTAL``), per group."""
    people = _people(
        spec, programme_ids=programme_ids, period_start=period_start, period_end=period_end, until=until
    )
    matches = _matches(
        spec, programme_ids=programme_ids, period_start=period_start, period_end=period_end, until=until
    )
    stage_keys = [key for key, _label in spec.stages]
    closed = Q(closed_on__lte=until)
    early = closed & (
        Q(match_days__lt=ACTIVE_DAYS) | Q(planned_end_on__isnull=False, closed_on__lt=F("planned_end_on"))
    )
    language_known = Q(both_consent=True, mentee_language__isnull=False)
    backgrounds_known = Q(both_consent=True, both_backgrounds=True)
    out: dict[str, dict] = {}
    for dimension in [TOTAL, *(key for key, _label in DIMENSIONS)]:
        grouped_people = _group_expression(people, dimension, "person")
        outcomes = {}
        if spec.key == "mentees":  # one query with the funnel: mentees with both measures, their mean
            outcomes = {
                "outcome_n": Count("pk", filter=Q(outcome_change__isnull=False)),
                "outcome_mean": Avg("outcome_change", output_field=FloatField()),
            }
        funnel_rows = list(
            grouped_people.values(g=F("grp"))
            .annotate(
                **{f"s{i}": Count("pk", filter=Q(furthest=i)) for i in range(len(stage_keys))}, **outcomes
            )
            .order_by()
        )
        grouped_matches = _group_expression(matches, dimension, f"{spec.match_role}__person")
        match_rows = (
            grouped_matches.values(g=F("grp"))
            .annotate(
                matches=Count("pk"),
                people=Count(spec.match_role, distinct=True),
                days=Sum("match_days"),
                sessions=Sum("sessions"),
                closed=Count("pk", filter=closed),
                early=Count("pk", filter=early),
                language_n=Count("pk", filter=language_known),
                language_yes=Count("pk", filter=language_known & Q(same_language=True)),
                culture_n=Count("pk", filter=backgrounds_known),
                culture_yes=Count("pk", filter=backgrounds_known & Q(same_background=True)),
            )
            .order_by()
        )
        out[dimension] = {
            "funnel": {
                row["g"]: {stage: row[f"s{i}"] for i, stage in enumerate(stage_keys)} for row in funnel_rows
            },
            "outcome": {row["g"]: (row["outcome_n"], row["outcome_mean"]) for row in funnel_rows if outcomes},
            "matches": {row.pop("g"): row for row in match_rows},
            "wait": _medians(grouped_people, "wait_days"),
            "match_days": _medians(grouped_matches, "match_days"),
        }
    return out


def _until(*, as_of: datetime.date | None, period_end: datetime.date | None) -> datetime.date:
    as_of = as_of or timezone.localdate()
    return min(as_of, period_end) if period_end else as_of


def floor_queries(*, programme_ids: list[int]) -> None:
    """Run the bare aggregate queries a snapshot of both populations needs (no suppression,
    no assembly): the floor a full snapshot's time is compared with. The mentees' outcome
    change is part of ``_aggregate``'s funnel query, so the floor includes it too."""
    until = _until(as_of=None, period_end=None)
    for spec in POPULATIONS.values():
        _aggregate(spec, programme_ids=programme_ids, period_start=None, period_end=None, until=until)
        _group_lists(programme_ids=programme_ids)


# --- Groups ----------------------------------------------------------------------------------


def _group_lists(*, programme_ids: list[int]) -> dict[str, list[tuple[str, str]]]:
    """Every group of every dimension, in display order, empty ones included."""
    languages = (
        PersonLanguage.objects.filter(person__programme_id__in=programme_ids, is_preferred=True)
        .filter(has_active_consent(ConsentPurpose.STATISTICS, "person"))
        .order_by("language")
        .values_list("language", flat=True)
        .distinct()
    )
    backgrounds: dict[str, str] = {}
    for code, name in (
        CulturalBackground.objects.filter(programme_id__in=programme_ids)
        .order_by("name", "code")
        .values_list("code", "name")
    ):
        backgrounds.setdefault(code, name)
    no_consent = (NO_CONSENT, NO_CONSENT_LABEL)
    return {
        "migrant_background": [*MigrantBackground.choices, no_consent],
        "preferred_language": [
            *((code, language_name(code)) for code in languages),
            (NO_LANGUAGE, NO_LANGUAGE_LABEL),
            no_consent,
        ],
        "cultural_background": [
            *backgrounds.items(),
            (MULTIPLE, MULTIPLE_LABEL),
            (NO_BACKGROUND, NO_BACKGROUND_LABEL),
            no_consent,
        ],
        "gender": [*GENDER_GROUPS, no_consent],
        "age_band": [*AgeBand.choices, (NOT_STATED, NOT_STATED_LABEL), no_consent],
    }


# --- Assembly --------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 4)


def _median(medians: dict, group: str, k: int) -> float | None:
    n, median = medians.get(group, (0, None))
    return _number(median) if n >= k else None


def _disparity(rates: dict[str, float | None], reference: dict[str, float | None]) -> dict:
    out = {}
    for metric, value in rates.items():
        ratio = _ratio(value, reference.get(metric))
        flag = None
        if ratio is not None:
            flag = "below" if ratio < DISPARITY_LOW else "above" if ratio > DISPARITY_HIGH else None
        out[metric] = {"ratio": ratio, "flag": flag}
    return out


def _exact_rate(numerator: Cell, denominator: Cell, k: int) -> float | None:
    """``suppression.rate`` unrounded, so ratios of rates are not ratios of roundings."""
    if rate(numerator, denominator, k=k) is None:
        return None
    return numerator.value / denominator.value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _match_rate(row: dict, yes: str, n: str, k: int) -> float | None:
    """A rate over matches, published when its denominator holds k matches or more."""
    denominator = row.get(n, 0)
    if denominator < k:
        return None
    return row.get(yes, 0) / denominator


def _pool(rows: dict[str, dict], members: list[str]) -> dict:
    """The match aggregates of the pooled groups, added up (all of them are sums or counts)."""
    pooled: dict[str, int] = {}
    for group in members:
        for key, value in rows.get(group, {}).items():
            pooled[key] = pooled.get(key, 0) + (value or 0)
    return pooled


def _pool_outcome(
    outcomes: dict[str, tuple[int, float | None]], members: list[str]
) -> tuple[int, float | None]:
    """The pooled groups' mean outcome change, weighted by how many were measured in each."""
    n = sum(outcomes.get(group, (0, None))[0] for group in members)
    if not n:
        return 0, None
    total = sum(count * mean for count, mean in (outcomes.get(g, (0, None)) for g in members) if count)
    return n, total / n


RATES = {
    "early_closure_rate": ("early", "closed"),
    "language_concordance": ("language_yes", "language_n"),
    "culture_concordance": ("culture_yes", "culture_n"),
}


def compute_population(
    *,
    programme_ids: list[int],
    population: str,
    k: int,
    period_start: datetime.date | None,
    period_end: datetime.date | None,
    reference_group: str = MigrantBackground.NONE,
    as_of: datetime.date | None = None,
) -> dict:
    """The contract's ``Population`` of ``population`` ("mentees" or "mentors") over the given
    programmes: every dimension's groups and total, every count suppressed at ``k``."""
    if population not in POPULATIONS:
        raise ValueError(f"Unknown population {population!r}")
    if reference_group not in MigrantBackground.values:
        raise ValueError(f"Unknown reference group {reference_group!r}")
    spec = POPULATIONS[population]
    until = _until(as_of=as_of, period_end=period_end)
    raw = _aggregate(
        spec, programme_ids=programme_ids, period_start=period_start, period_end=period_end, until=until
    )
    group_lists = _group_lists(programme_ids=programme_ids)
    stage_keys = [key for key, _label in spec.stages]

    # Any group the database answers that the vocabulary does not list is still shown.
    for dimension, _label in DIMENSIONS:
        listed = {key for key, _l in group_lists[dimension]}
        for extra in sorted(set(raw[dimension]["funnel"]) - listed):
            group_lists[dimension].insert(-1, (extra, extra))

    tables = {
        dimension: {
            group: raw[dimension]["funnel"].get(group, dict.fromkeys(stage_keys, 0))
            for group, _l in group_lists[dimension]
        }
        for dimension, _label in DIMENSIONS
    }
    funnels = suppress_funnels(tables, stages=stage_keys, k=k)
    total_matches = raw[TOTAL]["matches"].get(TOTAL, {})

    breakdowns = {}
    for dimension, dimension_label in DIMENSIONS:
        suppressed = funnels[dimension]
        labels = dict(group_lists[dimension])
        aggregates = raw[dimension]
        match_rows = dict(aggregates["matches"])
        if suppressed.pooled:
            # The pooled groups' own figures are withheld; together they are one more line.
            match_rows[OTHER] = _pool(match_rows, suppressed.pooled)
            aggregates = {
                **aggregates,
                "outcome": {
                    **aggregates["outcome"],
                    OTHER: _pool_outcome(aggregates["outcome"], suppressed.pooled),
                },
            }
        common = {"cells": suppressed.cells, "stage_keys": stage_keys, "k": k}
        rows = [
            _group_figures(
                group=group,
                label=label,
                medians=aggregates,
                match_row=match_rows.get(group, {}),
                pooled=group in suppressed.pooled,
                **common,
            )
            for group, label in group_lists[dimension]
        ]
        if suppressed.pooled:
            other = _group_figures(
                group=OTHER,
                label=OTHER_LABEL,
                medians=aggregates,
                match_row=match_rows[OTHER],
                **common,
            )
            other["pooled_groups"] = [str(labels[group]) for group in suppressed.pooled]
            rows.append(other)
        total = _group_figures(
            group=TOTAL,
            label=TOTAL_LABEL,
            medians=raw[TOTAL],
            match_row=total_matches,
            **common,
        )
        if dimension == "migrant_background":
            reference = next(row for row in rows if row["group"] == reference_group)["_rates"]
        else:
            reference = total["_rates"]
        for row in [*rows, total]:
            row["disparity"] = _disparity(row.pop("_rates"), reference)
        breakdowns[dimension] = {"label": str(dimension_label), "groups": rows, "total": total}

    return {
        "stages": [{"key": key, "label": str(label)} for key, label in spec.stages],
        "breakdowns": breakdowns,
    }


def _group_figures(
    *,
    group: str,
    label: str,
    cells: dict[tuple[str, str], Cell],
    stage_keys: list[str],
    medians: dict,
    match_row: dict,
    k: int,
    pooled: bool = False,
) -> dict:
    """One ``GroupFigures`` (with its unrounded rates under ``_rates`` for the disparities).
    A pooled group (counted in the other-groups line) has every figure withheld."""
    funnel = {stage: cells[(group, stage)] for stage in stage_keys}
    group_rates = {metric: _match_rate(match_row, yes, n, k) for metric, (yes, n) in RATES.items()}
    conversion = {stage_keys[0]: None}
    representation = {}
    for i, stage in enumerate(stage_keys):
        if i:
            conversion[stage] = rate(funnel[stage], funnel[stage_keys[i - 1]], k=k)
        representation[stage] = _representation(
            funnel[stage],
            cells[(TOTAL, stage)],
            funnel[stage_keys[0]],
            cells[(TOTAL, stage_keys[0])],
            k,
        )
    # The mean change rests on the mentees measured twice: withheld below k of them, or when the
    # group's own count is withheld (mentors: never computed, "outcome" is empty).
    measured, mean_change = medians["outcome"].get(group, (0, None))
    outcome_change = None
    if measured >= k and not funnel[stage_keys[0]].suppressed:
        outcome_change = _number(mean_change)
    # Match figures of fewer than k people (a mentor's several matches) are withheld, and so is
    # everything about a group whose own size is not published.
    enough = match_row.get("matches", 0) >= k and match_row.get("people", 0) >= k
    enough = enough and not pooled and not funnel[stage_keys[0]].suppressed
    sessions = median_match_days = None
    if enough and match_row.get("days"):
        sessions = _number(match_row["sessions"] / (match_row["days"] / DAYS_PER_MONTH))
    if enough:
        median_match_days = _median(medians["match_days"], group, k)
    else:
        group_rates = dict.fromkeys(group_rates)
    return {
        "group": group,
        "label": str(label),
        "funnel": {stage: cell.as_dict() for stage, cell in funnel.items()},
        "conversion": conversion,
        "representation": representation,
        "median_days_to_match": None if pooled else _median(medians["wait"], group, k),
        "pooled": pooled,
        "median_match_days": median_match_days,
        "sessions_per_active_month": sessions,
        "early_closure_rate": _round(group_rates["early_closure_rate"]),
        "language_concordance": _round(group_rates["language_concordance"]),
        "culture_concordance": _round(group_rates["culture_concordance"]),
        "outcome_change": outcome_change,
        "_rates": {
            "matched_rate": _exact_rate(funnel["matched"], funnel[stage_keys[0]], k),
            "completion_rate": _exact_rate(funnel[stage_keys[-1]], funnel["matched"], k),
            "early_closure_rate": group_rates["early_closure_rate"],
            "language_concordance": group_rates["language_concordance"],
        },
    }


def _representation(stage: Cell, stage_total: Cell, entry: Cell, entry_total: Cell, k: int) -> float | None:
    """(group at stage ÷ everyone at stage) ÷ (group at entry ÷ everyone at entry)."""
    share_stage = rate(stage, stage_total, k=k)
    share_entry = rate(entry, entry_total, k=k)
    if share_stage is None or share_entry is None or entry.value < k:
        return None
    return round((stage.value / stage_total.value) / (entry.value / entry_total.value), 4)


MIGRANT_GROUPS = [MigrantBackground.FIRST_GENERATION, MigrantBackground.SECOND_GENERATION]


def _migrant_share(population: dict) -> float | None:
    """First + second generation ÷ everyone at entry, from published cells only: were one of
    the two withheld, their sum would give it back."""
    breakdown = population["breakdowns"]["migrant_background"]
    entry = population["stages"][0]["key"]
    by_group = {row["group"]: row["funnel"][entry] for row in breakdown["groups"]}
    total = breakdown["total"]["funnel"][entry]
    parts = [by_group[group] for group in MIGRANT_GROUPS]
    if total["suppressed"] or any(part["suppressed"] for part in parts) or total["value"] == 0:
        return None
    return round(sum(part["value"] for part in parts) / total["value"], 4)


def compute_participation(*, mentees: dict, mentors: dict, k: int) -> dict:
    """The contract's ``participation`` block, from the two computed populations' published
    entry-stage cells (so it can reveal nothing they do not)."""
    share_mentees = _migrant_share(mentees)
    share_mentors = _migrant_share(mentors)
    return {
        "migrant_share_mentees": share_mentees,
        "migrant_share_mentors": share_mentors,
        "mentor_to_mentee_ratio": _ratio(share_mentors, share_mentees),
    }
