"""Stored report snapshots: pages read these, never the live tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentoring.models import Programme


class ReportSnapshot(models.Model):
    """The figures of one report for one parameter set, computed by a Celery worker.

    ``figures`` holds aggregates only, already small-cell suppressed; it never holds a row
    about a person.
    """

    class Kind(models.TextChoices):
        PARTICIPATION = "participation", "Participation by migrant background"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    IN_FLIGHT = (Status.PENDING, Status.RUNNING)

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="report_snapshots")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PARTICIPATION)
    parameters = models.JSONField(default=dict, blank=True)
    parameters_key = models.CharField(max_length=64, help_text="Hash of kind and parameters")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    data_as_of = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    small_cell_k = models.PositiveSmallIntegerField(default=10)
    figures = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One snapshot in flight per parameter set: a second request joins the first.
            models.UniqueConstraint(
                fields=["programme", "parameters_key"],
                condition=Q(status__in=["pending", "running"]),
                name="report_snapshot_one_in_flight",
            ),
        ]
        indexes = [models.Index(fields=["programme", "kind", "status", "-generated_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.programme} ({self.status})"
