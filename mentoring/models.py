"""The people of a mentoring programme and what is recorded about them.

Every person (mentor, parent, pupil) is a ``Person`` row that holds the attributes used for
matching and equality reports: languages, cultural backgrounds, country of birth and migrant
background. ``Mentor`` and ``Mentee`` add each role's lifecycle on top, so one person can be
both (a parent once mentored who later volunteers) without copying the special-category data.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentoring.vocabulary import validate_country_code, validate_language_code


class User(AbstractUser):
    """A login. Staff roles are scoped to programmes through object permissions on Programme."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Administrator"
        COORDINATOR = "coordinator", "Mentor coordinator"
        MANAGER = "manager", "Programme manager"
        MENTOR = "mentor", "Mentor"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MENTOR)
    interface_language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True, default="")

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN


class Organisation(models.Model):
    """The NGO, school board or municipality that runs programmes."""

    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name


class Programme(models.Model):
    """One mentoring scheme. Every record about people belongs to exactly one programme."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="programmes")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    country = models.CharField(
        max_length=2, validators=[validate_country_code], help_text="ISO 3166-1 alpha-2 code"
    )
    local_language = models.CharField(
        max_length=3, validators=[validate_language_code], help_text="ISO 639 code of the school language"
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    small_cell_k = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(5)],
        help_text="Counts below k are suppressed in every report (never below 5).",
    )
    # Match health (``sessions.health``): one definition of each threshold, used by every page,
    # reminder and report of the programme.
    drift_days = models.PositiveSmallIntegerField(
        default=21,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text="A match with no session logged for this many days is drifting.",
    )
    log_reminder_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(3), MaxValueValidator(180)],
        help_text="A mentor whose active match has no session logged for this many days is reminded.",
    )
    concern_ack_hours = models.PositiveSmallIntegerField(
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(336)],
        help_text="A concern not acknowledged within this many hours needs attention.",
    )
    checkin_first_day = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text="Day of the match on which the first quality check-in is due.",
    )
    checkin_interval_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(14), MaxValueValidator(365)],
        help_text="Days between later quality check-ins.",
    )
    # Kept by ``SessionTopic.save``/``delete``: whether the programme has its own active session
    # topics, so checking a new log's topics reads the programme row it already has.
    has_session_topics = models.BooleanField(default=False, editable=False)
    retention_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="Months after a mentee's or mentor's closure before their record is erased; "
        "empty: the TANDEM_RETENTION_MONTHS setting (24).",
    )
    session_hidden_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Session-log fields the programme does not use: topics, interpreter_used, follow_ups.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("coordinate_programme", "Coordinate the programme's mentors, families and matches"),
            ("read_programme_reports", "Read the programme's aggregate reports"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(small_cell_k__gte=5), name="programme_small_cell_k_min_5"),
        ]

    def __str__(self) -> str:
        return self.name


class CulturalBackground(models.Model):
    """A programme-managed vocabulary entry: not every background is a country (Roma, Kurdish)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="cultural_backgrounds")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="cultural_background_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Need(models.Model):
    """A programme-managed vocabulary of needs and interests (school-system orientation,
    homework support, ...): a mentee's needs, a mentor's strengths."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="needs")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="need_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class SessionMode(models.TextChoices):
    """How mentor and family meet: the modes a person offers and a session log records."""

    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    VIDEO = "video", "Video"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS = ("morning", "afternoon", "evening")
AVAILABILITY_SLOTS = tuple(f"{day}_{part}" for day in WEEKDAYS for part in DAY_PARTS)


def validate_availability(value) -> None:
    if not isinstance(value, list) or any(slot not in AVAILABILITY_SLOTS for slot in value):
        raise ValidationError(
            "Give weekly slots such as “mon_evening” or “sat_morning”.", code="invalid_availability"
        )


def validate_session_modes(value) -> None:
    if not isinstance(value, list) or any(mode not in SessionMode.values for mode in value):
        raise ValidationError(
            f"Give session modes from: {', '.join(SessionMode.values)}.", code="invalid_modes"
        )


class MigrantBackground(models.TextChoices):
    FIRST_GENERATION = "first_generation", "First generation (born abroad)"
    SECOND_GENERATION = "second_generation", "Second generation (a parent born abroad)"
    NONE = "none", "No migrant background"
    DECLINED = "declined", "Declined to say"
    UNKNOWN = "unknown", "Not recorded"


class AgeBand(models.TextChoices):
    UNDER_12 = "under_12", "Under 12"
    AGE_12_17 = "12_17", "12–17"
    AGE_18_29 = "18_29", "18–29"
    AGE_30_44 = "30_44", "30–44"
    AGE_45_64 = "45_64", "45–64"
    AGE_65_PLUS = "65_plus", "65 and over"


class Person(models.Model):
    """Anyone the programme holds a record about: a mentor, a parent or a pupil."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="people")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    gender = models.CharField(max_length=60, blank=True, help_text="Self-described, optional")
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, blank=True)
    country_of_birth = models.CharField(
        max_length=2, blank=True, validators=[validate_country_code], help_text="ISO 3166-1 alpha-2"
    )
    migrant_background = models.CharField(
        max_length=20, choices=MigrantBackground.choices, default=MigrantBackground.UNKNOWN
    )
    cultural_backgrounds = models.ManyToManyField(CulturalBackground, blank=True, related_name="people")
    municipality = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=12, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    availability = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_availability],
        help_text="Weekly slots, e.g. mon_evening",
    )
    session_modes = models.JSONField(default=list, blank=True, validators=[validate_session_modes])
    needs = models.ManyToManyField(
        Need, blank=True, related_name="people", help_text="A mentee's needs; a mentor's strengths"
    )
    # Set by ``mentoring.privacy.person_erase``: the row is then a tombstone (id, programme,
    # erased_at) kept so that anonymised matches and the programme's aggregates stay whole.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    household = models.ForeignKey(
        "Family",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The family a parent or pupil belongs to, mentored or not",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name_plural = "people"
        indexes = [
            models.Index(fields=["programme", "last_name", "first_name"]),
            models.Index(fields=["programme", "email"]),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError({"longitude": "Give both coordinates or neither."})


class LanguageLevel(models.TextChoices):
    NATIVE = "native", "Native"
    FLUENT = "fluent", "Fluent"
    BASIC = "basic", "Basic"


class PersonLanguage(models.Model):
    """A language a person speaks (ISO 639 code), its level, and whether sessions should use it."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="languages")
    language = models.CharField(max_length=3, validators=[validate_language_code], help_text="ISO 639 code")
    level = models.CharField(max_length=10, choices=LanguageLevel.choices)
    is_preferred = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_preferred", "language"]
        constraints = [
            models.UniqueConstraint(fields=["person", "language"], name="person_language_unique"),
            models.UniqueConstraint(
                fields=["person"], condition=Q(is_preferred=True), name="person_one_preferred_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language} ({self.level})"


class ConsentPurpose(models.TextChoices):
    CASE_MANAGEMENT = "case_management", "Case management"
    BACKGROUND_MATCHING = "background_matching", "Matching on language and cultural background"
    STATISTICS = "statistics", "Anonymous participation statistics"


class Consent(models.Model):
    """Explicit consent to one purpose. Special-category fields are used only while it is active."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=30, choices=ConsentPurpose.choices)
    given_by = models.CharField(max_length=200, help_text="Who consented, e.g. the pupil's mother")
    given_at = models.DateTimeField(default=timezone.now)
    language = models.CharField(
        max_length=3, validators=[validate_language_code], help_text="ISO 639 code of the consent form used"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({'active' if self.is_active else 'withdrawn'})"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class Mentor(models.Model):
    """A volunteer. Only approved mentors with a valid record check, completed training and
    free capacity can be matched (see ``mentoring.selectors.mentor_matchable_queryset``)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        SCREENING = "screening", "Screening"
        TRAINING = "training", "Training"
        APPROVED = "approved", "Approved"
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        WITHDRAWN = "withdrawn", "Withdrawn"

    MATCHABLE_STATUSES = (Status.APPROVED, Status.ACTIVE)

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="mentors")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="mentor")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mentor"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPLIED)
    capacity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    applied_on = models.DateField(default=datetime.date.today)
    interviewed_on = models.DateField(null=True, blank=True)
    interviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    record_check_on = models.DateField(null=True, blank=True)
    record_check_expires_on = models.DateField(null=True, blank=True)
    record_check_reference = models.CharField(max_length=60, blank=True)
    training_completed_on = models.DateField(null=True, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)
    leaving_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["person__last_name", "person__first_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1) & Q(capacity__lte=3), name="mentor_capacity_1_to_3"
            ),
        ]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return str(self.person)

    def clean(self) -> None:
        if self.person_id and self.programme_id and self.person.programme_id != self.programme_id:
            raise ValidationError({"person": "The person belongs to another programme."})

    def record_check_valid_on(self, day: datetime.date) -> bool:
        return self.record_check_expires_on is not None and self.record_check_expires_on >= day


class MentorReference(models.Model):
    """One of the two references a mentor needs before training."""

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="references")
    referee_name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100, help_text="e.g. employer, teacher, community leader")
    received_on = models.DateField(default=datetime.date.today)
    satisfactory = models.BooleanField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"Reference from {self.referee_name}"


class TrainingRecord(models.Model):
    """A completed course with its end-of-course test; passed at ``PASS_MARK`` % or more."""

    PASS_MARK = 80

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="training_records")
    course = models.CharField(max_length=200)
    completed_on = models.DateField()
    test_score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)], help_text="Percent")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["completed_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(test_score__lte=100), name="training_score_0_to_100"),
        ]

    def __str__(self) -> str:
        return f"{self.course} ({self.test_score} %)"

    @property
    def passed(self) -> bool:
        return self.test_score >= self.PASS_MARK


class SelfAssessmentQuestion(models.Model):
    """A statement of the mentor competence self-assessment, managed per programme."""

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="self_assessment_questions"
    )
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text


class SelfAssessment(models.Model):
    """A mentor's answers (1 = not at all confident … 5 = fully confident), at the start and
    at the end of service."""

    class Stage(models.TextChoices):
        START = "start", "Start of service"
        END = "end", "End of service"

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="self_assessments")
    stage = models.CharField(max_length=5, choices=Stage.choices)
    completed_on = models.DateField(default=datetime.date.today)
    answers = models.JSONField(help_text="{question id: score 1–5}")

    class Meta:
        ordering = ["mentor", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["mentor", "stage"], name="self_assessment_once_per_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} self-assessment"


class MentorStatusChange(models.Model):
    """The history of a mentor's lifecycle: who moved them, when, from what to what."""

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Mentor.Status.choices)
    to_status = models.CharField(max_length=12, choices=Mentor.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class School(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="schools")
    name = models.CharField(max_length=200)
    municipality = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="school_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ReferralSource(models.TextChoices):
    SCHOOL = "school", "School"
    SOCIAL_SERVICE = "social_service", "Social service"
    COMMUNITY = "community", "Community organisation"
    SELF = "self", "Self-referral"


class Family(models.Model):
    """A household referred to the programme; its parents and pupils may each be mentees."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="families")
    reference = models.CharField(max_length=40, help_text="The programme's case reference")
    referral_source = models.CharField(max_length=20, choices=ReferralSource.choices)
    referrer_name = models.CharField(max_length=200, blank=True, help_text="e.g. the class teacher")
    referrer_organisation = models.CharField(max_length=200, blank=True)
    referred_on = models.DateField(default=datetime.date.today)
    municipality = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reference"]
        verbose_name_plural = "families"
        constraints = [
            models.UniqueConstraint(fields=["programme", "reference"], name="family_unique_reference"),
        ]

    def __str__(self) -> str:
        return self.reference


class Mentee(models.Model):
    """A parent or pupil who is mentored: referred → intake → waiting → matched → closed."""

    class Kind(models.TextChoices):
        PARENT = "parent", "Parent"
        PUPIL = "pupil", "Pupil"

    class Status(models.TextChoices):
        REFERRED = "referred", "Referred"
        INTAKE = "intake", "Intake"
        WAITING = "waiting", "Waiting"
        MATCHED = "matched", "Matched"
        CLOSED = "closed", "Closed"

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="mentees")
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="mentees")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="mentee")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REFERRED)
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="pupils"
    )
    grade = models.CharField(max_length=20, blank=True)
    referred_on = models.DateField(default=datetime.date.today)
    intake_completed_on = models.DateField(null=True, blank=True)
    needs_assessment = models.TextField(blank=True, help_text="What the family hopes the mentoring brings")
    waiting_since = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    # Matching preferences and arrangements (``matching.engine``).
    interpreter_arranged = models.BooleanField(
        default=False, help_text="An interpreter is arranged, so a common language is not required"
    )
    preferred_mentor_gender = models.CharField(
        max_length=60, blank=True, help_text="The family's stated wish for the mentor's gender, if any"
    )

    class Meta:
        ordering = ["waiting_since", "id"]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return str(self.person)

    def clean(self) -> None:
        errors = {}
        if self.person_id and self.programme_id and self.person.programme_id != self.programme_id:
            errors["person"] = "The person belongs to another programme."
        if self.family_id and self.programme_id and self.family.programme_id != self.programme_id:
            errors["family"] = "The family belongs to another programme."
        if errors:
            raise ValidationError(errors)


class AuditEvent(models.Model):
    """One row per read of a case record, change, or refused access. Holds no personal values:
    the object is named by type and id only. Rows are written, never updated or deleted."""

    class Action(models.TextChoices):
        READ = "read", "Read"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DENIED = "denied", "Denied"
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True)
    programme_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.role} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class TaskOutbox(models.Model):
    """A Celery task to send, written in the same transaction as the rows it is about, so work
    is never lost to the broker: ``mentoring.outbox.enqueue_after_commit`` sends it once the
    transaction commits and marks it sent; a row the broker refused stays unsent, and the
    ``outbox_sweep`` beat task sends it again, as it does a sent task no worker finished within
    ``TANDEM_OUTBOX_RESEND_AFTER`` (its message lost with the broker's queue: a Redis restarted
    without persistence, a FLUSHALL). ``args`` holds ids only (checked on the way in)."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker finished the task (succeeded or failed for good)"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The sweeper reads the unsent rows oldest first; sent ones are the great majority.
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="taskoutbox_unsent_idx"
            ),
            # ... and the sent ones no worker finished (lost with the broker's queue).
            models.Index(
                fields=["sent_at"],
                condition=Q(sent_at__isnull=False, done_at__isnull=True),
                name="taskoutbox_unfinished_idx",
            ),
        ]

    def __str__(self) -> str:
        state = "done" if self.done_at else "sent" if self.sent_at else f"unsent ({self.attempts} attempts)"
        return f"{self.task_name}{tuple(self.args)} {state}"
