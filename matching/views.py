"""Pages of matches: a coordinator's matching page (explained suggestions, one-action match) and
Close page, and a mentor's own matches."""

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
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from matching.forms import MatchCreateForm
from matching.models import Match
from matching.selectors import (
    match_get_for_user,
    match_list_visible_to,
    mentor_suggestions_for_mentee,
    pair_explanation,
)
from matching.services import match_close, match_create
from mentoring.audit import audited_get
from mentoring.models import Mentee, Mentor, User
from mentoring.selectors import mentee_get_for_user, mentor_list_visible_to
from mentoring.views import preferred_language, role_required
from mentoring.vocabulary import language_name
from sessions.models import OutcomeInstrument, OutcomeMeasure


class MentorCheckForm(forms.Form):
    """ "Why not this mentor?": any mentor of the mentee's programme, explained against the mentee."""

    mentor = forms.ModelChoiceField(
        queryset=None,
        label=gettext_lazy("Mentor"),
        empty_label=gettext_lazy("Choose a mentor"),
        error_messages={"invalid_choice": gettext_lazy("Choose a mentor of this programme.")},
    )

    def __init__(self, *args, mentee, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["mentor"]
        field.queryset = (
            Mentor.objects.filter(programme_id=mentee.programme_id)
            .select_related("person")
            .order_by("person__last_name", "person__first_name", "pk")
        )
        field.label_from_instance = lambda mentor: (
            f"{mentor.person.full_name} ({mentor.get_status_display()})"
        )


# What the coordinator's two buttons do: propose to the mentor (who accepts or declines), or
# start the match at once.
PROPOSE, MATCH_NOW = "propose", "match"


@require_http_methods(["GET", "POST"])
@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def match_create_view(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """The coordinator's matching page for one mentee: the suggested mentors best first, each
    with the named parts of its score and one button that makes the match (proposing it to the
    mentor, or starting it now); how many mentors each hard rule left out; and a "check a
    mentor" form that explains any mentor of the programme against this mentee."""
    if request.method == "POST":
        return _match_create(request, mentee_id)
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request)
    open_match = (
        mentee.matches.filter(status__in=Match.OPEN_STATUSES).select_related("mentor__person").first()
    )
    can_match = mentee.status == Mentee.Status.WAITING and open_match is None
    suggestions = mentor_suggestions_for_mentee(mentee=mentee) if can_match else None

    check_form = MentorCheckForm(request.GET if "mentor" in request.GET else None, mentee=mentee)
    checked = None
    if check_form.is_bound and check_form.is_valid():
        mentor = audited_get(
            mentor_list_visible_to(user=request.user, filters={"programme": mentee.programme_id}),
            pk=check_form.cleaned_data["mentor"].pk,
            user=request.user,
            request=request,
        )
        checked = {
            "mentor": mentor,
            "explanation": pair_explanation(mentee=mentee, mentor=mentor),
            "free_places": max(mentor.capacity - mentor.open_matches, 0),
            "form": MatchCreateForm(user=request.user, mentee=mentee, initial={"mentor": mentor.pk}),
        }
    return render(
        request,
        "matching/match_create.html",
        {
            "mentee": mentee,
            "section": "waiting",
            "preferred_language": preferred_language(mentee.person),
            "days_waiting": (timezone.localdate() - mentee.waiting_since).days
            if mentee.waiting_since
            else None,
            "open_match": open_match,
            "can_match": can_match,
            "suggestions": [
                {
                    "suggestion": suggestion,
                    "languages": [
                        language_name(pl.language) for pl in suggestion.mentor.person.languages.all()
                    ],
                    "form": MatchCreateForm(
                        user=request.user, mentee=mentee, initial={"mentor": suggestion.mentor.pk}
                    ),
                }
                for suggestion in (suggestions or [])
            ],
            "excluded": suggestions.excluded if suggestions else [],
            "considered": suggestions.considered if suggestions else 0,
            "check_form": check_form,
            "checked": checked,
            "propose": PROPOSE,
            "match_now": MATCH_NOW,
        },
        status=422 if check_form.errors else 200,
    )


def _match_create(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """Match the mentee with the chosen mentor: proposed to the mentor, or active now. Refusals
    are not about anything the coordinator typed, so they are shown as messages on the page the
    button was on (post/redirect/get, so a reload cannot post twice)."""
    # The page that offered the button audited the read; this request is audited as the write.
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request, audit=False)
    back = (
        redirect("matching:match-create", mentee_id=mentee.pk)
        if request.POST.get("back") == "matching"
        else redirect("mentee-detail", mentee_id=mentee.pk)
    )
    form = MatchCreateForm(request.POST, user=request.user, mentee=mentee)
    if not form.is_valid():
        for error in form.errors.get("mentor", []):
            messages.error(request, error)
        return back

    mentor = form.cleaned_data["mentor"]
    propose = request.POST.get("action") == PROPOSE
    try:
        match_create(
            mentee=mentee,
            mentor=mentor,
            created_by=request.user,
            # The score the suggestion showed, computed here rather than trusted from the form.
            score=pair_explanation(mentee=mentee, mentor=mentor).score,
            propose=propose,
            request=request,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return back

    names = {"mentee": mentee.person.full_name, "mentor": mentor.person.full_name}
    if propose:
        messages.success(
            request,
            _("The match of %(mentee)s is proposed to %(mentor)s, who will accept or decline it.") % names,
        )
    else:
        messages.success(request, _("%(mentee)s is now matched with %(mentor)s.") % names)
    return redirect("mentee-waiting-list")


@role_required(User.Role.MENTOR)
def my_matches(request: HttpRequest, decline_forms: dict | None = None) -> HttpResponse:
    """A mentor's home. Proposals first, each with what the mentor needs to decide (first
    name, kind, needs, preferred language, municipality: nothing that identifies or reaches the
    family) and Accept / Decline; then the current matches, each with its sessions so far, the
    days since the last one and a one-tap "Log a session"; then earlier matches. The ids of
    matches whose log was just saved (``sessions.views.logs``) let the page's script drop their
    drafts. ``decline_forms`` ({match id: form}) shows a refused Decline with its errors."""
    from matching.views_lifecycle import MatchDeclineForm

    decline_forms = decline_forms or {}
    matches = (
        match_list_visible_to(user=request.user)
        .exclude(status=Match.Status.DECLINED)
        .annotate(session_count=Count("session_logs"), last_session_on=Max("session_logs__held_on"))
        .prefetch_related("mentee__person__languages", "mentee__person__needs")
        .order_by("-started_on", "-proposed_at")
    )
    today = timezone.localdate()
    proposed, current, earlier = [], [], []
    for match in matches:
        match.preferred_language = preferred_language(match.mentee.person)
        if match.status == Match.Status.PROPOSED:
            match.needs = sorted(need.name for need in match.mentee.person.needs.all())
            match.decline_form = decline_forms.get(match.pk) or MatchDeclineForm(match=match)
            proposed.append(match)
            continue
        if match.status == Match.Status.CLOSED:
            if match.started_on is not None:  # a withdrawn proposal was never the mentor's match
                earlier.append(match)
            continue
        match.days_since_session = (today - match.last_session_on).days if match.last_session_on else None
        current.append(match)
    proposed.reverse()  # oldest proposal first: it has waited longest for an answer
    saved = request.session.pop("session_log_saved_matches", [])
    return render(
        request,
        "matching/my_matches.html",
        {"proposed": proposed, "current": current, "earlier": earlier, "saved_matches": saved},
        status=422 if any(form.errors for form in decline_forms.values()) else 200,
    )


class MatchCloseForm(forms.Form):
    """The close page's input; one optional field per outcome instrument (``measure_<id>``).
    The rules (note required, dates, measures) are ``match_close``'s."""

    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=Match.ClosureReason.choices)
    closed_on = forms.DateField(
        label=gettext_lazy("Closed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=gettext_lazy("Closure note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
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
                help_text=gettext_lazy("Scale %(min)s–%(max)s")
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
