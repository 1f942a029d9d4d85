"""Pages of concerns and of the inbox.

- Mentors raise a concern from a match on their home page (``?match=<id>``) and see the
  concerns they raised, each with its status.
- Coordinators see their programmes' concerns (open first, the most severe first) and act on
  one from its page: acknowledge, refer, close.
- Everyone signed in has an inbox of their notifications.

Thin: the selectors scope every read; the services check and audit every change, and their
errors are shown on the form that caused them (status 422) with what was typed kept.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.api import as_id
from matching.selectors import match_get_for_user
from mentoring.models import User
from mentoring.views import role_required
from sessions.models import Concern
from sessions.selectors.concerns import concern_get_for_user, concern_list_visible_to, notification_list_for
from sessions.services.concerns import (
    RAISABLE_MATCH_STATUSES,
    concern_acknowledge,
    concern_close,
    concern_raise,
    concern_refer,
)
from sessions.services.notifications import notification_mark_read

COORDINATORS = (User.Role.COORDINATOR, User.Role.ADMIN)
INBOX_SIZE = 100


# --- Forms -----------------------------------------------------------------------------------


class ConcernRaiseForm(forms.Form):
    severity = forms.ChoiceField(
        label=gettext_lazy("How urgent is it?"), choices=Concern.Severity.choices, widget=forms.RadioSelect
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("What is it about?"), choices=Concern.Kind.choices, initial=Concern.Kind.WELL_BEING
    )
    description = forms.CharField(
        label=gettext_lazy("What worries you?"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("Only the programme's coordinators read this. Write what you saw or heard."),
    )


class ConcernStatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("All"))] + Concern.Status.choices,
        required=False,
    )


class ConcernReferForm(forms.Form):
    referred_to = forms.ChoiceField(label=gettext_lazy("Referred to"), choices=Concern.ReferredTo.choices)
    referral_note = forms.CharField(
        label=gettext_lazy("Referral note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Whom you spoke to, when and how."),
    )


class ConcernCloseForm(forms.Form):
    closure_note = forms.CharField(
        label=gettext_lazy("Closure note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Why the concern can be closed."),
    )


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- Mentors ---------------------------------------------------------------------------------


@role_required(User.Role.MENTOR)
def concern_raise_page(request: HttpRequest) -> HttpResponse:
    """Raise a concern about the mentee of one of the mentor's current matches (``?match=``)."""
    match_id = as_id(request.GET.get("match", ""))
    if match_id is None:
        raise Http404
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    if match.mentor.user_id != request.user.pk or match.status not in RAISABLE_MATCH_STATUSES:
        raise Http404
    if request.method == "POST":
        form = ConcernRaiseForm(request.POST)
        if form.is_valid():
            try:
                concern_raise(
                    raised_by=request.user,
                    mentee=match.mentee,
                    match=match,
                    severity=form.cleaned_data["severity"],
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                    request=request,
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Thank you. Your coordinators have been told and will get back to you.")
                )
                return redirect("sessions:concern-mine")
        status = 422
    else:
        form = ConcernRaiseForm()
        status = 200
    return render(request, "sessions/concern_raise.html", {"form": form, "match": match}, status=status)


@role_required(User.Role.MENTOR)
def concern_mine_page(request: HttpRequest) -> HttpResponse:
    """The concerns the mentor raised, with where each one stands."""
    concerns = concern_list_visible_to(user=request.user).order_by("-created_at", "-id")
    return render(request, "sessions/concern_mine.html", {"concerns": concerns})


# --- Coordinators ----------------------------------------------------------------------------


@role_required(*COORDINATORS)
def concern_list_page(request: HttpRequest) -> HttpResponse:
    """The programmes' concerns: open first, the most severe first; filter by status."""
    form = ConcernStatusFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    concerns = list(concern_list_visible_to(user=request.user, filters={"status": status})[:500])
    return render(
        request,
        "sessions/concern_list.html",
        {"concerns": concerns, "form": form, "section": "concerns", "status": status},
    )


ACTIONS = {
    "acknowledge": None,
    "refer": ConcernReferForm,
    "close": ConcernCloseForm,
}


@role_required(*COORDINATORS, User.Role.MENTOR)
def concern_detail_page(request: HttpRequest, concern_id: int) -> HttpResponse:
    """One concern. The raising mentor reads it; the programme's coordinators act on it."""
    concern = concern_get_for_user(user=request.user, concern_id=concern_id, request=request)
    handles = request.user.is_admin or request.user.role == User.Role.COORDINATOR
    forms_ = {"refer": ConcernReferForm(prefix="refer"), "close": ConcernCloseForm(prefix="close")}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if not handles or action not in ACTIONS:
            raise Http404
        form = ACTIONS[action](request.POST, prefix=action) if ACTIONS[action] else None
        if form is None or form.is_valid():
            data = form.cleaned_data if form else {}
            try:
                if action == "acknowledge":
                    concern_acknowledge(concern=concern, acknowledged_by=request.user, request=request)
                elif action == "refer":
                    concern_refer(concern=concern, referred_by=request.user, request=request, **data)
                else:
                    concern_close(concern=concern, closed_by=request.user, request=request, **data)
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                if form is None or not hasattr(exc, "error_dict"):
                    # A refused transition (not the fields): say so above the page, whose
                    # forms may not even show this action at the concern's status.
                    messages.error(request, " ".join(exc.messages))
                    if form is None:
                        return redirect("sessions:concern-detail", concern.pk)
                else:
                    _add_service_errors(form, exc)
            else:
                messages.success(request, _("Concern updated."))
                return redirect("sessions:concern-detail", concern.pk)
        forms_[action] = form
        status = 422
    return render(
        request,
        "sessions/concern_detail.html",
        {
            "concern": concern,
            "handles": handles,
            "refer_form": forms_["refer"],
            "close_form": forms_["close"],
            "section": "concerns" if handles else "",
        },
        status=status,
    )


# --- Everyone --------------------------------------------------------------------------------


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    """The user's notifications, unread first."""
    notifications = list(notification_list_for(user=request.user)[:INBOX_SIZE])
    unread = sum(1 for n in notifications if n.read_at is None)
    return render(request, "sessions/inbox.html", {"notifications": notifications, "unread": unread})


@login_required
@require_POST
def inbox_mark_read_view(request: HttpRequest) -> HttpResponse:
    """Mark one notification (``notification``) or all of the user's notifications read."""
    one = request.POST.get("notification", "")
    ids = [one_id] if (one_id := as_id(one)) is not None else None
    notification_mark_read(user=request.user, notification_ids=ids)
    return redirect("sessions:inbox")
