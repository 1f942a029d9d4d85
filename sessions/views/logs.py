"""The mentor's log-a-session page and the correction page of a log (its author for 7 days,
the programme's coordinators always), with the log's history below the form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from matching.selectors import match_get_for_user
from mentoring.models import User
from mentoring.views import role_required
from sessions.forms import SessionLogForm
from sessions.selectors import session_log_editable_by, session_log_get_for_user
from sessions.selectors.logs import session_log_revisions, session_log_siblings
from sessions.services import session_log_create, session_log_update
from sessions.services.concerns import concern_raise

# The page's session key naming the matches whose log was just saved, so the next page's
# script can drop their drafts (see ``matching.views.my_matches``).
SAVED_SESSION_KEY = "session_log_saved_matches"


def _revisions(log) -> list:
    """The log's revisions, each change named by the form's label of its field."""
    labels = {name: field.label for name, field in SessionLogForm.base_fields.items()}
    revisions = list(session_log_revisions(log=log))
    for revision in revisions:
        revision.labelled_changes = [
            (labels.get(field) or field, values) for field, values in revision.changes.items()
        ]
    return revisions


def _add_service_errors(form: SessionLogForm, exc: ValidationError, *, prefix: str = "") -> None:
    """Tie each of the service's errors to its field; errors about anything else (the match
    itself) are shown above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = f"{prefix}{field}"
        form.add_error(name if name in form.fields else None, errors)


@role_required(User.Role.MENTOR)
def session_log_create_page(request: HttpRequest, match_id: int) -> HttpResponse:
    match = match_get_for_user(user=request.user, match_id=match_id, request=request)
    if match.mentor.user_id != request.user.pk:
        raise Http404  # Only the match's own mentor logs its sessions.

    if request.method == "POST":
        form = SessionLogForm(request.POST, match=match)
        if form.is_valid():
            also_matches = form.chosen_also_matches()
            concern = form.concern()
            try:
                # The log and its concern are saved together or not at all.
                with transaction.atomic():
                    log, created = session_log_create(
                        author=request.user,
                        match=match,
                        idempotency_key=form.cleaned_data["idempotency_key"],
                        also_matches=also_matches,
                        request=request,
                        **form.log_values(),
                    )
                    if created and concern:
                        try:
                            concern_raise(
                                raised_by=request.user,
                                mentee=match.mentee,
                                match=match,
                                session_log=log,
                                request=request,
                                **concern,
                            )
                        except ValidationError as exc:
                            _add_service_errors(form, exc, prefix="concern_")
                            raise
            except ValidationError as exc:
                if not form.errors:
                    _add_service_errors(form, exc)
            else:
                request.session[SAVED_SESSION_KEY] = [match.pk, *(m.pk for m in also_matches)]
                if created:
                    messages.success(request, _("Session saved. Thank you!"))
                    if concern:
                        messages.info(request, _("Your concern was passed on to the coordinators."))
                else:
                    messages.info(request, _("This session was already saved; it was not saved twice."))
                return redirect("matching:my-matches")
        status = 422  # Unprocessable: the page shows what to fix.
    else:
        form = SessionLogForm(match=match)
        status = 200
    return render(
        request,
        "sessions/session_log_form.html",
        {"form": form, "match": match, "draft_key": f"tandem:session-log:match-{match.pk}"},
        status=status,
    )


@role_required(User.Role.MENTOR, User.Role.COORDINATOR, User.Role.ADMIN)
def session_log_edit_page(request: HttpRequest, log_id: int) -> HttpResponse:
    log = session_log_get_for_user(user=request.user, session_log_id=log_id, request=request)
    match = log.match
    context = {
        "log": log,
        "match": match,
        "siblings": list(session_log_siblings(log=log)),
        "revisions": _revisions(log),
    }
    if not session_log_editable_by(log=log, user=request.user):
        context["locked"] = True
        return render(request, "sessions/session_log_edit.html", context, status=403)

    if request.method == "POST":
        form = SessionLogForm(request.POST, match=match, log=log)
        if form.is_valid():
            try:
                session_log_update(log=log, user=request.user, request=request, **form.log_values())
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, _("Your changes to the session log were saved."))
                return redirect("sessions:session-log-edit", log_id=log.pk)
        status = 422
    else:
        form = SessionLogForm(match=match, log=log)
        status = 200
    context["form"] = form
    return render(request, "sessions/session_log_edit.html", context, status=status)
