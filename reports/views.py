"""The reports dashboard: stored snapshots only, so a manager never sees a row about a person.

Refreshing asks a worker for a new snapshot; while it is computed the page polls a small
fragment (HTMX, every second) that answers with the progress, and once the snapshot is done,
with the programme's whole report section, which replaces the old one.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from mentoring.models import Programme, User
from mentoring.permissions import reported_programmes
from mentoring.views import role_required
from reports.models import ReportSnapshot
from reports.selectors import snapshot_in_flight, snapshot_latest, snapshot_list_visible_to
from reports.services import snapshot_request

REPORT_ROLES = (User.Role.MANAGER, User.Role.COORDINATOR, User.Role.ADMIN)

POPULATIONS = {"mentees": gettext_lazy("Mentees"), "mentors": gettext_lazy("Mentors")}
DEFINITION_TERMS = {
    "population": gettext_lazy("Who is counted"),
    "group": gettext_lazy("Group"),
    "matched": gettext_lazy("Matched"),
    "matched_share": gettext_lazy("Matched share"),
    "suppression": gettext_lazy("Small numbers"),
}


def _line(line: dict) -> dict:
    share = line["matched_share"]
    return {**line, "share_percent": None if share is None else round(share * 100)}


def _programme_report(*, user: User, programme: Programme) -> dict:
    """What the page shows of one programme: the latest done snapshot's figures and the state
    of the newest request (in flight, or failed)."""
    latest = snapshot_latest(programme=programme)
    newest = snapshot_list_visible_to(user=user, filters={"programme": programme.pk}).first()
    tables = []
    definitions = []
    if latest is not None:
        for key, title in POPULATIONS.items():
            population = latest.figures["populations"][key]
            tables.append(
                {
                    "key": key,
                    "title": title,
                    "groups": [_line(line) for line in population["groups"]],
                    "total": _line(population["total"]),
                }
            )
        definitions = [
            {"term": DEFINITION_TERMS.get(key, key), "text": text}
            for key, text in latest.figures.get("definitions", {}).items()
        ]
    return {
        "programme": programme,
        "latest": latest,
        "in_flight": snapshot_in_flight(programme=programme),
        "failed": newest if newest is not None and newest.status == ReportSnapshot.Status.FAILED else None,
        "tables": tables,
        "definitions": definitions,
    }


def _programme_or_404(*, user: User, programme_id: int) -> Programme:
    programme = reported_programmes(user=user).filter(pk=programme_id).first()
    if programme is None:
        raise Http404
    return programme


@role_required(*REPORT_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    reports = [
        _programme_report(user=request.user, programme=programme)
        for programme in reported_programmes(user=request.user).order_by("name")
    ]
    return render(request, "reports/dashboard.html", {"reports": reports})


@require_POST
@role_required(*REPORT_ROLES)
def snapshot_refresh(request: HttpRequest, programme_id: int) -> HttpResponse:
    programme = _programme_or_404(user=request.user, programme_id=programme_id)
    snapshot_request(programme=programme, requested_by=request.user)
    if request.htmx:
        return render(
            request,
            "reports/_programme_report.html",
            {"report": _programme_report(user=request.user, programme=programme)},
        )
    messages.info(request, _("The figures of %(programme)s are being refreshed.") % {"programme": programme})
    return redirect("reports:dashboard")


@role_required(*REPORT_ROLES)
def snapshot_status(request: HttpRequest, programme_id: int) -> HttpResponse:
    """Polled while a snapshot is computed: the progress bar, then the finished section."""
    programme = _programme_or_404(user=request.user, programme_id=programme_id)
    report = _programme_report(user=request.user, programme=programme)
    if report["in_flight"] is not None:
        return render(request, "reports/_progress.html", {"report": report})
    response = render(request, "reports/_programme_report.html", {"report": report, "just_updated": True})
    retarget(response, f"#programme-report-{programme.pk}")
    reswap(response, "outerHTML")
    return response
