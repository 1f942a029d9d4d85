"""REST endpoints of concerns (``/api/v1/concerns/``) and of each user's inbox
(``/api/v1/notifications/``).

Thin: rows come from ``sessions.selectors.concerns`` (coordinators: their programmes'
concerns; mentors: the ones they raised; anyone else: none), writes from
``sessions.services.concerns``. A mentor may read their own concern but not act on it: the
transition endpoints answer 403 for them.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import IdFilter, ScopedViewSet, VisiblePrimaryKeyField
from matching.models import Match
from matching.selectors import match_list_visible_to
from mentoring.models import Mentee
from sessions.models import Concern, Notification, SessionLog
from sessions.selectors import session_log_list_visible_to
from sessions.selectors.concerns import (
    concern_get_for_user,
    concern_list_visible_to,
    concern_mentees_for,
    notification_list_for,
)
from sessions.services.concerns import concern_acknowledge, concern_close, concern_raise, concern_refer
from sessions.services.notifications import notification_mark_read

# --- Serializers -----------------------------------------------------------------------------


class ConcernSerializer(serializers.ModelSerializer):
    # Declared so the schema allows "" (not referred yet): DRF drops allow_blank from read-only fields.
    referred_to = serializers.ChoiceField(
        choices=Concern.ReferredTo.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Concern
        fields = [
            "id",
            "programme",
            "mentee",
            "match",
            "session_log",
            "raised_by",
            "kind",
            "severity",
            "description",
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "referred_to",
            "referral_note",
            "referred_at",
            "closed_by",
            "closed_at",
            "closure_note",
            "created_at",
        ]
        read_only_fields = fields


class ConcernRaiseSerializer(serializers.Serializer):
    """The input of a new concern. Who may raise one about whom is the service's rule; an id
    the user may not see is simply not found."""

    mentee = VisiblePrimaryKeyField(
        model=Mentee,
        visible_to=concern_mentees_for,
        help_text="Mentors: a mentee of one of your active or paused matches",
    )
    match = VisiblePrimaryKeyField(
        model=Match,
        visible_to=match_list_visible_to,
        required=False,
        allow_null=True,
        help_text="Defaults to the mentee's current match",
    )
    session_log = VisiblePrimaryKeyField(
        model=SessionLog,
        visible_to=session_log_list_visible_to,
        required=False,
        allow_null=True,
        help_text="The session log the concern arose from, if any",
    )
    kind = serializers.ChoiceField(choices=Concern.Kind.choices, default=Concern.Kind.WELL_BEING)
    severity = serializers.ChoiceField(choices=Concern.Severity.choices)
    description = serializers.CharField(
        help_text="What worries you; read only by the programme's coordinators"
    )


class ConcernReferSerializer(serializers.Serializer):
    referred_to = serializers.ChoiceField(choices=Concern.ReferredTo.choices)
    referral_note = serializers.CharField(help_text="Whom it was referred to, when and how")


class ConcernCloseSerializer(serializers.Serializer):
    closure_note = serializers.CharField(help_text="Why the concern can be closed")


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class NotificationMarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),  # a larger id is a 400, not a 500
        required=False,
        help_text="The notifications to mark read; ids of other users' notifications are ignored",
    )
    all = serializers.BooleanField(default=False, help_text="Mark every unread notification read")

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError(_("Give the ids to mark read, or all: true."), code="required")
        return attrs


class NotificationMarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were unread and are now read")


# --- Filters ---------------------------------------------------------------------------------


class ConcernFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Concern.Status.choices)
    severity = filters.ChoiceFilter(choices=Concern.Severity.choices)
    programme = IdFilter(field_name="programme_id")

    class Meta:
        model = Concern
        fields = ["status", "severity", "programme"]


# --- Views -----------------------------------------------------------------------------------


class ConcernViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Coordinators: the concerns of their programmes, open and most severe first; mentors:
    the concerns they raised. Reading one concern is audited."""

    model = Concern
    serializer_class = ConcernSerializer
    filterset_class = ConcernFilter

    def get_visible_queryset(self):
        return concern_list_visible_to(user=self.request.user)

    def get_object(self):
        return concern_get_for_user(user=self.request.user, concern_id=self.object_id, request=self.request)

    @extend_schema(request=ConcernRaiseSerializer, responses={201: ConcernSerializer})
    def create(self, request):
        """Raise a concern about a mentee; every coordinator of the programme is told at once."""
        serializer = ConcernRaiseSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        concern = concern_raise(raised_by=request.user, request=request, **serializer.validated_data)
        return Response(ConcernSerializer(concern).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ConcernSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Take the concern on (open → acknowledged). Coordinators of the programme only."""
        concern = concern_acknowledge(
            concern=self.get_object(), acknowledged_by=request.user, request=request
        )
        return Response(ConcernSerializer(concern).data)

    @extend_schema(request=ConcernReferSerializer, responses={200: ConcernSerializer})
    @action(detail=True, methods=["post"])
    def refer(self, request, pk=None):
        """Record the referral to another service (acknowledged → referred)."""
        concern = self.get_object()
        serializer = ConcernReferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        concern = concern_refer(
            concern=concern, referred_by=request.user, request=request, **serializer.validated_data
        )
        return Response(ConcernSerializer(concern).data)

    @extend_schema(request=ConcernCloseSerializer, responses={200: ConcernSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close an acknowledged or referred concern with a note (an open one is acknowledged first)."""
        concern = self.get_object()
        serializer = ConcernCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        concern = concern_close(
            concern=concern, closed_by=request.user, request=request, **serializer.validated_data
        )
        return Response(ConcernSerializer(concern).data)


class NotificationViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The signed-in user's own notifications, unread first."""

    model = Notification
    serializer_class = NotificationSerializer

    def get_visible_queryset(self):
        return notification_list_for(user=self.request.user)

    @extend_schema(
        request=NotificationMarkReadSerializer, responses={200: NotificationMarkReadResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        """Mark some of your notifications (``ids``) or all of them (``all: true``) read."""
        serializer = NotificationMarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        marked = notification_mark_read(
            user=request.user, notification_ids=None if data["all"] else data["ids"]
        )
        return Response({"marked": marked})
