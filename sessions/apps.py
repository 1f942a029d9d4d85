from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    """Session logs, outcomes and concerns.

    The label keeps this app apart from ``django.contrib.sessions`` (label ``sessions``), whose
    migrations hard-code theirs; imports stay ``from sessions.services import ...``.
    """

    name = "sessions"
    label = "mentoring_sessions"
    verbose_name = _("Session logs")
    default_auto_field = "django.db.models.BigAutoField"
