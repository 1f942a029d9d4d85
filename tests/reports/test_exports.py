"""Exports of a snapshot (CSV, XLSX) and its print page: every figure, the definitions and the
suppression rule travel in the file; nothing the snapshot does not hold; only for the people who
read the programme's reports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports import figures as contract
from reports.models import ReportSnapshot
from tests.factories import ReportSnapshotFactory
from tests.reports.test_dashboard import DEFINITIONS, K, make_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot(programme):
    return make_snapshot(programme)


def _csv(client, snapshot) -> tuple[list[list[str]], list[dict]]:
    response = client.get(reverse("reports:export-csv", args=[snapshot.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    header, _blank, table = text.partition("\r\n\r\n")
    return list(csv.reader(io.StringIO(header))), list(csv.DictReader(io.StringIO(table)))


def _expected_rows(figures: dict) -> int:
    """Funnel, conversion and representation per stage, seven scalars, two rows per disparity."""
    count = 0
    for pop in figures["populations"].values():
        stages = len(pop["stages"])
        per_group = stages + 2 * (stages - 1) + 7 + 2 * len(contract.DISPARITY_METRICS)
        for breakdown in pop["breakdowns"].values():
            count += per_group * (len(breakdown["groups"]) + 1)
    return count + len(figures["participation"])


def test_csv_holds_every_figure_with_the_definitions_and_the_suppression_rule(client, manager, snapshot):
    client.force_login(manager)

    header, rows = _csv(client, snapshot)

    flat = "\n".join(" ".join(line) for line in header)
    assert "Suppression rule" in flat and f"any count below {K} is shown as “< {K}”" in flat
    for key, text in DEFINITIONS.items():
        assert [f"# {key}", text] in header
    assert len(rows) == _expected_rows(snapshot.figures)
    dimensions = {(row["population"], row["dimension"]) for row in rows}
    assert len(dimensions) == 2 * len(contract.DIMENSIONS) + 1  # + the participation rows
    first = [
        r
        for r in rows
        if r["population"] == "mentees"
        and r["group"] == "first_generation"
        and r["dimension"] == "migrant_background"
        and r["metric"] == "funnel"
    ]
    assert [r["display"] for r in first] == ["64", "51", "38", "29", "19"]


def test_no_count_below_k_is_exported(client, manager, snapshot):
    client.force_login(manager)

    _header, rows = _csv(client, snapshot)
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("reports:export-xlsx", args=[snapshot.pk])).content)
    )
    sheet = workbook["Figures"]
    columns = [cell.value for cell in sheet[1]]
    xlsx_rows = [dict(zip(columns, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]

    for row in rows:
        if row["metric"] == "funnel":
            assert row["value"] == "" or int(row["value"]) >= K, row
            assert row["value"] != "" or row["display"] in (f"< {K}", "withheld")
    funnel = [row for row in xlsx_rows if row["metric"] == "funnel"]
    assert any(row["display"] == f"< {K}" for row in funnel)
    assert all(row["value"] is None or row["value"] >= K for row in funnel)
    withheld_rates = [row for row in xlsx_rows if row["metric"] == "conversion" and row["value"] is None]
    assert withheld_rates and all(row["display"] == "–" for row in withheld_rates)


def test_xlsx_has_about_definitions_and_figures_sheets(client, manager, snapshot):
    client.force_login(manager)

    response = client.get(reverse("reports:export-xlsx", args=[snapshot.pk]))

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["About", "Definitions", "Figures"]
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Programme"] == snapshot.programme.name
    assert f"k = {K}" in about["Suppression rule"]
    definitions = dict(workbook["Definitions"].iter_rows(min_row=2, values_only=True))
    assert "suppression" in definitions
    for key, text in DEFINITIONS.items():
        assert definitions[key] == text
    assert workbook["Figures"].max_row - 1 == _expected_rows(snapshot.figures)


def test_exports_are_not_found_for_other_programmes_mentors_and_unfinished_snapshots(
    client, manager, mentor, other_programme, programme, snapshot
):
    other = make_snapshot(other_programme)
    pending = ReportSnapshotFactory(programme=programme, status=ReportSnapshot.Status.PENDING, figures={})
    client.force_login(manager)
    for name in ("reports:export-csv", "reports:export-xlsx", "reports:print"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404
        assert client.get(reverse(name, args=[pending.pk])).status_code == 404

    client.force_login(mentor.user)
    for name in ("reports:export-csv", "reports:export-xlsx", "reports:print"):
        assert client.get(reverse(name, args=[snapshot.pk])).status_code == 404


def test_a_coordinator_of_the_programme_may_export(client, coordinator, snapshot):
    client.force_login(coordinator)

    assert client.get(reverse("reports:export-csv", args=[snapshot.pk])).status_code == 200


def test_labels_cannot_run_as_spreadsheet_formulas(client, manager, snapshot):
    figures = snapshot.figures
    figures["populations"]["mentees"]["breakdowns"]["cultural_background"]["groups"][0]["label"] = (
        "=HYPERLINK(1)"
    )
    ReportSnapshot.objects.filter(pk=snapshot.pk).update(figures=figures)
    client.force_login(manager)

    _header, rows = _csv(client, snapshot)

    assert "'=HYPERLINK(1)" in {row["group_label"] for row in rows}


def test_every_export_is_on_the_audit_trail(client, manager, snapshot):
    from mentoring.models import AuditEvent

    client.force_login(manager)

    for name in ("reports:export-csv", "reports:export-xlsx"):
        assert client.get(reverse(name, args=[snapshot.pk])).status_code == 200

    events = AuditEvent.objects.filter(object_type="reports.ReportSnapshot", object_id=str(snapshot.pk))
    assert events.count() == 2
    assert set(events.values_list("user__username", "action")) == {(manager.username, "read")}
