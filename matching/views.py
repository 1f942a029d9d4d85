"""Pages of matches: a coordinator's Match and Close pages and a mentor's own matches."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from matching.forms import MatchCreateForm
from matching.models import Match
from matching.scoring import score_pair
from matching.selectors import match_get_for_user, match_list_visible_to
from matching.services import match_close, match_create
from mentoring.models import User
from mentoring.selectors import mentee_get_for_user, mentor_matchable_queryset
from mentoring.views import preferred_language, role_required
from sessions.models import OutcomeInstrument, OutcomeMeasure


@require_POST
@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def match_create_view(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """Match the mentee with the chosen mentor. Refusals are not about anything the
    coordinator typed, so they are shown as messages on the mentee's page (post/redirect/get,
    so a reload cannot post twice)."""
    # The page that offered the button audited the read; this request is audited as the write.
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request, audit=False)
    form = MatchCreateForm(request.POST, user=request.user, mentee=mentee)
    if not form.is_valid():
        for error in form.errors.get("mentor", []):
            messages.error(request, error)
        return redirect("mentee-detail", mentee_id=mentee.pk)

    mentor = form.cleaned_data["mentor"]
    # Store the score the suggestion showed, computed here rather than trusted from the form.
    matchable = mentor_matchable_queryset(programme=mentee.programme).filter(pk=mentor.pk).first()
    try:
        match_create(
            mentee=mentee,
            mentor=mentor,
            created_by=request.user,
            score=score_pair(mentee=mentee, mentor=matchable).score if matchable else None,
            request=request,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("mentee-detail", mentee_id=mentee.pk)

    messages.success(
        request,
        _("%(mentee)s is now matched with %(mentor)s.")
        % {"mentee": mentee.person.full_name, "mentor": mentor.person.full_name},
    )
    return redirect("mentee-waiting-list")


@role_required(User.Role.MENTOR)
def my_matches(request: HttpRequest) -> HttpResponse:
    """A mentor's own matches, current ones first, each with its sessions so far, the days
    since the last one and a one-tap "Log a session". The ids of matches whose log was just
    saved (``sessions.views.logs``) let the page's script drop their drafts."""
    matches = (
        match_list_visible_to(user=request.user)
        .annotate(session_count=Count("session_logs"), last_session_on=Max("session_logs__held_on"))
        .prefetch_related("mentee__person__languages")
        .order_by("-started_on", "-proposed_at")
    )
    today = timezone.localdate()
    current, earlier = [], []
    for match in matches:
        match.preferred_language = preferred_language(match.mentee.person)
        match.days_since_session = (today - match.last_session_on).days if match.last_session_on else None
        (earlier if match.status == Match.Status.CLOSED else current).append(match)
    saved = request.session.pop("session_log_saved_matches", [])
    return render(
        request, "matching/my_matches.html", {"current": current, "earlier": earlier, "saved_matches": saved}
    )


class MatchCloseForm(forms.Form):
    """The close page's input; one optional field per outcome instrument (``measure_<id>``).
    The rules (note required, dates, measures) are ``match_close``'s."""

    reason = forms.ChoiceField(label=_lazy("Reason"), choices=Match.ClosureReason.choices)
    closed_on = forms.DateField(label=_lazy("Closed on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        label=_lazy("Closure note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_lazy(
            "Required for safeguarding and other. What happened, and what was agreed with the family."
        ),
    )

    def __init__(self, *args, instruments, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instruments = instruments
        for instrument in instruments:
            self.fields[f"measure_{instrument.pk}"] = forms.DecimalField(
                label=instrument.name,
                required=False,
                min_value=instrument.scale_min,
                max_value=instrument.scale_max,
                help_text=_lazy("Scale %(min)s–%(max)s")
                % {"min": instrument.scale_min, "max": instrument.scale_max},
            )

    def closure_measures(self) -> dict[int, Decimal]:
        return {
            instrument.pk: self.cleaned_data[f"measure_{instrument.pk}"]
            for instrument in self.instruments
            if self.cleaned_data.get(f"measure_{instrument.pk}") is not None
        }


@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def match_close_view(request: HttpRequest, match_id: int) -> HttpResponse:
    """Close a match: its reason and note, the mentee's closure outcome measures, and whether
    the closure will count as early (derived from the dates, shown before saving)."""
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    if match.status not in Match.OPEN_STATUSES:
        raise Http404  # nothing to close
    instruments = list(OutcomeInstrument.objects.filter(programme_id=match.programme_id))
    stages: dict[int, set[str]] = {}
    for instrument_id, stage in OutcomeMeasure.objects.filter(mentee_id=match.mentee_id).values_list(
        "instrument_id", "stage"
    ):
        stages.setdefault(instrument_id, set()).add(stage)
    today = timezone.localdate()
    form = MatchCloseForm(request.POST or None, instruments=instruments, initial={"closed_on": today})
    if request.method == "POST" and form.is_valid():
        try:
            match_close(
                match=match,
                closed_by=request.user,
                reason=form.cleaned_data["reason"],
                closed_on=form.cleaned_data["closed_on"],
                note=form.cleaned_data["note"],
                closure_measures=form.closure_measures(),
                request=request,
            )
        except ValidationError as exc:
            for field, errors in (
                exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc.error_list)]
            ):
                if field and field.startswith("closure_measures."):
                    field = f"measure_{field.split('.', 1)[1]}"
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The match is closed."))
            return redirect("mentee-detail", mentee_id=match.mentee_id)
    closes_on = getattr(form, "cleaned_data", {}).get("closed_on")
    rows = [
        {
            "instrument": instrument,
            "field": form[f"measure_{instrument.pk}"],
            "has_baseline": "baseline" in stages.get(instrument.pk, set()),
            "has_closure": "closure" in stages.get(instrument.pk, set()),
        }
        for instrument in instruments
    ]
    return render(
        request,
        "matching/match_close.html",
        {
            "match": match,
            "form": form,
            "measure_rows": rows,
            "early_today": match.closes_early_on(closes_on or today),
            "early_days": Match.EARLY_CLOSURE_DAYS,
        },
        status=422 if form.errors else 200,
    )
