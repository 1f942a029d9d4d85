"""What happens inside a match: the mentor's session logs."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from matching.models import Match
from mentoring.models import SessionMode
from mentoring.vocabulary import validate_language_code


class Participant(models.TextChoices):
    PARENT = "parent", "Parent"
    PUPIL = "pupil", "Pupil"
    TEACHER = "teacher", "Teacher"


class Topic(models.TextChoices):
    SCHOOL_SYSTEM = "school_system", "School-system orientation"
    HOMEWORK = "homework", "Homework support"
    PARENT_TEACHER = "parent_teacher", "Parent–teacher meetings"
    BILINGUAL = "bilingual", "Bilingual upbringing"
    LOCAL_LANGUAGE = "local_language", "Local language"
    WELL_BEING = "well_being", "Well-being"


class SessionLog(models.Model):
    """A mentor's record of one meeting, written within days of it.

    Mentors may correct their own log for ``EDIT_WINDOW`` after writing it; after that only
    coordinators. ``idempotency_key`` lets a phone retry a submission after a dropped connection
    without creating a second log.
    """

    EDIT_WINDOW = datetime.timedelta(days=7)

    match = models.ForeignKey(Match, on_delete=models.PROTECT, related_name="session_logs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="session_logs"
    )
    held_on = models.DateField()
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    mode = models.CharField(max_length=10, choices=SessionMode.choices)
    participants = models.JSONField(default=list, help_text="Who took part: parent, pupil, teacher")
    topics = models.JSONField(default=list, blank=True)
    language = models.CharField(
        max_length=3, validators=[validate_language_code], help_text="ISO 639 code of the language used"
    )
    interpreter_used = models.BooleanField(default=False)
    notes = models.TextField(blank=True, help_text="Private to the mentor and coordinators")
    follow_ups = models.TextField(blank=True)
    idempotency_key = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="session_log_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=600),
                name="session_log_duration_5_to_600",
            ),
        ]
        indexes = [models.Index(fields=["match", "held_on"])]

    def __str__(self) -> str:
        return f"Session {self.held_on} ({self.match_id})"


class OutcomeStage(models.TextChoices):
    BASELINE = "baseline", "Baseline (at intake)"
    MIDWAY = "midway", "Midway"
    CLOSURE = "closure", "At closure"


class OutcomeInstrument(models.Model):
    """A measure a programme takes of its mentees: parent engagement in schooling, attendance
    rate, school well-being, early-school-leaving risk, or one the programme adds. The headline
    instrument is the one equality reports show the change of."""

    programme = models.ForeignKey(
        "mentoring.Programme", on_delete=models.CASCADE, related_name="outcome_instruments"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    scale_min = models.DecimalField(max_digits=6, decimal_places=2)
    scale_max = models.DecimalField(max_digits=6, decimal_places=2)
    higher_is_better = models.BooleanField(default=True)
    is_headline = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="outcome_instrument_unique_code"),
            models.UniqueConstraint(
                fields=["programme"], condition=Q(is_headline=True), name="outcome_instrument_one_headline"
            ),
            models.CheckConstraint(
                condition=Q(scale_max__gt=models.F("scale_min")), name="outcome_instrument_scale_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OutcomeMeasure(models.Model):
    """One mentee's score on one instrument at baseline, midway or closure."""

    mentee = models.ForeignKey("mentoring.Mentee", on_delete=models.CASCADE, related_name="outcome_measures")
    instrument = models.ForeignKey(OutcomeInstrument, on_delete=models.PROTECT, related_name="measures")
    stage = models.CharField(max_length=10, choices=OutcomeStage.choices)
    value = models.DecimalField(max_digits=6, decimal_places=2)
    measured_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measured_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee", "instrument", "stage"], name="outcome_measure_once_per_stage"
            ),
        ]
        indexes = [models.Index(fields=["instrument", "stage"])]

    def __str__(self) -> str:
        return f"{self.instrument} {self.get_stage_display()}: {self.value}"
