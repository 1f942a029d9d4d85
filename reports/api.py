"""REST endpoints of report snapshots (``/api/v1/report-snapshots/``).

Aggregates only, already small-cell suppressed when stored; for the users who read the
programme's reports (its coordinators and managers, and admins). Asking for a snapshot answers
202 at once: a Celery worker computes it, and the client polls the snapshot's ``status`` and
``progress``. A request while an identical one is waiting or computing joins it.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from config.api import ErrorResponseSerializer, IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from mentoring.errors import NotFound
from mentoring.models import Programme
from mentoring.permissions import reported_programmes
from reports.models import ReportSnapshot
from reports.selectors import snapshot_get_for_user, snapshot_latest, snapshot_list_visible_to
from reports.services import snapshot_request

# --- Serializers -----------------------------------------------------------------------------
# The shape of ``figures`` (see ``reports.metrics``), for the schema only: the stored JSON is
# returned as it is.


class ReportCellSerializer(serializers.Serializer):
    value = serializers.IntegerField(allow_null=True, help_text="Null when withheld")
    suppressed = serializers.BooleanField()
    display = serializers.CharField(help_text='What readers see: the count, or "< k" when withheld')


class ReportGroupLineSerializer(serializers.Serializer):
    group = serializers.CharField()
    label = serializers.CharField()
    total = ReportCellSerializer()
    matched = ReportCellSerializer()
    matched_share = serializers.FloatField(allow_null=True, help_text="Withheld (null) on small counts")


class ReportPopulationSerializer(serializers.Serializer):
    groups = ReportGroupLineSerializer(many=True)
    total = ReportGroupLineSerializer()


class ReportPopulationsSerializer(serializers.Serializer):
    mentees = ReportPopulationSerializer()
    mentors = ReportPopulationSerializer()


class ParticipationFiguresSerializer(serializers.Serializer):
    """Every key is absent until the snapshot is done (the figures are then ``{}``)."""

    k = serializers.IntegerField(required=False, help_text="The small-cell threshold applied")
    definitions = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="What each figure means"
    )
    populations = ReportPopulationsSerializer(required=False)


@extend_schema_field(ParticipationFiguresSerializer)
class FiguresField(serializers.JSONField):
    """The stored figures; an empty object until the snapshot is done."""


class ReportSnapshotSerializer(serializers.ModelSerializer):
    figures = FiguresField(read_only=True, help_text="Aggregates only; empty until the snapshot is done.")

    class Meta:
        model = ReportSnapshot
        fields = [
            "id",
            "programme",
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
            "figures",
        ]
        read_only_fields = fields


class ReportSnapshotCreateSerializer(serializers.Serializer):
    programme = VisiblePrimaryKeyField(
        model=Programme, visible_to=reported_programmes, help_text="A programme whose reports you read"
    )


class ReportSnapshotLatestQuerySerializer(serializers.Serializer):
    programme = serializers.IntegerField()


# --- Filters ---------------------------------------------------------------------------------


class ReportSnapshotFilter(filters.FilterSet):
    programme = IdFilter(field_name="programme_id")
    status = filters.ChoiceFilter(choices=ReportSnapshot.Status.choices)

    class Meta:
        model = ReportSnapshot
        fields = ["programme", "status"]


# --- Views -----------------------------------------------------------------------------------


class ReportSnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Snapshots of the programmes whose reports the user reads, newest first."""

    model = ReportSnapshot
    serializer_class = ReportSnapshotSerializer
    filterset_class = ReportSnapshotFilter

    def get_visible_queryset(self):
        return snapshot_list_visible_to(user=self.request.user)

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
        """Ask for a fresh participation snapshot of a programme."""
        serializer = ReportSnapshotCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        snapshot, _created = snapshot_request(
            programme=serializer.validated_data["programme"], requested_by=request.user
        )
        location = reverse("api-report-snapshot-detail", kwargs={"pk": snapshot.pk}, request=request)
        return Response(
            ReportSnapshotSerializer(snapshot).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )

    @extend_schema(
        parameters=[OpenApiParameter("programme", int, required=True, description="The programme's id")],
        responses={
            200: ReportSnapshotSerializer,
            400: OpenApiResponse(ErrorResponseSerializer, description="No programme id given."),
            404: OpenApiResponse(
                ErrorResponseSerializer,
                description="No such programme for this user, or no snapshot of it is done yet.",
            ),
        },
    )
    @action(detail=False, pagination_class=None, filter_backends=[])
    def latest(self, request):
        """The newest finished participation snapshot of a programme."""
        query = ReportSnapshotLatestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        programme = (
            reported_programmes(user=request.user).filter(pk=query.validated_data["programme"]).first()
        )
        if programme is None:
            raise NotFound("Programme not found.")
        snapshot = snapshot_latest(programme=programme)
        if snapshot is None:
            raise NotFound("No report of this programme has been generated yet.")
        return Response(ReportSnapshotSerializer(snapshot).data)
