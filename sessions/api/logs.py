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
from mentoring.models import SessionMode, User
from mentoring.permissions import coordinated_programmes
from sessions.models import Participant, SessionLog, SessionLogRevision
from sessions.selectors import (
    session_log_editable_by,
    session_log_get_for_user,
    session_log_list_visible_to,
)
from sessions.selectors.logs import match_list_loggable_by, session_log_revisions
from sessions.services import session_log_create, session_log_update
from sessions.services.logs import EDITABLE_FIELDS

_TOPICS_HELP = "Codes of the programme's session topics (its own vocabulary, else the default topics)."

# --- Serializers -----------------------------------------------------------------------------


class SessionLogSerializer(serializers.Serializer):
    """A session log as the API shows it. Fields are declared, not read from the model, so the
    one-request write path (a mentor on a phone) does not rebuild them on every call."""

    id = serializers.IntegerField(read_only=True)
    match = serializers.IntegerField(source="match_id", read_only=True)
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)
    held_on = serializers.DateField(read_only=True)
    duration_minutes = serializers.IntegerField(read_only=True)
    mode = serializers.ChoiceField(choices=SessionMode.choices, read_only=True)
    participants = serializers.ListField(
        child=serializers.ChoiceField(choices=Participant.choices), read_only=True
    )
    topics = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=_TOPICS_HELP)
    language = serializers.CharField(read_only=True, help_text="ISO 639 code of the language used")
    interpreter_used = serializers.BooleanField(read_only=True)
    notes = serializers.CharField(read_only=True, help_text="Private to the mentor and coordinators")
    follow_ups = serializers.CharField(read_only=True)
    shared_key = serializers.UUIDField(
        read_only=True,
        allow_null=True,
        help_text="The same on every log of one meeting with several mentees of a family.",
    )
    updated_by = serializers.IntegerField(source="updated_by_id", read_only=True, allow_null=True)
    editable = serializers.SerializerMethodField(
        help_text="Whether the requesting user may still correct this log (PATCH)."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

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


class SessionLogCreateSerializer(serializers.Serializer):
    """The input of a new log: the shape only. The rules about the match (its mentor, active),
    the date, the topics and the language are the service's."""

    held_on = serializers.DateField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=600, help_text="From 5 to 600.")
    mode = serializers.ChoiceField(choices=SessionMode.choices)
    language = serializers.CharField(max_length=3, help_text="ISO 639 code of the language used")
    interpreter_used = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Private to the mentor and coordinators"
    )
    follow_ups = serializers.CharField(required=False, allow_blank=True, default="")

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


class SessionLogUpdateSerializer(serializers.ModelSerializer):
    """A correction of a log: any of these fields; the rules (who, until when) are
    ``session_log_update``'s. Fields the programme hides are ignored."""

    participants = serializers.ListField(
        child=serializers.ChoiceField(choices=Participant.choices), help_text="Who took part (at least one)"
    )
    topics = serializers.ListField(child=serializers.CharField(max_length=40), help_text=_TOPICS_HELP)

    class Meta:
        model = SessionLog
        fields = list(EDITABLE_FIELDS)
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
