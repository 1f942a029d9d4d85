"""REST endpoints of report snapshots (``/api/v1/report-snapshots/``).

Aggregates only, already small-cell suppressed when stored; for the users who read the
programme's reports (its coordinators and managers, and admins). Asking for a snapshot answers
202 at once: Celery workers compute it, and the client polls the snapshot's ``status`` and
``progress``. A request while an identical one is waiting or computing joins it.

A snapshot covers one programme (``programme``) or several read together (``programmes``;
``programme`` is then null); a snapshot of several programmes is visible only to users who
read the reports of every one of them. ``figures/`` returns one breakdown of a done snapshot
(a population by one dimension), the shape of ``reports.figures``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from config.api import ErrorResponseSerializer, IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from mentoring.errors import NotFound
from mentoring.models import MigrantBackground, Programme
from mentoring.permissions import reported_programmes
from reports import figures as contract
from reports.labels import figures_localized
from reports.models import ReportSnapshot
from reports.selectors import snapshot_get_for_user, snapshot_latest, snapshot_list_visible_to
from reports.services import snapshot_parameters_clean, snapshot_request, snapshot_request_multi

POPULATION_CHOICES = [("mentees", gettext_lazy("Mentees")), ("mentors", gettext_lazy("Mentors"))]

# --- Serializers -----------------------------------------------------------------------------
# The shape of ``figures`` (``reports.figures``, version 2), for the schema only: the stored
# JSON is returned as it is.


class ReportCellSerializer(serializers.Serializer):
    value = serializers.IntegerField(allow_null=True, help_text="Null when withheld")
    suppressed = serializers.BooleanField()
    display = serializers.CharField(help_text='What readers see: the count, "< k" or "withheld"')


class ReportDisparitySerializer(serializers.Serializer):
    ratio = serializers.FloatField(allow_null=True, help_text="Group ÷ reference group; null when withheld")
    flag = serializers.CharField(allow_null=True, help_text='"below" (< 0.8), "above" (> 1.25) or null')


class ReportGroupFiguresSerializer(serializers.Serializer):
    group = serializers.CharField()
    label = serializers.CharField()
    funnel = serializers.DictField(child=ReportCellSerializer(), help_text="People who reached each stage")
    conversion = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Reached ÷ reached the previous stage"
    )
    representation = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Share of the stage ÷ share at entry"
    )
    median_days_to_match = serializers.FloatField(allow_null=True)
    median_match_days = serializers.FloatField(allow_null=True)
    sessions_per_active_month = serializers.FloatField(allow_null=True)
    early_closure_rate = serializers.FloatField(allow_null=True)
    language_concordance = serializers.FloatField(allow_null=True)
    culture_concordance = serializers.FloatField(allow_null=True)
    outcome_change = serializers.FloatField(allow_null=True)
    disparity = serializers.DictField(child=ReportDisparitySerializer(), help_text="By metric")


class ReportBreakdownSerializer(serializers.Serializer):
    label = serializers.CharField()
    groups = ReportGroupFiguresSerializer(many=True, help_text="Every group, empty ones included")
    total = ReportGroupFiguresSerializer(help_text='Everyone in the population (group "__total__")')


class ReportStageSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ReportPopulationSerializer(serializers.Serializer):
    stages = ReportStageSerializer(many=True, help_text="Funnel stages in order")
    breakdowns = serializers.DictField(child=ReportBreakdownSerializer(), help_text="By dimension key")


class ReportPopulationsSerializer(serializers.Serializer):
    mentees = ReportPopulationSerializer()
    mentors = ReportPopulationSerializer()


class ReportParticipationSerializer(serializers.Serializer):
    migrant_share_mentees = serializers.FloatField(allow_null=True)
    migrant_share_mentors = serializers.FloatField(allow_null=True)
    mentor_to_mentee_ratio = serializers.FloatField(allow_null=True)


class ReportPeriodSerializer(serializers.Serializer):
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)


class ParticipationFiguresSerializer(serializers.Serializer):
    """Every key is absent until the snapshot is done (the figures are then ``{}``)."""

    version = serializers.IntegerField(required=False)
    k = serializers.IntegerField(required=False, help_text="The small-cell threshold applied")
    reference_group = serializers.CharField(required=False)
    period = ReportPeriodSerializer(required=False)
    definitions = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="What each figure means"
    )
    populations = ReportPopulationsSerializer(required=False)
    participation = ReportParticipationSerializer(required=False)


@extend_schema_field(ParticipationFiguresSerializer)
class FiguresField(serializers.JSONField):
    """The stored figures, their labels and definitions in the site's default language (the
    ``figures/`` action gives a breakdown in the reader's); an empty object until the snapshot
    is done."""


@extend_schema_field({"type": "string", "enum": MigrantBackground.values})
class ReferenceGroupField(serializers.CharField):
    """A ``MigrantBackground`` value (an inline enum: the choice set has its own name elsewhere)."""


class ReportSnapshotParametersSerializer(serializers.Serializer):
    """For the schema: the rules live in ``reports.services.snapshot_parameters_clean``."""

    period_start = serializers.DateField(allow_null=True, required=False, help_text="First day (inclusive)")
    period_end = serializers.DateField(allow_null=True, required=False, help_text="Last day (inclusive)")
    reference_group = ReferenceGroupField(
        required=False,
        help_text='The migrant-background group disparities compare with (default "none")',
    )


@extend_schema_field(ReportSnapshotParametersSerializer)
class ParametersField(serializers.JSONField):
    """A snapshot's parameters, checked by the service."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        try:
            return snapshot_parameters_clean(data)
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise serializers.ValidationError(
                    {
                        key: [
                            serializers.ErrorDetail(e.message % (e.params or {}), code=e.code) for e in errors
                        ]
                        for key, errors in exc.error_dict.items()
                    }
                ) from exc
            raise serializers.ValidationError(exc.messages) from exc


class ReportSnapshotSerializer(serializers.ModelSerializer):
    figures = FiguresField(read_only=True, help_text="Aggregates only; empty until the snapshot is done.")
    parameters = ParametersField(read_only=True)
    programmes = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Every programme the snapshot covers"
    )
    error = serializers.CharField(read_only=True, help_text="The error's type when the snapshot failed")

    class Meta:
        model = ReportSnapshot
        fields = [
            "id",
            "programme",
            "programmes",
            "kind",
            "parameters",
            "status",
            "progress",
            "requested_at",
            "started_at",
            "generated_at",
            "data_as_of",
            "duration_ms",
            "small_cell_k",
            "error",
            "figures",
        ]
        read_only_fields = fields


class ReportSnapshotCreateSerializer(serializers.Serializer):
    programme = VisiblePrimaryKeyField(
        model=Programme,
        visible_to=reported_programmes,
        required=False,
        help_text="A programme whose reports you read (or give `programmes`)",
    )
    programmes = serializers.ManyRelatedField(
        child_relation=VisiblePrimaryKeyField(model=Programme, visible_to=reported_programmes),
        required=False,
        allow_empty=False,
        help_text="Several programmes to report on together, all of whose reports you read",
    )
    parameters = ParametersField(required=False, help_text="Omitted: the whole time, reference group none")

    def validate(self, attrs):
        if "programme" in attrs and "programmes" in attrs:
            raise serializers.ValidationError(
                {
                    "programmes": [
                        serializers.ErrorDetail(_("Give programme or programmes, not both."), code="invalid")
                    ]
                }
            )
        if "programme" not in attrs and "programmes" not in attrs:
            raise serializers.ValidationError(
                {"programme": [serializers.ErrorDetail(_("This field is required."), code="required")]}
            )
        return attrs


class ReportSnapshotLatestQuerySerializer(serializers.Serializer):
    programme = serializers.IntegerField()
    period_start = serializers.CharField(required=False)
    period_end = serializers.CharField(required=False)
    reference_group = serializers.CharField(required=False)


class ReportFiguresQuerySerializer(serializers.Serializer):
    population = serializers.ChoiceField(choices=POPULATION_CHOICES, default="mentees")
    dimension = serializers.ChoiceField(choices=contract.DIMENSIONS, default="migrant_background")


class ReportFiguresBreakdownSerializer(serializers.Serializer):
    """One breakdown of a done snapshot, with what a reader needs to show it."""

    snapshot = serializers.IntegerField()
    population = serializers.CharField()
    dimension = serializers.CharField()
    k = serializers.IntegerField()
    reference_group = serializers.CharField()
    period = ReportPeriodSerializer()
    data_as_of = serializers.DateTimeField()
    generated_at = serializers.DateTimeField()
    stages = ReportStageSerializer(many=True)
    breakdown = ReportBreakdownSerializer()
    definitions = serializers.DictField(child=serializers.CharField())


class SnapshotNotDone(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This snapshot is not done: it has no figures.")
    default_code = "not_done"


# --- Filters ---------------------------------------------------------------------------------


class ReportSnapshotFilter(filters.FilterSet):
    programme = IdFilter(field_name="programme_id", help_text="Snapshots of this one programme")
    covers = IdFilter(
        method="filter_covers", help_text="Snapshots covering this programme, several-programme ones too"
    )
    status = filters.ChoiceFilter(choices=ReportSnapshot.Status.choices)

    class Meta:
        model = ReportSnapshot
        fields = ["programme", "covers", "status"]

    def filter_covers(self, queryset, name, value):
        return queryset.filter(programmes__id=value).distinct()


# --- Views -----------------------------------------------------------------------------------


class ReportSnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Snapshots of the programmes whose reports the user reads, newest first."""

    model = ReportSnapshot
    serializer_class = ReportSnapshotSerializer
    filterset_class = ReportSnapshotFilter

    def get_visible_queryset(self):
        return snapshot_list_visible_to(user=self.request.user).prefetch_related("programmes")

    def get_object(self):
        return snapshot_get_for_user(user=self.request.user, snapshot_id=self.object_id)

    @extend_schema(
        request=ReportSnapshotCreateSerializer,
        responses={
            202: OpenApiResponse(
                ReportSnapshotSerializer,
                description="Accepted: the new snapshot, or the identical one already in flight.",
            )
        },
    )
    def create(self, request):
        """Ask for a fresh participation snapshot of a programme, or of several together."""
        serializer = ReportSnapshotCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        parameters = data.get("parameters")
        if "programmes" in data:
            snapshot, _created = snapshot_request_multi(
                programmes=data["programmes"], requested_by=request.user, parameters=parameters
            )
        else:
            snapshot, _created = snapshot_request(
                programme=data["programme"], requested_by=request.user, parameters=parameters
            )
        location = reverse("api-report-snapshot-detail", kwargs={"pk": snapshot.pk}, request=request)
        return Response(
            ReportSnapshotSerializer(snapshot).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("programme", int, required=True, description="The programme's id"),
            OpenApiParameter(
                "period_start", str, description="With any parameter given: the snapshot of exactly that set"
            ),
            OpenApiParameter("period_end", str, description="ISO date"),
            OpenApiParameter("reference_group", str, enum=MigrantBackground.values),
        ],
        responses={
            200: ReportSnapshotSerializer,
            400: OpenApiResponse(ErrorResponseSerializer, description="No programme id, or bad parameters."),
            404: OpenApiResponse(
                ErrorResponseSerializer,
                description="No such programme for this user, or no snapshot of it is done yet.",
            ),
        },
    )
    @action(detail=False, pagination_class=None, filter_backends=[])
    def latest(self, request):
        """The newest finished participation snapshot of a programme: of any parameters, or of
        exactly the parameters given."""
        query = ReportSnapshotLatestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        programme_id = data.pop("programme")
        parameters = snapshot_parameters_clean(data) if data else None
        programme = reported_programmes(user=request.user).filter(pk=programme_id).first()
        if programme is None:
            raise NotFound(_("Programme not found."))
        snapshot = snapshot_latest(programme=programme, parameters=parameters)
        if snapshot is None:
            raise NotFound(_("No report of this programme has been generated yet."))
        return Response(ReportSnapshotSerializer(snapshot).data)

    @extend_schema(
        parameters=[ReportFiguresQuerySerializer],
        responses={
            200: ReportFiguresBreakdownSerializer,
            400: OpenApiResponse(ErrorResponseSerializer, description="Unknown population or dimension."),
            409: OpenApiResponse(ErrorResponseSerializer, description="The snapshot is not done."),
        },
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def figures(self, request, pk=None):
        """One breakdown of a done snapshot: a population by one dimension (aggregates only)."""
        snapshot = self.get_object()
        query = ReportFiguresQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        figures = snapshot.figures
        if snapshot.status != ReportSnapshot.Status.DONE or figures.get("version") != contract.VERSION:
            raise SnapshotNotDone()
        population_key = query.validated_data["population"]
        dimension = query.validated_data["dimension"]
        figures = figures_localized(figures)  # labels and definitions in the reader's language
        population = figures["populations"][population_key]
        definitions = figures.get("definitions", {})
        body = {
            "snapshot": snapshot.pk,
            "population": population_key,
            "dimension": dimension,
            "k": figures["k"],
            "reference_group": figures.get("reference_group"),
            "period": figures.get("period", {"start": None, "end": None}),
            "data_as_of": snapshot.data_as_of,
            "generated_at": snapshot.generated_at,
            "stages": population["stages"],
            "breakdown": population["breakdowns"][dimension],
            "definitions": definitions,
        }
        # The stored aggregates (the serializer above documents their shape).
        return Response(body)
