"""Mentor–mentee pairs: proposed → active → paused → closed."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mentoring.models import CulturalBackground, Mentee, Mentor, Programme


class Match(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", pgettext_lazy("match status", "Proposed")
        ACTIVE = "active", pgettext_lazy("match status", "Active")
        PAUSED = "paused", pgettext_lazy("match status", "Paused")
        CLOSED = "closed", pgettext_lazy("match status", "Closed")
        DECLINED = "declined", _("Declined by the mentor")

    class ClosureReason(models.TextChoices):
        PLANNED_COMPLETION = "planned_completion", _("Planned completion")
        MENTOR_LEFT = "mentor_left", _("Mentor left")
        FAMILY_MOVED = "family_moved", _("Family moved")
        LOST_CONTACT = "lost_contact", _("Lost contact")
        MISMATCH = "mismatch", _("Mismatch")
        SAFEGUARDING = "safeguarding", _("Safeguarding")
        OTHER = "other", pgettext_lazy("reason", "Other")

    class DeclineReason(models.TextChoices):
        NO_TIME = "no_time", _("No time at the moment")
        NOT_A_GOOD_FIT = "not_a_good_fit", _("Not a good fit")
        ANOTHER_MENTOR_FITS_BETTER = "another_mentor", _("Another mentor fits better")
        OTHER = "other", pgettext_lazy("reason", "Other")

    # Statuses that hold a place in the mentor's capacity and keep the mentee matched.
    OPEN_STATUSES = (Status.PROPOSED, Status.ACTIVE, Status.PAUSED)
    # Statuses in which the mentor mentors the mentee now (domain.md: "own mentees").
    CURRENT_STATUSES = (Status.ACTIVE, Status.PAUSED)
    # domain.md: closed before 3 months or before the planned end is an early closure (the same
    # threshold as ``reports.metrics.ACTIVE_DAYS``).
    EARLY_CLOSURE_DAYS = 90

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="matches", verbose_name=_("programme")
    )
    mentor = models.ForeignKey(
        Mentor, on_delete=models.PROTECT, related_name="matches", verbose_name=_("mentor")
    )
    mentee = models.ForeignKey(
        Mentee, on_delete=models.PROTECT, related_name="matches", verbose_name=_("mentee")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PROPOSED, verbose_name=_("status")
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(default=timezone.now, verbose_name=_("proposed at"))
    score = models.IntegerField(
        null=True, blank=True, help_text=_("Suggestion score when made"), verbose_name=_("score")
    )
    started_on = models.DateField(null=True, blank=True, verbose_name=_("started on"))
    planned_end_on = models.DateField(null=True, blank=True, verbose_name=_("planned end on"))
    closed_on = models.DateField(null=True, blank=True, verbose_name=_("closed on"))
    closure_reason = models.CharField(
        max_length=20, choices=ClosureReason.choices, blank=True, verbose_name=_("closure reason")
    )
    closure_note = models.TextField(blank=True, verbose_name=_("closure note"))
    paused_on = models.DateField(null=True, blank=True, verbose_name=_("paused on"))
    pause_reason = models.CharField(max_length=200, blank=True, verbose_name=_("pause reason"))
    declined_at = models.DateTimeField(null=True, blank=True, verbose_name=_("declined at"))
    decline_reason = models.CharField(
        max_length=20, choices=DeclineReason.choices, blank=True, verbose_name=_("decline reason")
    )
    decline_note = models.TextField(blank=True, verbose_name=_("decline note"))
    batch_run = models.ForeignKey(
        "matching.BatchRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="matches",
        verbose_name=_("batch run"),
    )

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
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
            errors["mentor"] = _("The mentor belongs to another programme.")
        if self.mentee_id and self.mentee.programme_id != self.programme_id:
            errors["mentee"] = _("The mentee belongs to another programme.")
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
        verbose_name=_("preferred language native"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=40,
        help_text=_("The mentor speaks the mentee's preferred language natively"),
    )
    preferred_language_fluent = models.PositiveSmallIntegerField(
        verbose_name=_("preferred language fluent"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=30,
        help_text=_("… fluently"),
    )
    preferred_language_basic = models.PositiveSmallIntegerField(
        verbose_name=_("preferred language basic"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=10,
        help_text=_("… at a basic level"),
    )
    shared_language = models.PositiveSmallIntegerField(
        verbose_name=_("shared language"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=5,
        help_text=_("Each other language both speak at a usable level (up to three)"),
    )
    shared_background = models.PositiveSmallIntegerField(
        verbose_name=_("shared background"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=25,
        help_text=_("Mentor and mentee share a cultural background"),
    )
    availability_slot = models.PositiveSmallIntegerField(
        verbose_name=_("availability slot"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=4,
        help_text=_("Each weekly time slot both are available (up to three)"),
    )
    session_mode = models.PositiveSmallIntegerField(
        verbose_name=_("session mode"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=5,
        help_text=_("Both stated a way of meeting and share one"),
    )
    need_strength = models.PositiveSmallIntegerField(
        verbose_name=_("need strength"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=6,
        help_text=_("Each of the mentee's needs that is one of the mentor's strengths (up to three)"),
    )
    gender_preference = models.PositiveSmallIntegerField(
        verbose_name=_("gender preference"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=10,
        help_text=_("The mentor's gender is the one the family asked for"),
    )
    family_continuity = models.PositiveSmallIntegerField(
        verbose_name=_("family continuity"),
        validators=[MaxValueValidator(MAX_WEIGHT)],
        default=20,
        help_text=_("The mentor already mentors someone in the same family"),
    )
    km_per_penalty_point = models.DecimalField(
        verbose_name=_("km per penalty point"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.50"),
        validators=[MinValueValidator(Decimal("0.10"))],
        help_text=_("One point off for every so many kilometres apart, when they would meet in person"),
    )
    max_distance_km = models.PositiveSmallIntegerField(
        verbose_name=_("max distance km"),
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        default=30,
        help_text=_("Pairs who can only meet in person are not matched further apart than this"),
    )
    wait_week = models.PositiveSmallIntegerField(
        verbose_name=_("wait week"),
        validators=[MaxValueValidator(100)],
        default=1,
        help_text=_("Batch matching with wait priority: points per week waiting (up to 26 weeks)"),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return _("Scoring for %(programme)s") % {"programme": self.programme}

    @classmethod
    def for_programme(cls, programme_id: int) -> ScoringConfig:
        """The programme's own weights, or the defaults (unsaved) when it has none."""
        return cls.objects.filter(programme_id=programme_id).first() or cls(programme_id=programme_id)


class MatchExclusion(models.Model):
    """A pair that must never be matched: relatives, a conflict of interest, a known conflict."""

    class Reason(models.TextChoices):
        RELATIVE = "relative", _("Relatives")
        CONFLICT_OF_INTEREST = "conflict_of_interest", _("Conflict of interest")
        KNOWN_CONFLICT = "known_conflict", _("Known conflict between them")
        OTHER = "other", pgettext_lazy("reason", "Other")

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="match_exclusions", verbose_name=_("programme")
    )
    mentor = models.ForeignKey(
        Mentor, on_delete=models.CASCADE, related_name="exclusions", verbose_name=_("mentor")
    )
    mentee = models.ForeignKey(
        Mentee, on_delete=models.CASCADE, related_name="exclusions", verbose_name=_("mentee")
    )
    reason = models.CharField(max_length=24, choices=Reason.choices, verbose_name=_("reason"))
    note = models.TextField(blank=True, verbose_name=_("note"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        QUEUED = "queued", pgettext_lazy("batch run status", "Queued")
        RUNNING = "running", pgettext_lazy("batch run status", "Running")
        DONE = "done", _("Ready for review")
        FAILED = "failed", pgettext_lazy("batch run status", "Failed")

    class Objective(models.TextChoices):
        TOTAL_SCORE = "total_score", _("Highest total score")
        MOST_MATCHED = "most_matched", _("Most mentees matched, then highest score")

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="batch_runs", verbose_name=_("programme")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
        help_text=_("The run this one repeats with changed pins or exclusions"),
        verbose_name=_("previous"),
    )
    objective = models.CharField(
        max_length=16, choices=Objective.choices, default=Objective.TOTAL_SCORE, verbose_name=_("objective")
    )
    wait_priority = models.BooleanField(
        default=False, help_text=_("Give points for weeks waiting"), verbose_name=_("wait priority")
    )
    pinned = models.JSONField(
        default=list, blank=True, help_text=_("[[mentee id, mentor id], …] to keep"), verbose_name=_("pinned")
    )
    forbidden = models.JSONField(
        default=list,
        blank=True,
        help_text=_("[[mentee id, mentor id], …] to avoid"),
        verbose_name=_("forbidden"),
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent"), verbose_name=_("progress"))
    stage = models.CharField(max_length=100, blank=True, verbose_name=_("stage"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    # The language its stage, error, explanations and unmatched reasons were worded in (its
    # coordinator's, ``matching.batch.batch_run_language``); readers of another language get
    # the explanations and reasons worded again from what they are made of.
    texts_language = models.CharField(max_length=8, blank=True, verbose_name=_("texts language"))
    # Figures of the result.
    waiting_count = models.PositiveIntegerField(default=0, verbose_name=_("waiting count"))
    mentor_count = models.PositiveIntegerField(default=0, verbose_name=_("mentor count"))
    matched_count = models.PositiveIntegerField(default=0, verbose_name=_("matched count"))
    total_score = models.BigIntegerField(null=True, blank=True, verbose_name=_("total score"))
    greedy_total_score = models.BigIntegerField(null=True, blank=True, verbose_name=_("greedy total score"))
    greedy_matched_count = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("greedy matched count")
    )
    upper_bound = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Dual bound over every feasible pair"),
        verbose_name=_("upper bound"),
    )
    language_concordant_count = models.PositiveIntegerField(
        default=0, verbose_name=_("language concordant count")
    )
    pricing_rounds = models.PositiveSmallIntegerField(default=0, verbose_name=_("pricing rounds"))
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("elapsed ms"))

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Batch %(id)s for %(programme)s") % {"id": self.pk, "programme": self.programme}

    @property
    def gain_over_greedy(self) -> int | None:
        if self.total_score is None or self.greedy_total_score is None:
            return None
        return self.total_score - self.greedy_total_score


class BatchPair(models.Model):
    """A proposed pair of a batch run, with the explanation of its score."""

    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="pairs", verbose_name=_("run"))
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="+", verbose_name=_("mentee"))
    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="+", verbose_name=_("mentor"))
    score = models.IntegerField(verbose_name=_("score"))
    parts = models.JSONField(
        default=list, help_text=_("[{points, reason}, …] summing to the score"), verbose_name=_("parts")
    )
    pinned = models.BooleanField(default=False, verbose_name=_("pinned"))
    language_concordant = models.BooleanField(default=False, verbose_name=_("language concordant"))
    match = models.OneToOneField(
        Match,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batch_pair",
        verbose_name=_("match"),
    )

    class Meta:
        ordering = ["-score", "mentee_id"]
        constraints = [models.UniqueConstraint(fields=["run", "mentee"], name="batch_pair_one_per_mentee")]

    def __str__(self) -> str:
        return f"{self.mentor} – {self.mentee} ({self.score:+d})"


class BatchUnmatched(models.Model):
    """A waiting mentee the batch left unmatched, with the reason, for the recruitment view."""

    class Reason(models.TextChoices):
        NO_LANGUAGE = "no_language", _("No matchable mentor speaks the mentee's language")
        TOO_FAR = "too_far", _("No matchable mentor within reach for in-person sessions")
        NO_MODE = "no_mode", _("No matchable mentor offers the mentee's way of meeting")
        EXCLUDED = "excluded", _("Every matchable mentor is excluded for this mentee")
        NO_MENTOR = "no_mentor", _("No matchable mentor in the programme")
        OUTSCORED = "outscored", _("Suitable mentors were all given to other mentees")
        NOT_WORTH = "not_worth", _("No mentor scores above zero for this mentee")

    run = models.ForeignKey(
        BatchRun, on_delete=models.CASCADE, related_name="unmatched", verbose_name=_("run")
    )
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="+", verbose_name=_("mentee"))
    reason = models.CharField(max_length=12, choices=Reason.choices, verbose_name=_("reason"))
    detail = models.CharField(
        max_length=300, help_text=_("The reason in the coordinator's words"), verbose_name=_("detail")
    )
    # What ``detail`` is worded from, to word it again in each reader's language
    # (``matching.engine.reword_unmatched``); empty for rows written before it was kept.
    detail_args = models.JSONField(default=dict, blank=True, verbose_name=_("detail args"))
    language = models.CharField(
        max_length=3, blank=True, help_text=_("The mentee's preferred language"), verbose_name=_("language")
    )
    background = models.ForeignKey(
        CulturalBackground,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("background"),
    )

    class Meta:
        ordering = ["reason", "mentee_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "mentee"], name="batch_unmatched_one_per_mentee")
        ]

    def __str__(self) -> str:
        return f"{self.mentee}: {self.get_reason_display()}"
