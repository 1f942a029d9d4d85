"""What happens inside a match: session logs and their history, concerns, quality check-ins,
goals, outcome measures, the coordinator's attention flags and in-app notifications."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import OuterRef, Q
from django.utils import timezone

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
    # One meeting with several of the mentor's mentees of a family (a mother and her son) is
    # written once and stored as one log per match, all carrying the same ``shared_key``.
    shared_key = models.UUIDField(null=True, blank=True, db_index=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            # The key is kept on the log of the match the mentor logged for; the other logs of
            # a family meeting (same ``shared_key``) have none.
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


class SessionLogRevision(models.Model):
    """One change to a session log: who changed what, from which value to which."""

    log = models.ForeignKey(SessionLog, on_delete=models.CASCADE, related_name="revisions")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(help_text="{field: [before, after]}")

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"Revision of {self.log_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class SessionTopic(models.Model):
    """A topic of the programme's own vocabulary. A programme without any uses ``Topic``."""

    programme = models.ForeignKey(
        "mentoring.Programme", on_delete=models.CASCADE, related_name="session_topics"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="session_topic_unique_code")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.programme_topics_changed(self.programme_id)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.programme_topics_changed(self.programme_id)
        return result

    @classmethod
    def programme_topics_changed(cls, programme_id: int) -> None:
        """Refresh ``Programme.has_session_topics`` from the programme's active topics."""
        from mentoring.models import Programme

        active = cls.objects.filter(programme_id=OuterRef("pk"), is_active=True)
        Programme.objects.filter(pk=programme_id).update(has_session_topics=models.Exists(active))


class Concern(models.Model):
    """A safeguarding or well-being worry a mentor (or coordinator) raises about a mentee.
    Routed to the programme's coordinators at once; visible only to whoever raised it and the
    programme's coordinators. open → acknowledged → referred → closed (referral is optional)."""

    class Severity(models.TextChoices):
        LOW = "low", "Low: keep an eye on it"
        MEDIUM = "medium", "Medium: talk about it this week"
        HIGH = "high", "High: act today"
        URGENT = "urgent", "Urgent: a child may be at risk now"

    class Kind(models.TextChoices):
        SAFEGUARDING = "safeguarding", "Safeguarding"
        WELL_BEING = "well_being", "Well-being"
        SCHOOL = "school", "School"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        REFERRED = "referred", "Referred"
        CLOSED = "closed", "Closed"

    class ReferredTo(models.TextChoices):
        SOCIAL_SERVICES = "social_services", "Social services"
        SCHOOL = "school", "School"
        HEALTH = "health", "Health services"
        POLICE = "police", "Police"
        OTHER = "other", "Other"

    programme = models.ForeignKey("mentoring.Programme", on_delete=models.PROTECT, related_name="concerns")
    mentee = models.ForeignKey("mentoring.Mentee", on_delete=models.PROTECT, related_name="concerns")
    match = models.ForeignKey(Match, null=True, blank=True, on_delete=models.PROTECT, related_name="concerns")
    session_log = models.ForeignKey(
        SessionLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="concerns"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="raised_concerns"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WELL_BEING)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.TextField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    referred_to = models.CharField(max_length=20, choices=ReferredTo.choices, blank=True)
    referral_note = models.TextField(blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["programme", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="referred") | ~Q(referred_to=""), name="concern_referred_has_whom"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(acknowledged_at__isnull=False),
                name="concern_past_open_is_acknowledged",
            ),
        ]

    def __str__(self) -> str:
        return f"Concern {self.pk} ({self.get_severity_display()})"


class CheckIn(models.Model):
    """A short relationship-quality questionnaire of a match, for its mentor or its family, due
    on day ``Programme.checkin_first_day`` and every ``checkin_interval_days`` after. The family
    answers through a personal link (``token``) in their own language, with no account; a
    family's ``uncertain`` flag and ``private_note`` go to the coordinator only."""

    class Respondent(models.TextChoices):
        MENTOR = "mentor", "Mentor"
        FAMILY = "family", "Family"

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="checkins")
    respondent = models.CharField(max_length=10, choices=Respondent.choices)
    due_on = models.DateField()
    token = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=3, validators=[validate_language_code])
    answers = models.JSONField(default=dict, blank=True, help_text="{question code: score 1–5}")
    comment = models.TextField(blank=True)
    uncertain = models.BooleanField(default=False)
    private_note = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "respondent"]
        constraints = [
            models.UniqueConstraint(
                fields=["match", "respondent", "due_on"], name="checkin_once_per_due_date"
            )
        ]

    def __str__(self) -> str:
        return f"Check-in {self.respondent} {self.due_on} ({self.match_id})"


class Goal(models.Model):
    """A goal agreed with a mentee's family at the start, with its progress (0–100 %)."""

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "Dropped"

    mentee = models.ForeignKey("mentoring.Mentee", on_delete=models.CASCADE, related_name="goals")
    description = models.CharField(max_length=300)
    agreed_on = models.DateField()
    target_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreed_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="goal_progress_at_most_100")
        ]

    def __str__(self) -> str:
        return self.description


class GoalProgress(models.Model):
    """One update of a goal's progress, so the timeline can show how it moved."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="updates")
    progress = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    note = models.TextField(blank=True)
    recorded_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_on", "id"]

    def __str__(self) -> str:
        return f"{self.goal_id}: {self.progress} %"


class AttentionFlag(models.Model):
    """Something a coordinator should look at, raised by the match-health job
    (``sessions.health``) and resolved by it once no longer true. At most one open flag per
    condition and object, so a condition that lasts for weeks is flagged (and reminded) once."""

    class Kind(models.TextChoices):
        DRIFTING_MATCH = "drifting_match", "Match drifting: no session logged"
        OVERDUE_LOGS = "overdue_logs", "Mentor's session logs overdue"
        UNACKNOWLEDGED_CONCERN = "unacknowledged_concern", "Concern not acknowledged"
        FAMILY_UNCERTAIN = "family_uncertain", "Family uncertain about the match"

    programme = models.ForeignKey(
        "mentoring.Programme", on_delete=models.CASCADE, related_name="attention_flags"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    match = models.ForeignKey(Match, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(
        "mentoring.Mentor", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    concern = models.ForeignKey(Concern, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(
        max_length=40, help_text='What the flag is about: "match:12", "mentor:5", "concern:3"'
    )
    since = models.DateField(help_text="Since when the condition holds (e.g. the last session's date)")
    details = models.JSONField(default=dict, blank=True, help_text="Figures only, never personal values")
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["since", "id"]
        indexes = [models.Index(fields=["programme", "resolved_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="attention_flag_one_open_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} since {self.since}"


class Notification(models.Model):
    """An in-app message to one user (their inbox), also sent by e-mail when ``emailed_at`` is
    set. ``dedupe_key`` makes a reminder about one condition go out once, however often the
    job that finds it runs. Texts carry no special-category data: they link to the record."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_once_per_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title
