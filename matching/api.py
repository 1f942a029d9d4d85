"""REST endpoints of matches and of the mentor suggestions for a mentee (``/api/v1/``).

Thin: reads go through ``matching.selectors`` (scoped to the user, another mentor's or
programme's match is not found), and a match is made only by ``matching.services.match_create``.
"""

from __future__ import annotations

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.api import (
    CoordinatesAProgramme,
    ErrorDocumentingAutoSchema,
    IdFilter,
    ScopedViewSet,
    VisiblePrimaryKeyField,
    as_id,
)
from matching.models import Match
from matching.scoring import Suggestion, score_pair
from matching.selectors import match_get_for_user, match_list_visible_to, mentor_suggestions_for_mentee
from matching.services import match_close, match_create
from mentoring.audit import audit_record
from mentoring.errors import NotFound
from mentoring.models import AuditEvent, Mentee, Mentor, User
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import mentee_get_for_user, mentee_list_visible_to, mentor_list_visible_to

# --- Serializers -----------------------------------------------------------------------------


class MatchMentorSummarySerializer(serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")

    class Meta:
        model = Mentor
        fields = ["id", "first_name", "last_name"]
        read_only_fields = fields


class MatchMenteeSummarySerializer(serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")
    family_reference = serializers.CharField(source="family.reference")

    class Meta:
        model = Mentee
        fields = ["id", "first_name", "last_name", "family_reference"]
        read_only_fields = fields


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
            raise serializers.ValidationError("Key each value by the instrument's id.")
        return {int(key): measure for key, measure in value.items()}


class MentorSuggestionSerializer(serializers.Serializer):
    mentor = serializers.IntegerField(source="mentor.pk", help_text="The mentor's id")
    first_name = serializers.CharField(source="mentor.person.first_name")
    last_name = serializers.CharField(source="mentor.person.last_name")
    score = serializers.IntegerField()
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Each part of the score, in the coordinator's words"
    )
    free_places = serializers.SerializerMethodField()

    def get_free_places(self, obj: Suggestion) -> int:
        return max(obj.mentor.capacity - obj.mentor.open_matches, 0)


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
        return match_list_visible_to(user=self.request.user)

    def get_object(self):
        return match_get_for_user(user=self.request.user, match_id=self.object_id, request=self.request)

    @extend_schema(request=MatchCreateSerializer, responses={201: MatchSerializer})
    def create(self, request):
        """Match a waiting mentee with a matchable mentor of the same programme: the match is
        active from today, the mentee leaves the waiting list. Coordinators of the mentee's
        programme and admins only."""
        serializer = MatchCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        mentee, mentor = serializer.validated_data["mentee"], serializer.validated_data["mentor"]
        match = match_create(
            mentee=mentee,
            mentor=mentor,
            created_by=request.user,
            # The score the coordinator saw in the suggestions, kept for later review.
            score=score_pair(mentee=mentee, mentor=mentor).score,
            request=request,
        )
        match = match_list_visible_to(user=request.user).get(pk=match.pk)
        return Response(MatchSerializer(match).data, status=status.HTTP_201_CREATED)

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
        match = match_list_visible_to(user=request.user).get(pk=match.pk)
        return Response(MatchSerializer(match).data)


class MenteeSuggestionListView(GenericAPIView):
    """The matchable mentors of a mentee's programme, best first, each with the reasons for
    its score. Coordinators of the mentee's programme and admins only; anyone else is told
    the mentee is not found. Reading the mentee is audited."""

    schema = ErrorDocumentingAutoSchema()
    serializer_class = MentorSuggestionSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(responses={200: MentorSuggestionSerializer(many=True)})
    def get(self, request, mentee_id: int):
        # For coordinators and admins the mentees they see are exactly those of the programmes
        # they coordinate; a mentor sees their own mentees but may not browse suggestions.
        if not coordinated_programmes(user=request.user).exists():
            audit_record(
                user=request.user,
                action=AuditEvent.Action.DENIED,
                object_type=Mentee._meta.label,
                object_id=mentee_id,
                request=request,
            )
            raise NotFound("Mentee not found.")
        mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request)
        suggestions = mentor_suggestions_for_mentee(mentee=mentee)
        return Response(MentorSuggestionSerializer(suggestions, many=True).data)
