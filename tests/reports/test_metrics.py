"""Participation-equality figures (``reports.metrics``), worked out by hand on small programmes."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching.models import Match
from mentoring.models import (
    AgeBand,
    Consent,
    ConsentPurpose,
    LanguageLevel,
    Mentor,
    MentorStatusChange,
    MigrantBackground,
)
from reports import metrics
from reports.figures import DIMENSIONS, MENTEE_STAGES, MENTOR_STAGES, NO_CONSENT, TOTAL
from sessions.models import OutcomeInstrument, OutcomeMeasure, SessionLog
from tests.factories import MenteeFactory, MentorFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 6, 30)
FIRST = MigrantBackground.FIRST_GENERATION
SECOND = MigrantBackground.SECOND_GENERATION
NONE = MigrantBackground.NONE


def days_ago(n: int) -> datetime.date:
    return AS_OF - datetime.timedelta(days=n)


INTAKE = days_ago(300)
REFERRED = days_ago(320)


def make_mentee(programme, *, background=FIRST, intake=INTAKE, referred=REFERRED, **person):
    return MenteeFactory(
        programme=programme,
        referred_on=referred,
        intake_completed_on=intake,
        person__migrant_background=background,
        **{f"person__{key}": value for key, value in person.items()},
    )


def make_mentor(programme, *, background=FIRST, **fields):
    person = {key[8:]: fields.pop(key) for key in list(fields) if key.startswith("person__")}
    defaults = {
        "applied_on": days_ago(400),
        "status": Mentor.Status.APPROVED,
        "training_completed_on": days_ago(380),
        "approved_on": days_ago(370),
        "capacity": 3,
    }
    return MentorFactory(
        programme=programme,
        person__migrant_background=background,
        **{f"person__{key}": value for key, value in person.items()},
        **{**defaults, **fields},
    )


def make_match(mentor, mentee, *, started, closed=None, reason="", planned_end=None):
    return Match.objects.create(
        programme=mentee.programme,
        mentor=mentor,
        mentee=mentee,
        status=Match.Status.CLOSED if closed else Match.Status.ACTIVE,
        started_on=started,
        closed_on=closed,
        closure_reason=reason,
        planned_end_on=planned_end,
    )


def population(programme, which="mentees", **kwargs):
    kwargs.setdefault("period_start", None)
    kwargs.setdefault("period_end", None)
    kwargs.setdefault("k", programme.small_cell_k)
    return metrics.compute_population(programme_ids=[programme.pk], population=which, as_of=AS_OF, **kwargs)


def group(pop, dimension, key):
    breakdown = pop["breakdowns"][dimension]
    if key == TOTAL:
        return breakdown["total"]
    return next(row for row in breakdown["groups"] if row["group"] == key)


def funnel_values(figures):
    return {stage: cell["value"] for stage, cell in figures["funnel"].items()}


def walk_cells(node, path=()):
    """Every Cell dict inside a population, with where it is."""
    if isinstance(node, dict):
        if set(node) == {"value", "suppressed", "display"}:
            yield path, node
            return
        for key, value in node.items():
            yield from walk_cells(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_cells(value, (*path, i))


@pytest.fixture
def funnel_programme():
    """25 first-generation mentees, 5 whose furthest stage is each of the five stages."""
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    for _ in range(5):
        make_mentee(programme, intake=None)
        make_mentee(programme)
        make_match(mentor, make_mentee(programme), started=days_ago(30))
        make_match(mentor, make_mentee(programme), started=days_ago(120))
        make_match(
            mentor,
            make_mentee(programme),
            started=days_ago(200),
            closed=days_ago(20),
            reason=Match.ClosureReason.PLANNED_COMPLETION,
        )
    return programme


# --- Funnels ---------------------------------------------------------------------------------


def test_mentee_funnel_counts_everyone_at_every_stage_up_to_the_furthest_they_reached(funnel_programme):
    mentees = population(funnel_programme)

    first = group(mentees, "migrant_background", FIRST)
    assert funnel_values(first) == {
        "referred": 25,
        "intake_complete": 20,
        "matched": 15,
        "active_3_months": 10,
        "completed": 5,
    }
    assert first["conversion"] == {
        "referred": None,
        "intake_complete": 0.8,
        "matched": 0.75,
        "active_3_months": round(10 / 15, 4),
        "completed": 0.5,
    }
    assert funnel_values(group(mentees, "migrant_background", TOTAL)) == funnel_values(first)
    assert [stage["key"] for stage in mentees["stages"]] == [key for key, _ in MENTEE_STAGES]


def test_a_match_closed_within_three_months_does_not_make_the_mentee_active_3_months(funnel_programme):
    mentor = Mentor.objects.get(programme=funnel_programme)
    for _ in range(5):
        make_match(
            mentor,
            make_mentee(funnel_programme),
            started=days_ago(150),
            closed=days_ago(100),
            reason=Match.ClosureReason.LOST_CONTACT,
        )

    first = group(population(funnel_programme), "migrant_background", FIRST)

    assert funnel_values(first)["matched"] == 20
    assert funnel_values(first)["active_3_months"] == 10


def test_representation_compares_a_groups_share_at_a_stage_with_its_share_at_entry(funnel_programme):
    # 25 non-migrant mentees: 20 stay referred, 5 complete intake, none is matched.
    for i in range(25):
        make_mentee(funnel_programme, background=NONE, intake=days_ago(300) if i < 5 else None)

    mentees = population(funnel_programme)
    first = group(mentees, "migrant_background", FIRST)
    none = group(mentees, "migrant_background", NONE)

    # At entry each group is 25 of 50; with intake complete, 20 and 5 of 25.
    assert first["representation"]["referred"] == 1.0
    assert first["representation"]["intake_complete"] == round((20 / 25) / (25 / 50), 4)
    assert none["representation"]["intake_complete"] == round((5 / 25) / (25 / 50), 4)
    # No non-migrant mentee is matched: 0 reads "< 5", yet nobody needs protecting, so the
    # 15 matched first-generation mentees (all of the 15 matched) stay published.
    assert none["funnel"]["matched"]["display"] == "< 5"
    assert first["funnel"]["matched"]["value"] == 15
    assert group(mentees, "migrant_background", TOTAL)["funnel"]["matched"]["value"] == 15
    assert first["representation"]["matched"] == round((15 / 15) / (25 / 50), 4)
    assert none["representation"]["matched"] is None


def test_mentor_funnel_follows_the_lifecycle_and_retention_from_the_first_match():
    programme = ProgrammeFactory(small_cell_k=5)
    mentee_pool = iter(make_mentee(programme) for _ in range(10))
    for _ in range(5):
        make_mentor(programme, status=Mentor.Status.APPLIED, training_completed_on=None, approved_on=None)
        screened = make_mentor(
            programme, status=Mentor.Status.TRAINING, training_completed_on=None, approved_on=None
        )
        MentorStatusChange.objects.create(
            mentor=screened,
            from_status="screening",
            to_status="training",
            changed_at=datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC),
        )
        make_mentor(programme, status=Mentor.Status.TRAINING, approved_on=None)  # trained
        make_mentor(programme)  # approved, never matched
        make_match(make_mentor(programme), next(mentee_pool), started=days_ago(100))  # matched
        retained = make_mentor(programme, left_on=days_ago(5), status=Mentor.Status.WITHDRAWN)
        make_match(retained, next(mentee_pool), started=days_ago(300), closed=days_ago(10), reason="other")
    # Left 100 days after a first match 300 days ago: matched, not retained.
    for _ in range(5):
        left = make_mentor(programme, left_on=days_ago(200), status=Mentor.Status.WITHDRAWN)
        make_match(left, make_mentee(programme), started=days_ago(300), closed=days_ago(200), reason="other")

    mentors = population(programme, "mentors")

    assert [stage["key"] for stage in mentors["stages"]] == [key for key, _ in MENTOR_STAGES]
    assert funnel_values(group(mentors, "migrant_background", FIRST)) == {
        "applied": 35,
        "screened": 30,
        "trained": 25,
        "approved": 20,
        "matched": 15,
        "retained_6_months": 5,
    }


def test_the_period_keeps_the_people_who_entered_in_it_and_follows_them_to_its_end(funnel_programme):
    mentor = Mentor.objects.get(programme=funnel_programme)
    for _ in range(6):
        make_mentee(funnel_programme, referred=days_ago(60), intake=None)
    for _ in range(5):
        # Referred in the period, matched after it ended: counted, but not as matched.
        make_match(
            mentor,
            make_mentee(funnel_programme, referred=days_ago(60), intake=days_ago(50)),
            started=days_ago(5),
        )

    first = group(
        population(funnel_programme, period_start=days_ago(90), period_end=days_ago(10)),
        "migrant_background",
        FIRST,
    )

    assert funnel_values(first)["referred"] == 11
    assert funnel_values(first)["intake_complete"] == 5
    assert first["funnel"]["matched"]["display"] == "< 5"


# --- Timing, intensity, closures and concordance ---------------------------------------------


@pytest.mark.parametrize(
    ("waits", "median"),
    [([10, 20, 30, 40, 100], 30.0), ([10, 20, 30, 40, 100, 55], 35.0), ([3, 4, 4, 8, 9, 10, 12], 8.0)],
)
def test_median_days_from_intake_to_the_first_match(waits, median):
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    for wait in waits:
        mentee = make_mentee(programme, intake=days_ago(200 + wait))
        make_match(mentor, mentee, started=days_ago(200))
        # A later rematch does not change the wait for the first one.
        Match.objects.filter(mentee=mentee).update(
            status=Match.Status.CLOSED, closed_on=days_ago(150), closure_reason="mismatch"
        )
        make_match(mentor, mentee, started=days_ago(100))

    mentees = population(programme)

    assert group(mentees, "migrant_background", FIRST)["median_days_to_match"] == median
    assert group(mentees, "migrant_background", TOTAL)["median_days_to_match"] == median


def test_median_match_days_count_open_matches_to_the_as_of_date():
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    # Lengths 10, 20, 30 (open), 45, 50 (open), 61: median (30 + 45) / 2.
    for started, closed in [(110, 100), (220, 200), (30, None), (345, 300), (50, None), (461, 400)]:
        make_match(
            mentor,
            make_mentee(programme),
            started=days_ago(started),
            closed=days_ago(closed) if closed else None,
            reason="other" if closed else "",
        )

    mentees = population(programme)

    assert group(mentees, "migrant_background", FIRST)["median_match_days"] == 37.5
    # Mentors are grouped by the mentor's own group: the one mentor is below k.
    assert group(population(programme, "mentors"), "migrant_background", FIRST)["median_match_days"] is None


def test_sessions_per_active_month_and_early_closure_rate():
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    matches = []
    for i in range(5):  # closed early: 30 days
        matches.append(
            make_match(
                mentor,
                make_mentee(programme),
                started=days_ago(100 + i),
                closed=days_ago(70 + i),
                reason="other",
            )
        )
    for i in range(5):  # closed after 120 days, as planned
        matches.append(
            make_match(
                mentor,
                make_mentee(programme),
                started=days_ago(200 + i),
                closed=days_ago(80 + i),
                reason=Match.ClosureReason.PLANNED_COMPLETION,
            )
        )
    # Closed after 120 days but before its planned end: early as well.
    matches.append(
        make_match(
            mentor,
            make_mentee(programme),
            started=days_ago(200),
            closed=days_ago(80),
            reason="family_moved",
            planned_end=days_ago(10),
        )
    )
    for match in matches:
        for day in range(3):
            SessionLog.objects.create(
                match=match, held_on=match.started_on + datetime.timedelta(days=day * 7), duration_minutes=60,
                mode="in_person", language="uk",
            )  # fmt: skip

    first = group(population(programme), "migrant_background", FIRST)

    assert first["early_closure_rate"] == round(6 / 11, 4)
    active_days = 5 * 30 + 6 * 120
    assert first["sessions_per_active_month"] == round(33 / (active_days / (365.25 / 12)), 1)
    assert first["outcome_change"] is None


def test_language_and_culture_concordance_count_matches_of_people_who_consented():
    programme = ProgrammeFactory(small_cell_k=5)
    ukrainian = make_mentor(
        programme, person__languages=[("uk", LanguageLevel.NATIVE)], person__backgrounds=["ukrainian"]
    )
    romanian = make_mentor(
        programme,
        background=NONE,
        person__languages=[("ro", LanguageLevel.NATIVE)],
        person__backgrounds=["roma"],
    )
    for mentor in (ukrainian, romanian):
        for _ in range(5):
            mentee = make_mentee(
                programme, languages=[("uk", LanguageLevel.NATIVE)], backgrounds=["ukrainian"]
            )
            make_match(mentor, mentee, started=days_ago(40))
    # A mentee without consent to statistics: the match counts in neither rate.
    make_match(
        ukrainian,
        make_mentee(programme, consents=[ConsentPurpose.CASE_MANAGEMENT], backgrounds=["ukrainian"]),
        started=days_ago(40),
    )
    # Five non-migrant mentees, so that the one without consent is pooled with them.
    for _ in range(5):
        make_mentee(programme, background=NONE)

    first = group(population(programme), "migrant_background", FIRST)

    assert first["language_concordance"] == 0.5
    assert first["culture_concordance"] == 0.5


# --- Groups and consent ----------------------------------------------------------------------


def test_people_who_withdrew_consent_are_counted_only_as_no_consent_in_every_dimension():
    programme = ProgrammeFactory(small_cell_k=5)
    for _ in range(6):
        make_mentee(programme, gender="Woman", age_band=AgeBand.AGE_30_44, backgrounds=["ukrainian"])
    for _ in range(5):
        withdrawn = make_mentee(
            programme, gender="female", age_band=AgeBand.AGE_30_44, backgrounds=["ukrainian"]
        )
        Consent.objects.filter(person=withdrawn.person, purpose=ConsentPurpose.STATISTICS).update(
            withdrawn_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        )

    mentees = population(programme)

    expected = {
        "migrant_background": FIRST,
        "preferred_language": "uk",
        "cultural_background": "ukrainian",
        "gender": "woman",
        "age_band": AgeBand.AGE_30_44,
    }
    for dimension, key in expected.items():
        assert group(mentees, dimension, key)["funnel"]["referred"]["value"] == 6, dimension
        assert group(mentees, dimension, NO_CONSENT)["funnel"]["referred"]["value"] == 5, dimension
        assert mentees["breakdowns"][dimension]["total"]["funnel"]["referred"]["value"] == 11


def test_every_person_is_in_exactly_one_group_of_each_dimension():
    programme = ProgrammeFactory(small_cell_k=5)
    specs = [
        {"gender": "Man ", "age_band": "", "backgrounds": ["roma", "hungarian"], "languages": []},
        {
            "gender": "non-binary",
            "age_band": AgeBand.AGE_18_29,
            "backgrounds": [],
            "languages": [("ro", "native")],
        },
        {
            "gender": "",
            "age_band": AgeBand.AGE_45_64,
            "backgrounds": ["roma"],
            "languages": [("hu", "native")],
        },
    ]
    for spec in specs:
        for _ in range(5):
            make_mentee(programme, **spec)

    mentees = population(programme)

    def values(dimension):
        return {
            row["group"]: row["funnel"]["referred"]["value"]
            for row in mentees["breakdowns"][dimension]["groups"]
            if not row["funnel"]["referred"]["suppressed"]
        }

    assert values("gender") == {"man": 5, "another": 5, "not_stated": 5}
    assert values("age_band") == {"not_stated": 5, AgeBand.AGE_18_29: 5, AgeBand.AGE_45_64: 5}
    assert values("cultural_background") == {"multiple": 5, "none": 5, "roma": 5}
    assert values("preferred_language") == {"none": 5, "ro": 5, "hu": 5}
    for dimension, _label in DIMENSIONS:
        assert mentees["breakdowns"][dimension]["total"]["funnel"]["referred"]["value"] == 15


# --- Suppression -----------------------------------------------------------------------------


@pytest.fixture
def programme_with_a_small_group():
    """20 first-generation and 20 non-migrant mentees (a quarter only referred, a quarter with
    intake complete, half matched); 4 second-generation mentees, one of each and 2 matched."""
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    for background, n in [(FIRST, 20), (NONE, 20), (SECOND, 4)]:
        for i in range(n):
            mentee = make_mentee(
                programme, background=background, intake=None if i % 4 == 1 else days_ago(300)
            )
            if i % 2 == 0:
                make_match(mentor, mentee, started=days_ago(40 + i))
    return programme


def test_a_group_of_four_is_withheld_everywhere_with_k_5(programme_with_a_small_group):
    mentees = population(programme_with_a_small_group)
    small = group(mentees, "migrant_background", SECOND)

    assert all(cell["suppressed"] and cell["display"] == "< 5" for cell in small["funnel"].values())
    assert all(value is None for value in small["conversion"].values())
    assert all(value is None for value in small["representation"].values())
    for key in [
        "median_days_to_match",
        "median_match_days",
        "sessions_per_active_month",
        "early_closure_rate",
    ]:
        assert small[key] is None, key
    assert all(d["ratio"] is None for d in small["disparity"].values())
    # Totals must not let 4 (or 2) be worked out: at every stage where the total is shown,
    # at least one other group is withheld beside it.
    breakdown = mentees["breakdowns"]["migrant_background"]
    for stage, total in breakdown["total"]["funnel"].items():
        live = [row for row in breakdown["groups"] if row["group"] in (FIRST, NONE, SECOND)]
        hidden = [row for row in live if row["funnel"][stage]["suppressed"]]
        if not total["suppressed"]:
            assert len(hidden) >= 2, stage
    assert (
        metrics.compute_participation(
            mentees=mentees, mentors=population(programme_with_a_small_group, "mentors"), k=5
        )["migrant_share_mentees"]
        is None
    )


def test_no_published_count_is_below_k_anywhere(programme_with_a_small_group, funnel_programme):
    for programme in (programme_with_a_small_group, funnel_programme):
        for which in ("mentees", "mentors"):
            pop = population(programme, which)
            cells = list(walk_cells(pop))
            assert cells
            for path, cell in cells:
                assert cell["suppressed"] or cell["value"] >= 5, path
                assert (cell["value"] is None) == cell["suppressed"], path
            for breakdown in pop["breakdowns"].values():
                for row in [*breakdown["groups"], breakdown["total"]]:
                    rates = [*row["conversion"].values(), row["early_closure_rate"]]
                    rates += [row["language_concordance"], row["culture_concordance"]]
                    assert all(r is None or 0 <= r <= 1 for r in rates)


def test_disparity_compares_each_group_with_the_reference_group_and_flags_it():
    programme = ProgrammeFactory(small_cell_k=5)
    mentor = make_mentor(programme)
    # Each group: 5 only referred, 5 with intake complete, then 5 (first generation) or 10
    # (no migrant background) matched.
    for background, matched in [(FIRST, 5), (NONE, 10)]:
        for _ in range(5):
            make_mentee(programme, background=background, intake=None)
            make_mentee(programme, background=background)
        for _ in range(matched):
            make_match(mentor, make_mentee(programme, background=background), started=days_ago(30))

    mentees = population(programme)

    # Matched rate 5/15 against 10/20.
    assert group(mentees, "migrant_background", FIRST)["disparity"]["matched_rate"] == {
        "ratio": round((5 / 15) / (10 / 20), 4),
        "flag": "below",
    }
    assert group(mentees, "migrant_background", NONE)["disparity"]["matched_rate"] == {
        "ratio": 1.0,
        "flag": None,
    }
    reversed_reference = population(programme, reference_group=FIRST)
    assert group(reversed_reference, "migrant_background", NONE)["disparity"]["matched_rate"] == {
        "ratio": 1.5,
        "flag": "above",
    }
    # Outside migrant background the reference is everyone: 15/35 matched.
    assert group(mentees, "preferred_language", "uk")["disparity"]["matched_rate"]["ratio"] == 1.0


def test_migrant_participation_compares_mentors_with_mentees():
    programme = ProgrammeFactory(small_cell_k=5)
    for background, n in [(FIRST, 10), (SECOND, 5), (NONE, 15)]:
        for _ in range(n):
            make_mentee(programme, background=background)
    for background, n in [(FIRST, 5), (SECOND, 5), (NONE, 10)]:
        for _ in range(n):
            make_mentor(programme, background=background)

    participation = metrics.compute_participation(
        mentees=population(programme), mentors=population(programme, "mentors"), k=5
    )

    assert participation == {
        "migrant_share_mentees": 0.5,
        "migrant_share_mentors": 0.5,
        "mentor_to_mentee_ratio": 1.0,
    }


# --- Outcome change --------------------------------------------------------------------------


def make_instrument(programme, code="parent_engagement", *, headline=True, low=1, high=5):
    return OutcomeInstrument.objects.create(
        programme=programme,
        code=code,
        name=code.replace("_", " ").capitalize(),
        scale_min=low,
        scale_max=high,
        is_headline=headline,
    )


def measure(mentee, instrument, **stages):
    """``stage=value`` or ``stage=(value, days_ago)``; the default day follows the stage."""
    default_days = {"baseline": 290, "midway": 150, "closure": 30}
    for stage, given in stages.items():
        value, ago = given if isinstance(given, tuple) else (given, default_days[stage])
        OutcomeMeasure.objects.create(
            mentee=mentee, instrument=instrument, stage=stage, value=value, measured_on=days_ago(ago)
        )


@pytest.fixture
def measured_programme():
    """First generation: 7 mentees, 5 with a baseline and a later headline measure, changes
    1.5 (closure 3.5 preferred over midway 3.0), 0.5, −0.5, 1.0 (a closure after the as-of date
    does not count yet), 0.5 → mean 3.0 ÷ 5 = 0.6; one with only a baseline and one with no
    baseline are left out, and another instrument's measures never count. No migrant
    background: 6 mentees, 4 measured (changes 2, 1, 1, 1). Everyone: 8.0 ÷ 9 = 0.89 → 0.9."""
    programme = ProgrammeFactory(small_cell_k=5)
    make_mentor(programme)
    headline = make_instrument(programme)
    attendance = make_instrument(programme, "attendance_rate", headline=False, low=0, high=100)
    # Another programme's headline measure of someone else never reaches this one.
    elsewhere = ProgrammeFactory(small_cell_k=5)
    measure(make_mentee(elsewhere), make_instrument(elsewhere), baseline=1, closure=5)

    first = [make_mentee(programme) for _ in range(7)]
    measure(first[0], headline, baseline=2, midway=3, closure=3.5)
    measure(first[0], attendance, baseline=50, closure=90)
    measure(first[1], headline, baseline=3, midway=3.5)
    measure(first[2], headline, baseline=2.5, closure=2)
    measure(first[3], headline, baseline=1, midway=2, closure=(5, -10))
    measure(first[4], headline, baseline=4, closure=4.5)
    measure(first[5], headline, baseline=2)
    measure(first[6], headline, midway=5)
    measure(first[6], attendance, baseline=60, midway=95)

    none = [make_mentee(programme, background=NONE) for _ in range(6)]
    for mentee, (before, after) in zip(none, [(1, 3), (2, 3), (3, 4), (4, 5)], strict=False):
        measure(mentee, headline, baseline=before, midway=after)
    return programme


def test_outcome_change_is_the_mean_of_latest_minus_baseline_over_mentees_measured_twice(
    measured_programme,
):
    mentees = population(measured_programme)

    assert group(mentees, "migrant_background", FIRST)["outcome_change"] == 0.6
    assert group(mentees, "migrant_background", TOTAL)["outcome_change"] == 0.9
    assert all(breakdown["total"]["outcome_change"] == 0.9 for breakdown in mentees["breakdowns"].values())
    # Four measured mentees are fewer than k = 5: withheld.
    assert group(mentees, "migrant_background", NONE)["outcome_change"] is None
    assert group(mentees, "migrant_background", SECOND)["outcome_change"] is None


def test_outcome_change_is_withheld_below_k_and_never_given_for_mentors(measured_programme):
    mentees = population(measured_programme, k=6)

    assert group(mentees, "migrant_background", FIRST)["outcome_change"] is None
    assert group(mentees, "migrant_background", TOTAL)["outcome_change"] == 0.9
    assert population(measured_programme, k=10)["breakdowns"]["gender"]["total"]["outcome_change"] is None
    mentors = population(measured_programme, "mentors", k=1)
    for breakdown in mentors["breakdowns"].values():
        assert all(row["outcome_change"] is None for row in [*breakdown["groups"], breakdown["total"]])


def test_outcome_change_is_withheld_where_the_groups_count_is_withheld(measured_programme):
    # Three second-generation mentees (< k = 4) make a second group's count withheld beside
    # them; its mean is withheld with it although 4 = k of its mentees were measured twice.
    for _ in range(3):
        make_mentee(measured_programme, background=SECOND)

    mentees = population(measured_programme, k=4)
    hidden = [
        row
        for row in mentees["breakdowns"]["migrant_background"]["groups"]
        if row["group"] in (FIRST, NONE) and row["funnel"]["referred"]["suppressed"]
    ]

    assert hidden, "a count is withheld beside the small group"
    assert all(row["outcome_change"] is None for row in hidden)
    assert group(mentees, "migrant_background", SECOND)["outcome_change"] is None


# --- Determinism, cost, definitions ----------------------------------------------------------


def test_computing_twice_gives_identical_figures(programme_with_a_small_group):
    assert population(programme_with_a_small_group) == population(programme_with_a_small_group)
    assert population(programme_with_a_small_group, "mentors") == population(
        programme_with_a_small_group, "mentors"
    )


def test_the_number_of_queries_does_not_grow_with_the_number_of_people():
    def queries_for(n):
        programme = ProgrammeFactory(small_cell_k=5)
        mentor = make_mentor(programme)
        instrument = make_instrument(programme)
        for i in range(n):
            mentee = make_mentee(programme, background=FIRST if i % 2 else NONE)
            measure(mentee, instrument, baseline=2, midway=3)
            if i % 3 == 0:
                match = make_match(mentor, mentee, started=days_ago(100))
                SessionLog.objects.create(
                    match=match, held_on=days_ago(90), duration_minutes=60, mode="phone", language="uk"
                )
        with CaptureQueriesContext(connection) as context:
            for which in ("mentees", "mentors"):
                population(programme, which)
        return len(context.captured_queries)

    assert queries_for(2) == queries_for(20)


def test_every_metric_and_stage_has_a_definition():
    keys = {key for key, _ in MENTEE_STAGES + MENTOR_STAGES}
    keys |= {
        "funnel", "conversion", "representation", "median_days_to_match", "median_match_days",
        "sessions_per_active_month", "early_closure_rate", "language_concordance",
        "culture_concordance", "outcome_change", "disparity", "groups", "no_consent",
        "suppression", "period", "matched_rate", "completion_rate", "migrant_share_mentees",
        "migrant_share_mentors", "mentor_to_mentee_ratio",
    }  # fmt: skip
    assert keys <= set(metrics.DEFINITIONS)
    assert all(text.strip() for text in metrics.DEFINITIONS.values())
