"""REST endpoints of a mentee's follow-up: outcome instruments and measures, goals and the
quality check-ins of matches.

Thin: rows come from ``sessions.selectors.followup``, writes go through the services
(``outcome_measure_record``, ``goal_create``, ``goal_progress_record``, ``checkin_answer``),
which hold the rules. A mentor's check-in list never holds a family's check-in.
"""

from __future__ import annotations

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from mentoring.models import Mentee
from mentoring.selectors import mentee_list_visible_to
from sessions.models import CheckIn, Goal, GoalProgress, OutcomeInstrument, OutcomeMeasure, OutcomeStage
from sessions.selectors.followup import (
    checkin_get_for_user,
    checkin_list_visible_to,
    goal_get_for_user,
    goal_list_visible_to,
    outcome_instrument_list_visible_to,
    outcome_measure_list_visible_to,
)
from sessions.services.checkins import QUESTIONS, checkin_answer
from sessions.services.goals import goal_create, goal_progress_record
from sessions.services.outcomes import outcome_measure_record

# --- Serializers -----------------------------------------------------------------------------


class OutcomeInstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeInstrument
        fields = [
            "id",
            "programme",
            "code",
            "name",
            "scale_min",
            "scale_max",
            "higher_is_better",
            "is_headline",
        ]
        read_only_fields = fields


class OutcomeMeasureSerializer(serializers.ModelSerializer):
    # A plain string here: the stage's enum is documented once, on the input
    # (``OutcomeMeasureRecordSerializer``); two components with one ``stage`` enum would collide
    # with the self-assessment's ``stage`` in the schema's enum names.
    stage = serializers.CharField(read_only=True, help_text="baseline, midway or closure")

    class Meta:
        model = OutcomeMeasure
        fields = ["id", "mentee", "instrument", "stage", "value", "measured_on", "recorded_by", "created_at"]
        read_only_fields = fields


class OutcomeMeasureRecordSerializer(serializers.Serializer):
    """The input of a new measure; the rules (scale, stage order, dates, who) are the service's."""

    mentee = VisiblePrimaryKeyField(model=Mentee, visible_to=mentee_list_visible_to)
    instrument = VisiblePrimaryKeyField(
        model=OutcomeInstrument,
        visible_to=outcome_instrument_list_visible_to,
        help_text="An instrument of the mentee's programme",
    )
    stage = serializers.ChoiceField(choices=OutcomeStage.choices)
    value = serializers.DecimalField(max_digits=6, decimal_places=2)
    measured_on = serializers.DateField()


class GoalProgressSerializer(serializers.ModelSerializer):
    class Meta:
        model = GoalProgress
        fields = ["id", "progress", "note", "recorded_on", "recorded_by"]
        read_only_fields = fields


class GoalSerializer(serializers.ModelSerializer):
    updates = GoalProgressSerializer(many=True, read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "mentee",
            "description",
            "agreed_on",
            "target_on",
            "status",
            "progress",
            "created_by",
            "created_at",
            "updates",
        ]
        read_only_fields = fields


class GoalCreateSerializer(serializers.Serializer):
    mentee = VisiblePrimaryKeyField(model=Mentee, visible_to=mentee_list_visible_to)
    description = serializers.CharField(max_length=300)
    agreed_on = serializers.DateField()
    target_on = serializers.DateField(required=False, allow_null=True)


class GoalProgressRecordSerializer(serializers.Serializer):
    progress = serializers.IntegerField(
        min_value=0, max_value=100, help_text="Per cent; 100 marks it achieved"
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    recorded_on = serializers.DateField()


class CheckInSerializer(serializers.ModelSerializer):
    """A check-in as its reader may see it: coordinators read every one of their programmes
    with the family's answers and link; a mentor is only ever given their own."""

    mentee = serializers.IntegerField(source="match.mentee_id", read_only=True)
    family_link = serializers.SerializerMethodField()

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "match",
            "mentee",
            "respondent",
            "due_on",
            "language",
            "answers",
            "comment",
            "uncertain",
            "private_note",
            "answered_at",
            "family_link",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_family_link(self, checkin: CheckIn) -> str | None:
        """The family's personal link, for the coordinator to send; null for mentor check-ins."""
        if checkin.respondent != CheckIn.Respondent.FAMILY:
            return None
        return reverse("sessions:checkin-family", args=[checkin.token])


def _scores_serializer() -> type[serializers.Serializer]:
    fields = {
        code: serializers.IntegerField(min_value=1, max_value=5, help_text=str(label))
        for code, label in QUESTIONS
    }
    return type("CheckInScoresSerializer", (serializers.Serializer,), fields)


CheckInScoresSerializer = _scores_serializer()


class CheckInAnswerSerializer(serializers.Serializer):
    answers = CheckInScoresSerializer(help_text="Each statement scored 1 (not at all) to 5 (fully)")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    uncertain = serializers.BooleanField(
        required=False, default=False, help_text="Unsure about the match: the coordinators are told."
    )
    private_note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Filters ---------------------------------------------------------------------------------


class OutcomeMeasureFilter(filters.FilterSet):
    mentee = IdFilter(field_name="mentee_id")

    class Meta:
        model = OutcomeMeasure
        fields = ["mentee"]


class GoalFilter(filters.FilterSet):
    mentee = IdFilter(field_name="mentee_id")

    class Meta:
        model = Goal
        fields = ["mentee", "status"]


class CheckInFilter(filters.FilterSet):
    match = IdFilter(field_name="match_id")
    mentee = IdFilter(field_name="match__mentee_id")

    class Meta:
        model = CheckIn
        fields = ["match", "mentee", "respondent"]


# --- Views -----------------------------------------------------------------------------------


class OutcomeInstrumentViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The outcome instruments of the user's programmes."""

    model = OutcomeInstrument
    serializer_class = OutcomeInstrumentSerializer

    def get_visible_queryset(self):
        return outcome_instrument_list_visible_to(user=self.request.user)


class OutcomeMeasureViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Coordinators: the measures of their programmes' mentees; mentors: of their own mentees."""

    model = OutcomeMeasure
    serializer_class = OutcomeMeasureSerializer
    filterset_class = OutcomeMeasureFilter

    def get_visible_queryset(self):
        return outcome_measure_list_visible_to(user=self.request.user)

    @extend_schema(request=OutcomeMeasureRecordSerializer, responses={201: OutcomeMeasureSerializer})
    def create(self, request):
        """Record a mentee's score at baseline, midway or closure."""
        serializer = OutcomeMeasureRecordSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        measure = outcome_measure_record(
            recorded_by=request.user, request=request, **serializer.validated_data
        )
        return Response(OutcomeMeasureSerializer(measure).data, status=status.HTTP_201_CREATED)


class GoalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: the goals of their programmes' mentees; mentors: of their own mentees."""

    model = Goal
    serializer_class = GoalSerializer
    filterset_class = GoalFilter

    def get_visible_queryset(self):
        return goal_list_visible_to(user=self.request.user)

    def get_object(self):
        return goal_get_for_user(user=self.request.user, goal_id=self.object_id, request=self.request)

    @extend_schema(request=GoalCreateSerializer, responses={201: GoalSerializer})
    def create(self, request):
        """Add a goal agreed with the mentee's family."""
        serializer = GoalCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        goal = goal_create(created_by=request.user, request=request, **serializer.validated_data)
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GoalProgressRecordSerializer, responses={201: GoalSerializer})
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        """Record the goal's progress (0–100 %); at 100 % the goal is achieved."""
        goal = self.get_object()
        serializer = GoalProgressRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        goal_progress_record(
            goal=goal, recorded_by=request.user, request=request, **serializer.validated_data
        )
        goal = goal_list_visible_to(user=request.user).get(pk=goal.pk)
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class CheckInViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: every check-in of their programmes, the families' answers included.
    Mentors: their own mentor check-ins only. Reading one check-in is audited."""

    model = CheckIn
    serializer_class = CheckInSerializer
    filterset_class = CheckInFilter

    def get_visible_queryset(self):
        return checkin_list_visible_to(user=self.request.user)

    def get_object(self):
        return checkin_get_for_user(user=self.request.user, checkin_id=self.object_id, request=self.request)

    @extend_schema(request=CheckInAnswerSerializer, responses={200: CheckInSerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """Answer your own mentor check-in, once."""
        checkin = self.get_object()
        serializer = CheckInAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        checkin = checkin_answer(
            checkin=checkin, user=request.user, request=request, **serializer.validated_data
        )
        return Response(CheckInSerializer(checkin).data)
