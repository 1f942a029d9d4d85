"""Pages of batch matching: a programme's waiting list matched at once by ``matching.batch``.

- ``/matching/batch/``: the runs of the coordinator's programmes and the form that starts one.
- ``/matching/batch/<id>/``: one run. While it is computed, a progress bar that HTMX refreshes
  every second (``batch_run_progress`` answers the same fragment, and once the run is done the
  whole review, which replaces the bar). When done: the figures, the proposed pairs with their
  explanations (100 a page, searchable, so a 20,000-pair proposal stays fast), pin / forbid
  buttons that start a re-run, and "Accept selected" / "Accept all".
- ``/matching/batch/<id>/recruitment/``: the run's unmatched mentees summed by language and
  background, the mentors the programme should recruit.

Views are thin: the rules (who may see a run, what a re-run carries over, what accepting does)
are ``matching.batch``'s.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from matching.batch import (
    batch_pair_list,
    batch_pairs_worded,
    batch_run_accept,
    batch_run_create,
    batch_run_get_for_user,
    batch_run_list_visible_to,
    batch_run_rerun,
    batch_unmatched_details,
    batch_unmatched_list,
    batch_unmatched_worded,
    recruitment_needs,
)
from matching.engine import Part
from matching.models import BatchPair, BatchRun
from mentoring.audit import audit_record
from mentoring.forms import add_service_errors
from mentoring.models import AuditEvent, Mentee, Mentor, User
from mentoring.permissions import coordinated_programmes
from mentoring.views import role_required

STAFF = (User.Role.COORDINATOR, User.Role.ADMIN)
RUNS_PER_PAGE = 25
PAIRS_PER_PAGE = 100
UNMATCHED_PER_PAGE = 50
TOP_DETAILS = 20
IN_FLIGHT = (BatchRun.Status.QUEUED, BatchRun.Status.RUNNING)


# Forms ----------------------------------------------------------------------------------------


class BatchRunStartForm(forms.Form):
    """Start a batch: which programme, what to optimise, and whether long waits count."""

    programme = forms.ModelChoiceField(
        queryset=None,
        label=gettext_lazy("Programme"),
        empty_label=None,
        error_messages={"invalid_choice": gettext_lazy("Choose one of your programmes.")},
    )
    objective = forms.ChoiceField(
        label=gettext_lazy("Objective"),
        choices=BatchRun.Objective.choices,
        initial=BatchRun.Objective.TOTAL_SCORE,
        widget=forms.RadioSelect,
    )
    wait_priority = forms.BooleanField(
        label=gettext_lazy("Priority for long waits"),
        required=False,
        help_text=gettext_lazy("Adds points for every week a mentee has waited (up to 26 weeks)."),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = coordinated_programmes(user=user).order_by("name")


class PairFilterForm(forms.Form):
    """The search above a run's pairs; bad values are ignored (a stale URL just filters less)."""

    SHOW_CHOICES = [
        ("", gettext_lazy("All pairs")),
        ("open", gettext_lazy("Not accepted yet")),
        ("accepted", gettext_lazy("Accepted")),
        ("pinned", gettext_lazy("Pinned")),
        ("concordant", gettext_lazy("Mentor speaks the preferred language")),
        ("not_concordant", gettext_lazy("Mentor does not speak the preferred language")),
    ]

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        help_text=gettext_lazy("Mentee's or mentor's name"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    show = forms.ChoiceField(label=gettext_lazy("Show"), required=False, choices=SHOW_CHOICES)

    def filters(self) -> dict:
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


def _name_query(query: str, *prefixes: str) -> Q:
    """Every word of ``query`` in the first or last name of one of the people."""
    condition = Q()
    for term in query.split():
        term_q = Q()
        for prefix in prefixes:
            term_q |= Q(**{f"{prefix}__person__first_name__icontains": term})
            term_q |= Q(**{f"{prefix}__person__last_name__icontains": term})
        condition &= term_q
    return condition


def _pairs(run: BatchRun, filters: dict):
    """The run's pairs the filters keep, pinned first, then best first."""
    qs = BatchPair.objects.filter(run=run)
    if query := (filters.get("q") or "").strip():
        qs = qs.filter(_name_query(query, "mentee", "mentor"))
    show = filters.get("show")
    if show == "open":
        qs = qs.filter(match__isnull=True)
    elif show == "accepted":
        qs = qs.filter(match__isnull=False)
    elif show == "pinned":
        qs = qs.filter(pinned=True)
    elif show == "concordant":
        qs = qs.filter(language_concordant=True)
    elif show == "not_concordant":
        qs = qs.filter(language_concordant=False)
    return qs.order_by("-pinned", "-score", "mentee_id")


# The list and the start form ------------------------------------------------------------------


@role_required(*STAFF)
def batch_run_list(request: HttpRequest) -> HttpResponse:
    """The runs of the user's programmes, newest first, and the form that starts a run."""
    form = BatchRunStartForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            run = batch_run_create(
                programme=form.cleaned_data["programme"],
                created_by=request.user,
                objective=form.cleaned_data["objective"],
                wait_priority=form.cleaned_data["wait_priority"],
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The batch is being computed."))
            return redirect("matching:batch-detail", run_id=run.pk)
    runs = Paginator(
        batch_run_list_visible_to(user=request.user).select_related("programme", "created_by"),
        RUNS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "matching/batch/list.html",
        {"form": form, "page_obj": runs, "runs": runs, "section": "batch"},
        status=422 if form.errors else 200,
    )


# One run: progress, then the review -----------------------------------------------------------


def _review_context(request: HttpRequest, run: BatchRun) -> dict:
    """What ``_review.html`` shows of ``run``: the progress while it runs, else the result."""
    context: dict = {"run": run, "in_flight": run.status in IN_FLIGHT}
    if run.status != BatchRun.Status.DONE:
        return context
    form = PairFilterForm(request.GET)
    filters = form.filters()
    # The page's ids first, sorted on the pairs' own columns (no join unless searching by
    # name), then those rows with their people: a 20,000-pair proposal pages as fast as a small one.
    pairs = Paginator(_pairs(run, filters).values_list("pk", flat=True), PAIRS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = batch_pair_list(run=run).in_bulk(list(pairs))
    pair_rows = batch_pairs_worded(run=run, pairs=(rows[pk] for pk in pairs if pk in rows))
    for pair in pair_rows:
        pair.part_texts = [_part_text(part) for part in pair.parts]
    unmatched = Paginator(
        batch_unmatched_list(run=run).order_by("reason", "mentee_id"),
        UNMATCHED_PER_PAGE,
    ).get_page(request.GET.get("unmatched_page"))
    unmatched.object_list = batch_unmatched_worded(run=run, rows=unmatched.object_list)
    waiting = run.waiting_count or 0
    gain = run.gain_over_greedy
    greedy = run.greedy_total_score
    gap = None
    # The bound is on the run's objective; only "highest total score" measures it in points.
    if (
        run.objective == BatchRun.Objective.TOTAL_SCORE
        and run.upper_bound is not None
        and run.total_score is not None
    ):
        gap = max(0.0, run.upper_bound - run.total_score) / max(1, run.total_score) * 100
    context.update(
        {
            "filter_form": form,
            "filtered": bool(filters),
            "pairs": pairs,
            "pair_rows": pair_rows,
            "page_obj": pairs,
            "unmatched": unmatched,
            "open_pair_count": run.pairs.filter(match__isnull=True).count(),
            "matched_percent": _percent(run.matched_count, waiting),
            "gain": gain,
            "gain_percent": (gain / greedy * 100) if gain is not None and greedy else None,
            "gap_percent": gap,
            "elapsed_seconds": None if run.elapsed_ms is None else run.elapsed_ms / 1000,
            "concordant_percent": _percent(run.language_concordant_count, run.matched_count),
            "pinned": _people_pairs(run, run.pinned),
            "forbidden": _people_pairs(run, run.forbidden),
        }
    )
    return context


def _percent(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole * 100 if whole else None


def _part_text(part: dict) -> str:
    """ "Speaks Romanian natively (+40)": a part of a score in the coordinator's words."""
    points, reason = int(part.get("points", 0)), str(part.get("reason", ""))
    # A part worth nothing (consent missing) explains without a "(+0)".
    return str(Part(code=str(part.get("code", "")), points=points, reason=reason)) if points else reason


def _people_pairs(run: BatchRun, id_pairs: list) -> list[dict]:
    """``[[mentee id, mentor id], …]`` as names, for the pins and exclusions a run carries."""
    if not id_pairs:
        return []
    mentee_ids = {mentee_id for mentee_id, _mentor_id in id_pairs}
    mentor_ids = {mentor_id for _mentee_id, mentor_id in id_pairs}
    mentees = {
        m.pk: m.person.full_name
        for m in Mentee.objects.filter(programme_id=run.programme_id, pk__in=mentee_ids).select_related(
            "person"
        )
    }
    mentors = {
        m.pk: m.person.full_name
        for m in Mentor.objects.filter(programme_id=run.programme_id, pk__in=mentor_ids).select_related(
            "person"
        )
    }
    return [
        {
            "key": f"{mentee_id}-{mentor_id}",
            "mentee": mentees.get(mentee_id, _("Mentee %(id)s") % {"id": mentee_id}),
            "mentor": mentors.get(mentor_id, _("Mentor %(id)s") % {"id": mentor_id}),
        }
        for mentee_id, mentor_id in id_pairs
    ]


@role_required(*STAFF)
def batch_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run: its progress while it is computed, then the proposal to review."""
    run = batch_run_get_for_user(user=request.user, run_id=run_id, request=request)
    return render(
        request,
        "matching/batch/detail.html",
        {**_review_context(request, run), "section": "batch"},
    )


@role_required(*STAFF)
def batch_run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """Polled every second while the run is computed: the progress bar, then the review.
    Only the answer that shows people (the finished review) is audited as a read."""
    run = batch_run_get_for_user(user=request.user, run_id=run_id, request=request, audit=False)
    if run.status == BatchRun.Status.DONE:
        audit_record(user=request.user, action=AuditEvent.Action.READ, obj=run, request=request)
    return render(request, "matching/batch/_review.html", _review_context(request, run))


def _id_pair(value: str) -> tuple[int, int] | None:
    """ "12-34" → (12, 34): a pair of mentee and mentor ids from a button."""
    mentee_id, sep, mentor_id = (value or "").partition("-")
    if not sep or not mentee_id.isascii() or not mentor_id.isascii():
        return None
    if not (mentee_id.isdigit() and mentor_id.isdigit()):
        return None
    return int(mentee_id), int(mentor_id)


@require_POST
@role_required(*STAFF)
def batch_run_rerun_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Pin or forbid one pair (or lift a pin or an exclusion) and compute the batch again."""
    run = batch_run_get_for_user(user=request.user, run_id=run_id)
    changes: dict[str, list[tuple[int, int]]] = {}
    for action in ("pin", "unpin", "forbid", "unforbid"):
        pairs = [pair for value in request.POST.getlist(action) if (pair := _id_pair(value))]
        if pairs:
            changes[action] = pairs
    if not changes:
        messages.error(request, _("Choose a pair to pin or forbid."))
        return redirect("matching:batch-detail", run_id=run.pk)
    try:
        new_run = batch_run_rerun(run=run, created_by=request.user, request=request, **changes)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("matching:batch-detail", run_id=run.pk)
    messages.success(request, _("The batch is being computed again with your changes."))
    return redirect("matching:batch-detail", run_id=new_run.pk)


@require_POST
@role_required(*STAFF)
def batch_run_accept_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Accept the selected pairs, or all of them: each becomes a proposed match through the
    same service as a single match. Pairs that can no longer be matched are reported."""
    run = batch_run_get_for_user(user=request.user, run_id=run_id)
    detail_url = reverse("matching:batch-detail", kwargs={"run_id": run.pk})
    if request.POST.get("all"):
        pair_ids = None
    else:
        pair_ids = [int(v) for v in request.POST.getlist("pairs") if v.isascii() and v.isdigit()]
        if not pair_ids:
            messages.error(request, _("Select at least one pair to accept."))
            return redirect(detail_url)
    try:
        result = batch_run_accept(run=run, created_by=request.user, pair_ids=pair_ids, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(detail_url)
    matches, refused = list(result), result.refused
    if matches:
        messages.success(
            request,
            ngettext(
                "%(count)d pair accepted: the match is proposed.",
                "%(count)d pairs accepted: the matches are proposed.",
                len(matches),
            )
            % {"count": len(matches)},
        )
    for refusal in refused:
        messages.error(
            request,
            _("%(mentee)s with %(mentor)s was not accepted: %(reason)s")
            % {
                "mentee": refusal.pair.mentee.person.full_name,
                "mentor": refusal.pair.mentor.person.full_name,
                "reason": refusal.reason,
            },
        )
    return redirect(detail_url)


# Recruitment needs ----------------------------------------------------------------------------


@role_required(*STAFF)
def batch_run_recruitment(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's unmatched mentees summed by language and by background, and the reasons in the
    coordinator's words, most frequent first: the mentors the programme should recruit."""
    run = batch_run_get_for_user(user=request.user, run_id=run_id, request=request)
    by_language, by_background, details = [], [], []
    if run.status == BatchRun.Status.DONE:
        for item in recruitment_needs(run=run):
            (by_language if item["dimension"] == "language" else by_background).append(item)
        details = batch_unmatched_details(run=run, limit=TOP_DETAILS)
    return render(
        request,
        "matching/batch/recruitment.html",
        {
            "run": run,
            "by_language": by_language,
            "by_background": by_background,
            "details": details,
            "unmatched_count": sum(item["count"] for item in by_language),
            "section": "batch",
        },
    )
