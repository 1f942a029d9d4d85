"""The mentor's log-a-session page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from matching.selectors import match_get_for_user
from mentoring.models import User
from mentoring.views import role_required
from sessions.forms import SessionLogForm
from sessions.services import session_log_create


def _add_service_errors(form: SessionLogForm, exc: ValidationError) -> None:
    """Tie each of the service's errors to its field; errors about anything else (the match
    itself) are shown above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@role_required(User.Role.MENTOR)
def session_log_create_page(request: HttpRequest, match_id: int) -> HttpResponse:
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    if match.mentor.user_id != request.user.pk:
        raise Http404  # Only the match's own mentor logs its sessions.

    if request.method == "POST":
        form = SessionLogForm(request.POST, match=match)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _log, created = session_log_create(
                    author=request.user,
                    match=match,
                    held_on=data["held_on"],
                    duration_minutes=data["duration_minutes"],
                    mode=data["mode"],
                    language=data["language"],
                    participants=data["participants"],
                    topics=data["topics"],
                    interpreter_used=data["interpreter_used"],
                    notes=data["notes"],
                    follow_ups=data["follow_ups"],
                    idempotency_key=data["idempotency_key"],
                    request=request,
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                if created:
                    messages.success(request, _("Session saved. Thank you!"))
                else:
                    messages.info(request, _("This session was already saved; it was not saved twice."))
                return redirect("matching:my-matches")
        status = 422  # Unprocessable: the page shows what to fix.
    else:
        form = SessionLogForm(match=match)
        status = 200
    return render(request, "sessions/session_log_form.html", {"form": form, "match": match}, status=status)
