"""REST endpoints of batch matching (``/api/v1/batch-runs/``).

For the programme's coordinators and admins only: a run lists the people of a waiting list, so
managers and mentors see no rows, and another programme's run is not found, like one that does
not exist. Asking for a run (or a re-run) answers 202 at once: a worker computes it, and the
client polls the run's ``status``, ``progress`` and ``stage``. Thin: every rule lives in
``matching.batch``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse

from config.api import MAX_ID, CoordinatesAProgramme, IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from matching.api import MatchSerializer
from matching.batch import (
    batch_pair_list,
    batch_pairs_worded,
    batch_run_accept,
    batch_run_create,
    batch_run_get_for_user,
    batch_run_list_visible_to,
    batch_run_rerun,
    batch_unmatched_list,
    batch_unmatched_worded,
    recruitment_needs,
)
from matching.models import BatchPair, BatchRun, BatchUnmatched
from matching.selectors import match_list_visible_to
from mentoring.models import Mentee, Mentor, Programme
from mentoring.permissions import coordinated_programmes
from mentoring.vocabulary import language_name

# --- Serializers -----------------------------------------------------------------------------


def _pair_list(**kwargs) -> serializers.ListField:
    """``[[mentee id, mentor id], …]``."""
    return serializers.ListField(
        child=serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=2, max_length=2
        ),
        **kwargs,
    )


class UnmatchedReasonField(serializers.CharField):
    """A ``BatchUnmatched.Reason`` code. Documented in words rather than as an enum: several
    choice sets are called "reason" (declines, exclusions), and the schema would have to name
    them apart with generated suffixes."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", f"One of: {', '.join(BatchUnmatched.Reason.values)}")
        super().__init__(**kwargs)


class BatchRunSerializer(serializers.ModelSerializer):
    pinned = _pair_list(read_only=True, help_text="[[mentee id, mentor id], …] the proposal keeps")
    forbidden = _pair_list(read_only=True, help_text="[[mentee id, mentor id], …] the proposal avoids")
    gain_over_greedy = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Total score minus a greedy assignment's"
    )
    gap_to_bound = serializers.SerializerMethodField(
        help_text="(Upper bound − total score) ÷ total score: 0 when the proposal is proven optimal"
    )

    class Meta:
        model = BatchRun
        fields = [
            "id",
            "programme",
            "created_by",
            "created_at",
            "previous",
            "objective",
            "wait_priority",
            "pinned",
            "forbidden",
            "status",
            "progress",
            "stage",
            "started_at",
            "finished_at",
            "error",
            "waiting_count",
            "mentor_count",
            "matched_count",
            "total_score",
            "greedy_total_score",
            "greedy_matched_count",
            "gain_over_greedy",
            "upper_bound",
            "gap_to_bound",
            "language_concordant_count",
            "pricing_rounds",
            "elapsed_ms",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_gap_to_bound(self, run: BatchRun) -> float | None:
        if (
            run.upper_bound is None
            or run.total_score is None
            or run.objective != BatchRun.Objective.TOTAL_SCORE
        ):
            return None
        return max(0.0, (run.upper_bound - run.total_score) / max(1, run.total_score))


class BatchRunCreateSerializer(serializers.Serializer):
    programme = VisiblePrimaryKeyField(
        model=Programme, visible_to=coordinated_programmes, help_text="A programme you coordinate"
    )
    objective = serializers.ChoiceField(
        choices=BatchRun.Objective.choices, default=BatchRun.Objective.TOTAL_SCORE
    )
    wait_priority = serializers.BooleanField(default=False, help_text="Give points for weeks waiting")
    pinned = _pair_list(required=False, default=list, help_text="[[mentee id, mentor id], …] to keep")
    forbidden = _pair_list(required=False, default=list, help_text="[[mentee id, mentor id], …] to avoid")


class BatchRunRerunSerializer(serializers.Serializer):
    pin = _pair_list(required=False, default=list, help_text="Pairs to keep (replacing the mentee's pin)")
    unpin = _pair_list(required=False, default=list, help_text="Pinned pairs to let go")
    forbid = _pair_list(required=False, default=list, help_text="Pairs to avoid")
    unforbid = _pair_list(required=False, default=list, help_text="Forbidden pairs to allow again")


class BatchMentorSummarySerializer(serializers.ModelSerializer):
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")

    class Meta:
        model = Mentor
        fields = ["id", "first_name", "last_name"]
        read_only_fields = fields


class BatchMenteeSummarySerializer(serializers.ModelSerializer):
    """Who the mentee is, for the coordinators reviewing a proposal (only they read runs)."""

    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")
    family_reference = serializers.CharField(source="family.reference")

    class Meta:
        model = Mentee
        fields = ["id", "first_name", "last_name", "family_reference", "kind"]
        read_only_fields = fields


class BatchScorePartSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="preferred_language, shared_background, distance, …")
    points = serializers.IntegerField()
    reason = serializers.CharField(help_text="In the coordinator's words")


class BatchPairSerializer(serializers.ModelSerializer):
    mentee = BatchMenteeSummarySerializer(read_only=True)
    mentor = BatchMentorSummarySerializer(read_only=True)
    parts = BatchScorePartSerializer(many=True, read_only=True, help_text="Named parts summing to the score")
    match = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The match made from this pair, once accepted"
    )

    class Meta:
        model = BatchPair
        fields = ["id", "mentee", "mentor", "score", "parts", "pinned", "language_concordant", "match"]
        read_only_fields = fields


class BatchUnmatchedSerializer(serializers.ModelSerializer):
    mentee = BatchMenteeSummarySerializer(read_only=True)
    reason = UnmatchedReasonField(read_only=True)
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)
    # Declared so the schema allows "" (no preferred language stated).
    language = serializers.CharField(read_only=True, allow_blank=True)
    language_name = serializers.SerializerMethodField()
    background_name = serializers.CharField(source="background.name", read_only=True, allow_null=True)

    class Meta:
        model = BatchUnmatched
        fields = [
            "id",
            "mentee",
            "reason",
            "reason_label",
            "detail",
            "language",
            "language_name",
            "background",
            "background_name",
        ]
        read_only_fields = fields

    def get_language_name(self, row: BatchUnmatched) -> str:
        return language_name(row.language) if row.language else ""


class BatchRecruitmentReasonSerializer(serializers.Serializer):
    reason = UnmatchedReasonField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class BatchRecruitmentNeedSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=[("language", "Language"), ("background", "Background")])
    value = serializers.CharField(
        allow_null=True, help_text="The language code or the background's id; null when not stated"
    )
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Unmatched mentees of this group (exact counts)")
    reasons = BatchRecruitmentReasonSerializer(many=True)


class BatchRunAcceptSerializer(serializers.Serializer):
    pair_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        help_text="The pairs to accept (or give `all`)",
    )
    all = serializers.BooleanField(
        required=False, default=False, help_text="Accept every pair not accepted yet"
    )

    def validate(self, attrs):
        if attrs.get("all") and "pair_ids" in attrs:
            raise serializers.ValidationError(
                {"pair_ids": [serializers.ErrorDetail(_("Give pair_ids or all, not both."), code="invalid")]}
            )
        if not attrs.get("all") and "pair_ids" not in attrs:
            raise serializers.ValidationError(
                {
                    "pair_ids": [
                        serializers.ErrorDetail(_("Choose the pairs, or give all: true."), code="required")
                    ]
                }
            )
        return attrs


class BatchRefusedPairSerializer(serializers.Serializer):
    pair = serializers.IntegerField(source="pair.pk", help_text="The pair's id")
    mentee = serializers.IntegerField(source="pair.mentee_id")
    mentor = serializers.IntegerField(source="pair.mentor_id")
    reason = serializers.CharField(help_text="Why the match could not be made")


class BatchAcceptResultSerializer(serializers.Serializer):
    matches = MatchSerializer(many=True, help_text="The proposed matches made")
    refused = BatchRefusedPairSerializer(many=True, help_text="The pairs that could not be made")


# --- Filters ---------------------------------------------------------------------------------


class BatchRunFilter(filters.FilterSet):
    programme = IdFilter(field_name="programme_id")
    status = filters.ChoiceFilter(choices=BatchRun.Status.choices)

    class Meta:
        model = BatchRun
        fields = ["programme", "status"]


class BatchPairFilter(filters.FilterSet):
    pinned = filters.BooleanFilter()
    accepted = filters.BooleanFilter(field_name="match", lookup_expr="isnull", exclude=True)

    class Meta:
        model = BatchPair
        fields = ["pinned", "accepted"]


class BatchUnmatchedFilter(filters.FilterSet):
    reason = filters.ChoiceFilter(choices=BatchUnmatched.Reason.choices)
    language = filters.CharFilter()

    class Meta:
        model = BatchUnmatched
        fields = ["reason", "language"]


# --- Views -----------------------------------------------------------------------------------


class BatchRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Batch runs of the programmes the user coordinates, newest first. Reading one is audited."""

    model = BatchRun
    serializer_class = BatchRunSerializer
    filterset_class = BatchRunFilter

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), CoordinatesAProgramme()]
        return super().get_permissions()

    def get_visible_queryset(self):
        return batch_run_list_visible_to(user=self.request.user)

    def get_object(self):
        return batch_run_get_for_user(user=self.request.user, run_id=self.object_id, request=self.request)

    def _accepted(self, run: BatchRun) -> Response:
        location = reverse("api-batch-run-detail", kwargs={"pk": run.pk}, request=self.request)
        run = self.get_visible_queryset().get(pk=run.pk)
        return Response(
            BatchRunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )

    @extend_schema(
        request=BatchRunCreateSerializer,
        responses={202: OpenApiResponse(BatchRunSerializer, description="Accepted: the run, queued.")},
    )
    def create(self, request):
        """Ask for the optimal matching of a programme's waiting list under the mentors'
        capacities and every hard rule, with the chosen objective, optional priority for long
        waits, and pairs pinned or forbidden. A worker computes it; poll its progress."""
        serializer = BatchRunCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = batch_run_create(
            programme=data["programme"],
            created_by=request.user,
            objective=data["objective"],
            wait_priority=data["wait_priority"],
            pinned=data["pinned"],
            forbidden=data["forbidden"],
            request=request,
        )
        return self._accepted(run)

    @extend_schema(
        request=BatchRunRerunSerializer,
        responses={202: OpenApiResponse(BatchRunSerializer, description="Accepted: the new run, queued.")},
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def rerun(self, request, pk=None):
        """Run again with pins and forbids changed: a new run whose `previous` is this one."""
        run = self.get_object()
        serializer = BatchRunRerunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_run = batch_run_rerun(
            run=run, created_by=request.user, request=request, **serializer.validated_data
        )
        return self._accepted(new_run)

    @extend_schema(request=BatchRunAcceptSerializer, responses={200: BatchAcceptResultSerializer})
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def accept(self, request, pk=None):
        """Accept all or some pairs of a run ready for review: each becomes a proposed match
        (as a single match is made). Pairs that can no longer be made (the mentor is full, the
        mentee was matched meanwhile, accepted already) come back in `refused` with the reason;
        the others are made."""
        run = self.get_object()
        serializer = BatchRunAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        made = batch_run_accept(
            run=run,
            created_by=request.user,
            pair_ids=None if data["all"] else data["pair_ids"],
            request=request,
        )
        # Shown as the match list shows them (the same rows, prefetched alike).
        matches = (
            match_list_visible_to(user=request.user)
            .prefetch_related("mentee__person__languages", "mentee__person__needs")
            .filter(pk__in=[match.pk for match in made])
        )
        body = {"matches": matches, "refused": made.refused}
        return Response(BatchAcceptResultSerializer(body, context=self.get_serializer_context()).data)

    def _filtered_page(self, filterset_class, queryset, serializer_class, worded) -> Response:
        # The filter of the rows of one run (the viewset's own filter is of runs); the page's
        # stored texts ``worded`` in the reader's language.
        filterset = filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        if page is not None:
            page = worded(page)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    @extend_schema(
        responses={200: BatchPairSerializer(many=True)},
        filters=False,
        parameters=[
            OpenApiParameter("pinned", bool, description="Pinned pairs only (or only the others)"),
            OpenApiParameter("accepted", bool, description="Pairs already made into matches (or not)"),
        ],
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def pairs(self, request, pk=None):
        """The proposed pairs, best first, each with the parts of its score."""
        run = self.get_object()
        return self._filtered_page(
            BatchPairFilter,
            batch_pair_list(run=run),
            BatchPairSerializer,
            lambda pairs: batch_pairs_worded(run=run, pairs=pairs),
        )

    @extend_schema(
        responses={200: BatchUnmatchedSerializer(many=True)},
        filters=False,
        parameters=[
            OpenApiParameter("reason", str, enum=BatchUnmatched.Reason.values),
            OpenApiParameter("language", str, description="The mentees' preferred language (ISO 639)"),
        ],
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def unmatched(self, request, pk=None):
        """The waiting mentees the run left unmatched, each with the reason."""
        run = self.get_object()
        return self._filtered_page(
            BatchUnmatchedFilter,
            batch_unmatched_list(run=run),
            BatchUnmatchedSerializer,
            lambda rows: batch_unmatched_worded(run=run, rows=rows),
        )

    @extend_schema(responses={200: BatchRecruitmentNeedSerializer(many=True)}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="recruitment-needs",
        filterset_class=None,
        pagination_class=None,
    )
    def recruitment_needs(self, request, pk=None):
        """The unmatched mentees' reasons summed by preferred language and by cultural
        background, largest first: which mentors the programme should recruit."""
        run = self.get_object()
        needs = [
            {**item, "value": None if item["value"] is None else str(item["value"])}
            for item in recruitment_needs(run=run)
        ]
        return Response(BatchRecruitmentNeedSerializer(needs, many=True).data)
