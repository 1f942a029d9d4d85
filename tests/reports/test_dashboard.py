"""The participation-equality dashboard: stored version-2 figures only, every block with its
definition, drill-down, small-cell suppression on the page, and a fixed number of queries.

``build_figures`` makes a version-2 ``figures`` dict by the contract of ``reports.figures``
(counts below k published as "< k", one complementary "withheld" cell per stage where exactly
one was small, rates by ``reports.suppression.rate``), so the page is tested against the
contract rather than against one computation of it.
"""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mentoring.models import MigrantBackground
from reports import figures as contract
from reports.models import ReportSnapshot
from reports.services import parameters_key
from reports.suppression import Cell, rate
from tests.factories import MenteeFactory, MentorFactory, ReportSnapshotFactory

pytestmark = pytest.mark.django_db

K = 10
GROUPS = {
    "migrant_background": [
        *[(value, label) for value, label in MigrantBackground.choices],
        (contract.NO_CONSENT, "Not used (no consent to statistics)"),
    ],
    "preferred_language": [
        ("ro", "Romanian"),
        ("uk", "Ukrainian"),
        ("ar", "Arabic"),
        (contract.NO_CONSENT, "Not used (no consent)"),
    ],
    "cultural_background": [
        ("romanian", "Romanian"),
        ("ukrainian", "Ukrainian"),
        ("roma", "Roma"),
        (contract.NO_CONSENT, "Not used (no consent)"),
    ],
    "gender": [
        ("female", "Female"),
        ("male", "Male"),
        ("", "Not given"),
        (contract.NO_CONSENT, "No consent"),
    ],
    "age_band": [
        ("18_29", "18–29"),
        ("30_44", "30–44"),
        ("45_64", "45–64"),
        (contract.NO_CONSENT, "No consent"),
    ],
}
# People at entry per group, by position in the dimension; later stages keep a share.
ENTRY = [64, 23, 81, 7, 12, 3]
# Rates and medians of a group scale by position, so that some disparities leave 0.8–1.25.
SCALES = [0.8, 1.0, 1.05, 0.9, 1.4, 1.0]
KEEP = [1.0, 0.8, 0.6, 0.45, 0.3, 0.25]
SCALAR_BASE = {
    "median_days_to_match": 21.5,
    "median_match_days": 240.0,
    "sessions_per_active_month": 2.4,
    "early_closure_rate": 0.22,
    "language_concordance": 0.71,
    "culture_concordance": 0.42,
    "outcome_change": 0.6,
}
DEFINITIONS = {
    "funnel": "People who reached each stage of the programme, by group (funnel definition).",
    "conversion": "Reached this stage ÷ reached the stage before (conversion definition).",
    "representation": "A group's share at a stage ÷ its share at entry (representation definition).",
    "disparity": "A group's rate ÷ the reference group's rate (disparity definition).",
    "matched_rate": "Matched ÷ entered (matched rate definition).",
    "completion_rate": "Completed ÷ entered (completion rate definition).",
    "median_days_to_match": "Median days from intake to the first match (days-to-match definition).",
    "median_match_days": "Median days from a match's start to its close (match-length definition).",
    "sessions_per_active_month": "Session logs ÷ active match-months (intensity definition).",
    "early_closure_rate": "Closed before 3 months or the planned end ÷ closed (early-closure definition).",
    "language_concordance": "Mentor speaks the preferred language ÷ matches (language definition).",
    "culture_concordance": "Matches sharing a cultural background ÷ matches (culture definition).",
    "outcome_change": "Mean of latest − baseline (outcome definition).",
    "migrant_share_mentees": "First + second generation ÷ all mentees (mentee migrant share definition).",
    "migrant_share_mentors": "First + second generation ÷ all mentors (mentor migrant share definition).",
    "mentor_to_mentee_ratio": "Share among mentors ÷ share among mentees (participation ratio definition).",
    "no_consent": "Without consent to statistics: counted only as 'no consent' (consent definition).",
    "suppression": "Counts below k are shown as '< k' (suppression definition).",
}


def _cells(counts: list[int], k: int) -> list[dict]:
    """Primary suppression, then one complementary cell where exactly one count was small."""
    cells = [Cell(c, False, str(c)) if c >= k else Cell(None, True, f"< {k}") for c in counts]
    small = [i for i, c in enumerate(counts) if c < k]
    if len(small) == 1:
        others = sorted((c, i) for i, c in enumerate(counts) if c >= k)
        if others:
            cells[others[0][1]] = Cell(None, True, "withheld")
    return [c.as_dict() for c in cells]


def _group(key, label, funnel: dict, stages: list[str], entry_share_total, totals, k, scale: float) -> dict:
    conversion = {stages[0]: None}
    for prev, stage in zip(stages, stages[1:], strict=False):
        conversion[stage] = rate(Cell(**funnel[stage]), Cell(**funnel[prev]), k=k)
    representation = {stages[0]: 1.0 if not funnel[stages[0]]["suppressed"] else None}
    for stage in stages[1:]:
        parts = [funnel[stage], funnel[stages[0]], totals[stage], totals[stages[0]]]
        if any(p["suppressed"] for p in parts) or funnel[stages[0]]["value"] < k:
            representation[stage] = None
        else:
            share = funnel[stage]["value"] / totals[stage]["value"]
            entry = funnel[stages[0]]["value"] / totals[stages[0]]["value"]
            representation[stage] = round(share / entry, 4)
    published = not funnel[stages[0]]["suppressed"] and funnel[stages[0]]["value"] >= k
    scalars = {
        metric: (
            round(base * scale, 4 if metric.endswith(("rate", "concordance")) else 1) if published else None
        )
        for metric, base in SCALAR_BASE.items()
    }
    for metric in ("early_closure_rate", "language_concordance", "culture_concordance"):
        if scalars[metric] is not None:
            scalars[metric] = min(scalars[metric], 1.0)
    return {
        "group": key,
        "label": label,
        "funnel": funnel,
        "conversion": conversion,
        "representation": representation,
        **scalars,
        "disparity": {},
    }


def _disparities(groups: list[dict], reference: dict, stages: list[str]) -> None:
    def metric_rate(g, metric):
        if metric == "matched_rate":
            return rate(Cell(**g["funnel"]["matched"]), Cell(**g["funnel"][stages[0]]), k=K)
        if metric == "completion_rate":
            return rate(Cell(**g["funnel"][stages[-1]]), Cell(**g["funnel"][stages[0]]), k=K)
        return g[metric]

    for g in groups:
        for metric in contract.DISPARITY_METRICS:
            mine, ref = metric_rate(g, metric), metric_rate(reference, metric)
            ratio = round(mine / ref, 4) if mine is not None and ref else None
            flag = None
            if ratio is not None and ratio < contract.DISPARITY_LOW:
                flag = "below"
            elif ratio is not None and ratio > contract.DISPARITY_HIGH:
                flag = "above"
            g["disparity"][metric] = {"ratio": ratio, "flag": flag}


def build_figures(*, k: int = K, shift: int = 0, reference_group: str = "none", period=None) -> dict:
    """A version-2 ``figures`` dict following ``reports.figures``. ``shift`` adds people to
    every group's matched stage onwards, so successive snapshots differ (the trend)."""
    populations = {}
    for population, stage_list in (("mentees", contract.MENTEE_STAGES), ("mentors", contract.MENTOR_STAGES)):
        stages = [key for key, _label in stage_list]
        breakdowns = {}
        for dimension, dimension_label in contract.DIMENSIONS:
            members = GROUPS[dimension]
            raw = []
            for i, _member in enumerate(members):
                entry = ENTRY[i % len(ENTRY)] + (5 if population == "mentors" else 0)
                row = []
                for s, _stage in enumerate(stages):
                    keep = KEEP[min(s, len(KEEP) - 1)] * (1 - 0.12 * (i % 3))
                    count = round(entry * keep)
                    if s >= stages.index("matched") and entry >= k:
                        count = min(count + shift, row[-1] if row else count)
                    row.append(count)
                raw.append(row)
            columns = [_cells([row[s] for row in raw], k) for s in range(len(stages))]
            totals = {
                stage: {
                    "value": sum(r[s] for r in raw),
                    "suppressed": False,
                    "display": str(sum(r[s] for r in raw)),
                }
                for s, stage in enumerate(stages)
            }
            groups = []
            for i, (key, label) in enumerate(members):
                funnel = {stage: columns[s][i] for s, stage in enumerate(stages)}
                groups.append(
                    _group(key, label, funnel, stages, None, totals, k, scale=SCALES[i % len(SCALES)])
                )
            total = _group(contract.TOTAL, "All", totals, stages, None, totals, k, scale=1.0)
            reference = next((g for g in groups if g["group"] == reference_group), groups[0])
            _disparities([*groups, total], reference, stages)
            breakdowns[dimension] = {"label": dimension_label, "groups": groups, "total": total}
        populations[population] = {
            "stages": [{"key": key, "label": label} for key, label in stage_list],
            "breakdowns": breakdowns,
        }
    return {
        "version": contract.VERSION,
        "k": k,
        "reference_group": reference_group,
        "period": period or {"start": None, "end": None},
        "definitions": DEFINITIONS,
        "populations": populations,
        "participation": {
            "migrant_share_mentees": 0.4312,
            "migrant_share_mentors": 0.1875,
            "mentor_to_mentee_ratio": 0.4348,
        },
    }


DEFAULT_KEY = parameters_key(kind=ReportSnapshot.Kind.PARTICIPATION, parameters={})


def make_snapshot(programme, *, days_ago: int = 0, shift: int = 0, **kwargs) -> ReportSnapshot:
    moment = timezone.now() - datetime.timedelta(days=days_ago)
    return ReportSnapshotFactory(
        programme=programme,
        figures=build_figures(shift=shift),
        parameters_key=DEFAULT_KEY,
        generated_at=moment,
        data_as_of=moment,
        small_cell_k=K,
        **kwargs,
    )


def walk_cells(figures: dict):
    """Every count cell of the figures."""
    for pop in figures["populations"].values():
        for breakdown in pop["breakdowns"].values():
            for group in [*breakdown["groups"], breakdown["total"]]:
                yield from group["funnel"].values()


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def shown_counts(response) -> list[str]:
    """What every count cell of the page's tables and the funnel chart's labels show."""
    text = response.content.decode()  # still escaped, so "&lt; 10" is not taken for a tag
    cells = re.findall(r"<td[^>]*data-count[^>]*>(.*?)</td>", text, flags=re.S)
    shown = [re.sub(r"<[^>]+>", "|", cell).strip("|").split("|")[0] for cell in cells]
    for svg in re.findall(r'<svg class="chart chart--funnel".*?</svg>', text, flags=re.S):
        shown += re.findall(r"<text[^>]*>([^<]*)</text>", svg.split("</desc>", 1)[1])
    return [html.unescape(value) for value in shown]


def dashboard(client, **params):
    return client.get(reverse("reports:dashboard"), params)


@pytest.fixture
def snapshot(programme):
    return make_snapshot(programme)


def test_dashboard_shows_every_metric_block_with_its_definition(client, manager, snapshot):
    client.force_login(manager)

    response = dashboard(client)

    assert response.status_code == 200
    text = page_text(response)
    for block in (
        "funnel",
        "conversion",
        "disparity",
        "representation",
        "concordance",
        "timing",
        "participation",
        "trend",
    ):
        assert f'id="{block}-mentees-migrant_background"' in text, block
    for definition in DEFINITIONS.values():
        if "matched rate" in definition or "completion rate" in definition:
            continue  # the disparity block defines the ratio; these rates are its inputs
        assert definition in text, definition
    for label in (
        "Median days to match",
        "Median match length (days)",
        "Sessions per active month",
        "Early-closure rate",
        "Language concordance",
    ):
        assert label in text
    assert "43 %" in text and "19 %" in text  # migrant share among mentees and among mentors


def test_each_chart_is_an_svg_with_a_title_and_a_text_alternative(client, manager, snapshot):
    client.force_login(manager)

    text = page_text(dashboard(client))

    svgs = re.findall(r"<svg .*?</svg>", text, flags=re.S)
    assert len(svgs) >= 6
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    for table in ("funnel", "conversion", "disparity", "representation", "concordance", "timing", "trend"):
        assert f'data-table="{table}"' in text
    assert "<script" not in text.split("</head>", 1)[1]  # no third-party or inline JS in the body


def test_drill_down_switches_population_and_dimension(client, manager, snapshot):
    client.force_login(manager)

    mentees = page_text(dashboard(client))
    mentors = page_text(dashboard(client, population="mentors", dimension="age_band"))

    assert "Intake complete" in mentees and "Retained 6 months" not in mentees
    assert "Retained 6 months" in mentors and "Intake complete" not in mentors
    assert 'id="funnel-mentors-age_band"' in mentors
    assert 'data-group="30_44"' in mentors and 'data-group="first_generation"' not in mentors
    assert "Mentors by age band: people at each stage" in mentors


def test_an_unknown_population_or_dimension_falls_back_to_the_default(client, manager, snapshot):
    client.force_login(manager)

    response = dashboard(client, population="everyone", dimension="password")

    assert response.status_code == 200
    assert 'id="funnel-mentees-migrant_background"' in page_text(response)


@pytest.mark.parametrize("population", ["mentees", "mentors"])
@pytest.mark.parametrize("dimension", [key for key, _label in contract.DIMENSIONS])
def test_no_count_below_k_appears_on_the_page(client, manager, snapshot, population, dimension):
    assert all(cell["suppressed"] or cell["value"] >= K for cell in walk_cells(snapshot.figures))
    client.force_login(manager)

    shown = shown_counts(dashboard(client, population=population, dimension=dimension))

    assert f"< {K}" in shown
    numbers = [value for value in shown if value.isdigit()]
    assert numbers and all(int(value) >= K for value in numbers), numbers


def test_withheld_rates_show_a_dash_with_an_explanation(client, manager, snapshot):
    client.force_login(manager)

    text = page_text(dashboard(client))

    assert '<span aria-hidden="true">–</span><span class="visually-hidden">withheld</span>' in text
    assert "withheld" in shown_counts(dashboard(client, dimension="gender"))  # a complementary cell
    assert "“–”: a rate, median or ratio withheld because fewer than 10 people" in text


def test_disparities_outside_the_band_are_flagged_in_words_not_only_colour(client, manager, snapshot):
    client.force_login(manager)

    text = page_text(dashboard(client))

    assert "▼</span> below 0.8" in text
    assert "disparities flagged" in text
    assert 'data-flag="below"' in text
    assert "Reference group: No migrant background." in text


def test_trend_shows_the_previous_snapshots_of_the_same_parameters(client, manager, programme):
    make_snapshot(programme, days_ago=60, shift=0)
    make_snapshot(programme, days_ago=30, shift=2)
    make_snapshot(programme, days_ago=0, shift=4)
    ReportSnapshotFactory(programme=programme, figures=build_figures(shift=9), parameters_key="x" * 64)
    client.force_login(manager)

    text = page_text(dashboard(client))

    trend = text.split('data-table="trend"', 1)[1].split("</table>", 1)[0]
    assert trend.count('<th scope="col" class="num">') == 3
    assert "Matched share per group over the last 3 snapshots" in text


def test_managers_never_see_a_persons_name(client, manager, programme, snapshot):
    MenteeFactory(programme=programme, person__first_name="Zofia", person__last_name="Lewandowska")
    MentorFactory(programme=programme, person__first_name="Bogdan", person__last_name="Ardeleanu")
    client.force_login(manager)

    for params in ({}, {"population": "mentors"}, {"population": "mentors", "dimension": "gender"}):
        text = page_text(dashboard(client, **params))
        for name in ("Zofia", "Lewandowska", "Bogdan", "Ardeleanu"):
            assert name not in text
    assert "Zofia" not in page_text(client.get(reverse("reports:print", args=[snapshot.pk])))


def test_reports_of_other_programmes_are_not_found(client, manager, other_programme, snapshot):
    other = make_snapshot(other_programme)
    client.force_login(manager)

    assert dashboard(client, programme=other_programme.pk).status_code == 404
    assert client.get(reverse("reports:snapshot-status", args=[other_programme.pk])).status_code == 404
    assert client.post(reverse("reports:snapshot-refresh", args=[other_programme.pk])).status_code == 404
    assert client.get(reverse("reports:print", args=[other.pk])).status_code == 404
    assert ReportSnapshot.objects.count() == 2


def test_mentors_find_no_reports(client, mentor, snapshot):
    client.force_login(mentor.user)

    assert dashboard(client).status_code == 404
    assert client.get(reverse("reports:print", args=[snapshot.pk])).status_code == 404


def test_the_dashboard_reads_a_fixed_small_number_of_queries(client, manager, programme):
    client.force_login(manager)
    make_snapshot(programme, days_ago=10)
    dashboard(client)  # warm the session and permission caches alike for both runs

    with CaptureQueriesContext(connection) as one:
        assert dashboard(client).status_code == 200
    for days in range(1, 9):
        make_snapshot(programme, days_ago=days, shift=days)
    with CaptureQueriesContext(connection) as many:
        assert dashboard(client, population="mentors", dimension="gender").status_code == 200

    assert len(many) == len(one)
    assert len(many) <= 8, [q["sql"] for q in many.captured_queries]


def test_a_period_is_a_refresh_with_period_parameters(client, manager, programme, snapshot):
    client.force_login(manager)

    response = client.post(
        reverse("reports:snapshot-refresh", args=[programme.pk]),
        {
            "period_start": "2025-09-01",
            "period_end": "2026-08-31",
            "reference_group": "first_generation",
            "population": "mentors",
            "dimension": "gender",
        },
    )

    assert response.status_code == 302
    assert "period_start=2025-09-01" in response.url and "population=mentors" in response.url
    requested = ReportSnapshot.objects.get(status=ReportSnapshot.Status.PENDING)
    assert requested.parameters == {
        "period_start": "2025-09-01",
        "period_end": "2026-08-31",
        "reference_group": "first_generation",
    }
    page = page_text(client.get(response.url))
    assert 'role="progressbar"' in page or "<progress" in page
    assert (
        "Computed" not in page.split("<main", 1)[1]
    )  # the all-records figures are not passed off as the period's


def test_a_period_that_ends_before_it_starts_is_refused(client, manager, programme, snapshot):
    client.force_login(manager)

    response = client.post(
        reverse("reports:snapshot-refresh", args=[programme.pk]),
        {"period_start": "2026-09-01", "period_end": "2025-08-31"},
        follow=True,
    )

    assert "The period cannot end before it starts." in page_text(response)
    assert not ReportSnapshot.objects.filter(status=ReportSnapshot.Status.PENDING).exists()


def test_the_print_page_shows_both_populations_for_a_board_meeting(client, manager, snapshot):
    client.force_login(manager)

    response = client.get(reverse("reports:print", args=[snapshot.pk]), {"dimension": "preferred_language"})

    assert response.status_code == 200
    text = page_text(response)
    assert (
        'id="funnel-mentees-preferred_language"' in text and 'id="funnel-mentors-preferred_language"' in text
    )
    assert "Counts below k are shown as '< k'" in text
    numbers = [value for value in shown_counts(response) if value.isdigit()]
    assert all(int(value) >= K for value in numbers)


def test_a_snapshot_computed_for_real_renders_every_block(client, manager, programme):
    from reports.services import snapshot_compute, snapshot_request
    from tests.factories import MatchFactory

    for i in range(12):
        MatchFactory(programme=programme, mentee__person__first_name=f"Matched{i}")
    for i in range(11):
        MenteeFactory(
            programme=programme,
            person__first_name=f"Waiting{i}",
            person__migrant_background=MigrantBackground.NONE,
        )
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)
    snapshot = snapshot_compute(snapshot_id=snapshot.pk)
    assert snapshot.figures["version"] == contract.VERSION
    assert all(cell["suppressed"] or cell["value"] >= K for cell in walk_cells(snapshot.figures))
    client.force_login(manager)

    for population in ("mentees", "mentors"):
        for dimension, _label in contract.DIMENSIONS:
            response = dashboard(client, population=population, dimension=dimension)
            text = page_text(response)
            for block in (
                "funnel",
                "conversion",
                "disparity",
                "representation",
                "concordance",
                "timing",
                "trend",
            ):
                assert f'id="{block}-{population}-{dimension}"' in text
            assert snapshot.figures["definitions"]["funnel"] in text
            assert all(int(v) >= K for v in shown_counts(response) if v.isdigit())
            assert "Matched0" not in text and "Waiting3" not in text
    for name in ("reports:export-csv", "reports:export-xlsx", "reports:print"):
        assert client.get(reverse(name, args=[snapshot.pk])).status_code == 200
