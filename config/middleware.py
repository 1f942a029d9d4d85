"""Middleware that keeps personal data out of caches, bounds how long a sign-in lasts, and
speaks each signed-in user's own language.

All sit after ``AuthenticationMiddleware`` (they read ``request.user``) and below WhiteNoise,
which answers static files before they run, so static files keep their long-lived caching.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

# Session keys, each an ISO 8601 timestamp: when the user signed in, and when the session's
# server-side expiry was last moved forward.
LOGIN_AT_SESSION_KEY = "tandem_login_at"
SEEN_AT_SESSION_KEY = "tandem_seen_at"


def _remember_sign_in(sender, request, user, **kwargs) -> None:
    """On ``user_logged_in``: ``login()`` has rotated the session key and saves these with it."""
    if request is not None and hasattr(request, "session"):
        now = timezone.now().isoformat()
        request.session[LOGIN_AT_SESSION_KEY] = now
        request.session[SEEN_AT_SESSION_KEY] = now


# Connected when Django loads the middleware, which it does before serving the first request.
user_logged_in.connect(_remember_sign_in, dispatch_uid="tandem-remember-sign-in")


def _session_time(request: HttpRequest, key: str) -> datetime | None:
    try:
        return datetime.fromisoformat(request.session[key])
    except (KeyError, TypeError, ValueError):
        return None


class SessionLifetimeMiddleware:
    """End a session 30 idle minutes or 12 hours after sign-in, whichever comes first.

    Idle: the session's server-side expiry is ``SESSION_COOKIE_AGE`` after its last save, and
    this moves it forward on a request once ``TANDEM_SESSION_REFRESH_INTERVAL`` seconds have
    passed since the last move, rather than writing the session row on every request as
    ``SESSION_SAVE_EVERY_REQUEST`` would. A session therefore ends between 29 and 30 minutes
    (with the default minute) after its last request, never later.

    Absolute: ``TANDEM_SESSION_ABSOLUTE_AGE`` seconds after sign-in the user is logged out
    whatever their activity. The sign-in time is stored in the session (server side) when
    ``login()`` runs; a session without it (signed in before this existed) counts from the
    user's ``last_login``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.absolute_age = timedelta(seconds=settings.TANDEM_SESSION_ABSOLUTE_AGE)
        self.refresh_interval = timedelta(seconds=settings.TANDEM_SESSION_REFRESH_INTERVAL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            login_at = _session_time(request, LOGIN_AT_SESSION_KEY) or user.last_login or now
            if now - login_at >= self.absolute_age:
                logout(request)
                if not request.path_info.startswith(settings.TANDEM_API_PATH_PREFIX):
                    messages.info(request, _("Your session has ended; please log in again."))
            elif now - (_session_time(request, SEEN_AT_SESSION_KEY) or login_at) >= self.refresh_interval:
                # Modifying the session makes SessionMiddleware save it with a new expiry.
                request.session[SEEN_AT_SESSION_KEY] = now.isoformat()
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response to a signed-in user and on the whole API.

    Pages and API answers carry personal data about children and families; neither the
    browser's cache nor a shared proxy may keep a copy. The API is matched by path because a
    token-authenticated request is only known to be authenticated inside DRF.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.api_prefix = settings.TANDEM_API_PATH_PREFIX

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path_info.startswith(self.api_prefix):
            # no-store, plus no-cache/must-revalidate/private and an Expires in the past for
            # older caches that ignore no-store.
            add_never_cache_headers(response)
        return response


class UserLanguageMiddleware:
    """Show a signed-in user the interface in the language they chose (``interface_language``).

    ``LocaleMiddleware`` runs first and picks the language cookie or the browser's
    Accept-Language; a saved choice of the user's own wins over both, on every device. An API
    request authenticated by token is only known inside DRF, and keeps what LocaleMiddleware
    picked (its Accept-Language).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        language = getattr(user, "interface_language", "") if user.is_authenticated else ""
        if language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
