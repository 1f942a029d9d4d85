"""REST endpoints of explained suggestions (``/api/v1/``): the best mentors for a waiting mentee,
the best waiting mentees for a mentor, and the full explanation of one pair ("why not this
mentor?").

Coordinators of the programme and admins only; anyone else is told the record is not found,
exactly as for another programme's record. Reading the mentee (or the mentor) is audited.
Scoring and ranking are ``matching.engine``'s; the rows come from ``matching.selectors``.
"""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from config.api import ErrorDocumentingAutoSchema, ErrorResponseSerializer
from matching.selectors import (
    mentee_suggestions_for_mentor,
    mentor_suggestions_for_mentee,
    pair_explanation,
)
from mentoring.audit import audit_record, audited_get
from mentoring.errors import NotFound
from mentoring.models import AuditEvent, Mentee, Mentor, User
from mentoring.selectors import (
    mentee_get_for_user,
    mentee_reference_for_user,
    mentor_get_for_user,
    mentor_list_visible_to,
)

MAX_LIMIT = 50

# --- Serializers -----------------------------------------------------------------------------


class SuggestionQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=MAX_LIMIT, help_text="How many suggestions (1–50)"
    )


class ScorePartSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="preferred_language, shared_language, shared_background, availability, session_mode, "
        "distance, needs, gender_preference, family_continuity, wait or consent_missing"
    )
    points = serializers.IntegerField(help_text="May be negative (distance)")
    reason = serializers.CharField(help_text="In the coordinator's words: “Speaks Romanian natively”")


class ExcludedRuleSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The hard rule, in the coordinator's words")
    count = serializers.IntegerField(help_text="How many people it excluded")


class SuggestedMentorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")
    capacity = serializers.IntegerField()


class SuggestedMenteeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    first_name = serializers.CharField(source="person.first_name")
    last_name = serializers.CharField(source="person.last_name")
    family_reference = serializers.CharField(source="family.reference")
    waiting_since = serializers.DateField(allow_null=True)


class MentorSuggestionSerializer(serializers.Serializer):
    mentor = SuggestedMentorSerializer(source="person")
    score = serializers.IntegerField(help_text="The sum of the parts' points")
    parts = ScorePartSerializer(many=True, source="explanation.parts")
    language_concordant = serializers.BooleanField(
        help_text="The mentor speaks the mentee's preferred language"
    )
    free_places = serializers.IntegerField()


class MenteeSuggestionSerializer(serializers.Serializer):
    mentee = SuggestedMenteeSerializer(source="person")
    score = serializers.IntegerField(help_text="The sum of the parts' points")
    parts = ScorePartSerializer(many=True, source="explanation.parts")
    language_concordant = serializers.BooleanField(
        help_text="The mentor speaks the mentee's preferred language"
    )


def _excluded(pairs: list[tuple[str, int]]) -> list[dict]:
    return [{"rule": rule, "count": count} for rule, count in pairs]


class MentorSuggestionListSerializer(serializers.Serializer):
    mentee = serializers.IntegerField(help_text="The mentee's id")
    considered = serializers.IntegerField(help_text="How many mentors were scored")
    results = MentorSuggestionSerializer(many=True, help_text="Best first; only mentors who may be matched")
    excluded = ExcludedRuleSerializer(many=True, help_text="How many mentors each hard rule excluded")


class MenteeSuggestionListSerializer(serializers.Serializer):
    mentor = serializers.IntegerField(help_text="The mentor's id")
    considered = serializers.IntegerField(help_text="How many waiting mentees were scored")
    results = MenteeSuggestionSerializer(many=True, help_text="Best first; only mentees who may be matched")
    excluded = ExcludedRuleSerializer(many=True, help_text="How many mentees each hard rule excluded")


class PairExplanationSerializer(serializers.Serializer):
    mentee = serializers.IntegerField(help_text="The mentee's id")
    mentor = SuggestedMentorSerializer()
    free_places = serializers.IntegerField(help_text="The mentor's free places now")
    score = serializers.IntegerField(help_text="The sum of the parts' points")
    parts = ScorePartSerializer(many=True)
    language_concordant = serializers.BooleanField()
    feasible = serializers.BooleanField(help_text="The pair may be matched now")
    excluded_by = serializers.ListField(
        child=serializers.CharField(), help_text="The hard rules that exclude the pair; empty when feasible"
    )


# --- Views -----------------------------------------------------------------------------------

BAD_LIMIT = OpenApiResponse(ErrorResponseSerializer, description="Invalid limit: the error names the field.")


def _refuse_unless_coordinator(request, *, model, object_id: int) -> None:
    """Suggestions are a coordinator's tool: a mentor sees their own mentees but may not browse
    suggestions, a manager reads no records. Both are told "not found", and it is audited. (A
    coordinator is refused the same way by the record's lookup when it is not in their
    programmes.)"""
    user = request.user
    if not (user.is_admin or user.role == User.Role.COORDINATOR):
        audit_record(
            user=request.user,
            action=AuditEvent.Action.DENIED,
            object_type=model._meta.label,
            object_id=object_id,
            request=request,
        )
        raise NotFound(gettext("Mentor not found.") if model is Mentor else gettext("Mentee not found."))


def _limit(request) -> int:
    query = SuggestionQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data["limit"]


class SuggestionView(GenericAPIView):
    schema = ErrorDocumentingAutoSchema()
    pagination_class = None
    filter_backends: list = []


class MenteeSuggestionListView(SuggestionView):
    """The best mentors for a mentee, each with the named parts of its score, and how many
    mentors each hard rule excluded. Coordinators of the mentee's programme and admins only."""

    serializer_class = MentorSuggestionListSerializer

    @extend_schema(
        parameters=[SuggestionQuerySerializer],
        responses={200: MentorSuggestionListSerializer, 400: BAD_LIMIT},
    )
    def get(self, request, mentee_id: int):
        _refuse_unless_coordinator(request, model=Mentee, object_id=mentee_id)
        limit = _limit(request)
        # The engine reads the mentee's attributes itself: only the id and programme here.
        mentee = mentee_reference_for_user(user=request.user, mentee_id=mentee_id, request=request)
        suggestions = mentor_suggestions_for_mentee(mentee=mentee, limit=limit, languages=False)
        data = {
            "mentee": mentee.pk,
            "considered": suggestions.considered,
            "results": suggestions.items,
            "excluded": _excluded(suggestions.excluded),
        }
        return Response(MentorSuggestionListSerializer(data).data)


class MentorSuggestionListView(SuggestionView):
    """The best waiting mentees for a mentor, each with the named parts of its score, and how
    many mentees each hard rule excluded. Coordinators of the mentor's programme and admins only."""

    serializer_class = MenteeSuggestionListSerializer

    @extend_schema(
        parameters=[SuggestionQuerySerializer],
        responses={200: MenteeSuggestionListSerializer, 400: BAD_LIMIT},
    )
    def get(self, request, mentor_id: int):
        _refuse_unless_coordinator(request, model=Mentor, object_id=mentor_id)
        limit = _limit(request)
        mentor = mentor_get_for_user(user=request.user, mentor_id=mentor_id, request=request)
        suggestions = mentee_suggestions_for_mentor(mentor=mentor, limit=limit)
        data = {
            "mentor": mentor.pk,
            "considered": suggestions.considered,
            "results": suggestions.items,
            "excluded": _excluded(suggestions.excluded),
        }
        return Response(MenteeSuggestionListSerializer(data).data)


class PairExplanationView(SuggestionView):
    """Why a mentor suits a mentee: every part of the score, and the hard rules that exclude the
    pair when it cannot be matched ("why not this mentor?"). Coordinators of the mentee's
    programme and admins only; a mentor of another programme is not found."""

    serializer_class = PairExplanationSerializer

    @extend_schema(operation_id="mentees_suggestions_explain", responses={200: PairExplanationSerializer})
    def get(self, request, mentee_id: int, mentor_id: int):
        _refuse_unless_coordinator(request, model=Mentee, object_id=mentee_id)
        mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request)
        # One audit row per request: the mentee's read above (its path names the mentor too);
        # a mentor outside the programme is still refused and audited as such.
        mentor = audited_get(
            mentor_list_visible_to(user=request.user, filters={"programme": mentee.programme_id}),
            pk=mentor_id,
            user=request.user,
            request=request,
            audit_read=False,
        )
        explanation = pair_explanation(mentee=mentee, mentor=mentor)
        data = {
            "mentee": mentee.pk,
            "mentor": mentor,
            "free_places": max(mentor.capacity - mentor.open_matches, 0),
            "score": explanation.score,
            "parts": explanation.parts,
            "language_concordant": explanation.language_concordant,
            "feasible": explanation.feasible,
            "excluded_by": explanation.excluded_by,
        }
        return Response(PairExplanationSerializer(data).data)
