"""Mentor–mentee pairs: proposed → active → paused → closed."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentoring.models import Mentee, Mentor, Programme


class Match(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    class ClosureReason(models.TextChoices):
        PLANNED_COMPLETION = "planned_completion", "Planned completion"
        MENTOR_LEFT = "mentor_left", "Mentor left"
        FAMILY_MOVED = "family_moved", "Family moved"
        LOST_CONTACT = "lost_contact", "Lost contact"
        MISMATCH = "mismatch", "Mismatch"
        SAFEGUARDING = "safeguarding", "Safeguarding"
        OTHER = "other", "Other"

    # Statuses that hold a place in the mentor's capacity and keep the mentee matched.
    OPEN_STATUSES = (Status.PROPOSED, Status.ACTIVE, Status.PAUSED)
    # Statuses in which the mentor mentors the mentee now (domain.md: "own mentees").
    CURRENT_STATUSES = (Status.ACTIVE, Status.PAUSED)
    # domain.md: closed before 3 months or before the planned end is an early closure (the same
    # threshold as ``reports.metrics.ACTIVE_DAYS``).
    EARLY_CLOSURE_DAYS = 90

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="matches")
    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="matches")
    mentee = models.ForeignKey(Mentee, on_delete=models.PROTECT, related_name="matches")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    score = models.IntegerField(null=True, blank=True, help_text="Suggestion score when made")
    started_on = models.DateField(null=True, blank=True)
    planned_end_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=20, choices=ClosureReason.choices, blank=True)
    closure_note = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "matches"
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee"],
                condition=Q(status__in=["proposed", "active", "paused"]),
                name="match_one_open_per_mentee",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | (Q(closed_on__isnull=False) & ~Q(closure_reason="")),
                name="match_closed_has_date_and_reason",
            ),
        ]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return f"{self.mentor} – {self.mentee}"

    def closes_early_on(self, day) -> bool:
        """Whether closing on ``day`` is an early closure: within ``EARLY_CLOSURE_DAYS`` of the
        start, or before the planned end. A match that never started is not counted (as in the
        reports, which measure a match's length from its start)."""
        if self.started_on is None:
            return False
        if (day - self.started_on).days < self.EARLY_CLOSURE_DAYS:
            return True
        return self.planned_end_on is not None and day < self.planned_end_on

    @property
    def is_early_closure(self) -> bool:
        """Derived from the dates, never typed in: False while the match is not closed."""
        return (
            self.status == self.Status.CLOSED
            and self.closed_on is not None
            and self.closes_early_on(self.closed_on)
        )

    def clean(self) -> None:
        errors = {}
        if self.mentor_id and self.mentor.programme_id != self.programme_id:
            errors["mentor"] = "The mentor belongs to another programme."
        if self.mentee_id and self.mentee.programme_id != self.programme_id:
            errors["mentee"] = "The mentee belongs to another programme."
        if errors:
            raise ValidationError(errors)
