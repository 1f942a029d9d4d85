"""What happens inside a match: session logs and their history, concerns, quality check-ins,
goals, outcome measures, the coordinator's attention flags and in-app notifications."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from matching.models import Match
from mentoring.models import SessionMode
from mentoring.vocabulary import validate_language_code


class Participant(models.TextChoices):
    PARENT = "parent", _("Parent")
    PUPIL = "pupil", _("Pupil")
    TEACHER = "teacher", _("Teacher")


class Topic(models.TextChoices):
    SCHOOL_SYSTEM = "school_system", _("School-system orientation")
    HOMEWORK = "homework", _("Homework support")
    PARENT_TEACHER = "parent_teacher", _("Parent–teacher meetings")
    BILINGUAL = "bilingual", _("Bilingual upbringing")
    LOCAL_LANGUAGE = "local_language", _("Local language")
    WELL_BEING = "well_being", _("Well-being")


class SessionLog(models.Model):
    """A mentor's record of one meeting, written within days of it.

    Mentors may correct their own log for ``EDIT_WINDOW`` after writing it; after that only
    coordinators. ``idempotency_key`` lets a phone retry a submission after a dropped connection
    without creating a second log.
    """

    EDIT_WINDOW = datetime.timedelta(days=7)

    match = models.ForeignKey(
        Match, on_delete=models.PROTECT, related_name="session_logs", verbose_name=_("match")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="session_logs",
        verbose_name=_("author"),
    )
    held_on = models.DateField(verbose_name=_("held on"))
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(600)], verbose_name=_("duration minutes")
    )
    mode = models.CharField(max_length=10, choices=SessionMode.choices, verbose_name=_("mode"))
    participants = models.JSONField(
        default=list, help_text=_("Who took part: parent, pupil, teacher"), verbose_name=_("participants")
    )
    topics = models.JSONField(default=list, blank=True, verbose_name=_("topics"))
    language = models.CharField(
        max_length=3,
        validators=[validate_language_code],
        help_text=_("ISO 639 code of the language used"),
        verbose_name=_("language"),
    )
    interpreter_used = models.BooleanField(default=False, verbose_name=_("interpreter used"))
    notes = models.TextField(
        blank=True, help_text=_("Private to the mentor and coordinators"), verbose_name=_("notes")
    )
    follow_ups = models.TextField(blank=True, verbose_name=_("follow ups"))
    idempotency_key = models.UUIDField(null=True, blank=True, verbose_name=_("idempotency key"))
    # One meeting with several of the mentor's mentees of a family (a mother and her son) is
    # written once and stored as one log per match, all carrying the same ``shared_key``.
    shared_key = models.UUIDField(null=True, blank=True, db_index=True, verbose_name=_("shared key"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("session log")
        verbose_name_plural = _("session logs")
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
    BASELINE = "baseline", _("Baseline (at intake)")
    MIDWAY = "midway", _("Midway")
    CLOSURE = "closure", _("At closure")


class OutcomeInstrument(models.Model):
    """A measure a programme takes of its mentees: parent engagement in schooling, attendance
    rate, school well-being, early-school-leaving risk, or one the programme adds. The headline
    instrument is the one equality reports show the change of."""

    programme = models.ForeignKey(
        "mentoring.Programme",
        on_delete=models.CASCADE,
        related_name="outcome_instruments",
        verbose_name=_("programme"),
    )
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    scale_min = models.DecimalField(max_digits=6, decimal_places=2, verbose_name=_("scale min"))
    scale_max = models.DecimalField(max_digits=6, decimal_places=2, verbose_name=_("scale max"))
    higher_is_better = models.BooleanField(default=True, verbose_name=_("higher is better"))
    is_headline = models.BooleanField(default=False, verbose_name=_("is headline"))
    order = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))

    class Meta:
        verbose_name = _("outcome instrument")
        verbose_name_plural = _("outcome instruments")
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

    mentee = models.ForeignKey(
        "mentoring.Mentee",
        on_delete=models.CASCADE,
        related_name="outcome_measures",
        verbose_name=_("mentee"),
    )
    instrument = models.ForeignKey(
        OutcomeInstrument, on_delete=models.PROTECT, related_name="measures", verbose_name=_("instrument")
    )
    stage = models.CharField(max_length=10, choices=OutcomeStage.choices, verbose_name=_("stage"))
    value = models.DecimalField(max_digits=6, decimal_places=2, verbose_name=_("value"))
    measured_on = models.DateField(verbose_name=_("measured on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("outcome measure")
        verbose_name_plural = _("outcome measures")
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

    log = models.ForeignKey(
        SessionLog, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("log")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("changed at"))
    changes = models.JSONField(help_text="{field: [before, after]}", verbose_name=_("changes"))

    class Meta:
        verbose_name = _("session log revision")
        verbose_name_plural = _("session log revisions")
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"Revision of {self.log_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class SessionTopic(models.Model):
    """A topic of the programme's own vocabulary. A programme without any uses ``Topic``."""

    programme = models.ForeignKey(
        "mentoring.Programme",
        on_delete=models.CASCADE,
        related_name="session_topics",
        verbose_name=_("programme"),
    )
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    order = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("session topic")
        verbose_name_plural = _("session topics")
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
        LOW = "low", _("Low: keep an eye on it")
        MEDIUM = "medium", _("Medium: talk about it this week")
        HIGH = "high", _("High: act today")
        URGENT = "urgent", _("Urgent: a child may be at risk now")

    class Kind(models.TextChoices):
        SAFEGUARDING = "safeguarding", _("Safeguarding")
        WELL_BEING = "well_being", _("Well-being")
        SCHOOL = "school", _("School")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("concern status", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        REFERRED = "referred", _("Referred")
        CLOSED = "closed", pgettext_lazy("concern status", "Closed")

    class ReferredTo(models.TextChoices):
        SOCIAL_SERVICES = "social_services", _("Social services")
        SCHOOL = "school", _("School")
        HEALTH = "health", _("Health services")
        POLICE = "police", _("Police")
        OTHER = "other", _("Other")

    programme = models.ForeignKey(
        "mentoring.Programme", on_delete=models.PROTECT, related_name="concerns", verbose_name=_("programme")
    )
    mentee = models.ForeignKey(
        "mentoring.Mentee", on_delete=models.PROTECT, related_name="concerns", verbose_name=_("mentee")
    )
    match = models.ForeignKey(
        Match,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="concerns",
        verbose_name=_("match"),
    )
    session_log = models.ForeignKey(
        SessionLog,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="concerns",
        verbose_name=_("session log"),
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="raised_concerns",
        verbose_name=_("raised by"),
    )
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.WELL_BEING, verbose_name=_("kind")
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    description = models.TextField(verbose_name=_("description"))
    status = models.CharField(
        max_length=15, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    referred_to = models.CharField(
        max_length=20, choices=ReferredTo.choices, blank=True, verbose_name=_("referred to")
    )
    referral_note = models.TextField(blank=True, verbose_name=_("referral note"))
    referred_at = models.DateTimeField(null=True, blank=True, verbose_name=_("referred at"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    closure_note = models.TextField(blank=True, verbose_name=_("closure note"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("concern")
        verbose_name_plural = _("concerns")
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
        MENTOR = "mentor", _("Mentor")
        FAMILY = "family", _("Family")

    match = models.ForeignKey(
        Match, on_delete=models.CASCADE, related_name="checkins", verbose_name=_("match")
    )
    respondent = models.CharField(max_length=10, choices=Respondent.choices, verbose_name=_("respondent"))
    due_on = models.DateField(verbose_name=_("due on"))
    token = models.CharField(max_length=64, unique=True, verbose_name=_("token"))
    language = models.CharField(max_length=3, validators=[validate_language_code], verbose_name=_("language"))
    answers = models.JSONField(
        default=dict, blank=True, help_text="{question code: score 1–5}", verbose_name=_("answers")
    )
    comment = models.TextField(blank=True, verbose_name=_("comment"))
    uncertain = models.BooleanField(default=False, verbose_name=_("uncertain"))
    private_note = models.TextField(blank=True, verbose_name=_("private note"))
    answered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("answered at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
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
        OPEN = "open", _("In progress")
        ACHIEVED = "achieved", _("Achieved")
        DROPPED = "dropped", _("Dropped")

    mentee = models.ForeignKey(
        "mentoring.Mentee", on_delete=models.CASCADE, related_name="goals", verbose_name=_("mentee")
    )
    description = models.CharField(max_length=300, verbose_name=_("description"))
    agreed_on = models.DateField(verbose_name=_("agreed on"))
    target_on = models.DateField(null=True, blank=True, verbose_name=_("target on"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], verbose_name=_("progress")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["agreed_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="goal_progress_at_most_100")
        ]

    def __str__(self) -> str:
        return self.description


class GoalProgress(models.Model):
    """One update of a goal's progress, so the timeline can show how it moved."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="updates", verbose_name=_("goal"))
    progress = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)], verbose_name=_("progress")
    )
    note = models.TextField(blank=True, verbose_name=_("note"))
    recorded_on = models.DateField(verbose_name=_("recorded on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("goal progress")
        verbose_name_plural = _("goal progress entries")
        ordering = ["recorded_on", "id"]

    def __str__(self) -> str:
        return f"{self.goal_id}: {self.progress} %"


class AttentionFlag(models.Model):
    """Something a coordinator should look at, raised by the match-health job
    (``sessions.health``) and resolved by it once no longer true. At most one open flag per
    condition and object, so a condition that lasts for weeks is flagged (and reminded) once."""

    class Kind(models.TextChoices):
        DRIFTING_MATCH = "drifting_match", _("Match drifting: no session logged")
        OVERDUE_LOGS = "overdue_logs", _("Mentor's session logs overdue")
        UNACKNOWLEDGED_CONCERN = "unacknowledged_concern", _("Concern not acknowledged")
        FAMILY_UNCERTAIN = "family_uncertain", _("Family uncertain about the match")

    programme = models.ForeignKey(
        "mentoring.Programme",
        on_delete=models.CASCADE,
        related_name="attention_flags",
        verbose_name=_("programme"),
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, verbose_name=_("kind"))
    match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("match")
    )
    mentor = models.ForeignKey(
        "mentoring.Mentor",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("mentor"),
    )
    concern = models.ForeignKey(
        Concern, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("concern")
    )
    subject = models.CharField(
        max_length=40,
        help_text='What the flag is about: "match:12", "mentor:5", "concern:3"',
        verbose_name=_("subject"),
    )
    since = models.DateField(
        help_text="Since when the condition holds (e.g. the last session's date)", verbose_name=_("since")
    )
    details = models.JSONField(
        default=dict, blank=True, help_text="Figures only, never personal values", verbose_name=_("details")
    )
    raised_at = models.DateTimeField(default=timezone.now, verbose_name=_("raised at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))

    class Meta:
        verbose_name = _("attention flag")
        verbose_name_plural = _("attention flags")
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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(max_length=40, verbose_name=_("kind"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    url = models.CharField(max_length=300, blank=True, verbose_name=_("url"))
    dedupe_key = models.CharField(max_length=120, blank=True, verbose_name=_("dedupe key"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    emailed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("emailed at"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
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
