from django.contrib import admin

from sessions.models import OutcomeInstrument, OutcomeMeasure, SessionLog


@admin.register(SessionLog)
class SessionLogAdmin(admin.ModelAdmin):
    list_display = ("held_on", "match", "duration_minutes", "mode", "language")
    list_filter = ("mode", "held_on")
    raw_id_fields = ("match", "author")
    list_select_related = ("match__mentor__person", "match__mentee__person")


@admin.register(OutcomeInstrument)
class OutcomeInstrumentAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "programme", "scale_min", "scale_max", "is_headline")
    list_filter = ("programme",)


@admin.register(OutcomeMeasure)
class OutcomeMeasureAdmin(admin.ModelAdmin):
    list_display = ("mentee", "instrument", "stage", "value", "measured_on")
    list_filter = ("instrument__programme", "instrument", "stage")
    raw_id_fields = ("mentee", "recorded_by")
    list_select_related = ("mentee__person", "instrument")
