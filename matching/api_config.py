"""REST endpoints of a programme's matching settings (``/api/v1/``): the pairs that must never
be matched (``match-exclusions``) and the scoring weights (``programmes/{id}/scoring/``).

Thin: writes go through ``matching.services`` (``match_exclusion_create`` / ``_delete``,
``scoring_config_update``), which check who may write and every rule.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import lazy
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
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
from matching.api import choices_schema
from matching.models import MatchExclusion, ScoringConfig
from matching.services import (
    SCORING_FIELDS,
    SCORING_LIMITS,
    match_exclusion_create,
    match_exclusion_delete,
    scoring_config_update,
)
from mentoring.audit import audited_get
from mentoring.errors import NotFound
from mentoring.models import Mentee, Mentor, Programme, User
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import mentee_list_visible_to, mentor_list_visible_to, programme_list_visible_to

# --- Reads --------------------------------------------------------------------------------------


def match_exclusion_list_visible_to(*, user: User) -> QuerySet[MatchExclusion]:
    """The exclusion lists of the programmes the user coordinates (admins: all); nobody else
    reads them: a pair's exclusion says something about both people."""
    return (
        MatchExclusion.objects.filter(programme__in=coordinated_programmes(user=user))
        .select_related("mentor__person", "mentee__person")
        .order_by("-created_at", "-pk")
    )


def match_exclusion_get_for_user(
    *, user: User, exclusion_id: int, request: HttpRequest | None = None
) -> MatchExclusion:
    return audited_get(
        match_exclusion_list_visible_to(user=user), pk=exclusion_id, user=user, request=request
    )


def _mentees_coordinated_by(*, user: User):
    return mentee_list_visible_to(user=user).filter(programme__in=coordinated_programmes(user=user))


def _mentors_coordinated_by(*, user: User):
    return mentor_list_visible_to(user=user).filter(programme__in=coordinated_programmes(user=user))


# --- Exclusions -------------------------------------------------------------------------------


@extend_schema_field(choices_schema(MatchExclusion.Reason))
class ExclusionReasonField(serializers.ChoiceField):
    """Why the pair is excluded: ``MatchExclusion.Reason`` (an inline enum, as ``choices_schema``
    explains)."""


class MatchExclusionSerializer(serializers.ModelSerializer):
    reason = ExclusionReasonField(choices=MatchExclusion.Reason.choices, read_only=True)
    mentor_name = serializers.CharField(source="mentor.person.full_name", read_only=True)
    mentee_name = serializers.CharField(source="mentee.person.full_name", read_only=True)

    class Meta:
        model = MatchExclusion
        fields = [
            "id",
            "programme",
            "mentor",
            "mentor_name",
            "mentee",
            "mentee_name",
            "reason",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class MatchExclusionCreateSerializer(serializers.Serializer):
    mentor = VisiblePrimaryKeyField(
        model=Mentor, visible_to=_mentors_coordinated_by, help_text="A mentor of your programme"
    )
    mentee = VisiblePrimaryKeyField(
        model=Mentee, visible_to=_mentees_coordinated_by, help_text="A mentee of the same programme"
    )
    reason = ExclusionReasonField(choices=MatchExclusion.Reason.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text='Required when the reason is "other"'
    )


class MatchExclusionFilter(filters.FilterSet):
    mentor = IdFilter(field_name="mentor_id")
    mentee = IdFilter(field_name="mentee_id")
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = MatchExclusion
        fields = ["mentor", "mentee", "programme"]


class MatchExclusionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet
):
    """Pairs that must never be matched (relatives, a conflict of interest): never suggested,
    proposed nor matched. The programme's coordinators and admins only."""

    model = MatchExclusion
    serializer_class = MatchExclusionSerializer
    filterset_class = MatchExclusionFilter

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), CoordinatesAProgramme()]
        return super().get_permissions()

    def get_visible_queryset(self):
        return match_exclusion_list_visible_to(user=self.request.user)

    def get_object(self):
        return match_exclusion_get_for_user(
            user=self.request.user, exclusion_id=self.object_id, request=self.request
        )

    @extend_schema(request=MatchExclusionCreateSerializer, responses={201: MatchExclusionSerializer})
    def create(self, request):
        """Exclude a pair. Refused for a pair already excluded and for one with an open match
        (close it first)."""
        serializer = MatchExclusionCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exclusion = match_exclusion_create(
            mentor=data["mentor"],
            mentee=data["mentee"],
            reason=data["reason"],
            note=data["note"],
            created_by=request.user,
            request=request,
        )
        exclusion = self.get_visible_queryset().get(pk=exclusion.pk)
        return Response(MatchExclusionSerializer(exclusion).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: MatchExclusion) -> None:
        match_exclusion_delete(exclusion=instance, deleted_by=self.request.user, request=self.request)


# --- Scoring weights ----------------------------------------------------------------------------


# Worded when an error is shown, in the reader's language (the serializer is built at import).
_range_message = lazy(
    lambda low, high: gettext("Give a value from %(low)s to %(high)s.") % {"low": low, "high": high}, str
)


def _limit_text(name: str) -> str:
    low, high = SCORING_LIMITS[name]
    return f" ({low}–{high})"


class ScoringConfigSerializer(serializers.ModelSerializer):
    is_default = serializers.SerializerMethodField(
        help_text="True while the programme uses the default weights (nothing saved yet)"
    )
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the weights were last saved; null for the defaults"
    )

    class Meta:
        model = ScoringConfig
        fields = ["programme", *SCORING_FIELDS, "is_default", "updated_at", "updated_by"]
        read_only_fields = ["programme", "is_default", "updated_at", "updated_by"]
        # The ranges are the service's (``SCORING_LIMITS``), repeated here so every field's
        # error is answered at once and the schema shows each range.
        extra_kwargs = {
            name: {
                "required": False,
                "help_text": str(ScoringConfig._meta.get_field(name).help_text) + _limit_text(name),
                "min_value": SCORING_LIMITS[name][0],
                "max_value": SCORING_LIMITS[name][1],
                "error_messages": dict.fromkeys(
                    ("min_value", "max_value"), _range_message(*SCORING_LIMITS[name])
                ),
            }
            for name in SCORING_FIELDS
        }

    def get_is_default(self, config: ScoringConfig) -> bool:
        return config.pk is None


class ProgrammeScoringView(GenericAPIView):
    """A programme's matching weights: read by its staff (coordinators and managers), changed
    by its coordinators and admins. A programme that has saved none answers the defaults."""

    schema = ErrorDocumentingAutoSchema()
    serializer_class = ScoringConfigSerializer
    pagination_class = None
    filter_backends: list = []

    def _programme(self, programme_id) -> Programme:
        number = as_id(programme_id)
        programme = (
            programme_list_visible_to(user=self.request.user).filter(pk=number).first() if number else None
        )
        if programme is None:
            raise NotFound(gettext("Programme not found."))
        return programme

    def get_object(self) -> ScoringConfig:
        """The weights of the programme in the URL (also what DRF's OPTIONS answer describes)."""
        return ScoringConfig.for_programme(self._programme(self.kwargs["programme_id"]).pk)

    @extend_schema(responses={200: ScoringConfigSerializer})
    def get(self, request, programme_id: int):
        return Response(ScoringConfigSerializer(self.get_object()).data)

    @extend_schema(request=ScoringConfigSerializer, responses={200: ScoringConfigSerializer})
    def put(self, request, programme_id: int):
        """Set the weights; fields left out keep their current value. Each value has its range,
        and the preferred language scores native ≥ fluent ≥ basic."""
        programme = self._programme(programme_id)
        serializer = ScoringConfigSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        config = scoring_config_update(
            programme=programme,
            updated_by=request.user,
            values=dict(serializer.validated_data),
            request=request,
        )
        return Response(ScoringConfigSerializer(config).data)
