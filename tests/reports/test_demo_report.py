"""The demo's migrant-family programme (Gent) is the report a manager first reads: every metric
of the issue must be there for its main groups, and nothing below k anywhere."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mentoring.demo import SECOND_SLUG
from mentoring.models import MigrantBackground, Programme
from reports import figures as contract
from reports.services import snapshot_compute, snapshot_request
from tests.reports.test_metrics import walk_cells

pytestmark = pytest.mark.django_db

GROUP_METRICS = [
    "median_days_to_match",
    "median_match_days",
    "sessions_per_active_month",
    "early_closure_rate",
    "language_concordance",
    "culture_concordance",
]
MIGRANT = [MigrantBackground.FIRST_GENERATION, MigrantBackground.SECOND_GENERATION, MigrantBackground.NONE]


@pytest.fixture(scope="module")
def gent_figures(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        programme = Programme.objects.get(slug=SECOND_SLUG)
        snapshot, _created = snapshot_request(programme=programme, requested_by=None)
        figures = snapshot_compute(snapshot_id=snapshot.pk).figures
        call_command("flush", "--no-input", verbosity=0)
    return figures


def test_the_demo_report_shows_every_metric_for_migrant_and_non_migrant_groups(gent_figures):
    k = gent_figures["k"]
    assert k == 10
    for population in ("mentees", "mentors"):
        pop = gent_figures["populations"][population]
        breakdown = pop["breakdowns"]["migrant_background"]
        rows = {row["group"]: row for row in breakdown["groups"]}
        for group in MIGRANT:
            row = rows[group]
            # Every stage up to "matched" and every conversion into it is published.
            for stage in [s["key"] for s in pop["stages"]][
                : [s["key"] for s in pop["stages"]].index("matched") + 1
            ]:
                assert not row["funnel"][stage]["suppressed"], (population, group, stage)
            for metric in GROUP_METRICS:
                assert row[metric] is not None, (population, group, metric)
            assert row["representation"]["matched"] is not None, (population, group)
        # Disparities: the migrant groups against the non-migrant reference, flags included.
        for group in MIGRANT[:2]:
            for metric in ("matched_rate", "language_concordance", "early_closure_rate"):
                assert rows[group]["disparity"][metric]["ratio"] is not None, (population, group, metric)
        if population == "mentees":
            for group in MIGRANT:
                assert rows[group]["outcome_change"] is not None, group
        for dimension, _label in contract.DIMENSIONS:
            shown = [
                row
                for row in pop["breakdowns"][dimension]["groups"]
                if not row["funnel"][pop["stages"][0]["key"]]["suppressed"]
            ]
            assert len(shown) >= 2, (population, dimension)
    participation = gent_figures["participation"]
    assert all(value is not None for value in participation.values()), participation


def test_no_figure_of_the_demo_report_is_a_count_below_k(gent_figures):
    k = gent_figures["k"]
    cells = list(walk_cells(gent_figures["populations"]))
    assert len(cells) > 300
    for path, cell in cells:
        assert cell["suppressed"] or cell["value"] >= k, path
        if cell["suppressed"]:
            assert cell["display"] in (f"< {k}", "withheld"), path
