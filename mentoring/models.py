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
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from mentoring.vocabulary import validate_country_code, validate_language_code


class User(AbstractUser):
    """A login. Staff roles are scoped to programmes through object permissions on Programme."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        COORDINATOR = "coordinator", _("Mentor coordinator")
        MANAGER = "manager", _("Programme manager")
        MENTOR = "mentor", _("Mentor")

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MENTOR, verbose_name=_("role"))
    interface_language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, default="", verbose_name=_("interface language")
    )

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN


class Organisation(models.Model):
    """The NGO, school board or municipality that runs programmes."""

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))

    def __str__(self) -> str:
        return self.name


class Programme(models.Model):
    """One mentoring scheme. Every record about people belongs to exactly one programme."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("organisation")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    slug = models.SlugField(max_length=80, unique=True, verbose_name=_("slug"))
    country = models.CharField(
        max_length=2,
        validators=[validate_country_code],
        help_text=_("ISO 3166-1 alpha-2 code"),
        verbose_name=_("country"),
    )
    local_language = models.CharField(
        max_length=3,
        validators=[validate_language_code],
        help_text=_("ISO 639 code of the school language"),
        verbose_name=_("local language"),
    )
    starts_on = models.DateField(null=True, blank=True, verbose_name=_("starts on"))
    ends_on = models.DateField(null=True, blank=True, verbose_name=_("ends on"))
    small_cell_k = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(5)],
        help_text=_("Counts below k are suppressed in every report (never below 5)."),
        verbose_name=_("small cell k"),
    )
    # Match health (``sessions.health``): one definition of each threshold, used by every page,
    # reminder and report of the programme.
    drift_days = models.PositiveSmallIntegerField(
        default=21,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text=_("A match with no session logged for this many days is drifting."),
        verbose_name=_("drift days"),
    )
    log_reminder_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(3), MaxValueValidator(180)],
        help_text=_("A mentor whose active match has no session logged for this many days is reminded."),
        verbose_name=_("log reminder days"),
    )
    concern_ack_hours = models.PositiveSmallIntegerField(
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(336)],
        help_text=_("A concern not acknowledged within this many hours needs attention."),
        verbose_name=_("concern ack hours"),
    )
    checkin_first_day = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text=_("Day of the match on which the first quality check-in is due."),
        verbose_name=_("checkin first day"),
    )
    checkin_interval_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(14), MaxValueValidator(365)],
        help_text=_("Days between later quality check-ins."),
        verbose_name=_("checkin interval days"),
    )
    # Kept by ``SessionTopic.save``/``delete``: whether the programme has its own active session
    # topics, so checking a new log's topics reads the programme row it already has.
    has_session_topics = models.BooleanField(
        default=False, editable=False, verbose_name=_("has session topics")
    )
    retention_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text=_(
            "Months after a mentee's or mentor's closure before their record is erased; "
            "empty: the TANDEM_RETENTION_MONTHS setting (24)."
        ),
        verbose_name=_("retention months"),
    )
    session_hidden_fields = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Session-log fields the programme does not use: topics, interpreter_used, follow_ups."),
        verbose_name=_("session hidden fields"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        permissions = [
            ("coordinate_programme", "Coordinate the programme's mentors, families and matches"),
            ("read_programme_reports", "Read the programme's aggregate reports"),
        ]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(condition=Q(small_cell_k__gte=5), name="programme_small_cell_k_min_5"),
        ]

    def __str__(self) -> str:
        return self.name


class CulturalBackground(models.Model):
    """A programme-managed vocabulary entry: not every background is a country (Roma, Kurdish)."""

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="cultural_backgrounds", verbose_name=_("programme")
    )
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))

    class Meta:
        verbose_name = _("cultural background")
        verbose_name_plural = _("cultural backgrounds")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="cultural_background_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Need(models.Model):
    """A programme-managed vocabulary of needs and interests (school-system orientation,
    homework support, ...): a mentee's needs, a mentor's strengths."""

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="needs", verbose_name=_("programme")
    )
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="need_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class SessionMode(models.TextChoices):
    """How mentor and family meet: the modes a person offers and a session log records."""

    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("Phone")
    VIDEO = "video", _("Video")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS = ("morning", "afternoon", "evening")
AVAILABILITY_SLOTS = tuple(f"{day}_{part}" for day in WEEKDAYS for part in DAY_PARTS)


def validate_availability(value) -> None:
    if not isinstance(value, list) or any(slot not in AVAILABILITY_SLOTS for slot in value):
        raise ValidationError(
            gettext("Give weekly slots such as “mon_evening” or “sat_morning”."), code="invalid_availability"
        )


def validate_session_modes(value) -> None:
    if not isinstance(value, list) or any(mode not in SessionMode.values for mode in value):
        raise ValidationError(
            gettext("Give session modes from: %(modes)s.") % {"modes": ", ".join(SessionMode.values)},
            code="invalid_modes",
        )


class MigrantBackground(models.TextChoices):
    FIRST_GENERATION = "first_generation", _("First generation (born abroad)")
    SECOND_GENERATION = "second_generation", _("Second generation (a parent born abroad)")
    NONE = "none", _("No migrant background")
    DECLINED = "declined", _("Declined to say")
    UNKNOWN = "unknown", _("Not recorded")


class AgeBand(models.TextChoices):
    UNDER_12 = "under_12", _("Under 12")
    AGE_12_17 = "12_17", _("12–17")
    AGE_18_29 = "18_29", _("18–29")
    AGE_30_44 = "30_44", _("30–44")
    AGE_45_64 = "45_64", _("45–64")
    AGE_65_PLUS = "65_plus", _("65 and over")


class Person(models.Model):
    """Anyone the programme holds a record about: a mentor, a parent or a pupil."""

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="people", verbose_name=_("programme")
    )
    first_name = models.CharField(max_length=100, verbose_name=_("first name"))
    last_name = models.CharField(max_length=100, verbose_name=_("last name"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))
    gender = models.CharField(
        max_length=60, blank=True, help_text=_("Self-described, optional"), verbose_name=_("gender")
    )
    age_band = models.CharField(
        max_length=10, choices=AgeBand.choices, blank=True, verbose_name=_("age band")
    )
    country_of_birth = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country_code],
        help_text=_("ISO 3166-1 alpha-2"),
        verbose_name=_("country of birth"),
    )
    migrant_background = models.CharField(
        max_length=20,
        choices=MigrantBackground.choices,
        default=MigrantBackground.UNKNOWN,
        verbose_name=_("migrant background"),
    )
    cultural_backgrounds = models.ManyToManyField(
        CulturalBackground, blank=True, related_name="people", verbose_name=_("cultural backgrounds")
    )
    municipality = models.CharField(max_length=100, blank=True, verbose_name=_("municipality"))
    postcode = models.CharField(max_length=12, blank=True, verbose_name=_("postcode"))
    latitude = models.FloatField(null=True, blank=True, verbose_name=_("latitude"))
    longitude = models.FloatField(null=True, blank=True, verbose_name=_("longitude"))
    availability = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_availability],
        help_text=_("Weekly slots, e.g. mon_evening"),
        verbose_name=_("availability"),
    )
    session_modes = models.JSONField(
        default=list, blank=True, validators=[validate_session_modes], verbose_name=_("session modes")
    )
    needs = models.ManyToManyField(
        Need,
        blank=True,
        related_name="people",
        help_text=_("A mentee's needs; a mentor's strengths"),
        verbose_name=_("needs"),
    )
    # Set by ``mentoring.privacy.person_erase``: the row is then a tombstone (id, programme,
    # erased_at) kept so that anonymised matches and the programme's aggregates stay whole.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("erased at"))
    household = models.ForeignKey(
        "Family",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text=_("The family a parent or pupil belongs to, mentored or not"),
        verbose_name=_("household"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
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
            raise ValidationError({"longitude": gettext("Give both coordinates or neither.")})


class LanguageLevel(models.TextChoices):
    NATIVE = "native", _("Native")
    FLUENT = "fluent", _("Fluent")
    BASIC = "basic", _("Basic")


class PersonLanguage(models.Model):
    """A language a person speaks (ISO 639 code), its level, and whether sessions should use it."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="languages", verbose_name=_("person")
    )
    language = models.CharField(
        max_length=3,
        validators=[validate_language_code],
        help_text=_("ISO 639 code"),
        verbose_name=_("language"),
    )
    level = models.CharField(max_length=10, choices=LanguageLevel.choices, verbose_name=_("level"))
    is_preferred = models.BooleanField(default=False, verbose_name=_("is preferred"))

    class Meta:
        verbose_name = _("person language")
        verbose_name_plural = _("person languages")
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
    CASE_MANAGEMENT = "case_management", _("Case management")
    BACKGROUND_MATCHING = "background_matching", _("Matching on language and cultural background")
    STATISTICS = "statistics", _("Anonymous participation statistics")


class Consent(models.Model):
    """Explicit consent to one purpose. Special-category fields are used only while it is active."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="consents", verbose_name=_("person")
    )
    purpose = models.CharField(max_length=30, choices=ConsentPurpose.choices, verbose_name=_("purpose"))
    given_by = models.CharField(
        max_length=200, help_text=_("Who consented, e.g. the pupil's mother"), verbose_name=_("given by")
    )
    given_at = models.DateTimeField(default=timezone.now, verbose_name=_("given at"))
    language = models.CharField(
        max_length=3,
        validators=[validate_language_code],
        help_text=_("ISO 639 code of the consent form used"),
        verbose_name=_("language"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True, verbose_name=_("withdrawn at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        if self.is_active:
            return gettext("%(purpose)s (active)") % {"purpose": self.get_purpose_display()}
        return gettext("%(purpose)s (withdrawn)") % {"purpose": self.get_purpose_display()}

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class Mentor(models.Model):
    """A volunteer. Only approved mentors with a valid record check, completed training and
    free capacity can be matched (see ``mentoring.selectors.mentor_matchable_queryset``)."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        SCREENING = "screening", _("Screening")
        TRAINING = "training", _("Training")
        APPROVED = "approved", _("Approved")
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    MATCHABLE_STATUSES = (Status.APPROVED, Status.ACTIVE)

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="mentors", verbose_name=_("programme")
    )
    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="mentor", verbose_name=_("person")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mentor",
        verbose_name=_("user"),
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.APPLIED, verbose_name=_("status")
    )
    capacity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(3)], verbose_name=_("capacity")
    )
    applied_on = models.DateField(default=datetime.date.today, verbose_name=_("applied on"))
    interviewed_on = models.DateField(null=True, blank=True, verbose_name=_("interviewed on"))
    interviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("interviewed by"),
    )
    record_check_on = models.DateField(null=True, blank=True, verbose_name=_("record check on"))
    record_check_expires_on = models.DateField(
        null=True, blank=True, verbose_name=_("record check expires on")
    )
    record_check_reference = models.CharField(
        max_length=60, blank=True, verbose_name=_("record check reference")
    )
    training_completed_on = models.DateField(null=True, blank=True, verbose_name=_("training completed on"))
    approved_on = models.DateField(null=True, blank=True, verbose_name=_("approved on"))
    left_on = models.DateField(null=True, blank=True, verbose_name=_("left on"))
    leaving_reason = models.CharField(max_length=200, blank=True, verbose_name=_("leaving reason"))

    class Meta:
        verbose_name = _("mentor")
        verbose_name_plural = _("mentors")
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
            raise ValidationError({"person": gettext("The person belongs to another programme.")})

    def record_check_valid_on(self, day: datetime.date) -> bool:
        return self.record_check_expires_on is not None and self.record_check_expires_on >= day


class MentorReference(models.Model):
    """One of the two references a mentor needs before training."""

    mentor = models.ForeignKey(
        Mentor, on_delete=models.CASCADE, related_name="references", verbose_name=_("mentor")
    )
    referee_name = models.CharField(max_length=200, verbose_name=_("referee name"))
    relationship = models.CharField(
        max_length=100,
        help_text=_("e.g. employer, teacher, community leader"),
        verbose_name=_("relationship"),
    )
    received_on = models.DateField(default=datetime.date.today, verbose_name=_("received on"))
    satisfactory = models.BooleanField(verbose_name=_("satisfactory"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("mentor reference")
        verbose_name_plural = _("mentor references")
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return gettext("Reference from %(name)s") % {"name": self.referee_name}


class TrainingRecord(models.Model):
    """A completed course with its end-of-course test; passed at ``PASS_MARK`` % or more."""

    PASS_MARK = 80

    mentor = models.ForeignKey(
        Mentor, on_delete=models.CASCADE, related_name="training_records", verbose_name=_("mentor")
    )
    course = models.CharField(max_length=200, verbose_name=_("course"))
    completed_on = models.DateField(verbose_name=_("completed on"))
    test_score = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)], help_text=_("Percent"), verbose_name=_("test score")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
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
        Programme,
        on_delete=models.CASCADE,
        related_name="self_assessment_questions",
        verbose_name=_("programme"),
    )
    text = models.CharField(max_length=300, verbose_name=_("text"))
    order = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("self assessment question")
        verbose_name_plural = _("self assessment questions")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text


class SelfAssessment(models.Model):
    """A mentor's answers (1 = not at all confident … 5 = fully confident), at the start and
    at the end of service."""

    class Stage(models.TextChoices):
        START = "start", _("Start of service")
        END = "end", _("End of service")

    mentor = models.ForeignKey(
        Mentor, on_delete=models.CASCADE, related_name="self_assessments", verbose_name=_("mentor")
    )
    stage = models.CharField(max_length=5, choices=Stage.choices, verbose_name=_("stage"))
    completed_on = models.DateField(default=datetime.date.today, verbose_name=_("completed on"))
    answers = models.JSONField(help_text=_("{question id: score 1–5}"), verbose_name=_("answers"))

    class Meta:
        verbose_name = _("self assessment")
        verbose_name_plural = _("self assessments")
        ordering = ["mentor", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["mentor", "stage"], name="self_assessment_once_per_stage"),
        ]

    def __str__(self) -> str:
        return gettext("%(stage)s self-assessment") % {"stage": self.get_stage_display()}


class MentorStatusChange(models.Model):
    """The history of a mentor's lifecycle: who moved them, when, from what to what."""

    mentor = models.ForeignKey(
        Mentor, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("mentor")
    )
    from_status = models.CharField(
        max_length=12, choices=Mentor.Status.choices, verbose_name=_("from status")
    )
    to_status = models.CharField(max_length=12, choices=Mentor.Status.choices, verbose_name=_("to status"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("changed at"))
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class School(models.Model):
    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="schools", verbose_name=_("programme")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    municipality = models.CharField(max_length=100, blank=True, verbose_name=_("municipality"))

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="school_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ReferralSource(models.TextChoices):
    SCHOOL = "school", _("School")
    SOCIAL_SERVICE = "social_service", _("Social service")
    COMMUNITY = "community", _("Community organisation")
    SELF = "self", _("Self-referral")


class Family(models.Model):
    """A household referred to the programme; its parents and pupils may each be mentees."""

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="families", verbose_name=_("programme")
    )
    reference = models.CharField(
        max_length=40, help_text=_("The programme's case reference"), verbose_name=_("reference")
    )
    referral_source = models.CharField(
        max_length=20, choices=ReferralSource.choices, verbose_name=_("referral source")
    )
    referrer_name = models.CharField(
        max_length=200, blank=True, help_text=_("e.g. the class teacher"), verbose_name=_("referrer name")
    )
    referrer_organisation = models.CharField(
        max_length=200, blank=True, verbose_name=_("referrer organisation")
    )
    referred_on = models.DateField(default=datetime.date.today, verbose_name=_("referred on"))
    municipality = models.CharField(max_length=100, blank=True, verbose_name=_("municipality"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["reference"]
        verbose_name = _("family")
        verbose_name_plural = _("families")
        constraints = [
            models.UniqueConstraint(fields=["programme", "reference"], name="family_unique_reference"),
        ]

    def __str__(self) -> str:
        return self.reference


class Mentee(models.Model):
    """A parent or pupil who is mentored: referred → intake → waiting → matched → closed."""

    class Kind(models.TextChoices):
        PARENT = "parent", _("Parent")
        PUPIL = "pupil", _("Pupil")

    class Status(models.TextChoices):
        REFERRED = "referred", _("Referred")
        INTAKE = "intake", _("Intake")
        WAITING = "waiting", _("Waiting")
        MATCHED = "matched", _("Matched")
        CLOSED = "closed", _("Closed")

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="mentees", verbose_name=_("programme")
    )
    family = models.ForeignKey(
        Family, on_delete=models.PROTECT, related_name="mentees", verbose_name=_("family")
    )
    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="mentee", verbose_name=_("person")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.REFERRED, verbose_name=_("status")
    )
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pupils",
        verbose_name=_("school"),
    )
    grade = models.CharField(max_length=20, blank=True, verbose_name=_("grade"))
    referred_on = models.DateField(default=datetime.date.today, verbose_name=_("referred on"))
    intake_completed_on = models.DateField(null=True, blank=True, verbose_name=_("intake completed on"))
    needs_assessment = models.TextField(
        blank=True,
        help_text=_("What the family hopes the mentoring brings"),
        verbose_name=_("needs assessment"),
    )
    waiting_since = models.DateField(null=True, blank=True, verbose_name=_("waiting since"))
    closed_on = models.DateField(null=True, blank=True, verbose_name=_("closed on"))
    # Matching preferences and arrangements (``matching.engine``).
    interpreter_arranged = models.BooleanField(
        default=False,
        help_text=_("An interpreter is arranged, so a common language is not required"),
        verbose_name=_("interpreter arranged"),
    )
    preferred_mentor_gender = models.CharField(
        max_length=60,
        blank=True,
        help_text=_("The family's stated wish for the mentor's gender, if any"),
        verbose_name=_("preferred mentor gender"),
    )

    class Meta:
        verbose_name = _("mentee")
        verbose_name_plural = _("mentees")
        ordering = ["waiting_since", "id"]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return str(self.person)

    def clean(self) -> None:
        errors = {}
        if self.person_id and self.programme_id and self.person.programme_id != self.programme_id:
            errors["person"] = gettext("The person belongs to another programme.")
        if self.family_id and self.programme_id and self.family.programme_id != self.programme_id:
            errors["family"] = gettext("The family belongs to another programme.")
        if errors:
            raise ValidationError(errors)


class AuditEvent(models.Model):
    """One row per read of a case record, change, or refused access. Holds no personal values:
    the object is named by type and id only. Rows are written, never updated or deleted."""

    class Action(models.TextChoices):
        READ = "read", _("Read")
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DENIED = "denied", _("Denied")
        EXPORT = "export", _("Export")
        ERASE = "erase", _("Erase")

    at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=pgettext_lazy("when an audit event happened", "at")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        verbose_name=_("user"),
    )
    role = models.CharField(max_length=16, blank=True, verbose_name=_("role"))
    action = models.CharField(max_length=10, choices=Action.choices, verbose_name=_("action"))
    object_type = models.CharField(max_length=60, verbose_name=_("object type"))
    object_id = models.CharField(max_length=40, blank=True, verbose_name=_("object id"))
    programme_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("programme id"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip address"))
    path = models.CharField(max_length=300, blank=True, verbose_name=_("path"))

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
