"""The language switcher: a visitor's choice is kept in the language cookie, a signed-in user's
also on their account (``User.interface_language``), so it follows them to every device and
their reminders and notifications are written in it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        choices = ", ".join(code for code, _name in settings.LANGUAGES)
        return HttpResponseBadRequest(
            _("“%(language)s” is not a language Tandem speaks; choose one of %(choices)s.")
            % {"language": language, "choices": choices},
            content_type="text/plain; charset=utf-8",
        )
    user = request.user
    if user.is_authenticated and user.interface_language != language:
        user.interface_language = language
        user.save(update_fields=["interface_language"])
    # Django's view sets the cookie and sends the user back to ``next`` when it is safe.
    return set_language(request)
