from django.apps import AppConfig


class MentoringConfig(AppConfig):
    name = "mentoring"
    verbose_name = "Programmes and people"
    default_auto_field = "django.db.models.BigAutoField"
