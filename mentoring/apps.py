from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MentoringConfig(AppConfig):
    name = "mentoring"
    verbose_name = _("Programmes and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mentoring import lookups  # noqa: F401 - registers ``__any_of``
