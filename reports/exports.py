"""Exports of a snapshot (CSV, XLSX) and how a figure reads, shared with the pages.

An export carries exactly what the snapshot holds, so it obeys small-cell suppression as the
page does: a withheld count is exported as its display ("< 10", "withheld") with an empty value,
a withheld rate or ratio as an empty value with the display "–". Every file starts with what a
reader needs to use it alone: the programme, when and from which records it was computed, the
period, the reference group, the suppression rule and a definition of every figure.

The figures are exported in long form (one row per figure: population, dimension, group,
metric, stage, value, display), which spreadsheets pivot easily and which holds every figure of
every population, dimension and group without a separate layout per table.

Files are written in the reader's language (labels, definitions, the header block, the
column headings, decimal separators), as the pages are. The keys in the figures' rows
(population, dimension, group, metric, stage) are codes, the same in every language, so a
pivot table or a script can rely on them whoever exported the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from mentoring.models import MigrantBackground
from reports import figures as contract
from reports.labels import figures_localized
from reports.models import ReportSnapshot

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WITHHELD = "–"
MISSING_CELL = {"value": None, "suppressed": True, "display": "withheld"}
COLUMNS = ["population", "dimension", "group", "group_label", "metric", "stage", "value", "display"]
# The heading of each column, in the reader's language.
COLUMN_HEADINGS = {
    "population": pgettext_lazy("export column", "population"),
    "dimension": pgettext_lazy("export column", "dimension"),
    "group": pgettext_lazy("export column", "group"),
    "group_label": pgettext_lazy("export column", "group_label"),
    "metric": pgettext_lazy("export column", "metric"),
    "stage": pgettext_lazy("export column", "stage"),
    "value": pgettext_lazy("export column", "value"),
    "display": pgettext_lazy("export column", "display"),
}

SUPPRESSION_RULE = gettext_lazy(
    "Small numbers (k = %(k)s): any count below %(k)s is shown as “< %(k)s” and has no value. Where "
    "totals would let a small count be worked out, further counts are withheld (“withheld”). Every "
    "rate, median, mean or ratio whose denominator is below %(k)s, or that is built on a withheld "
    "count, is withheld (“–”, no value). This file holds only what the stored snapshot holds."
)

METRIC_LABELS = {
    "funnel": gettext_lazy("People who reached the stage"),
    "conversion": gettext_lazy("Conversion from the previous stage"),
    "representation": gettext_lazy("Representation (share of the stage ÷ share at entry)"),
    "median_days_to_match": gettext_lazy("Median days to match"),
    "median_match_days": gettext_lazy("Median match length (days)"),
    "sessions_per_active_month": gettext_lazy("Sessions per active month"),
    "early_closure_rate": gettext_lazy("Early-closure rate"),
    "language_concordance": gettext_lazy("Language concordance"),
    "culture_concordance": gettext_lazy("Culture concordance"),
    "outcome_change": gettext_lazy("Outcome change"),
    "disparity": gettext_lazy("Disparity ratio"),
    "disparity_flag": gettext_lazy("Disparity flag"),
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


def decimal(text: str) -> str:
    """A number written with ".", with the active language's decimal separator instead (Django's
    ``number_format`` truncates where this rounds, so the digits are Python's)."""
    return text.replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def missing_cell() -> dict:
    """A count the snapshot lacks, shown as withheld (in the active language)."""
    return {**MISSING_CELL, "display": _("withheld")}


def display_rate(rate: float | None) -> str:
    return WITHHELD if rate is None else f"{round(rate * 100)} %"


def display_ratio(ratio: float | None) -> str:
    return WITHHELD if ratio is None else decimal(f"{ratio:.2f}")


def display_number(number: float | None) -> str:
    if number is None:
        return WITHHELD
    return decimal(f"{number:.1f}".removesuffix(".0"))


def column_headings() -> list[str]:
    return [str(COLUMN_HEADINGS[column]) for column in COLUMNS]


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
    return str(SUPPRESSION_RULE) % {"k": figures.get("k", 10)}


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
                    cell = group["funnel"].get(stage) or missing_cell()
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
        yield ["all", "migrant_background", contract.TOTAL, _("Everyone"), metric, "", value, shown]


def _reference_group_label(code: str) -> str:
    """The migrant-background group disparities compare with, by its name ("none" is the group
    of people with no migrant background)."""
    return str(MigrantBackground(code).label) if code in MigrantBackground.values else code


def header_rows(snapshot: ReportSnapshot) -> list[list[str]]:
    figures = snapshot.figures
    period = figures.get("period") or {}
    as_of = timezone.localtime(snapshot.data_as_of).strftime("%Y-%m-%d %H:%M") if snapshot.data_as_of else ""
    generated = (
        timezone.localtime(snapshot.generated_at).strftime("%Y-%m-%d %H:%M") if snapshot.generated_at else ""
    )
    period_text = _("%(start)s to %(end)s") % {
        "start": period.get("start") or pgettext("period", "beginning"),
        "end": period.get("end") or pgettext("period", "now"),
    }
    return [
        [_("Tandem participation-equality report")],
        [_("Programme"), str(snapshot.programme) if snapshot.programme_id else _("Several programmes")],
        [_("Computed"), generated],
        [_("Records as of"), as_of],
        [_("Period"), period_text],
        [_("Reference group"), _reference_group_label(figures.get("reference_group", ""))],
        [_("Figures version"), str(figures.get("version", ""))],
        [_("Suppression rule"), suppression_rule(figures)],
        [_("Aggregates only"), _("No row in this file is about a single person.")],
    ]


def definition_rows(figures: dict) -> list[list[str]]:
    return [[key, text] for key, text in (figures_localized(figures).get("definitions") or {}).items()]


def _safe(value):
    """Keep spreadsheets from running a label as a formula (CSV/XLSX injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _sheet_title(title: str) -> str:
    """A worksheet's name: at most 31 characters, none of those Excel refuses."""
    for forbidden in "[]:*?/\\":
        title = title.replace(forbidden, " ")
    return title.strip()[:31] or "Sheet"


def snapshot_csv(snapshot: ReportSnapshot) -> str:
    """A header block (about, the suppression rule, the definitions), a blank line, then the
    figures with a column header row. Lines of the header block start with "#"."""
    out = io.StringIO()
    writer = csv.writer(out)
    figures = figures_localized(snapshot.figures)
    for row in header_rows(snapshot):
        writer.writerow([f"# {row[0]}", *map(_safe, row[1:])])
    writer.writerow(["# " + pgettext("export sheet", "Definitions")])
    for key, text in definition_rows(figures):
        writer.writerow([f"# {key}", _safe(text)])
    writer.writerow([])
    writer.writerow(column_headings())
    for row in figure_rows(figures):
        row[3] = _safe(row[3])  # the group's label comes from a programme-managed vocabulary
        writer.writerow(["" if value is None else value for value in row])
    return "\ufeff" + out.getvalue()  # the BOM lets spreadsheet programs read the file as UTF-8


def snapshot_xlsx(snapshot: ReportSnapshot) -> bytes:
    """Sheets: "About" (with the suppression rule), "Definitions", "Figures" (long form)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    figures = figures_localized(snapshot.figures)
    workbook = Workbook()
    about = workbook.active
    about.title = _sheet_title(pgettext("export sheet", "About"))
    for row in header_rows(snapshot):
        about.append([_safe(value) for value in row])
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 100
    for row in about.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        for cell in row[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    definitions = workbook.create_sheet(_sheet_title(pgettext("export sheet", "Definitions")))
    definitions.append([pgettext("export heading", "Figure"), pgettext("export heading", "Definition")])
    definitions.append(["suppression", suppression_rule(figures)])
    for key, text in definition_rows(figures):
        definitions.append([key, _safe(text)])
    definitions.column_dimensions["A"].width = 28
    definitions.column_dimensions["B"].width = 110
    for cell in definitions[1]:
        cell.font = Font(bold=True)
    for row in definitions.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")

    sheet = workbook.create_sheet(_sheet_title(pgettext("export sheet", "Figures")))
    sheet.append(column_headings())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in figure_rows(figures):
        row[3] = _safe(row[3])
        sheet.append(row)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, width in zip("ABCDEFGH", (10, 20, 20, 34, 26, 22, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
