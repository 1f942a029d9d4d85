from django.urls import path

from matching import views, views_batch, views_lifecycle

app_name = "matching"
urlpatterns = [
    path("mine/", views.my_matches, name="my-matches"),
    path("mentees/<int:mentee_id>/match/", views.match_create_view, name="match-create"),
    path("<int:match_id>/close/", views.match_close_view, name="match-close"),
    path("<int:match_id>/", views_lifecycle.match_manage, name="match-manage"),
    path("<int:match_id>/accept/", views_lifecycle.match_accept_view, name="match-accept"),
    path("<int:match_id>/decline/", views_lifecycle.match_decline_view, name="match-decline"),
    path("<int:match_id>/pause/", views_lifecycle.match_pause_view, name="match-pause"),
    path("<int:match_id>/resume/", views_lifecycle.match_resume_view, name="match-resume"),
    path("programmes/<int:programme_id>/exclusions/", views_lifecycle.exclusion_list, name="exclusion-list"),
    path(
        "programmes/<int:programme_id>/exclusions/<int:exclusion_id>/remove/",
        views_lifecycle.exclusion_remove,
        name="exclusion-remove",
    ),
    path(
        "programmes/<int:programme_id>/scoring/", views_lifecycle.scoring_config_page, name="scoring-config"
    ),
    path("batch/", views_batch.batch_run_list, name="batch-list"),
    path("batch/<int:run_id>/", views_batch.batch_run_detail, name="batch-detail"),
    path("batch/<int:run_id>/progress/", views_batch.batch_run_progress, name="batch-progress"),
    path("batch/<int:run_id>/rerun/", views_batch.batch_run_rerun_view, name="batch-rerun"),
    path("batch/<int:run_id>/accept/", views_batch.batch_run_accept_view, name="batch-accept"),
    path("batch/<int:run_id>/recruitment/", views_batch.batch_run_recruitment, name="batch-recruitment"),
]
