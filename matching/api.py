"""REST endpoints of matches (``/api/v1/``); suggestions are in ``matching.api_suggestions``.

Thin: reads go through ``matching.selectors`` (scoped to the user, another mentor's or
programme's match is not found), and a match is made only by ``matching.services.match_create``.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.api import (
    CoordinatesAProgramme,
    IdFilter,
    ScopedViewSet,
    VisiblePrimaryKeyField,
    as_id,
)
from matching.models import Match
from matching.selectors import match_get_for_user, match_list_visible_to, pair_explanation
from matching.services import (
    match_accept,
    match_close,
    match_create,
    match_decline,
    match_pause,
    match_resume,
    match_reveals_family_to,
)
from mentoring.models import Mentee, Mentor, User
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import mentee_list_visible_to, mentor_list_visible_to

# --- Serializers -----------------------------------------------------------------------------


def choices_schema(choices) -> dict:
    """A string documented with its values. Several matching inputs are called ``reason``, each
    with its own choices; as enums they would collide (drf-spectacular names an enum after its
    field) until ``SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]`` names each one, as
    ``AttentionFlagKindField`` explains. The match itself shows ``decline_reason`` as an enum."""
    return {"type": "string", "description": "One of: " + ", ".join(f"`{value}`" for value in choices.values)}


@extend_schema_field(choices_schema(Match.DeclineReason))
class DeclineReasonField(serializers.ChoiceField):
    """Why the mentor declines: ``Match.DeclineReason``."""


class MatchMentorSummarySerializer(serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")

    class Meta:
        model = Mentor
        fields = ["id", "first_name", "last_name"]
        read_only_fields = fields


class MatchMenteeSummarySerializer(serializers.ModelSerializer):
    """The mentee as a match shows them. What a mentor needs to decide on a proposal (first
    name, kind, needs, preferred language, municipality) is always there; the last name and
    the family's reference reach the mentor only once the match has started
    (``MatchSerializer``), and contact details never travel with a match."""

    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(
        source="person.last_name",
        allow_null=True,
        help_text="Withheld from the mentor until the match starts",
    )
    family_reference = serializers.CharField(
        source="family.reference",
        allow_null=True,
        help_text="Withheld from the mentor until the match starts",
    )
    preferred_language = serializers.SerializerMethodField(help_text="ISO 639 code, or null")
    municipality = serializers.CharField(source="person.municipality")
    needs = serializers.SerializerMethodField(help_text="The needs the family named, by name")

    class Meta:
        model = Mentee
        fields = [
            "id",
            "first_name",
            "last_name",
            "family_reference",
            "kind",
            "preferred_language",
            "municipality",
            "needs",
        ]
        read_only_fields = fields

    def get_preferred_language(self, mentee: Mentee) -> str | None:
        languages = sorted(mentee.person.languages.all(), key=lambda pl: (not pl.is_preferred, pl.language))
        return languages[0].language if languages else None

    def get_needs(self, mentee: Mentee) -> list[str]:
        return sorted(need.name for need in mentee.person.needs.all())


class MatchSerializer(serializers.ModelSerializer):
    mentor = MatchMentorSummarySerializer(read_only=True)
    mentee = MatchMenteeSummarySerializer(read_only=True)
    is_early_closure = serializers.BooleanField(
        read_only=True,
        help_text="Closed within 90 days of its start or before its planned end (derived from the dates).",
    )
    # Declared so the schema allows "" (not closed): DRF drops allow_blank from read-only fields.
    closure_reason = serializers.ChoiceField(
        choices=Match.ClosureReason.choices, allow_blank=True, read_only=True
    )
    decline_reason = serializers.ChoiceField(
        choices=Match.DeclineReason.choices, allow_blank=True, read_only=True
    )

    def to_representation(self, match: Match) -> dict:
        data = super().to_representation(match)
        request = self.context.get("request")
        if request is not None and not match_reveals_family_to(user=request.user, match=match):
            data["mentee"]["last_name"] = None
            data["mentee"]["family_reference"] = None
        return data

    class Meta:
        model = Match
        fields = [
            "id",
            "programme",
            "mentor",
            "mentee",
            "status",
            "score",
            "proposed_at",
            "started_on",
            "planned_end_on",
            "closed_on",
            "closure_reason",
            "closure_note",
            "is_early_closure",
            "declined_at",
            "decline_reason",
            "decline_note",
            "paused_on",
            "pause_reason",
            "batch_run",
        ]
        read_only_fields = fields


def _mentees_coordinated_by(*, user: User):
    return mentee_list_visible_to(user=user).filter(programme__in=coordinated_programmes(user=user))


def _mentors_coordinated_by(*, user: User):
    return mentor_list_visible_to(user=user).filter(programme__in=coordinated_programmes(user=user))


class MatchCreateSerializer(serializers.Serializer):
    mentee = VisiblePrimaryKeyField(
        model=Mentee, visible_to=_mentees_coordinated_by, help_text="A waiting mentee of your programme"
    )
    mentor = VisiblePrimaryKeyField(
        model=Mentor, visible_to=_mentors_coordinated_by, help_text="A matchable mentor of the same programme"
    )
    propose = serializers.BooleanField(
        default=False,
        help_text="Propose the match to the mentor, who accepts or declines it; "
        "otherwise it is active from today",
    )


class MatchDeclineSerializer(serializers.Serializer):
    reason = DeclineReasonField(choices=Match.DeclineReason.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text='Required when the reason is "other"'
    )


class MatchPauseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=Match._meta.get_field("pause_reason").max_length, help_text="Why the match is paused"
    )


class MatchCloseSerializer(serializers.Serializer):
    # Named as the match's own fields, which they set.
    closure_reason = serializers.ChoiceField(choices=Match.ClosureReason.choices)
    closed_on = serializers.DateField(required=False, help_text="Today when left out")
    closure_note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required for safeguarding and other"
    )
    closure_measures = serializers.DictField(
        child=serializers.DecimalField(max_digits=6, decimal_places=2),
        required=False,
        default=dict,
        help_text="The mentee's closure outcome measures: {instrument id: value}",
    )

    def validate_closure_measures(self, value: dict) -> dict:
        if any(as_id(key) is None for key in value):
            raise serializers.ValidationError(_("Key each value by the instrument's id."))
        return {int(key): measure for key, measure in value.items()}


# --- Filters ---------------------------------------------------------------------------------


class MatchFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Match.Status.choices)
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = Match
        fields = ["status", "programme"]


# --- Views -----------------------------------------------------------------------------------


class MatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: their programmes' matches; mentors: their own. Reading one is audited."""

    model = Match
    serializer_class = MatchSerializer
    filterset_class = MatchFilter

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), CoordinatesAProgramme()]
        return super().get_permissions()

    def get_visible_queryset(self):
        return match_list_visible_to(user=self.request.user).prefetch_related(
            "mentee__person__languages", "mentee__person__needs"
        )

    def get_object(self):
        return match_get_for_user(user=self.request.user, match_id=self.object_id, request=self.request)

    def _answer(self, match: Match, code: int = status.HTTP_200_OK) -> Response:
        match = self.get_visible_queryset().get(pk=match.pk)
        return Response(MatchSerializer(match, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=MatchCreateSerializer, responses={201: MatchSerializer})
    def create(self, request):
        """Match a waiting mentee with a matchable mentor of the same programme: the match is
        active from today and the mentee leaves the waiting list; or, with ``propose``, the
        match is proposed to the mentor, who accepts or declines it. Refused for a pair on the
        exclusion list, a pair the mentor declined before, and a mentor without a free place.
        Coordinators of the mentee's programme and admins only."""
        serializer = MatchCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        mentee, mentor = serializer.validated_data["mentee"], serializer.validated_data["mentor"]
        match = match_create(
            mentee=mentee,
            mentor=mentor,
            created_by=request.user,
            # The score the coordinator saw in the suggestions, kept for later review.
            score=pair_explanation(mentee=mentee, mentor=mentor).score,
            propose=serializer.validated_data["propose"],
            request=request,
        )
        return self._answer(match, status.HTTP_201_CREATED)

    @extend_schema(request=MatchCloseSerializer, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the match with its reason (and a note for safeguarding and other), recording
        the mentee's closure outcome measures at once; all errors are answered together and
        nothing is saved unless all is well. Coordinators of the programme and admins only."""
        match = self.get_object()
        serializer = MatchCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        match_close(
            match=match,
            closed_by=request.user,
            reason=data["closure_reason"],
            closed_on=data.get("closed_on") or timezone.localdate(),
            note=data["closure_note"],
            closure_measures=data["closure_measures"],
            request=request,
        )
        return self._answer(match)

    @extend_schema(request=None, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The mentor accepts a proposed match (a coordinator may on the mentor's behalf): it
        is active from today and the family's contact details reach the mentor."""
        match = match_accept(match=self.get_object(), accepted_by=request.user, request=request)
        return self._answer(match)

    @extend_schema(request=MatchDeclineSerializer, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """The mentor declines a proposed match with a reason (a note for "other"); a
        coordinator may on the mentor's behalf. The mentee is back on the waiting list and the
        pair is not proposed again."""
        match = self.get_object()
        serializer = MatchDeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        match = match_decline(
            match=match,
            declined_by=request.user,
            reason=serializer.validated_data["reason"],
            note=serializer.validated_data["note"],
            request=request,
        )
        return self._answer(match)

    @extend_schema(request=MatchPauseSerializer, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause an active match with a reason. Coordinators of the programme and admins only."""
        match = self.get_object()
        serializer = MatchPauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        match = match_pause(
            match=match, paused_by=request.user, reason=serializer.validated_data["reason"], request=request
        )
        return self._answer(match)

    @extend_schema(request=None, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Resume a paused match. Coordinators of the programme and admins only."""
        match = match_resume(match=self.get_object(), resumed_by=request.user, request=request)
        return self._answer(match)
