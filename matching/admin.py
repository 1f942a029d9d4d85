from django.contrib import admin

from matching.models import BatchRun, Match, MatchExclusion, ScoringConfig


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "programme", "status", "started_on", "closed_on", "closure_reason")
    list_filter = ("programme", "status", "closure_reason", "decline_reason")
    raw_id_fields = ("mentor", "mentee", "proposed_by", "batch_run")
    list_select_related = ("mentor__person", "mentee__person", "programme")


@admin.register(ScoringConfig)
class ScoringConfigAdmin(admin.ModelAdmin):
    list_display = ("programme", "updated_at", "updated_by")
    raw_id_fields = ("updated_by",)


@admin.register(MatchExclusion)
class MatchExclusionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "programme", "reason", "created_at")
    list_filter = ("programme", "reason")
    raw_id_fields = ("mentor", "mentee", "created_by")
    list_select_related = ("mentor__person", "mentee__person", "programme")


@admin.register(BatchRun)
class BatchRunAdmin(admin.ModelAdmin):
    """Figures only: the proposal itself is reviewed on the coordinator's page."""

    list_display = ("__str__", "status", "objective", "matched_count", "total_score", "created_at")
    list_filter = ("programme", "status", "objective")
    raw_id_fields = ("created_by", "previous")
    readonly_fields = (
        "status",
        "progress",
        "stage",
        "started_at",
        "finished_at",
        "error",
        "matched_count",
        "total_score",
        "greedy_total_score",
        "upper_bound",
    )
