from django.urls import path

from sessions import views

app_name = "sessions"
urlpatterns = [
    path("matches/<int:match_id>/new/", views.session_log_create_page, name="session-log-create"),
]
