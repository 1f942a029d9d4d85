"""REST endpoints of programmes, mentees and mentors (``/api/v1/``).

Thin: each view asks a selector in ``mentoring.selectors`` for what the user may see and
shapes it. Managers read aggregates only, so the mentee and mentor lists are empty for them.
"""

from __future__ import annotations

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from config.api import IdFilter, ScopedViewSet
from mentoring.models import CulturalBackground, Mentee, Mentor, MigrantBackground, PersonLanguage, Programme
from mentoring.selectors import (
    mentee_get_for_user,
    mentee_list_visible_to,
    mentor_get_for_user,
    mentor_list_visible_to,
    mentor_unmatchable_reasons,
    programme_get_for_user,
    programme_list_visible_to,
)
from mentoring.vocabulary import language_name

# --- Serializers -----------------------------------------------------------------------------


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


class PersonLanguageSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="language", help_text="ISO 639 code")
    name = serializers.SerializerMethodField(help_text="English name of the language")

    class Meta:
        model = PersonLanguage
        fields = ["code", "name", "level", "is_preferred"]
        read_only_fields = fields

    def get_name(self, obj: PersonLanguage) -> str:
        return language_name(obj.language)


class CulturalBackgroundSerializer(serializers.ModelSerializer):
    class Meta:
        model = CulturalBackground
        fields = ["id", "code", "name"]
        read_only_fields = fields


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


class MenteeSerializer(BackgroundConsentSerializerMixin, serializers.ModelSerializer):
    family_reference = serializers.CharField(source="family.reference", read_only=True)
    first_name = serializers.CharField(source="person.first_name", read_only=True)
    last_name = serializers.CharField(source="person.last_name", read_only=True)
    days_waiting = serializers.SerializerMethodField(
        help_text="Days on the waiting list; null unless waiting."
    )

    class Meta:
        model = Mentee
        fields = [
            "id",
            "programme",
            "family",
            "family_reference",
            "kind",
            "status",
            "first_name",
            "last_name",
            "referred_on",
            "intake_completed_on",
            "waiting_since",
            "days_waiting",
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


# --- Filters ---------------------------------------------------------------------------------


class MenteeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Mentee.Status.choices)
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = Mentee
        fields = ["status", "programme"]


class MentorFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Mentor.Status.choices)
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = Mentor
        fields = ["status", "programme"]


# --- Views -----------------------------------------------------------------------------------


class ProgrammeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The programmes the user is assigned to as coordinator or manager (admins: all)."""

    model = Programme
    serializer_class = ProgrammeSerializer

    def get_visible_queryset(self):
        return programme_list_visible_to(user=self.request.user)

    def get_object(self):
        return programme_get_for_user(user=self.request.user, programme_id=self.object_id)


class MenteeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' mentees; mentors: the mentees of their open matches.
    Reading one mentee's record is audited."""

    model = Mentee
    serializer_class = MenteeSerializer
    filterset_class = MenteeFilter

    def get_visible_queryset(self):
        return mentee_list_visible_to(user=self.request.user)

    def get_object(self):
        return mentee_get_for_user(user=self.request.user, mentee_id=self.object_id, request=self.request)


class MentorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' mentors; a mentor: their own profile. Reading one
    mentor's record is audited and says why they cannot be matched now, if they cannot."""

    model = Mentor
    serializer_class = MentorSerializer
    filterset_class = MentorFilter

    def get_visible_queryset(self):
        # The selector's open-matches count groups the rows, which drops Meta.ordering.
        return mentor_list_visible_to(user=self.request.user).order_by(
            "person__last_name", "person__first_name", "id"
        )

    def get_object(self):
        return mentor_get_for_user(user=self.request.user, mentor_id=self.object_id, request=self.request)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "detail": self.action == "retrieve"}
