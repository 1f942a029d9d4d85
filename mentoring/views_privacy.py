"""The data-subject access page of one person (``/people/<id>/data/``), its JSON download,
and the erasure form it carries (``POST /people/<id>/erase/``).

Thin: ``mentoring.privacy`` checks access (admins and the coordinators of the person's
programme; anyone else: not found) and audits each export.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mentoring.privacy import person_data_export, person_erase, person_get_for_privacy
from mentoring.views import COORDINATORS, role_required


@role_required(*COORDINATORS)
def person_data_page(request: HttpRequest, person_id: int) -> HttpResponse:
    person = person_get_for_privacy(user=request.user, person_id=person_id, request=request)
    export = person_data_export(person=person, requested_by=request.user, request=request)
    if request.GET.get("format") == "json":
        response = HttpResponse(
            json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="person-{person.pk}-data.json"'
        response["Cache-Control"] = "no-store"
        return response
    response = render(request, "mentoring/person_data.html", {"person": person, "export": export})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@role_required(*COORDINATORS)
def person_erase_page(request: HttpRequest, person_id: int) -> HttpResponse:
    """Erase the person (``mentoring.privacy.person_erase``) with the reason typed on the data
    page; a refusal (an open match, no reason) is shown there."""
    person = person_get_for_privacy(user=request.user, person_id=person_id, request=request)
    try:
        person_erase(
            person=person, erased_by=request.user, reason=request.POST.get("reason", ""), request=request
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The person's data has been erased."))
    return redirect("person-data", person_id=person.pk)
