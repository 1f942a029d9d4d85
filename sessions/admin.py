from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from sessions.models import AttentionFlag, OutcomeInstrument, OutcomeMeasure, SessionLog


@admin.register(SessionLog)
class SessionLogAdmin(admin.ModelAdmin):
    list_display = ("held_on", "match", "duration_minutes", "mode", "language")
    list_filter = ("mode", "held_on")
    raw_id_fields = ("match", "author")
    list_select_related = ("match__mentor__person", "match__mentee__person")


@admin.register(OutcomeInstrument)
class OutcomeInstrumentAdmin(TranslationAdmin):
    """One name per interface language (``name_en``, ``name_nl``, ...)."""

    list_display = ("name", "code", "programme", "scale_min", "scale_max", "is_headline")
    list_filter = ("programme",)


@admin.register(OutcomeMeasure)
class OutcomeMeasureAdmin(admin.ModelAdmin):
    list_display = ("mentee", "instrument", "stage", "value", "measured_on")
    list_filter = ("instrument__programme", "instrument", "stage")
    raw_id_fields = ("mentee", "recorded_by")
    list_select_related = ("mentee__person", "instrument")


@admin.register(AttentionFlag)
class AttentionFlagAdmin(admin.ModelAdmin):
    """Read-only: flags are raised and resolved by the match-health job (``sessions.services.health``)."""

    list_display = ("kind", "subject", "programme", "since", "raised_at", "resolved_at")
    list_filter = ("kind", "programme", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("subject",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from sessions.models import Concern  # noqa: E402 - appended with the admin below


@admin.register(Concern)
class ConcernAdmin(admin.ModelAdmin):
    """Read-only: a concern moves only through ``sessions.services.concerns``, which checks
    each step, audits it and tells the raising mentor."""

    list_display = ("id", "programme", "severity", "kind", "status", "created_at")
    list_filter = ("status", "severity", "kind", "programme")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
