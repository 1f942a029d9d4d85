from django.urls import path

from sessions.views import logs as log_views

app_name = "sessions"
urlpatterns = [
    path("matches/<int:match_id>/new/", log_views.session_log_create_page, name="session-log-create"),
]
