"""The participation-equality dashboard, its print page and its exports.

Pages read stored snapshots only (``reports.figures`` is the shape they read), so a manager
never sees a row about a person and a page costs the same however large the programme: the
dashboard reads the latest done snapshot of the chosen parameters, a small slice of the
previous ones for the trend, and the state of the newest request. Nothing is aggregated here.

Refreshing asks a worker for a new snapshot; while it is computed the page polls a small
fragment (HTMX, every second) that answers with the progress, and once the snapshot is done,
with the programme's whole report section, which replaces the old one.

Drill-down: the reader picks a programme, a population (mentees or mentors) and a dimension
(migrant background, language, ...) with a plain GET form; a different period or reference
group is a refresh with those parameters (``reports.services.snapshot_request``), since every
figure must be suppressed for exactly the people it counts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from mentoring.audit import audit_record
from mentoring.models import AuditEvent, MigrantBackground, Programme, User
from mentoring.permissions import reported_programmes
from mentoring.views import role_required
from reports import charts, exports
from reports import figures as contract
from reports.labels import figures_localized
from reports.models import ReportSnapshot
from reports.selectors import snapshot_get_for_user
from reports.services import parameters_key, snapshot_request

REPORT_ROLES = (User.Role.MANAGER, User.Role.COORDINATOR, User.Role.ADMIN)
KIND = ReportSnapshot.Kind.PARTICIPATION
TREND_LENGTH = 8

POPULATIONS = {"mentees": gettext_lazy("Mentees"), "mentors": gettext_lazy("Mentors")}
DIMENSIONS = dict(contract.DIMENSIONS)
REFERENCE_GROUPS = [(value, label) for value, label in MigrantBackground.choices]


# --- What the reader picked -------------------------------------------------------------------


class SelectionForm(forms.Form):
    """The drill-down (GET) and the period of a refresh (POST). Unknown or malformed values
    fall back to the defaults on GET; a POST reports them."""

    programme = forms.IntegerField(required=False, widget=forms.HiddenInput)
    population = forms.ChoiceField(
        label=gettext_lazy("People"), choices=list(POPULATIONS.items()), required=False
    )
    dimension = forms.ChoiceField(
        label=gettext_lazy("Grouped by"), choices=list(DIMENSIONS.items()), required=False
    )
    period_start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reference_group = forms.ChoiceField(
        label=gettext_lazy("Compare with"), choices=REFERENCE_GROUPS, required=False
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            raise ValidationError(_("The period cannot end before it starts."))
        return data


@dataclass
class Selection:
    programme: Programme
    population: str = "mentees"
    dimension: str = "migrant_background"
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    reference_group: str = MigrantBackground.NONE.value
    programmes: list[Programme] = field(default_factory=list)

    @property
    def parameters(self) -> dict:
        """The snapshot parameters (``reports.services.snapshot_parameters_clean``'s shape)."""
        return {
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            "reference_group": self.reference_group,
        }

    @property
    def parameters_key(self) -> str:
        return parameters_key(kind=KIND, parameters=self.parameters)

    def query(self, **overrides) -> str:
        values = {
            "programme": self.programme.pk,
            "population": self.population,
            "dimension": self.dimension,
            "period_start": self.period_start.isoformat() if self.period_start else "",
            "period_end": self.period_end.isoformat() if self.period_end else "",
            "reference_group": self.reference_group,
        }
        values.update(overrides)
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})

    @property
    def is_custom_period(self) -> bool:
        return bool(self.period_start or self.period_end or self.reference_group != MigrantBackground.NONE)


def _selection(*, user: User, data, programme_id: int | None = None) -> Selection:
    """The reader's choice, checked against the programmes they read reports of (404 for any
    other, as for another programme's records)."""
    programmes = list(reported_programmes(user=user).order_by("name"))
    form = SelectionForm(data)
    form.is_valid()  # invalid fields simply fall back to their defaults
    cleaned = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
    wanted = programme_id or cleaned.get("programme")
    if wanted is None:
        if not programmes:
            raise Http404
        programme = programmes[0]
    else:
        programme = next((p for p in programmes if p.pk == wanted), None)
        if programme is None:
            raise Http404
    selection = Selection(programme=programme, programmes=programmes)
    for key in ("population", "dimension", "period_start", "period_end", "reference_group"):
        if key in cleaned:
            setattr(selection, key, cleaned[key])
    if form.errors.get("__all__"):  # an end before the start: ignore the period
        selection.period_start = selection.period_end = None
    return selection


# --- Reading snapshots (a fixed, small number of queries) -------------------------------------


def _snapshots_of(selection: Selection):
    return ReportSnapshot.objects.filter(
        programme=selection.programme, kind=KIND, parameters_key=selection.parameters_key
    )


def _latest(selection: Selection) -> ReportSnapshot | None:
    return (
        _snapshots_of(selection)
        .filter(status=ReportSnapshot.Status.DONE)
        .order_by("-generated_at", "-id")
        .first()
    )


def _trend(selection: Selection) -> list[tuple[datetime.datetime, dict | None]]:
    """The chosen breakdown of the last done snapshots of the same parameters, oldest first:
    only that slice of each snapshot's JSON is read."""
    path = f"figures__populations__{selection.population}__breakdowns__{selection.dimension}"
    rows = (
        _snapshots_of(selection)
        .filter(status=ReportSnapshot.Status.DONE)
        .order_by("-generated_at", "-id")
        .values_list("generated_at", path)[:TREND_LENGTH]
    )
    return list(reversed(rows))


def _request_state(selection: Selection) -> tuple[ReportSnapshot | None, ReportSnapshot | None]:
    """(in flight, failed) for the chosen parameters, from the newest request."""
    newest = _snapshots_of(selection).order_by("-requested_at", "-id").first()
    if newest is None:
        return None, None
    if newest.status in ReportSnapshot.IN_FLIGHT:
        return newest, None
    if newest.status == ReportSnapshot.Status.FAILED:
        return None, newest
    return None, None


# --- Shaping the figures for the page ---------------------------------------------------------

DISPARITY_LABELS = {
    "matched_rate": gettext_lazy("Matched rate"),
    "completion_rate": gettext_lazy("Completion rate"),
    "early_closure_rate": gettext_lazy("Early-closure rate"),
    "language_concordance": gettext_lazy("Language concordance"),
}
TIMING = [
    ("median_days_to_match", gettext_lazy("Median days to match"), exports.display_number),
    ("median_match_days", gettext_lazy("Median match length (days)"), exports.display_number),
    ("sessions_per_active_month", gettext_lazy("Sessions per active month"), exports.display_number),
    ("early_closure_rate", gettext_lazy("Early-closure rate"), exports.display_rate),
]
CONCORDANCE = [
    ("language_concordance", gettext_lazy("Mentor speaks the mentee's preferred language")),
    ("culture_concordance", gettext_lazy("Mentor and mentee share a cultural background")),
]
MATCHED_SHARE_DEFINITION = gettext_lazy(
    "Matched ÷ people at the first stage of the group, as computed for each snapshot. Withheld "
    "(a gap in the line) when either count is withheld or the first stage holds fewer than k people."
)


def _definition(definitions: dict, *keys: str) -> str:
    return next((definitions[key] for key in keys if definitions.get(key)), "")


def _rate_value(rate: float | None) -> charts.Value:
    return charts.Value(rate, exports.display_rate(rate))


def _group_view(group: dict, *, stages: list[dict], reference: str | None) -> dict:
    stage_keys = [stage["key"] for stage in stages]
    disparity = group.get("disparity") or {}
    return {
        "group": group["group"],
        "label": group["label"],
        "is_reference": group["group"] == reference,
        "pooled": group.get("pooled", False),
        "pooled_groups": group.get("pooled_groups", []),
        "funnel": [
            {**(group["funnel"].get(key) or exports.missing_cell()), "stage": key} for key in stage_keys
        ],
        "conversion": [exports.display_rate(group["conversion"].get(key)) for key in stage_keys[1:]],
        "representation": [exports.display_ratio(group["representation"].get(key)) for key in stage_keys[1:]],
        "matched_share": exports.matched_share(group, stage_keys=stage_keys),
        "timing": [display(group.get(key)) for key, _label, display in TIMING],
        "concordance": [exports.display_rate(group.get(key)) for key, _label in CONCORDANCE],
        "outcome_change": exports.display_number(group.get("outcome_change")),
        "disparity": [
            {
                "metric": metric,
                "ratio": exports.display_ratio((disparity.get(metric) or {}).get("ratio")),
                "flag": (disparity.get(metric) or {}).get("flag"),
            }
            for metric in contract.DISPARITY_METRICS
        ],
    }


def _figures_view(figures: dict, *, population: str, dimension: str, trend: list | None = None) -> dict:
    """Everything the page shows of one population and dimension of a snapshot, in the
    reader's language."""
    figures = figures_localized(figures)
    definitions = figures.get("definitions", {})
    pop = figures["populations"][population]
    breakdown = pop["breakdowns"][dimension]
    stages = pop["stages"]
    stage_labels = [stage["label"] for stage in stages]
    reference = figures.get("reference_group") if dimension == "migrant_background" else None
    groups = [_group_view(group, stages=stages, reference=reference) for group in breakdown["groups"]]
    total = _group_view(breakdown["total"], stages=stages, reference=None)
    raw_groups = breakdown["groups"]
    population_label = POPULATIONS[population]
    dimension_label = breakdown.get("label") or DIMENSIONS[dimension]

    funnel_svg = charts.funnel_chart(
        title=_("%(population)s: how far each group gets, by %(dimension)s")
        % {"population": population_label, "dimension": dimension_label.lower()},
        stages=stage_labels,
        rows=[
            (g["label"], [charts.Value(cell["value"], cell["display"]) for cell in g["funnel"]])
            for g in [*groups, total]
        ],
    )
    representation_svg = charts.ratio_grid_chart(
        title=_("Representation at each stage (1.0 = the same share as at entry)"),
        columns=stage_labels[1:],
        rows=[
            (
                g["label"],
                [
                    charts.Value(raw["representation"].get(s["key"]), shown)
                    for s, shown in zip(stages[1:], g["representation"], strict=False)
                ],
            )
            for g, raw in zip(groups, raw_groups, strict=False)
        ],
    )
    disparity_svg = charts.ratio_grid_chart(
        title=_("Disparity ratios against the reference group"),
        columns=[str(DISPARITY_LABELS.get(m, m)) for m in contract.DISPARITY_METRICS],
        rows=[
            (
                g["label"],
                [
                    charts.Value((raw.get("disparity", {}).get(m) or {}).get("ratio"), d["ratio"])
                    for m, d in zip(contract.DISPARITY_METRICS, g["disparity"], strict=False)
                ],
            )
            for g, raw in zip(groups, raw_groups, strict=False)
        ],
    )
    concordance_svg = charts.bar_chart(
        title=_("Concordance of matches, by group"),
        series=[str(_("Same language")), str(_("Shared background"))],
        rows=[
            (g["label"], [_rate_value(raw.get(key)) for key, _label in CONCORDANCE])
            for g, raw in zip([*groups, total], [*raw_groups, breakdown["total"]], strict=False)
        ],
    )

    flags = [
        {**d, "group": g["label"], "metric": DISPARITY_LABELS.get(d["metric"], d["metric"])}
        for g in groups
        for d in g["disparity"]
        if d["flag"]
    ]
    headline = [
        {
            "key": "entered",
            "label": stage_labels[0],
            "value": total["funnel"][0]["display"],
            # A count hidden to protect another ("withheld", in the reader's language).
            "withheld": total["funnel"][0]["display"] == _("withheld"),
            "definition": _definition(definitions, "funnel", stages[0]["key"]),
        },
        {
            "key": "matched_share",
            "label": _("Matched share"),
            "value": total["matched_share"],
            "definition": _definition(definitions, "matched_rate") or MATCHED_SHARE_DEFINITION,
        },
        *[
            {
                "key": key,
                "label": label,
                "value": display(breakdown["total"].get(key)),
                "definition": _definition(definitions, key),
            }
            for key, label, display in TIMING
        ],
        {
            "key": "language_concordance",
            "label": _("Language concordance"),
            "value": exports.display_rate(breakdown["total"].get("language_concordance")),
            "definition": _definition(definitions, "language_concordance"),
        },
    ]

    trend_view = None
    if trend:
        labels = [
            formats.date_format(generated_at, "d M") if generated_at else "" for generated_at, _b in trend
        ]
        stage_keys = [stage["key"] for stage in stages]
        series = []
        for g in raw_groups:
            values = []
            for _at, past in trend:
                line = next((x for x in (past or {}).get("groups", []) if x["group"] == g["group"]), None)
                values.append(exports.matched_share_value(line, stage_keys=stage_keys) if line else None)
            series.append((g["label"], values))
        shown = [(name, values) for name, values in series if any(v is not None for v in values)]
        trend_view = {
            "labels": labels,
            "rows": [(name, [exports.display_rate(v) for v in values]) for name, values in series],
            "svg": charts.line_chart(
                title=_("Matched share per group over the last %(n)s snapshots") % {"n": len(trend)},
                x_labels=labels,
                series=shown,
            )
            if shown
            else None,
            "definition": MATCHED_SHARE_DEFINITION,
        }

    return {
        "population": population,
        "population_label": population_label,
        "dimension": dimension,
        "dimension_label": dimension_label,
        "stages": stages,
        "later_stages": stages[1:],
        "groups": groups,
        "total": total,
        "headline": headline,
        "flags": flags,
        "reference_label": dict(MigrantBackground.choices).get(reference, reference) if reference else None,
        "disparity_metrics": [DISPARITY_LABELS.get(m, m) for m in contract.DISPARITY_METRICS],
        "timing_columns": [label for _key, label, _display in TIMING],
        "concordance_columns": [label for _key, label in CONCORDANCE],
        "charts": {
            "funnel": funnel_svg,
            "representation": representation_svg,
            "disparity": disparity_svg,
            "concordance": concordance_svg,
        },
        "trend": trend_view,
        "definitions": {
            "funnel": _definition(definitions, "funnel"),
            "conversion": _definition(definitions, "conversion"),
            "representation": _definition(definitions, "representation"),
            "disparity": _definition(definitions, "disparity"),
            "language_concordance": _definition(definitions, "language_concordance"),
            "culture_concordance": _definition(definitions, "culture_concordance"),
            "timing": [(label, _definition(definitions, key)) for key, label, _d in TIMING],
            "outcome_change": _definition(definitions, "outcome_change"),
            "suppression": _definition(definitions, "suppression"),
            "no_consent": _definition(definitions, "no_consent", "group"),
        },
    }


def _participation_view(figures: dict) -> dict | None:
    """Migrant participation as mentors compared with as mentees."""
    participation = figures.get("participation") or {}
    if not participation:
        return None
    definitions = figures_localized(figures).get("definitions", {})
    mentees, mentors = participation.get("migrant_share_mentees"), participation.get("migrant_share_mentors")
    return {
        "mentees": exports.display_rate(mentees),
        "mentors": exports.display_rate(mentors),
        "ratio": exports.display_ratio(participation.get("mentor_to_mentee_ratio")),
        "svg": charts.bar_chart(
            title=_("Share with a migrant background, among mentees and among mentors"),
            series=[str(_("Migrant share"))],
            rows=[(str(_("Mentees")), [_rate_value(mentees)]), (str(_("Mentors")), [_rate_value(mentors)])],
        ),
        "definitions": [
            text
            for text in (
                _definition(definitions, "migrant_share_mentees", "migrant_share"),
                _definition(definitions, "migrant_share_mentors"),
                _definition(definitions, "mentor_to_mentee_ratio"),
            )
            if text
        ],
    }


def _programme_report(*, selection: Selection) -> dict:
    """What the page shows of one programme and selection: the latest done snapshot of those
    parameters, its trend, and the state of the newest request (in flight, or failed)."""
    latest = _latest(selection)
    in_flight, failed = _request_state(selection)
    view = participation = None
    outdated = False
    if latest is not None:
        if latest.figures.get("version") == contract.VERSION:
            trend = _trend(selection)
            view = _figures_view(
                latest.figures, population=selection.population, dimension=selection.dimension, trend=trend
            )
            participation = _participation_view(latest.figures)
        else:
            outdated = True
    return {
        "programme": selection.programme,
        "selection": selection,
        "latest": latest,
        "in_flight": in_flight,
        "failed": failed,
        "outdated": outdated,
        "view": view,
        "participation": participation,
        "k": latest.figures.get("k", latest.small_cell_k) if latest else selection.programme.small_cell_k,
        "period": (latest.figures.get("period") if latest and view else None) or {},
        "form": SelectionForm(
            initial={
                "programme": selection.programme.pk,
                "population": selection.population,
                "dimension": selection.dimension,
                "period_start": selection.period_start,
                "period_end": selection.period_end,
                "reference_group": selection.reference_group,
            }
        ),
        "query": selection.query(),
    }


# --- Views ------------------------------------------------------------------------------------


@role_required(*REPORT_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    selection = _selection(user=request.user, data=request.GET)
    return render(
        request,
        "reports/dashboard.html",
        {"report": _programme_report(selection=selection), "programmes": selection.programmes},
    )


@require_POST
@role_required(*REPORT_ROLES)
def snapshot_refresh(request: HttpRequest, programme_id: int) -> HttpResponse:
    """Ask for fresh figures of the selection's parameters (a period and reference group may
    come with the request)."""
    selection = _selection(user=request.user, data=request.POST, programme_id=programme_id)
    form = SelectionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) + form.errors.get("period_end", []):
            messages.error(request, error)
        return redirect(f"{reverse('reports:dashboard')}?{selection.query()}")
    try:
        snapshot_request(
            programme=selection.programme, requested_by=request.user, parameters=selection.parameters
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect(f"{reverse('reports:dashboard')}?{selection.query()}")
    if request.htmx:
        return render(
            request, "reports/_programme_report.html", {"report": _programme_report(selection=selection)}
        )
    messages.info(
        request, _("The figures of %(programme)s are being refreshed.") % {"programme": selection.programme}
    )
    return redirect(f"{reverse('reports:dashboard')}?{selection.query()}")


@role_required(*REPORT_ROLES)
def snapshot_status(request: HttpRequest, programme_id: int) -> HttpResponse:
    """Polled while a snapshot is computed: the progress bar, then the finished section."""
    selection = _selection(user=request.user, data=request.GET, programme_id=programme_id)
    report = _programme_report(selection=selection)
    if report["in_flight"] is not None:
        return render(request, "reports/_progress.html", {"report": report})
    response = render(request, "reports/_programme_report.html", {"report": report, "just_updated": True})
    retarget(response, f"#programme-report-{selection.programme.pk}")
    reswap(response, "outerHTML")
    return response


def _done_snapshot(*, user: User, snapshot_id: int) -> ReportSnapshot:
    """A done, version-2 snapshot of a programme the user reads reports of; 404 otherwise."""
    snapshot = snapshot_get_for_user(user=user, snapshot_id=snapshot_id)
    if snapshot.status != ReportSnapshot.Status.DONE or snapshot.figures.get("version") != contract.VERSION:
        raise Http404
    return snapshot


@role_required(*REPORT_ROLES)
def snapshot_print(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """Every block of one dimension for both populations, styled for paper (board meetings)."""
    snapshot = _done_snapshot(user=request.user, snapshot_id=snapshot_id)
    dimension = request.GET.get("dimension")
    if dimension not in DIMENSIONS:
        dimension = "migrant_background"
    views = [
        _figures_view(snapshot.figures, population=population, dimension=dimension)
        for population in POPULATIONS
    ]
    return render(
        request,
        "reports/print.html",
        {
            "snapshot": snapshot,
            "views": views,
            "participation": _participation_view(snapshot.figures),
            "period": snapshot.figures.get("period") or {},
            "k": snapshot.figures.get("k", snapshot.small_cell_k),
            "dimension_label": DIMENSIONS[dimension],
            "dimensions": DIMENSIONS,
            "dimension": dimension,
            "suppression_rule": exports.suppression_rule(snapshot.figures),
        },
    )


@role_required(*REPORT_ROLES)
def snapshot_export_csv(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = _done_snapshot(user=request.user, snapshot_id=snapshot_id)
    # Exports leave the system: each one is on the audit trail (aggregates only, no values).
    audit_record(user=request.user, action=AuditEvent.Action.READ, obj=snapshot, request=request)
    response = HttpResponse(exports.snapshot_csv(snapshot), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(snapshot, "csv")}"'
    return response


@role_required(*REPORT_ROLES)
def snapshot_export_xlsx(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = _done_snapshot(user=request.user, snapshot_id=snapshot_id)
    # Exports leave the system: each one is on the audit trail (aggregates only, no values).
    audit_record(user=request.user, action=AuditEvent.Action.READ, obj=snapshot, request=request)
    response = HttpResponse(exports.snapshot_xlsx(snapshot), content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(snapshot, "xlsx")}"'
    return response
