from django.contrib import admin

from sessions.models import SessionLog


@admin.register(SessionLog)
class SessionLogAdmin(admin.ModelAdmin):
    list_display = ("held_on", "match", "duration_minutes", "mode", "language")
    list_filter = ("mode", "held_on")
    raw_id_fields = ("match", "author")
    list_select_related = ("match__mentor__person", "match__mentee__person")
