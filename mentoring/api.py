"""REST endpoints of the programme's records (``/api/v1/``): programmes, mentors and their
lifecycle, families and their referral, mentees and their intake, consent, and the
programme-managed vocabularies.

Thin: reads ask a selector in ``mentoring.selectors`` for what the user may see; each change is
one service of ``mentoring.services`` (``POST mentors/{id}/approve/`` is ``mentor_approve``),
fetched first by a ``*_get_for_change`` selector. Who may do what follows ``domain.md``:

- admins: everything; coordinators: create, read and change the records of the programmes
  they coordinate;
- managers read their programmes and its vocabularies, and no one's record: the lists of
  people are empty and a record is "not found";
- a mentor reads their own profile (and consents), and of their own mentees (active or paused
  matches) the contact, languages and needs — never their backgrounds or migrant background;
- a change by a role that may not make it answers 403 when the user knows the record (it is
  theirs to read, or of a programme they are staff of) and 404 otherwise; another programme's
  record is always "not found". Creating refers to the programme (or person) in the body: one
  the user may not change answers 400 on that field with the code ``not_found``.

Languages, cultural backgrounds, country of birth and migrant background are shown only while
the person's consent to matching on them is active.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.api import CoordinatesAProgramme, IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from mentoring.models import (
    AVAILABILITY_SLOTS,
    AgeBand,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    MigrantBackground,
    Need,
    Person,
    PersonLanguage,
    Programme,
    ReferralSource,
    SelfAssessment,
    SelfAssessmentQuestion,
    SessionMode,
    TrainingRecord,
    User,
)
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import (
    RECORD_CHECK_STAGES,
    _name_terms,
    consent_get_for_change,
    consent_list_visible_to,
    cultural_background_list_visible_to,
    family_get_for_user,
    family_list_visible_to,
    mentee_get_for_change,
    mentee_get_for_user,
    mentee_records_visible_to,
    mentee_with_profile,
    mentor_get_for_change,
    mentor_get_for_user,
    mentor_list_visible_to,
    mentor_unmatchable_reasons,
    mentor_with_record,
    need_list_visible_to,
    person_list_coordinated_by,
    programme_get_for_user,
    programme_list_visible_to,
    self_assessment_question_list_visible_to,
)
from mentoring.services import (
    RECORD_CHECK_WARNING,
    LanguageSpec,
    MemberSpec,
    PersonSpec,
    consent_record,
    consent_withdraw,
    family_refer,
    mentee_close,
    mentee_intake_complete,
    mentee_intake_start,
    mentor_apply,
    mentor_approve,
    mentor_deactivate,
    mentor_interview_record,
    mentor_missing_for,
    mentor_reactivate,
    mentor_record_check_record,
    mentor_reference_record,
    mentor_screening_start,
    mentor_self_assessment_record,
    mentor_training_record,
    mentor_training_start,
    mentor_withdraw,
)
from mentoring.vocabulary import language_name


def _read_by_a_mentor(context: dict) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.role == User.Role.MENTOR and not user.is_admin)


# --- Serializers: programmes and vocabularies ------------------------------------------------


class ProgrammeSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name", read_only=True)

    class Meta:
        model = Programme
        fields = [
            "id",
            "name",
            "slug",
            "organisation",
            "country",
            "local_language",
            "starts_on",
            "ends_on",
            "small_cell_k",
        ]
        read_only_fields = fields


class VocabularyLabelsField(serializers.Field):
    """Every label the programme gave the entry, by interface language ({"en": ..., "nl": ...});
    ``name`` is the one in the request's language (Accept-Language)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> dict[str, str]:
        return {
            code: label
            for code, _name in settings.LANGUAGES
            if (label := getattr(value, f"name_{code.replace('-', '_')}", None))
        }


extend_schema_field(
    serializers.DictField(child=serializers.CharField(), help_text="Labels by interface language")
)(VocabularyLabelsField)


class CulturalBackgroundSerializer(serializers.ModelSerializer):
    labels = VocabularyLabelsField()

    class Meta:
        model = CulturalBackground
        fields = ["id", "programme", "code", "name", "labels"]
        read_only_fields = fields


class NeedSerializer(serializers.ModelSerializer):
    labels = VocabularyLabelsField()

    class Meta:
        model = Need
        fields = ["id", "programme", "code", "name", "labels"]
        read_only_fields = fields


class SelfAssessmentQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = SelfAssessmentQuestion
        fields = ["id", "programme", "text", "order", "is_active"]
        read_only_fields = fields


# --- Serializers: what is shown about a person -----------------------------------------------


class PersonLanguageSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="language", help_text="ISO 639 code")
    name = serializers.SerializerMethodField(help_text="Name of the language in the language of the request")

    class Meta:
        model = PersonLanguage
        fields = ["code", "name", "level", "is_preferred"]
        read_only_fields = fields

    def get_name(self, obj: PersonLanguage) -> str:
        return language_name(obj.language)


class BackgroundConsentSerializerMixin(serializers.Serializer):
    """Languages, cultural backgrounds, country of birth and migrant background are special-
    category data: shown only while the person has active consent to matching on them (the
    selectors' ``background_consent`` annotation), otherwise ``null``."""

    CONSENT_GATED_FIELDS = ("languages", "cultural_backgrounds", "country_of_birth", "migrant_background")

    languages = PersonLanguageSerializer(
        source="person.languages",
        many=True,
        read_only=True,
        allow_null=True,
        help_text="Null without consent.",
    )
    cultural_backgrounds = CulturalBackgroundSerializer(
        source="person.cultural_backgrounds",
        many=True,
        read_only=True,
        allow_null=True,
        help_text="Null without consent.",
    )
    country_of_birth = serializers.CharField(
        source="person.country_of_birth", read_only=True, allow_null=True, help_text="ISO 3166-1 alpha-2"
    )
    migrant_background = serializers.ChoiceField(
        source="person.migrant_background",
        choices=MigrantBackground.choices,
        read_only=True,
        allow_null=True,
        help_text="Null without consent.",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not getattr(instance, "background_consent", False):
            for name in self.CONSENT_GATED_FIELDS:
                data[name] = None
        return data


class ContactSerializerMixin(serializers.Serializer):
    """A person's contact details and needs (a mentee's needs, a mentor's strengths)."""

    first_name = serializers.CharField(source="person.first_name", read_only=True)
    last_name = serializers.CharField(source="person.last_name", read_only=True)
    email = serializers.CharField(source="person.email", read_only=True)
    phone = serializers.CharField(source="person.phone", read_only=True)
    needs = NeedSerializer(source="person.needs", many=True, read_only=True)


class MatchingProfileSerializerMixin(serializers.Serializer):
    """What matching reads about a person besides languages and backgrounds."""

    gender = serializers.CharField(source="person.gender", read_only=True, help_text="Self-described")
    age_band = serializers.ChoiceField(
        source="person.age_band", choices=AgeBand.choices, allow_blank=True, read_only=True
    )
    municipality = serializers.CharField(source="person.municipality", read_only=True)
    postcode = serializers.CharField(source="person.postcode", read_only=True)
    latitude = serializers.FloatField(source="person.latitude", read_only=True, allow_null=True)
    longitude = serializers.FloatField(source="person.longitude", read_only=True, allow_null=True)
    availability = serializers.ListField(
        source="person.availability", child=serializers.CharField(), read_only=True, help_text="Weekly slots"
    )
    session_modes = serializers.ListField(
        source="person.session_modes",
        child=serializers.ChoiceField(choices=SessionMode.choices),
        read_only=True,
    )


# --- Serializers: mentees and families -------------------------------------------------------


class MenteeSerializer(BackgroundConsentSerializerMixin, ContactSerializerMixin, serializers.ModelSerializer):
    """A mentee. Read by their mentor, the fields in ``HIDDEN_FROM_MENTORS`` are null."""

    HIDDEN_FROM_MENTORS = (
        "cultural_backgrounds",
        "country_of_birth",
        "migrant_background",
        "needs_assessment",
        "school",
        "grade",
    )

    family_reference = serializers.CharField(source="family.reference", read_only=True)
    school = serializers.CharField(
        source="school.name", read_only=True, allow_null=True, help_text="Null for mentors."
    )
    grade = serializers.CharField(read_only=True, allow_null=True, help_text="Null for mentors.")
    needs_assessment = serializers.CharField(read_only=True, allow_null=True, help_text="Null for mentors.")
    days_waiting = serializers.SerializerMethodField(
        help_text="Days on the waiting list; null unless waiting."
    )

    class Meta:
        model = Mentee
        fields = [
            "id",
            "person",
            "programme",
            "family",
            "family_reference",
            "kind",
            "status",
            "first_name",
            "last_name",
            "email",
            "phone",
            "school",
            "grade",
            "referred_on",
            "intake_completed_on",
            "waiting_since",
            "days_waiting",
            "closed_on",
            "needs_assessment",
            "needs",
            "languages",
            "cultural_backgrounds",
            "country_of_birth",
            "migrant_background",
        ]
        read_only_fields = fields

    def get_days_waiting(self, obj: Mentee) -> int | None:
        if obj.status != Mentee.Status.WAITING or obj.waiting_since is None:
            return None
        return (timezone.localdate() - obj.waiting_since).days

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if _read_by_a_mentor(self.context):
            for name in self.HIDDEN_FROM_MENTORS:
                data[name] = None
        return data


class FamilyMemberSerializer(serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name", read_only=True)
    last_name = serializers.CharField(source="person.last_name", read_only=True)

    class Meta:
        model = Mentee
        fields = ["id", "person", "kind", "status", "first_name", "last_name"]
        read_only_fields = fields


class FamilySerializer(serializers.ModelSerializer):
    members = FamilyMemberSerializer(
        source="mentees", many=True, read_only=True, help_text="The family's mentees"
    )

    class Meta:
        model = Family
        fields = [
            "id",
            "programme",
            "reference",
            "referral_source",
            "referrer_name",
            "referrer_organisation",
            "referred_on",
            "municipality",
            "created_at",
            "members",
        ]
        read_only_fields = fields


class FamilyDetailSerializer(FamilySerializer):
    members = MenteeSerializer(source="mentees", many=True, read_only=True, help_text="The family's mentees")

    class Meta(FamilySerializer.Meta):
        pass


# --- Serializers: mentors and their records --------------------------------------------------


class MentorSerializer(BackgroundConsentSerializerMixin, serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name", read_only=True)
    last_name = serializers.CharField(source="person.last_name", read_only=True)
    open_matches = serializers.IntegerField(read_only=True, help_text="Proposed, active or paused matches")
    free_places = serializers.SerializerMethodField()
    unmatchable_reasons = serializers.SerializerMethodField(
        help_text=(
            "Why the mentor cannot take a new mentee now (empty if they can). "
            "Given on the mentor's own endpoint only; null in lists."
        )
    )

    class Meta:
        model = Mentor
        fields = [
            "id",
            "person",
            "programme",
            "first_name",
            "last_name",
            "status",
            "capacity",
            "open_matches",
            "free_places",
            "applied_on",
            "record_check_on",
            "record_check_expires_on",
            "training_completed_on",
            "approved_on",
            "unmatchable_reasons",
            "languages",
            "cultural_backgrounds",
            "country_of_birth",
            "migrant_background",
        ]
        read_only_fields = fields

    def get_free_places(self, obj: Mentor) -> int:
        return max(obj.capacity - obj.open_matches, 0)

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_unmatchable_reasons(self, obj: Mentor) -> list[str] | None:
        # One more query per mentor, so only on the detail endpoint.
        if not self.context.get("detail"):
            return None
        return mentor_unmatchable_reasons(mentor=obj)


class MentorReferenceSerializer(serializers.ModelSerializer):
    """A reference; the request adds one to a mentor in screening."""

    class Meta:
        model = MentorReference
        fields = ["id", "referee_name", "relationship", "received_on", "satisfactory", "recorded_by"]
        read_only_fields = ["id", "recorded_by"]
        extra_kwargs = {"received_on": {"required": True}}


class TrainingRecordSerializer(serializers.ModelSerializer):
    """A completed course and its end-of-course test; the request adds one to a mentor in
    training, and a pass completes the training."""

    passed = serializers.BooleanField(read_only=True, help_text=f"{TrainingRecord.PASS_MARK} % or more")

    class Meta:
        model = TrainingRecord
        fields = ["id", "course", "completed_on", "test_score", "passed", "recorded_by"]
        read_only_fields = ["id", "passed", "recorded_by"]


class SelfAssessmentSerializer(serializers.ModelSerializer):
    """The competence self-assessment: an answer 1–5 to every active question of the programme."""

    answers = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="{question id: score 1 (not at all confident) … 5 (fully confident)}",
    )

    class Meta:
        model = SelfAssessment
        fields = ["id", "stage", "completed_on", "answers"]
        read_only_fields = ["id"]
        extra_kwargs = {"completed_on": {"required": False}}


class MentorStatusChangeSerializer(serializers.ModelSerializer):
    from_status = serializers.CharField(read_only=True, help_text="Empty for the application itself")
    changed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = MentorStatusChange
        fields = ["id", "from_status", "to_status", "changed_by", "changed_by_name", "changed_at", "note"]
        read_only_fields = fields

    def get_changed_by_name(self, obj: MentorStatusChange) -> str:
        user = obj.changed_by
        return (user.get_full_name() or user.username) if user else ""


class MentorDetailSerializer(ContactSerializerMixin, MatchingProfileSerializerMixin, MentorSerializer):
    """A mentor's record: the profile, what approval still needs, and the lifecycle so far.
    On a mentor's own profile ``references`` is null: referees write in confidence."""

    missing_for_approval = serializers.SerializerMethodField(
        help_text="What the mentor still lacks to be approved (empty when nothing is missing)."
    )
    references = MentorReferenceSerializer(
        many=True, read_only=True, allow_null=True, help_text="Null on a mentor's own profile."
    )
    training_records = TrainingRecordSerializer(many=True, read_only=True)
    self_assessments = SelfAssessmentSerializer(many=True, read_only=True)
    status_history = MentorStatusChangeSerializer(source="status_changes", many=True, read_only=True)

    class Meta(MentorSerializer.Meta):
        fields = [
            *MentorSerializer.Meta.fields,
            "email",
            "phone",
            "gender",
            "age_band",
            "municipality",
            "postcode",
            "latitude",
            "longitude",
            "availability",
            "session_modes",
            "needs",
            "interviewed_on",
            "record_check_reference",
            "left_on",
            "leaving_reason",
            "missing_for_approval",
            "references",
            "training_records",
            "self_assessments",
            "status_history",
        ]
        read_only_fields = fields

    def get_missing_for_approval(self, obj: Mentor) -> list[str]:
        return mentor_missing_for(mentor=obj, stage=Mentor.Status.APPROVED)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if _read_by_a_mentor(self.context):
            data["references"] = None
        return data


# --- Serializers: consent --------------------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    """Explicit consent of one person to one purpose; the request records it."""

    person = VisiblePrimaryKeyField(
        model=Person, visible_to=person_list_coordinated_by, help_text="A person of your programme"
    )
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Consent
        fields = [
            "id",
            "person",
            "purpose",
            "given_by",
            "given_at",
            "language",
            "recorded_by",
            "withdrawn_at",
            "is_active",
        ]
        read_only_fields = ["id", "given_at", "recorded_by", "withdrawn_at", "is_active"]


# --- Serializers: input of new people --------------------------------------------------------


class NewPersonLanguageSerializer(serializers.Serializer):
    language = serializers.CharField(max_length=3, help_text="ISO 639 code")
    level = serializers.ChoiceField(choices=LanguageLevel.choices, default=LanguageLevel.FLUENT)
    is_preferred = serializers.BooleanField(default=False, help_text="At most one language per person")


class NewPersonSerializer(serializers.Serializer):
    """What is recorded about a new person. Background data (country of birth, migrant
    background, cultural backgrounds) needs consent to matching on it or to statistics, given
    in ``consents``."""

    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    gender = serializers.CharField(
        max_length=60, required=False, allow_blank=True, help_text="Self-described"
    )
    age_band = serializers.ChoiceField(choices=AgeBand.choices, required=False, allow_blank=True)
    country_of_birth = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2"
    )
    migrant_background = serializers.ChoiceField(choices=MigrantBackground.choices, required=False)
    municipality = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=12, required=False, allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    availability = serializers.ListField(
        child=serializers.ChoiceField(choices=AVAILABILITY_SLOTS), required=False, help_text="Weekly slots"
    )
    session_modes = serializers.ListField(
        child=serializers.ChoiceField(choices=SessionMode.choices), required=False
    )
    languages = NewPersonLanguageSerializer(many=True, required=False)
    cultural_backgrounds = serializers.ListField(
        child=serializers.SlugField(max_length=40), required=False, help_text="Codes of the programme's list"
    )
    needs = serializers.ListField(
        child=serializers.SlugField(max_length=40), required=False, help_text="Codes of the programme's list"
    )
    consents = serializers.ListField(
        child=serializers.ChoiceField(choices=ConsentPurpose.choices),
        required=False,
        help_text="The purposes the person consents to now",
    )
    consent_given_by = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Who consented; the person if empty"
    )
    consent_language = serializers.CharField(
        max_length=3,
        required=False,
        allow_blank=True,
        help_text="ISO 639 code of the consent form; the programme's language if empty",
    )


def _person_spec(data: dict) -> PersonSpec:
    data = dict(data)
    languages = [LanguageSpec(**language) for language in data.pop("languages", [])]
    return PersonSpec(**data, languages=languages)


class MentorApplicationSerializer(serializers.Serializer):
    """A volunteer's application: the mentor starts at "applied"."""

    programme = VisiblePrimaryKeyField(
        model=Programme, visible_to=coordinated_programmes, help_text="A programme you coordinate"
    )
    person = NewPersonSerializer()
    capacity = serializers.IntegerField(
        min_value=1, max_value=3, default=1, help_text="How many mentees at once (1–3)"
    )
    applied_on = serializers.DateField(required=False, help_text="Today if not given")


class FamilyMemberReferralSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Mentee.Kind.choices)
    mentored = serializers.BooleanField(default=True, help_text="Whether this member becomes a mentee")
    school = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Pupils")
    grade = serializers.CharField(max_length=20, required=False, allow_blank=True)
    person = NewPersonSerializer()


class FamilyReferralSerializer(serializers.Serializer):
    """A referred family with its parents and pupils; all or nothing."""

    programme = VisiblePrimaryKeyField(
        model=Programme, visible_to=coordinated_programmes, help_text="A programme you coordinate"
    )
    reference = serializers.CharField(max_length=40, help_text="The programme's case reference")
    referral_source = serializers.ChoiceField(choices=ReferralSource.choices)
    referrer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    referrer_organisation = serializers.CharField(max_length=200, required=False, allow_blank=True)
    referred_on = serializers.DateField(required=False, help_text="Today if not given")
    municipality = serializers.CharField(max_length=100, required=False, allow_blank=True)
    members = FamilyMemberReferralSerializer(many=True, allow_empty=False)


# --- Serializers: the bodies of lifecycle actions --------------------------------------------


class MentorInterviewSerializer(serializers.Serializer):
    interviewed_on = serializers.DateField()


class MentorRecordCheckSerializer(serializers.Serializer):
    checked_on = serializers.DateField()
    expires_on = serializers.DateField()
    reference = serializers.CharField(
        max_length=60, required=False, default="", allow_blank=True, help_text="The certificate's number"
    )


class MentorDeactivationSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class MentorWithdrawalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the mentor is leaving")


class MenteeIntakeCompletionSerializer(serializers.Serializer):
    needs_assessment = serializers.CharField(help_text="What the family hopes the mentoring brings")


# --- Filters ---------------------------------------------------------------------------------


def _names(queryset, value: str, *lookups: str):
    return queryset.filter(_name_terms(value, *lookups)) if value.strip() else queryset


class MenteeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Mentee.Status.choices)
    programme = IdFilter(field_name="programme_id")
    kind = filters.ChoiceFilter(choices=Mentee.Kind.choices)
    q = filters.CharFilter(method="filter_q", label="Every word found in the first or last name")

    class Meta:
        model = Mentee
        fields = ["status", "programme", "kind", "q"]

    def filter_q(self, queryset, name, value):
        return _names(queryset, value, "person__first_name", "person__last_name")


class MentorFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Mentor.Status.choices)
    programme = IdFilter(field_name="programme_id")
    q = filters.CharFilter(method="filter_q", label="Every word found in the name or e-mail")
    record_check_expiring = filters.BooleanFilter(
        method="filter_record_check_expiring",
        label=(
            f"Mentors in screening, training or service whose record check has expired or expires "
            f"within {RECORD_CHECK_WARNING.days} days (false: everyone else)"
        ),
    )

    class Meta:
        model = Mentor
        fields = ["status", "programme", "q", "record_check_expiring"]

    def filter_q(self, queryset, name, value):
        return _names(queryset, value, "person__first_name", "person__last_name", "person__email")

    def filter_record_check_expiring(self, queryset, name, value):
        if value is None:
            return queryset
        due = Q(status__in=RECORD_CHECK_STAGES) & Q(
            record_check_expires_on__lte=timezone.localdate() + RECORD_CHECK_WARNING
        )
        return queryset.filter(due) if value else queryset.exclude(due)


class FamilyFilter(filters.FilterSet):
    programme = IdFilter(field_name="programme_id")
    q = filters.CharFilter(method="filter_q", label="Part of the reference, or a member's name")

    class Meta:
        model = Family
        fields = ["programme", "q"]

    def filter_q(self, queryset, name, value):
        # The same search as the families page.
        found = family_list_visible_to(user=self.request.user, filters={"q": value})
        return queryset.filter(pk__in=found.order_by().values("pk"))


class ConsentFilter(filters.FilterSet):
    person = IdFilter(field_name="person_id")
    purpose = filters.ChoiceFilter(choices=ConsentPurpose.choices)

    class Meta:
        model = Consent
        fields = ["person", "purpose"]


class VocabularyFilter(filters.FilterSet):
    programme = IdFilter(field_name="programme_id")


class CulturalBackgroundFilter(VocabularyFilter):
    class Meta:
        model = CulturalBackground
        fields = ["programme"]


class NeedFilter(VocabularyFilter):
    class Meta:
        model = Need
        fields = ["programme"]


class SelfAssessmentQuestionFilter(VocabularyFilter):
    is_active = filters.BooleanFilter()

    class Meta:
        model = SelfAssessmentQuestion
        fields = ["programme", "is_active"]


# --- Views -----------------------------------------------------------------------------------


class CoordinatorCreateMixin:
    """Creating records is for coordinators and admins; which programme is checked by the
    input's ``VisiblePrimaryKeyField``."""

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), CoordinatesAProgramme()]
        return super().get_permissions()


class ProgrammeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The programmes the user is assigned to as coordinator or manager (admins: all)."""

    model = Programme
    serializer_class = ProgrammeSerializer

    def get_visible_queryset(self):
        return programme_list_visible_to(user=self.request.user)

    def get_object(self):
        return programme_get_for_user(user=self.request.user, programme_id=self.object_id)


class MenteeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' mentees; mentors: the mentees of their open matches,
    without backgrounds. Longest wait first. Reading one mentee's record is audited; the
    intake and closing are for coordinators."""

    model = Mentee
    serializer_class = MenteeSerializer
    filterset_class = MenteeFilter

    def get_visible_queryset(self):
        return mentee_records_visible_to(user=self.request.user)

    def get_object(self):
        return mentee_get_for_user(user=self.request.user, mentee_id=self.object_id, request=self.request)

    def _changing(self) -> Mentee:
        return mentee_get_for_change(user=self.request.user, mentee_id=self.object_id, request=self.request)

    def _answer(self, mentee: Mentee) -> Response:
        mentee = mentee_with_profile(mentee_id=mentee.pk)
        return Response(MenteeSerializer(mentee, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=MenteeSerializer)
    @action(detail=True, methods=["post"], url_path="start-intake", url_name="start-intake")
    def start_intake(self, request, pk=None):
        """A referred mentee's intake begins (``mentee_intake_start``)."""
        return self._answer(mentee_intake_start(mentee=self._changing(), by=request.user))

    @extend_schema(request=MenteeIntakeCompletionSerializer, responses=MenteeSerializer)
    @action(detail=True, methods=["post"], url_path="complete-intake", url_name="complete-intake")
    def complete_intake(self, request, pk=None):
        """Needs assessed and consent to case management recorded: the mentee waits for a
        mentor from today (``mentee_intake_complete``)."""
        mentee = self._changing()
        body = MenteeIntakeCompletionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(mentee_intake_complete(mentee=mentee, by=request.user, **body.validated_data))

    @extend_schema(request=None, responses=MenteeSerializer)
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close(self, request, pk=None):
        """Close a mentee who is in no open match, e.g. a family that left before a match
        (``mentee_close``)."""
        return self._answer(mentee_close(mentee=self._changing(), by=request.user))


class MentorViewSet(CoordinatorCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' mentors and every step of the mentor lifecycle
    (applied → screening → training → approved → active → inactive / withdrawn); a mentor: their
    own profile. Reading one mentor's record is audited and says what approval still needs."""

    model = Mentor
    serializer_class = MentorSerializer
    filterset_class = MentorFilter

    def get_serializer_class(self):
        return MentorSerializer if self.action == "list" else MentorDetailSerializer

    def get_visible_queryset(self):
        # The selector's open-matches count groups the rows, which drops Meta.ordering.
        return mentor_list_visible_to(user=self.request.user).order_by(
            "person__last_name", "person__first_name", "id"
        )

    def get_object(self):
        mentor = mentor_get_for_user(user=self.request.user, mentor_id=self.object_id, request=self.request)
        return mentor_with_record(mentor=mentor)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "detail": self.action != "list"}

    def _changing(self) -> Mentor:
        return mentor_get_for_change(user=self.request.user, mentor_id=self.object_id, request=self.request)

    def _answer(self, mentor: Mentor, status_code: int = status.HTTP_200_OK) -> Response:
        mentor = mentor_with_record(mentor=mentor)
        return Response(
            MentorDetailSerializer(mentor, context=self.get_serializer_context()).data, status=status_code
        )

    def _body(self, serializer_class) -> dict:
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(request=MentorApplicationSerializer, responses={201: MentorDetailSerializer})
    def create(self, request):
        """Record a volunteer's application (``mentor_apply``)."""
        body = MentorApplicationSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        mentor = mentor_apply(
            programme=data["programme"],
            person=_person_spec(data["person"]),
            capacity=data["capacity"],
            applied_on=data.get("applied_on"),
            recorded_by=request.user,
        )
        return self._answer(mentor, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="start-screening", url_name="start-screening")
    def start_screening(self, request, pk=None):
        """An applicant's screening begins (``mentor_screening_start``)."""
        return self._answer(mentor_screening_start(mentor=self._changing(), by=request.user))

    @extend_schema(request=MentorInterviewSerializer, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="record-interview", url_name="record-interview")
    def record_interview(self, request, pk=None):
        """The screening interview was held (``mentor_interview_record``)."""
        mentor = self._changing()
        data = self._body(MentorInterviewSerializer)
        return self._answer(mentor_interview_record(mentor=mentor, by=request.user, **data))

    @extend_schema(request=MentorReferenceSerializer, responses={201: MentorReferenceSerializer})
    @action(detail=True, methods=["post"], url_path="references", url_name="references")
    def references(self, request, pk=None):
        """Add a reference received during screening (``mentor_reference_record``)."""
        mentor = self._changing()
        data = self._body(MentorReferenceSerializer)
        reference = mentor_reference_record(mentor=mentor, by=request.user, **data)
        return Response(MentorReferenceSerializer(reference).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MentorRecordCheckSerializer, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="record-check", url_name="record-check")
    def record_check(self, request, pk=None):
        """A criminal-record check with its date and expiry; also a renewal at any stage
        (``mentor_record_check_record``)."""
        mentor = self._changing()
        data = self._body(MentorRecordCheckSerializer)
        return self._answer(mentor_record_check_record(mentor=mentor, by=request.user, **data))

    @extend_schema(request=None, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="start-training", url_name="start-training")
    def start_training(self, request, pk=None):
        """Screening complete: interview, two satisfactory references and a valid check
        (``mentor_training_start``); what is missing answers 400 on ``status``."""
        return self._answer(mentor_training_start(mentor=self._changing(), by=request.user))

    @extend_schema(request=TrainingRecordSerializer, responses={201: TrainingRecordSerializer})
    @action(detail=True, methods=["post"], url_path="training-records", url_name="training-records")
    def training_records(self, request, pk=None):
        """Add a completed course and its test; a pass completes the training
        (``mentor_training_record``)."""
        mentor = self._changing()
        data = self._body(TrainingRecordSerializer)
        record = mentor_training_record(mentor=mentor, by=request.user, **data)
        return Response(TrainingRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SelfAssessmentSerializer, responses={201: SelfAssessmentSerializer})
    @action(detail=True, methods=["post"], url_path="self-assessments", url_name="self-assessments")
    def self_assessments(self, request, pk=None):
        """Add the start or end competence self-assessment (``mentor_self_assessment_record``)."""
        mentor = self._changing()
        data = self._body(SelfAssessmentSerializer)
        assessment = mentor_self_assessment_record(mentor=mentor, by=request.user, **data)
        return Response(SelfAssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="approve", url_name="approve")
    def approve(self, request, pk=None):
        """Training passed and the start self-assessment filled in, screening still valid
        (``mentor_approve``); each missing step answers 400 on ``status``."""
        return self._answer(mentor_approve(mentor=self._changing(), by=request.user))

    @extend_schema(request=MentorDeactivationSerializer, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="deactivate", url_name="deactivate")
    def deactivate(self, request, pk=None):
        """An approved mentor with no open match pauses their service (``mentor_deactivate``)."""
        mentor = self._changing()
        data = self._body(MentorDeactivationSerializer)
        return self._answer(mentor_deactivate(mentor=mentor, by=request.user, **data))

    @extend_schema(request=None, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="reactivate", url_name="reactivate")
    def reactivate(self, request, pk=None):
        """An inactive mentor comes back, if screening is still valid (``mentor_reactivate``)."""
        return self._answer(mentor_reactivate(mentor=self._changing(), by=request.user))

    @extend_schema(request=MentorWithdrawalSerializer, responses=MentorDetailSerializer)
    @action(detail=True, methods=["post"], url_path="withdraw", url_name="withdraw")
    def withdraw(self, request, pk=None):
        """The mentor leaves the programme (``mentor_withdraw``)."""
        mentor = self._changing()
        data = self._body(MentorWithdrawalSerializer)
        return self._answer(mentor_withdraw(mentor=mentor, by=request.user, **data))


class FamilyViewSet(CoordinatorCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' families, newest referral first. Reading one family's
    record (with its mentees) is audited. Mentors and managers see none."""

    model = Family
    serializer_class = FamilySerializer
    filterset_class = FamilyFilter

    def get_serializer_class(self):
        return FamilySerializer if self.action == "list" else FamilyDetailSerializer

    def get_visible_queryset(self):
        return family_list_visible_to(user=self.request.user)

    def get_object(self):
        return family_get_for_user(user=self.request.user, family_id=self.object_id, request=self.request)

    @extend_schema(request=FamilyReferralSerializer, responses={201: FamilySerializer})
    def create(self, request):
        """Record a referred family; each mentored member becomes a mentee at "referred"
        (``family_refer``). A bad member writes nothing and answers 400 on
        ``members.<n>.<field>``."""
        body = FamilyReferralSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        members = [
            MemberSpec(
                kind=member["kind"],
                person=_person_spec(member["person"]),
                mentored=member["mentored"],
                school=member.get("school", ""),
                grade=member.get("grade", ""),
            )
            for member in data.pop("members")
        ]
        family = family_refer(members=members, recorded_by=request.user, **data)
        family = family_list_visible_to(user=request.user).get(pk=family.pk)
        return Response(FamilySerializer(family).data, status=status.HTTP_201_CREATED)


class ConsentViewSet(CoordinatorCreateMixin, mixins.ListModelMixin, ScopedViewSet):
    """Coordinators: the consents of their programmes' people, recorded and withdrawn here;
    a mentor: their own. A withdrawal stops the use of the fields it covered at once."""

    model = Consent
    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter

    def get_visible_queryset(self):
        return consent_list_visible_to(user=self.request.user)

    @extend_schema(request=ConsentSerializer, responses={201: ConsentSerializer})
    def create(self, request):
        """Record a person's consent to one purpose (``consent_record``)."""
        body = ConsentSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        consent = consent_record(recorded_by=request.user, **body.validated_data)
        return Response(ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ConsentSerializer)
    @action(detail=True, methods=["post"], url_path="withdraw", url_name="withdraw")
    def withdraw(self, request, pk=None):
        """The person withdraws this consent from now on (``consent_withdraw``)."""
        consent = consent_get_for_change(user=request.user, consent_id=self.object_id, request=request)
        consent = consent_withdraw(consent=consent, withdrawn_by=request.user)
        return Response(ConsentSerializer(consent).data)


class CulturalBackgroundViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The cultural backgrounds of the user's programmes (staff and admins)."""

    model = CulturalBackground
    serializer_class = CulturalBackgroundSerializer
    filterset_class = CulturalBackgroundFilter

    def get_visible_queryset(self):
        return cultural_background_list_visible_to(user=self.request.user)


class NeedViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The needs and interests of the user's programmes (staff and admins)."""

    model = Need
    serializer_class = NeedSerializer
    filterset_class = NeedFilter

    def get_visible_queryset(self):
        return need_list_visible_to(user=self.request.user)


class SelfAssessmentQuestionViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The competence self-assessment statements of the user's programmes (staff and admins)."""

    model = SelfAssessmentQuestion
    serializer_class = SelfAssessmentQuestionSerializer
    filterset_class = SelfAssessmentQuestionFilter

    def get_visible_queryset(self):
        return self_assessment_question_list_visible_to(user=self.request.user)
