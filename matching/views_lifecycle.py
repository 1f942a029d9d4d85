"""Pages of the match lifecycle and of a programme's matching settings.

- A mentor accepts or declines a proposed match from their home page (``my_matches``).
- A coordinator's page of one match: accept or decline on the mentor's behalf, pause with a
  reason, resume, and the way to the close page.
- A programme's exclusion list (pairs never to be matched) and its scoring weights.

Thin: every rule is the service's (``matching.services``); its refusals are shown as form
errors (field by field) and the page is answered again with status 422.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from matching.models import Match, MatchExclusion, ScoringConfig
from matching.selectors import match_get_for_user
from matching.services import (
    SCORING_FIELDS,
    SCORING_LIMITS,
    match_accept,
    match_decline,
    match_exclusion_create,
    match_exclusion_delete,
    match_pause,
    match_resume,
    scoring_config_update,
)
from mentoring.errors import NotFound
from mentoring.forms import add_service_errors
from mentoring.models import Mentee, Mentor, Programme, User
from mentoring.permissions import coordinated_programmes
from mentoring.views import role_required

STAFF = (User.Role.COORDINATOR, User.Role.ADMIN)

# --- Forms ---------------------------------------------------------------------------------------


class MatchDeclineForm(forms.Form):
    """The Decline form of one proposal; several share a page, so each has its own prefix."""

    reason = forms.ChoiceField(label=gettext_lazy("Why do you decline?"), choices=Match.DeclineReason.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when the reason is “Other”. Your coordinator reads it."),
    )

    def __init__(self, *args, match: Match, **kwargs) -> None:
        kwargs.setdefault("prefix", f"decline-{match.pk}")
        super().__init__(*args, **kwargs)


class MatchPauseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is the match paused?"),
        max_length=Match._meta.get_field("pause_reason").max_length,
        help_text=gettext_lazy("For example: the family is abroad until March; the mentor is ill."),
    )


class MatchExclusionForm(forms.Form):
    """Add a pair to the exclusion list: a mentor and a mentee of the programme."""

    mentor = forms.ModelChoiceField(label=gettext_lazy("Mentor"), queryset=Mentor.objects.none())
    mentee = forms.ModelChoiceField(label=gettext_lazy("Mentee"), queryset=Mentee.objects.none())
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=MatchExclusion.Reason.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when the reason is “Other”."),
    )

    def __init__(self, *args, programme: Programme, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        mentors = (
            Mentor.objects.filter(programme=programme)
            .exclude(status=Mentor.Status.WITHDRAWN)
            .select_related("person")
            .order_by("person__last_name", "person__first_name", "pk")
        )
        mentees = (
            Mentee.objects.filter(programme=programme)
            .exclude(status=Mentee.Status.CLOSED)
            .select_related("person", "family")
            .order_by("person__last_name", "person__first_name", "pk")
        )
        self.fields["mentor"].queryset = mentors
        self.fields["mentor"].label_from_instance = lambda m: m.person.full_name
        self.fields["mentee"].queryset = mentees
        self.fields["mentee"].label_from_instance = lambda m: f"{m.person.full_name} ({m.family.reference})"


class ScoringConfigForm(forms.ModelForm):
    """The programme's weights, each with its help text and its range (``SCORING_LIMITS``)."""

    class Meta:
        model = ScoringConfig
        fields = list(SCORING_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, (low, high) in SCORING_LIMITS.items():
            field = self.fields[name]
            field.widget.attrs.update({"min": low, "max": high})
            field.help_text = f"{field.help_text} ({low}–{high})"


# --- The mentor's answer ---------------------------------------------------------------------------


@require_POST
@role_required(User.Role.MENTOR, *STAFF)
def match_accept_view(request: HttpRequest, match_id: int) -> HttpResponse:
    """Accept a proposed match: the mentor on their home page, a coordinator on the match's page."""
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    try:
        match = match_accept(match=match, accepted_by=request.user, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The match with %(mentee)s has started. Their contact details are on your matches.")
            % {"mentee": match.mentee.person.full_name}
            if request.user.role == User.Role.MENTOR
            else _("The match has started."),
        )
    return _back(request, match)


@require_POST
@role_required(User.Role.MENTOR, *STAFF)
def match_decline_view(request: HttpRequest, match_id: int) -> HttpResponse:
    """Decline a proposed match with a reason (and a note for "other")."""
    from matching.views import my_matches

    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    form = MatchDeclineForm(request.POST, match=match)
    if form.is_valid():
        try:
            match_decline(
                match=match,
                declined_by=request.user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The proposal is declined. Thank you for letting us know."))
            return _back(request, match)
    if request.user.role == User.Role.MENTOR and not request.user.is_admin:
        return my_matches(request, decline_forms={match.pk: form})
    return _match_page(request, match, decline_form=form)


def _back(request: HttpRequest, match: Match) -> HttpResponse:
    if request.user.role == User.Role.MENTOR and not request.user.is_admin:
        return redirect("matching:my-matches")
    return redirect("matching:match-manage", match_id=match.pk)


# --- The coordinator's page of one match -----------------------------------------------------------


def _match_page(
    request: HttpRequest,
    match: Match,
    *,
    pause_form: MatchPauseForm | None = None,
    decline_form: MatchDeclineForm | None = None,
) -> HttpResponse:
    failed = any(form is not None and form.errors for form in (pause_form, decline_form))
    return render(
        request,
        "matching/lifecycle/match_manage.html",
        {
            "match": match,
            "pause_form": pause_form or MatchPauseForm(),
            "decline_form": decline_form or MatchDeclineForm(match=match),
            "is_open": match.status in Match.OPEN_STATUSES,
        },
        status=422 if failed else 200,
    )


@role_required(*STAFF)
def match_manage(request: HttpRequest, match_id: int) -> HttpResponse:
    """A match's status and the coordinator's actions on it."""
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    return _match_page(request, match)


@require_POST
@role_required(*STAFF)
def match_pause_view(request: HttpRequest, match_id: int) -> HttpResponse:
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    form = MatchPauseForm(request.POST)
    if form.is_valid():
        try:
            match_pause(
                match=match, paused_by=request.user, reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The match is paused."))
            return redirect("matching:match-manage", match_id=match.pk)
    return _match_page(request, match, pause_form=form)


@require_POST
@role_required(*STAFF)
def match_resume_view(request: HttpRequest, match_id: int) -> HttpResponse:
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    try:
        match_resume(match=match, resumed_by=request.user, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The match is active again."))
    return redirect("matching:match-manage", match_id=match.pk)


# --- A programme's matching settings ---------------------------------------------------------------


def _coordinated_programme(request: HttpRequest, programme_id: int) -> Programme:
    """One of the programmes the user coordinates (admins: any); any other is not found."""
    programme = coordinated_programmes(user=request.user).filter(pk=programme_id).first()
    if programme is None:
        raise NotFound(_("Programme not found."))
    return programme


@role_required(*STAFF)
def exclusion_list(request: HttpRequest, programme_id: int) -> HttpResponse:
    """The programme's exclusion list, newest first, with the form that adds a pair."""
    programme = _coordinated_programme(request, programme_id)
    initial = {key: request.GET[key] for key in ("mentor", "mentee") if request.GET.get(key, "").isdigit()}
    form = MatchExclusionForm(request.POST or None, programme=programme, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            match_exclusion_create(
                mentor=form.cleaned_data["mentor"],
                mentee=form.cleaned_data["mentee"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                created_by=request.user,
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The pair is on the exclusion list: they will never be matched."))
            return redirect("matching:exclusion-list", programme_id=programme.pk)
    exclusions = (
        MatchExclusion.objects.filter(programme=programme)
        .select_related("mentor__person", "mentee__person", "mentee__family", "created_by")
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "matching/lifecycle/exclusion_list.html",
        {"programme": programme, "exclusions": exclusions, "form": form, "section": "batch"},
        status=422 if form.errors else 200,
    )


@require_POST
@role_required(*STAFF)
def exclusion_remove(request: HttpRequest, programme_id: int, exclusion_id: int) -> HttpResponse:
    programme = _coordinated_programme(request, programme_id)
    exclusion = MatchExclusion.objects.filter(programme=programme, pk=exclusion_id).first()
    if exclusion is None:
        raise Http404
    match_exclusion_delete(exclusion=exclusion, deleted_by=request.user, request=request)
    messages.success(request, _("The pair is no longer excluded."))
    return redirect("matching:exclusion-list", programme_id=programme.pk)


@role_required(*STAFF)
def scoring_config_page(request: HttpRequest, programme_id: int) -> HttpResponse:
    """The programme's scoring weights: every suggestion and batch run adds up these parts."""
    programme = _coordinated_programme(request, programme_id)
    config = ScoringConfig.for_programme(programme.pk)
    form = ScoringConfigForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in SCORING_FIELDS}
        try:
            scoring_config_update(
                programme=programme, updated_by=request.user, values=values, request=request
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The scoring weights are saved; suggestions use them from now on."))
            return redirect("matching:scoring-config", programme_id=programme.pk)
    return render(
        request,
        "matching/lifecycle/scoring_config.html",
        {"programme": programme, "form": form, "config": config, "section": "batch"},
        status=422 if form.errors else 200,
    )
