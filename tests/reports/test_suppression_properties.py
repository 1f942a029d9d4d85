"""Small cells, checked as properties over random populations (hypothesis): whatever the
programme's people, whichever breakdown and period the reader picks, no published count is below
k and no withheld count can be worked out from the published ones and the totals."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentoring.models import AgeBand, LanguageLevel, MigrantBackground
from reports.figures import MENTEE_STAGES, MENTOR_STAGES
from reports.suppression import OTHER, TOTAL, suppress_funnels
from tests.factories import ProgrammeFactory
from tests.reports.test_metrics import days_ago, make_match, make_mentee, make_mentor, population, walk_cells

STAGES = ["s0", "s1", "s2", "s3", "s4"]


def _cumulative(row: dict[str, int], stage: str) -> int:
    return sum(row.get(t, 0) for t in STAGES[STAGES.index(stage) :])


@st.composite
def breakdowns(draw):
    """One population (people by furthest stage) broken down two or three ways."""
    people = draw(st.lists(st.sampled_from(STAGES), min_size=0, max_size=120))
    tables = {}
    for dimension in range(draw(st.integers(1, 3))):
        groups = draw(st.integers(1, 7))
        assignment = draw(st.lists(st.integers(0, groups - 1), min_size=len(people), max_size=len(people)))
        table = {f"g{g}": dict.fromkeys(STAGES, 0) for g in range(groups)}
        for stage, g in zip(people, assignment, strict=True):
            table[f"g{g}"][stage] += 1
        tables[f"d{dimension}"] = table
    return tables


@settings(max_examples=400, deadline=None)
@given(tables=breakdowns(), k=st.integers(5, 10))
def test_no_published_funnel_count_is_below_k_or_can_be_worked_out(tables, k):
    result = suppress_funnels(tables, stages=STAGES, k=k)
    totals = None
    for dimension, table in tables.items():
        cells = result[dimension]
        row_of = dict(table)
        if cells.pooled:
            row_of[OTHER] = {s: sum(table[g][s] for g in cells.pooled) for s in STAGES}
        grand = {s: sum(row[s] for row in table.values()) for s in STAGES}
        for (group, stage), cell in cells.cells.items():
            true = _cumulative(grand if group == TOTAL else row_of[group], stage)
            # Published counts are true and at least k; withheld ones show nothing.
            if cell.suppressed:
                assert cell.value is None and cell.display in (f"< {k}", "withheld")
            else:
                assert cell.value == true and true >= k, (dimension, group, stage)
        # Pooled groups are withheld everywhere; the pool itself holds k people or more.
        for group in cells.pooled:
            assert all(cells.cells[(group, s)].suppressed for s in STAGES)
        lines = [g for g in table if g not in cells.pooled and _cumulative(table[g], STAGES[0]) > 0]
        lines += [OTHER] if cells.pooled else []
        for stage in STAGES:
            if cells.cells[(TOTAL, stage)].suppressed:
                assert all(cells.cells[(g, stage)].suppressed for g in lines)
                continue
            # Total minus the shown cells is what a reader can learn about the withheld ones:
            # nothing, or a sum of at least k spread over two cells or more.
            hidden = [g for g in lines if cells.cells[(g, stage)].suppressed]
            hidden_sum = sum(_cumulative(row_of[g], stage) for g in hidden)
            assert hidden_sum == 0 or (len(hidden) >= 2 and hidden_sum >= k), (dimension, stage, hidden)
        # Every breakdown shows the same totals.
        these = {s: cells.cells[(TOTAL, s)] for s in STAGES}
        assert totals is None or these == totals
        totals = these


FIRST, SECOND, NONE = (
    MigrantBackground.FIRST_GENERATION,
    MigrantBackground.SECOND_GENERATION,
    MigrantBackground.NONE,
)
PERSON = st.fixed_dictionaries(
    {
        "background": st.sampled_from([FIRST, SECOND, NONE, MigrantBackground.DECLINED]),
        "language": st.sampled_from(["ar", "ro", "nl"]),
        "gender": st.sampled_from(["female", "male", ""]),
        "age_band": st.sampled_from([AgeBand.AGE_18_29, AgeBand.AGE_12_17, ""]),
        # 0 referred, 1 intake done, 2 matched recently, 3 matched over 3 months, 4 completed.
        "stage": st.integers(0, 4),
        "referred": st.integers(30, 400),
    }
)


@pytest.mark.django_db
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mentees=st.lists(PERSON, min_size=1, max_size=30),
    k=st.integers(5, 10),
    period=st.one_of(st.none(), st.tuples(st.integers(200, 450), st.integers(0, 199))),
)
def test_no_report_figure_is_below_k_for_any_population_or_period(mentees, k, period):
    with transaction.atomic():
        programme = ProgrammeFactory(small_cell_k=k)
        mentor = make_mentor(programme, background=NONE)
        for spec in mentees:
            referred = days_ago(spec["referred"])
            intake = None if spec["stage"] == 0 else referred + datetime.timedelta(days=5)
            mentee = make_mentee(
                programme,
                background=spec["background"],
                referred=referred,
                intake=intake,
                gender=spec["gender"],
                age_band=spec["age_band"],
                languages=[(spec["language"], LanguageLevel.NATIVE)],
            )
            if spec["stage"] >= 2:
                started = days_ago(30 if spec["stage"] == 2 else 150)
                closed = days_ago(10) if spec["stage"] == 4 else None
                reason = "planned_completion" if closed else ""
                make_match(mentor, mentee, started=started, closed=closed, reason=reason)
        filters = {}
        if period:
            filters = {"period_start": days_ago(period[0]), "period_end": days_ago(period[1])}
        for which, stages in (("mentees", MENTEE_STAGES), ("mentors", MENTOR_STAGES)):
            figures = population(programme, which, **filters)
            cells = list(walk_cells(figures))
            assert cells and stages
            for path, cell in cells:
                assert cell["suppressed"] or cell["value"] >= k, (which, path)
                assert (cell["value"] is None) == cell["suppressed"], (which, path)
            for breakdown in figures["breakdowns"].values():
                for row in [*breakdown["groups"], breakdown["total"]]:
                    funnel, order = row["funnel"], list(row["funnel"])
                    for stage, rate in row["conversion"].items():
                        if rate is not None:
                            # A published rate rests on published counts, its denominator (the
                            # stage before) k or more.
                            before = funnel[order[order.index(stage) - 1]]
                            assert not funnel[stage]["suppressed"] and not before["suppressed"], stage
                            assert before["value"] >= k and rate == round(
                                funnel[stage]["value"] / before["value"], 4
                            )
        transaction.set_rollback(True)
