from django.contrib import admin

from reports.models import ReportSnapshot


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    list_display = ("programme", "kind", "status", "progress", "requested_at", "generated_at", "duration_ms")
    list_filter = ("kind", "status", "programme")
    readonly_fields = ("figures", "parameters", "parameters_key")
