"""Mentor–mentee pairs: proposed → active → paused → closed."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentoring.models import CulturalBackground, Mentee, Mentor, Programme


class Match(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"
        DECLINED = "declined", "Declined by the mentor"

    class ClosureReason(models.TextChoices):
        PLANNED_COMPLETION = "planned_completion", "Planned completion"
        MENTOR_LEFT = "mentor_left", "Mentor left"
        FAMILY_MOVED = "family_moved", "Family moved"
        LOST_CONTACT = "lost_contact", "Lost contact"
        MISMATCH = "mismatch", "Mismatch"
        SAFEGUARDING = "safeguarding", "Safeguarding"
        OTHER = "other", "Other"

    class DeclineReason(models.TextChoices):
        NO_TIME = "no_time", "No time at the moment"
        NOT_A_GOOD_FIT = "not_a_good_fit", "Not a good fit"
        ANOTHER_MENTOR_FITS_BETTER = "another_mentor", "Another mentor fits better"
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
    paused_on = models.DateField(null=True, blank=True)
    pause_reason = models.CharField(max_length=200, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    decline_note = models.TextField(blank=True)
    batch_run = models.ForeignKey(
        "matching.BatchRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="matches"
    )

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
            models.CheckConstraint(
                condition=~Q(status="declined") | (Q(declined_at__isnull=False) & ~Q(decline_reason="")),
                name="match_declined_has_time_and_reason",
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


# Weights stay small so that a pair's score fits the engine's 16-bit arrays (ten parts, some
# counted up to three times, stay below 32,767).
MAX_WEIGHT = 1000


class ScoringConfig(models.Model):
    """A programme's matching weights and limits, set by its coordinators. Every suggestion and
    batch proposal is the sum of these named parts (``matching.engine``); a programme without a
    row of its own uses the defaults."""

    programme = models.OneToOneField(Programme, on_delete=models.CASCADE, related_name="scoring_config")
    preferred_language_native = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=40,
        help_text="The mentor speaks the mentee's preferred language natively",
    )
    preferred_language_fluent = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)], default=30, help_text="… fluently"
    )
    preferred_language_basic = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)], default=10, help_text="… at a basic level"
    )
    shared_language = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=5,
        help_text="Each other language both speak at a usable level (up to three)",
    )
    shared_background = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=25,
        help_text="Mentor and mentee share a cultural background",
    )
    availability_slot = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=4,
        help_text="Each weekly time slot both are available (up to three)",
    )
    session_mode = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=5,
        help_text="Both stated a way of meeting and share one",
    )
    need_strength = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=6,
        help_text="Each of the mentee's needs that is one of the mentor's strengths (up to three)",
    )
    gender_preference = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=10,
        help_text="The mentor's gender is the one the family asked for",
    )
    family_continuity = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=20,
        help_text="The mentor already mentors someone in the same family",
    )
    km_per_penalty_point = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.50"),
        validators=[MinValueValidator(Decimal("0.10"))],
        help_text="One point off for every so many kilometres apart, when they would meet in person",
    )
    max_distance_km = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        default=30,
        help_text="Pairs who can only meet in person are not matched further apart than this",
    )
    wait_week = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)],
        default=1,
        help_text="Batch matching with wait priority: points per week waiting (up to 26 weeks)",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Scoring for {self.programme}"

    @classmethod
    def for_programme(cls, programme_id: int) -> ScoringConfig:
        """The programme's own weights, or the defaults (unsaved) when it has none."""
        return cls.objects.filter(programme_id=programme_id).first() or cls(programme_id=programme_id)


class MatchExclusion(models.Model):
    """A pair that must never be matched: relatives, a conflict of interest, a known conflict."""

    class Reason(models.TextChoices):
        RELATIVE = "relative", "Relatives"
        CONFLICT_OF_INTEREST = "conflict_of_interest", "Conflict of interest"
        KNOWN_CONFLICT = "known_conflict", "Known conflict between them"
        OTHER = "other", "Other"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="match_exclusions")
    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="exclusions")
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="exclusions")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mentor", "mentee"], name="match_exclusion_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.mentor} ≠ {self.mentee}"


class BatchRun(models.Model):
    """One optimal matching of a programme's waiting list, computed by a Celery task and then
    reviewed by a coordinator: pairs can be pinned or forbidden and the run repeated."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready for review"
        FAILED = "failed", "Failed"

    class Objective(models.TextChoices):
        TOTAL_SCORE = "total_score", "Highest total score"
        MOST_MATCHED = "most_matched", "Most mentees matched, then highest score"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="batch_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
        help_text="The run this one repeats with changed pins or exclusions",
    )
    objective = models.CharField(max_length=16, choices=Objective.choices, default=Objective.TOTAL_SCORE)
    wait_priority = models.BooleanField(default=False, help_text="Give points for weeks waiting")
    pinned = models.JSONField(default=list, blank=True, help_text="[[mentee id, mentor id], …] to keep")
    forbidden = models.JSONField(default=list, blank=True, help_text="[[mentee id, mentor id], …] to avoid")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent")
    stage = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Figures of the result.
    waiting_count = models.PositiveIntegerField(default=0)
    mentor_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    total_score = models.BigIntegerField(null=True, blank=True)
    greedy_total_score = models.BigIntegerField(null=True, blank=True)
    greedy_matched_count = models.PositiveIntegerField(null=True, blank=True)
    upper_bound = models.FloatField(null=True, blank=True, help_text="Dual bound over every feasible pair")
    language_concordant_count = models.PositiveIntegerField(default=0)
    pricing_rounds = models.PositiveSmallIntegerField(default=0)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Batch {self.pk} for {self.programme}"

    @property
    def gain_over_greedy(self) -> int | None:
        if self.total_score is None or self.greedy_total_score is None:
            return None
        return self.total_score - self.greedy_total_score


class BatchPair(models.Model):
    """A proposed pair of a batch run, with the explanation of its score."""

    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="pairs")
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="+")
    score = models.IntegerField()
    parts = models.JSONField(default=list, help_text="[{points, reason}, …] summing to the score")
    pinned = models.BooleanField(default=False)
    language_concordant = models.BooleanField(default=False)
    match = models.OneToOneField(
        Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_pair"
    )

    class Meta:
        ordering = ["-score", "mentee_id"]
        constraints = [models.UniqueConstraint(fields=["run", "mentee"], name="batch_pair_one_per_mentee")]

    def __str__(self) -> str:
        return f"{self.mentor} – {self.mentee} ({self.score:+d})"


class BatchUnmatched(models.Model):
    """A waiting mentee the batch left unmatched, with the reason, for the recruitment view."""

    class Reason(models.TextChoices):
        NO_LANGUAGE = "no_language", "No matchable mentor speaks the mentee's language"
        TOO_FAR = "too_far", "No matchable mentor within reach for in-person sessions"
        NO_MODE = "no_mode", "No matchable mentor offers the mentee's way of meeting"
        EXCLUDED = "excluded", "Every matchable mentor is excluded for this mentee"
        NO_MENTOR = "no_mentor", "No matchable mentor in the programme"
        OUTSCORED = "outscored", "Suitable mentors were all given to other mentees"
        NOT_WORTH = "not_worth", "No mentor scores above zero for this mentee"

    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="unmatched")
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.CharField(max_length=300, help_text="The reason in the coordinator's words")
    language = models.CharField(max_length=3, blank=True, help_text="The mentee's preferred language")
    background = models.ForeignKey(
        CulturalBackground, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["reason", "mentee_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "mentee"], name="batch_unmatched_one_per_mentee")
        ]

    def __str__(self) -> str:
        return f"{self.mentee}: {self.get_reason_display()}"
