"""Stored report snapshots: pages read these, never the live tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentoring.models import Programme


class ReportSnapshot(models.Model):
    """The figures of one report for one parameter set, computed by Celery workers.

    ``figures`` holds aggregates only, already small-cell suppressed (``reports.figures`` is
    its contract); it never holds a row about a person.

    A snapshot covers one programme (``programme`` set) or several programmes read together
    (``programme`` null). ``programmes`` always lists every programme covered, so a reader's
    access is one rule: they must read the reports of all of them. ``parameters_key`` hashes
    the kind, the normalised parameters and, for several programmes, their ids.

    The work is split into ``ReportSnapshotPart`` rows, one per population, computed by
    independent tasks; the task that finishes the last part assembles ``figures``.
    """

    class Kind(models.TextChoices):
        PARTICIPATION = "participation", "Participation by migrant background"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    IN_FLIGHT = (Status.PENDING, Status.RUNNING)

    programme = models.ForeignKey(
        Programme,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_snapshots",
        help_text="The programme of a single-programme snapshot; empty when it covers several.",
    )
    programmes = models.ManyToManyField(
        Programme, related_name="covering_report_snapshots", help_text="Every programme covered"
    )
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
            # The same for snapshots of several programmes (their ids are part of the key).
            models.UniqueConstraint(
                fields=["parameters_key"],
                condition=Q(status__in=["pending", "running"], programme__isnull=True),
                name="report_snapshot_multi_one_in_flight",
            ),
        ]
        indexes = [models.Index(fields=["programme", "kind", "status", "-generated_at"])]

    def __str__(self) -> str:
        scope = self.programme if self.programme_id else "several programmes"
        return f"{self.get_kind_display()} – {scope} ({self.status})"


class ReportSnapshotPart(models.Model):
    """One independent piece of a snapshot's computation: one population over the snapshot's
    programmes. Its ``result`` (a ``Population`` of ``reports.figures``, suppressed) waits
    here until every part is done and the snapshot is assembled."""

    class Population(models.TextChoices):
        MENTEES = "mentees", "Mentees"
        MENTORS = "mentors", "Mentors"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    snapshot = models.ForeignKey(ReportSnapshot, on_delete=models.CASCADE, related_name="parts")
    population = models.CharField(max_length=10, choices=Population.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["snapshot", "population"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "population"], name="report_snapshot_part_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id}/{self.population} ({self.status})"
