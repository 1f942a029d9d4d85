"""Exports of a snapshot (CSV, XLSX) and how a figure reads, shared with the pages.

An export carries exactly what the snapshot holds, so it obeys small-cell suppression as the
page does: a withheld count is exported as its display ("< 10", "withheld") with an empty value,
a withheld rate or ratio as an empty value with the display "–". Every file starts with what a
reader needs to use it alone: the programme, when and from which records it was computed, the
period, the reference group, the suppression rule and a definition of every figure.

The figures are exported in long form (one row per figure: population, dimension, group,
metric, stage, value, display), which spreadsheets pivot easily and which holds every figure of
every population, dimension and group without a separate layout per table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.utils import timezone

from reports import figures as contract
from reports.models import ReportSnapshot

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WITHHELD = "–"
MISSING_CELL = {"value": None, "suppressed": True, "display": "withheld"}
COLUMNS = ["population", "dimension", "group", "group_label", "metric", "stage", "value", "display"]

SUPPRESSION_RULE = (
    "Small numbers (k = {k}): any count below {k} is shown as “< {k}” and has no value. Where totals "
    "would let a small count be worked out, further counts are withheld (“withheld”). Every rate, "
    "median, mean or ratio whose denominator is below {k}, or that is built on a withheld count, is "
    "withheld (“–”, no value). This file holds only what the stored snapshot holds."
)

METRIC_LABELS = {
    "funnel": "People who reached the stage",
    "conversion": "Conversion from the previous stage",
    "representation": "Representation (share of the stage ÷ share at entry)",
    "median_days_to_match": "Median days to match",
    "median_match_days": "Median match length (days)",
    "sessions_per_active_month": "Sessions per active month",
    "early_closure_rate": "Early-closure rate",
    "language_concordance": "Language concordance",
    "culture_concordance": "Culture concordance",
    "outcome_change": "Outcome change",
    "disparity": "Disparity ratio",
    "disparity_flag": "Disparity flag",
}
SCALARS = [
    "median_days_to_match",
    "median_match_days",
    "sessions_per_active_month",
    "early_closure_rate",
    "language_concordance",
    "culture_concordance",
    "outcome_change",
]


# --- How a figure reads -----------------------------------------------------------------------


def display_rate(rate: float | None) -> str:
    return WITHHELD if rate is None else f"{round(rate * 100)} %"


def display_ratio(ratio: float | None) -> str:
    return WITHHELD if ratio is None else f"{ratio:.2f}"


def display_number(number: float | None) -> str:
    if number is None:
        return WITHHELD
    return f"{number:.1f}".removesuffix(".0")


def matched_share_value(group: dict, *, stage_keys: list[str]) -> float | None:
    """Matched ÷ people at the first stage, by the rule of ``reports.suppression.rate``: only
    from published counts, and only when the first stage holds at least k people. (k is not
    in a group's figures; a published count is never below k, so a published entry count is
    enough.)"""
    if "matched" not in stage_keys:
        return None
    entry, matched = group["funnel"].get(stage_keys[0]), group["funnel"].get("matched")
    if not entry or not matched or entry["suppressed"] or matched["suppressed"] or not entry["value"]:
        return None
    return round(matched["value"] / entry["value"], 4)


def matched_share(group: dict, *, stage_keys: list[str]) -> str:
    return display_rate(matched_share_value(group, stage_keys=stage_keys))


def suppression_rule(figures: dict) -> str:
    return SUPPRESSION_RULE.format(k=figures.get("k", 10))


def filename(snapshot: ReportSnapshot, extension: str) -> str:
    slug = snapshot.programme.slug if snapshot.programme_id else "programmes"
    generated = (
        timezone.localtime(snapshot.generated_at).strftime("%Y-%m-%d") if snapshot.generated_at else "draft"
    )
    return f"tandem-{slug}-participation-{generated}.{extension}"


# --- Every figure, in long form ---------------------------------------------------------------


def figure_rows(figures: dict) -> Iterator[list]:
    """One row per figure: ``COLUMNS``. Values are numbers or None; displays are strings."""
    for population, pop in figures["populations"].items():
        stage_keys = [stage["key"] for stage in pop["stages"]]
        for dimension, breakdown in pop["breakdowns"].items():
            for group in [*breakdown["groups"], breakdown["total"]]:
                base = [population, dimension, group["group"], group["label"]]
                if group.get("pooled_groups"):
                    yield [*base, "pooled_groups", "", None, "; ".join(group["pooled_groups"])]
                for stage in stage_keys:
                    cell = group["funnel"].get(stage) or MISSING_CELL
                    yield [
                        *base,
                        "funnel",
                        stage,
                        cell["value"] if not cell["suppressed"] else None,
                        cell["display"],
                    ]
                for stage in stage_keys[1:]:
                    rate = group["conversion"].get(stage)
                    yield [*base, "conversion", stage, rate, display_rate(rate)]
                for stage in stage_keys[1:]:
                    ratio = group["representation"].get(stage)
                    yield [*base, "representation", stage, ratio, display_ratio(ratio)]
                for metric in SCALARS:
                    value = group.get(metric)
                    shown = (
                        display_rate(value)
                        if metric.endswith(("_rate", "_concordance"))
                        else display_number(value)
                    )
                    yield [*base, metric, "", value, shown]
                for metric, disparity in (group.get("disparity") or {}).items():
                    ratio = (disparity or {}).get("ratio")
                    yield [*base, "disparity", metric, ratio, display_ratio(ratio)]
                    yield [*base, "disparity_flag", metric, None, (disparity or {}).get("flag") or ""]
    participation = figures.get("participation") or {}
    for metric, value in participation.items():
        shown = display_ratio(value) if metric.endswith("ratio") else display_rate(value)
        yield ["all", "migrant_background", contract.TOTAL, "Everyone", metric, "", value, shown]


def header_rows(snapshot: ReportSnapshot) -> list[list[str]]:
    figures = snapshot.figures
    period = figures.get("period") or {}
    as_of = timezone.localtime(snapshot.data_as_of).strftime("%Y-%m-%d %H:%M") if snapshot.data_as_of else ""
    generated = (
        timezone.localtime(snapshot.generated_at).strftime("%Y-%m-%d %H:%M") if snapshot.generated_at else ""
    )
    return [
        ["Tandem participation-equality report"],
        ["Programme", str(snapshot.programme) if snapshot.programme_id else "Several programmes"],
        ["Computed", generated],
        ["Records as of", as_of],
        ["Period", f"{period.get('start') or 'beginning'} to {period.get('end') or 'now'}"],
        ["Reference group", figures.get("reference_group", "")],
        ["Figures version", str(figures.get("version", ""))],
        ["Suppression rule", suppression_rule(figures)],
        ["Aggregates only", "No row in this file is about a single person."],
    ]


def definition_rows(figures: dict) -> list[list[str]]:
    return [[key, text] for key, text in (figures.get("definitions") or {}).items()]


def _safe(value):
    """Keep spreadsheets from running a label as a formula (CSV/XLSX injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def snapshot_csv(snapshot: ReportSnapshot) -> str:
    """A header block (about, the suppression rule, the definitions), a blank line, then the
    figures with a column header row. Lines of the header block start with "#"."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in header_rows(snapshot):
        writer.writerow([f"# {row[0]}", *map(_safe, row[1:])])
    writer.writerow(["# Definitions"])
    for key, text in definition_rows(snapshot.figures):
        writer.writerow([f"# {key}", _safe(text)])
    writer.writerow([])
    writer.writerow(COLUMNS)
    for row in figure_rows(snapshot.figures):
        row[3] = _safe(row[3])  # the group's label comes from a programme-managed vocabulary
        writer.writerow(["" if value is None else value for value in row])
    return "\ufeff" + out.getvalue()  # the BOM lets spreadsheet programs read the file as UTF-8


def snapshot_xlsx(snapshot: ReportSnapshot) -> bytes:
    """Sheets: "About" (with the suppression rule), "Definitions", "Figures" (long form)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    about = workbook.active
    about.title = "About"
    for row in header_rows(snapshot):
        about.append([_safe(value) for value in row])
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 100
    for row in about.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        for cell in row[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    definitions = workbook.create_sheet("Definitions")
    definitions.append(["Figure", "Definition"])
    definitions.append(["suppression", suppression_rule(snapshot.figures)])
    for key, text in definition_rows(snapshot.figures):
        definitions.append([key, _safe(text)])
    definitions.column_dimensions["A"].width = 28
    definitions.column_dimensions["B"].width = 110
    for cell in definitions[1]:
        cell.font = Font(bold=True)
    for row in definitions.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")

    sheet = workbook.create_sheet("Figures")
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in figure_rows(snapshot.figures):
        row[3] = _safe(row[3])
        sheet.append(row)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, width in zip("ABCDEFGH", (10, 20, 20, 34, 26, 22, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
