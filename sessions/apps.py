from django.apps import AppConfig


class SessionsConfig(AppConfig):
    """Session logs, outcomes and concerns.

    The label keeps this app apart from ``django.contrib.sessions`` (label ``sessions``), whose
    migrations hard-code theirs; imports stay ``from sessions.services import ...``.
    """

    name = "sessions"
    label = "mentoring_sessions"
    verbose_name = "Session logs"
    default_auto_field = "django.db.models.BigAutoField"
