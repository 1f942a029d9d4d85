from django.contrib import admin

from matching.models import Match


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "programme", "status", "started_on", "closed_on", "closure_reason")
    list_filter = ("programme", "status", "closure_reason")
    raw_id_fields = ("mentor", "mentee", "proposed_by")
    list_select_related = ("mentor__person", "mentee__person", "programme")
