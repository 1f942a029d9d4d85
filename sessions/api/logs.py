"""REST endpoints of session logs (``/api/v1/session-logs/``).

Thin: reads go through ``sessions.selectors``; a log is written only by
``sessions.services.session_log_create``, which also makes a retry with the same
``idempotency_key`` answer with the first log instead of writing a second.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from config.api import IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from matching.models import Match
from matching.selectors import match_list_visible_to
from sessions.models import Participant, SessionLog, Topic
from sessions.selectors import session_log_get_for_user, session_log_list_visible_to
from sessions.services import session_log_create

# --- Serializers -----------------------------------------------------------------------------


class SessionLogSerializer(serializers.ModelSerializer):
    participants = serializers.ListField(child=serializers.ChoiceField(choices=Participant.choices))
    topics = serializers.ListField(child=serializers.ChoiceField(choices=Topic.choices))

    class Meta:
        model = SessionLog
        fields = [
            "id",
            "match",
            "author",
            "held_on",
            "duration_minutes",
            "mode",
            "participants",
            "topics",
            "language",
            "interpreter_used",
            "notes",
            "follow_ups",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SessionLogCreateSerializer(serializers.ModelSerializer):
    """The input of a new log. Field types and bounds come from the model; the rules about the
    match (its mentor, active) and the date are the service's."""

    match = VisiblePrimaryKeyField(
        model=Match, visible_to=match_list_visible_to, help_text="One of your active matches"
    )
    participants = serializers.ListField(
        child=serializers.ChoiceField(choices=Participant.choices), help_text="Who took part (at least one)"
    )
    topics = serializers.ListField(child=serializers.ChoiceField(choices=Topic.choices), required=False)
    idempotency_key = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=(
            "A UUID the client makes once per log and sends again on every retry of the same "
            "submission: a retry answers 200 with the first log instead of writing a second."
        ),
    )

    class Meta:
        model = SessionLog
        fields = [
            "match",
            "held_on",
            "duration_minutes",
            "mode",
            "participants",
            "topics",
            "language",
            "interpreter_used",
            "notes",
            "follow_ups",
            "idempotency_key",
        ]


# --- Filters ---------------------------------------------------------------------------------


class SessionLogFilter(filters.FilterSet):
    match = IdFilter(field_name="match_id")

    class Meta:
        model = SessionLog
        fields = ["match"]


# --- Views -----------------------------------------------------------------------------------


class SessionLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: every log of their programmes; mentors: the logs of their own matches.
    Reading one log is audited."""

    model = SessionLog
    serializer_class = SessionLogSerializer
    filterset_class = SessionLogFilter

    def get_visible_queryset(self):
        return session_log_list_visible_to(user=self.request.user)

    def get_object(self):
        return session_log_get_for_user(
            user=self.request.user, session_log_id=self.object_id, request=self.request
        )

    @extend_schema(
        request=SessionLogCreateSerializer,
        responses={
            201: SessionLogSerializer,
            200: OpenApiResponse(
                SessionLogSerializer, description="A retry with a used idempotency key: the first log."
            ),
        },
    )
    def create(self, request):
        """Log a session of one of your active matches (mentors only)."""
        serializer = SessionLogCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        log, created = session_log_create(author=request.user, request=request, **serializer.validated_data)
        return Response(
            SessionLogSerializer(log).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
