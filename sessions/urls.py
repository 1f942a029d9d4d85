from django.urls import path

from sessions.views import concerns as concern_views
from sessions.views import followup as followup_views
from sessions.views import health as health_views
from sessions.views import logs as log_views

app_name = "sessions"
urlpatterns = [
    path("concerns/", concern_views.concern_list_page, name="concern-list"),
    path("concerns/raise/", concern_views.concern_raise_page, name="concern-raise"),
    path("concerns/mine/", concern_views.concern_mine_page, name="concern-mine"),
    path("concerns/<int:concern_id>/", concern_views.concern_detail_page, name="concern-detail"),
    path("inbox/", concern_views.inbox_page, name="inbox"),
    path("inbox/mark-read/", concern_views.inbox_mark_read_view, name="inbox-mark-read"),
    path("matches/<int:match_id>/new/", log_views.session_log_create_page, name="session-log-create"),
    path("logs/<int:log_id>/edit/", log_views.session_log_edit_page, name="session-log-edit"),
    path("attention/", health_views.attention_page, name="attention"),
    path(
        "attention/<int:flag_id>/dismiss/",
        health_views.attention_flag_dismiss_view,
        name="attention-dismiss",
    ),
    path("checkin/<str:token>/", followup_views.checkin_family_page, name="checkin-family"),
    path("checkins/", followup_views.checkin_mentor_list_page, name="checkin-mentor-list"),
    path("checkins/<int:checkin_id>/", followup_views.checkin_mentor_page, name="checkin-mentor"),
    path("mentees/<int:mentee_id>/timeline/", followup_views.mentee_timeline_page, name="mentee-timeline"),
]
