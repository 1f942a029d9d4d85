"""The REST API under /api/v1/ with its OpenAPI schema and interactive docs.

URL names start with ``api-`` (``api-mentee-list``, ``api-match-detail``, ``api-report-snapshot-latest``)
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from matching.api import MatchViewSet
from matching.api_batch import BatchRunViewSet
from matching.api_config import MatchExclusionViewSet, ProgrammeScoringView
from matching.api_suggestions import MenteeSuggestionListView, MentorSuggestionListView, PairExplanationView
from mentoring.api import (
    ConsentViewSet,
    CulturalBackgroundViewSet,
    FamilyViewSet,
    MenteeViewSet,
    MentorViewSet,
    NeedViewSet,
    ProgrammeViewSet,
    SelfAssessmentQuestionViewSet,
)
from mentoring.api_privacy import PersonDataExportView, PersonEraseView
from reports.api import ReportSnapshotViewSet
from sessions.api import SessionLogViewSet
from sessions.api.concerns import ConcernViewSet, NotificationViewSet
from sessions.api.followup import CheckInViewSet, GoalViewSet, OutcomeInstrumentViewSet, OutcomeMeasureViewSet
from sessions.api.health import AttentionFlagViewSet

router = SimpleRouter()
router.register("programmes", ProgrammeViewSet, basename="api-programme")
router.register("mentees", MenteeViewSet, basename="api-mentee")
router.register("mentors", MentorViewSet, basename="api-mentor")
router.register("families", FamilyViewSet, basename="api-family")
router.register("consents", ConsentViewSet, basename="api-consent")
router.register("cultural-backgrounds", CulturalBackgroundViewSet, basename="api-cultural-background")
router.register("needs", NeedViewSet, basename="api-need")
router.register(
    "self-assessment-questions", SelfAssessmentQuestionViewSet, basename="api-self-assessment-question"
)
router.register("matches", MatchViewSet, basename="api-match")
router.register("match-exclusions", MatchExclusionViewSet, basename="api-match-exclusion")
router.register("batch-runs", BatchRunViewSet, basename="api-batch-run")
router.register("session-logs", SessionLogViewSet, basename="api-session-log")
router.register("outcome-instruments", OutcomeInstrumentViewSet, basename="api-outcome-instrument")
router.register("outcome-measures", OutcomeMeasureViewSet, basename="api-outcome-measure")
router.register("goals", GoalViewSet, basename="api-goal")
router.register("checkins", CheckInViewSet, basename="api-checkin")
router.register("attention-flags", AttentionFlagViewSet, basename="api-attention-flag")
router.register("report-snapshots", ReportSnapshotViewSet, basename="api-report-snapshot")
router.register("concerns", ConcernViewSet, basename="api-concern")
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "mentees/<int:mentee_id>/suggestions/",
        MenteeSuggestionListView.as_view(),
        name="api-mentee-suggestions",
    ),
    path(
        "mentees/<int:mentee_id>/suggestions/<int:mentor_id>/",
        PairExplanationView.as_view(),
        name="api-mentee-suggestion-detail",
    ),
    path(
        "mentors/<int:mentor_id>/suggestions/",
        MentorSuggestionListView.as_view(),
        name="api-mentor-suggestions",
    ),
    path(
        "programmes/<int:programme_id>/scoring/", ProgrammeScoringView.as_view(), name="api-programme-scoring"
    ),
    path(
        "people/<int:person_id>/data-export/", PersonDataExportView.as_view(), name="api-person-data-export"
    ),
    path("people/<int:person_id>/erase/", PersonEraseView.as_view(), name="api-person-erase"),
    *router.urls,
]
