"""The import page: a coordinator uploads a spreadsheet of mentors or families, reads the dry
run's report, then imports all rows or the good rows only.

Between the check and the import the file's content is kept in the user's session (the
database by default), under a random token the confirm form must post back: nothing is
written to disk under a predictable path, and another user's check cannot be confirmed. A
pending file is dropped after an hour, on import, on the next check and at logout. The
import checks the file again inside its transaction, so what is written is what the
programme holds at that moment, not at the check. The forms live here because only this page
uses them.
"""

from __future__ import annotations

import base64
import secrets
import time

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mentoring.imports import COLUMNS, FAMILIES, MAX_FILE_BYTES, MENTORS, ImportReport, people_import
from mentoring.models import Programme, User
from mentoring.permissions import coordinated_programmes
from mentoring.views import role_required

SESSION_KEY = "mentoring.people_import"
# A checked file waits this long for its confirmation; then it is dropped from the session.
PENDING_MAX_AGE_SECONDS = 60 * 60
KIND_CHOICES = [(MENTORS, gettext_lazy("Mentors")), (FAMILIES, gettext_lazy("Families"))]


class ImportUploadForm(forms.Form):
    programme = forms.ModelChoiceField(queryset=Programme.objects.none(), label=gettext_lazy("Programme"))
    kind = forms.ChoiceField(
        choices=KIND_CHOICES, widget=forms.RadioSelect, label=gettext_lazy("The file holds"), initial=MENTORS
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8) or XLSX, up to 5 MB. Line 1 holds the column names."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        programmes = coordinated_programmes(user=user).order_by("name")
        self.fields["programme"].queryset = programmes
        if len(programmes) == 1:
            self.fields["programme"].initial = programmes[0].pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; split it.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=[("all", "all"), ("good", "good")])


def _coordinated_programme_or_404(user: User, programme_id) -> Programme:
    """Another programme answers 404, as its records do (``domain.md``)."""
    try:
        return coordinated_programmes(user=user).get(pk=int(programme_id))
    except (TypeError, ValueError, Programme.DoesNotExist) as exc:
        raise Http404(_("Programme not found.")) from exc


def _render(
    request: HttpRequest,
    form: ImportUploadForm,
    *,
    report: ImportReport | None = None,
    pending: dict | None = None,
    programme: Programme | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "mentoring/import.html",
        {
            "form": form,
            "report": report,
            "pending": pending,
            "programme": programme,
            "kind_label": dict(KIND_CHOICES).get(pending["kind"]) if pending else "",
            "column_sets": [
                {"kind": MENTORS, "title": _("Mentors: one row per mentor"), "columns": COLUMNS[MENTORS]},
                {
                    "kind": FAMILIES,
                    "title": _("Families: one row per parent or pupil"),
                    "columns": COLUMNS[FAMILIES],
                },
            ],
        },
        status=status,
    )


@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def people_import_page(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: check the file (a dry run) and show the report."""
    pending = request.session.get(SESSION_KEY)
    if pending and time.time() - pending.get("checked_at", 0) > PENDING_MAX_AGE_SECONDS:
        del request.session[SESSION_KEY]
    if request.method != "POST":
        if "programme" in request.GET:
            _coordinated_programme_or_404(request.user, request.GET["programme"])
        initial = {"programme": request.GET.get("programme")} if "programme" in request.GET else None
        return _render(request, ImportUploadForm(user=request.user, initial=initial))

    if request.POST.get("programme"):
        _coordinated_programme_or_404(request.user, request.POST["programme"])
    form = ImportUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _render(request, form, status=400)
    programme = form.cleaned_data["programme"]
    upload = form.cleaned_data["file"]
    content = upload.read()
    report = people_import(
        programme=programme,
        kind=form.cleaned_data["kind"],
        content=content,
        filename=upload.name,
        recorded_by=request.user,
    )
    pending = {
        "token": secrets.token_urlsafe(24),
        "checked_at": time.time(),
        "programme_id": programme.pk,
        "kind": form.cleaned_data["kind"],
        "filename": upload.name[:200],
        "content": base64.b64encode(content).decode("ascii"),
    }
    # Only a file with something to import is kept for the confirmation.
    if report.good_rows:
        request.session[SESSION_KEY] = pending
    else:
        request.session.pop(SESSION_KEY, None)
    return _render(request, form, report=report, pending=pending, programme=programme)


@require_POST
@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def people_import_commit(request: HttpRequest) -> HttpResponse:
    """Import the checked file: all rows (only when none is bad) or the good rows only."""
    form = ImportConfirmForm(request.POST)
    pending = request.session.get(SESSION_KEY)
    if (
        not form.is_valid()
        or not pending
        or not secrets.compare_digest(form.cleaned_data["token"], pending.get("token", ""))
        or time.time() - pending.get("checked_at", 0) > PENDING_MAX_AGE_SECONDS
    ):
        messages.error(request, _("That check has expired or was replaced. Upload the file again."))
        return redirect("people-import")
    programme = _coordinated_programme_or_404(request.user, pending["programme_id"])
    report = people_import(
        programme=programme,
        kind=pending["kind"],
        content=base64.b64decode(pending["content"]),
        filename=pending["filename"],
        recorded_by=request.user,
        commit=True,
        good_rows_only=form.cleaned_data["mode"] == "good",
        request=request,
    )
    if not report.committed:
        # The programme changed since the check, or "Import all" was posted despite bad rows:
        # show the report as it is now; the file stays pending for "Import the good rows".
        messages.error(request, _("Nothing was imported: some rows are bad. Review the report below."))
        upload_form = ImportUploadForm(
            user=request.user, initial={"programme": programme.pk, "kind": pending["kind"]}
        )
        return _render(request, upload_form, report=report, pending=pending, programme=programme, status=400)

    del request.session[SESSION_KEY]
    created = report.created
    if pending["kind"] == MENTORS:
        text = _("%(count)s mentors imported into %(programme)s.") % {
            "count": created.get("mentors", 0),
            "programme": programme.name,
        }
    else:
        text = _("%(families)s families and %(mentees)s mentees imported into %(programme)s.") % {
            "families": created.get("families", 0),
            "mentees": created.get("mentees", 0),
            "programme": programme.name,
        }
    if report.skipped:
        text += " " + _("%(count)s rows were already in the programme and were skipped.") % {
            "count": len(report.skipped)
        }
    if report.bad_rows:
        text += " " + _("%(count)s bad rows were left out.") % {"count": report.bad_rows}
    messages.success(request, text)
    return redirect("people-import")
