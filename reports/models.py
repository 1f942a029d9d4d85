"""Stored report snapshots: pages read these, never the live tables."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
        PARTICIPATION = "participation", _("Participation by migrant background")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Computing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    IN_FLIGHT = (Status.PENDING, Status.RUNNING)

    programme = models.ForeignKey(
        Programme,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_snapshots",
        help_text="The programme of a single-programme snapshot; empty when it covers several.",
        verbose_name=_("programme"),
    )
    programmes = models.ManyToManyField(
        Programme,
        related_name="covering_report_snapshots",
        help_text="Every programme covered",
        verbose_name=_("programmes"),
    )
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.PARTICIPATION, verbose_name=_("kind")
    )
    parameters = models.JSONField(default=dict, blank=True, verbose_name=_("parameters"))
    parameters_key = models.CharField(
        max_length=64, help_text="Hash of kind and parameters", verbose_name=_("parameters key")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    progress = models.PositiveSmallIntegerField(
        default=0, help_text="Percent done", verbose_name=_("progress")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(auto_now_add=True, verbose_name=_("requested at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    generated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("generated at"))
    data_as_of = models.DateTimeField(null=True, blank=True, verbose_name=_("data as of"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    small_cell_k = models.PositiveSmallIntegerField(default=10, verbose_name=_("small cell k"))
    # The encoder stores a lazily translated label as text (in the language active then).
    figures = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("figures"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("report snapshot")
        verbose_name_plural = _("report snapshots")
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
        MENTEES = "mentees", _("Mentees")
        MENTORS = "mentors", _("Mentors")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Computing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    snapshot = models.ForeignKey(
        ReportSnapshot, on_delete=models.CASCADE, related_name="parts", verbose_name=_("snapshot")
    )
    population = models.CharField(max_length=10, choices=Population.choices, verbose_name=_("population"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("result"))
    error = models.CharField(max_length=100, blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("report snapshot part")
        verbose_name_plural = _("report snapshot parts")
        ordering = ["snapshot", "population"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "population"], name="report_snapshot_part_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id}/{self.population} ({self.status})"
