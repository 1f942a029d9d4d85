"""REST endpoints of session logs (``/api/v1/session-logs/``).

Thin: reads go through ``sessions.selectors``; a log is written only by
``sessions.services.session_log_create``, which also makes a retry with the same
``idempotency_key`` answer with the first log instead of writing a second, and corrected only
by ``session_log_update`` (``PATCH``), whose history is ``GET .../{id}/history/``.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from matching.models import Match
from mentoring.models import User
from mentoring.permissions import coordinated_programmes
from sessions.models import Participant, SessionLog, SessionLogRevision
from sessions.selectors import (
    session_log_editable_by,
    session_log_get_for_user,
    session_log_list_visible_to,
)
from sessions.selectors.logs import match_list_loggable_by, session_log_revisions
from sessions.services import session_log_create, session_log_update

_TOPICS_HELP = "Codes of the programme's session topics (its own vocabulary, else the default topics)."

# --- Serializers -----------------------------------------------------------------------------


class SessionLogSerializer(serializers.ModelSerializer):
    participants = serializers.ListField(child=serializers.ChoiceField(choices=Participant.choices))
    topics = serializers.ListField(child=serializers.CharField(), help_text=_TOPICS_HELP)
    editable = serializers.SerializerMethodField(
        help_text="Whether the requesting user may still correct this log (PATCH)."
    )

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
            "shared_key",
            "updated_by",
            "editable",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_editable(self, log: SessionLog) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        # Asked once per response, not once per row (the context is shared by a list's rows),
        # and only of coordinators: nobody else's answer depends on it.
        if request.user.role == User.Role.COORDINATOR and "coordinated_programme_ids" not in self.context:
            self.context["coordinated_programme_ids"] = set(
                coordinated_programmes(user=request.user).values_list("pk", flat=True)
            )
        coordinated = self.context.get("coordinated_programme_ids")
        return session_log_editable_by(log=log, user=request.user, coordinated_programme_ids=coordinated)


class SessionLogCreateSerializer(serializers.ModelSerializer):
    """The input of a new log. Field types and bounds come from the model; the rules about the
    match (its mentor, active) and the date are the service's."""

    match = VisiblePrimaryKeyField(
        model=Match, visible_to=match_list_loggable_by, help_text="One of your active matches"
    )
    participants = serializers.ListField(
        child=serializers.ChoiceField(choices=Participant.choices), help_text="Who took part (at least one)"
    )
    topics = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, help_text=_TOPICS_HELP
    )
    also_matches = serializers.ListField(
        child=VisiblePrimaryKeyField(model=Match, visible_to=match_list_loggable_by),
        required=False,
        help_text=(
            "Your other active matches with a mentee of the same family who took part: each gets "
            "a log with the same content (they share one `shared_key`)."
        ),
    )
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
            "also_matches",
        ]


class SessionLogUpdateSerializer(serializers.ModelSerializer):
    """A correction of a log: any of these fields; the rules (who, until when) are
    ``session_log_update``'s. Fields the programme hides are ignored."""

    participants = serializers.ListField(
        child=serializers.ChoiceField(choices=Participant.choices), help_text="Who took part (at least one)"
    )
    topics = serializers.ListField(child=serializers.CharField(max_length=40), help_text=_TOPICS_HELP)

    class Meta:
        model = SessionLog
        fields = [
            "held_on",
            "duration_minutes",
            "mode",
            "participants",
            "topics",
            "language",
            "interpreter_used",
            "notes",
            "follow_ups",
        ]
        extra_kwargs = {field: {"required": False} for field in fields}


class SessionLogRevisionSerializer(serializers.ModelSerializer):
    changes = serializers.DictField(
        child=serializers.ListField(min_length=2, max_length=2),
        help_text="{field: [before, after]} of the fields this change changed.",
    )

    class Meta:
        model = SessionLogRevision
        fields = ["id", "changed_by", "changed_at", "changes"]
        read_only_fields = fields


# --- Filters ---------------------------------------------------------------------------------


class SessionLogFilter(filters.FilterSet):
    match = IdFilter(field_name="match_id")

    class Meta:
        model = SessionLog
        fields = ["match"]


# --- Views -----------------------------------------------------------------------------------


class SessionLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: every log of their programmes; mentors: the logs of their own matches.
    Reading one log is audited. Mentors correct their own log for 7 days, coordinators always."""

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
            SessionLogSerializer(log, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=SessionLogUpdateSerializer, responses={200: SessionLogSerializer})
    def partial_update(self, request, pk=None):
        """Correct a log: its author for 7 days after writing it, the programme's coordinators
        at any time. The other logs of the same meeting (same `shared_key`) get the same
        correction; each change is kept in the log's history."""
        log = self.get_object()
        serializer = SessionLogUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        log = session_log_update(log=log, user=request.user, request=request, **serializer.validated_data)
        return Response(SessionLogSerializer(log, context=self.get_serializer_context()).data)

    @extend_schema(responses={200: SessionLogRevisionSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        """The log's changes, oldest first; visible to whoever can read the log."""
        log = self.get_object()
        return Response(SessionLogRevisionSerializer(session_log_revisions(log=log), many=True).data)
