"""REST endpoints of the coordinators' attention flags (``/api/v1/attention-flags/``).

Thin: the flags come from ``sessions.selectors.health`` (open flags of the programmes the user
coordinates; mentors and managers see none) and are dismissed only by
``sessions.services.health.attention_flag_dismiss``. Flags carry figures and ids, never a name.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import IdFilter, ScopedViewSet
from sessions.models import AttentionFlag
from sessions.selectors.health import attention_flag_get_for_user, attention_flags_visible_to
from sessions.services.health import attention_flag_dismiss

KIND_SCHEMA = {
    "type": "string",
    "description": "One of: " + ", ".join(f"`{kind}`" for kind in AttentionFlag.Kind.values),
}


@extend_schema_field(KIND_SCHEMA)
class AttentionFlagKindField(serializers.CharField):
    """The flag's kind, documented as a string listing its values. As an enum it would collide
    with ``Concern.kind``'s (both fields are called ``kind``) until
    ``SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]`` names it (``AttentionFlagKindEnum``)."""


class AttentionFlagSerializer(serializers.ModelSerializer):
    kind = AttentionFlagKindField(read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = AttentionFlag
        fields = [
            "id",
            "programme",
            "kind",
            "kind_display",
            "subject",
            "match",
            "mentor",
            "concern",
            "since",
            "details",
            "raised_at",
            "resolved_at",
        ]
        read_only_fields = fields


@extend_schema_field(KIND_SCHEMA)
class AttentionFlagKindFilter(filters.ChoiceFilter):
    """A ``kind`` query parameter, documented as a string for the reason above."""


class AttentionFlagFilter(filters.FilterSet):
    kind = AttentionFlagKindFilter(choices=AttentionFlag.Kind.choices)
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = AttentionFlag
        fields = ["kind", "programme"]


class AttentionFlagViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The open attention flags of the programmes you coordinate, oldest condition first.
    Raised and resolved by the match-health job; mentors and managers see none."""

    model = AttentionFlag
    serializer_class = AttentionFlagSerializer
    filterset_class = AttentionFlagFilter

    def get_visible_queryset(self):
        return attention_flags_visible_to(user=self.request.user)

    @extend_schema(request=None, responses={200: AttentionFlagSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Dismiss a family-uncertain flag once you have looked into it. Other flags end by
        themselves when their condition ends and cannot be dismissed."""
        flag = attention_flag_get_for_user(user=request.user, flag_id=self.object_id)
        flag = attention_flag_dismiss(flag=flag, user=request.user, request=request)
        return Response(AttentionFlagSerializer(flag).data)
