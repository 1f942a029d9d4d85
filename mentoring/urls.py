"""Pages of the people of a programme, and the sign-in pages every role starts from.

No ``app_name`` here: the settings name ``login`` and ``home`` without a namespace
(``LOGIN_URL``, ``LOGIN_REDIRECT_URL``, ``LOGOUT_REDIRECT_URL``), so these names are global.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from mentoring import views, views_privacy, views_two_step

urlpatterns = [
    path("", views.home, name="home"),
    # Two-step sign-in (mentoring.two_step): the password, then the code if the user turned it on.
    path("login/", views_two_step.login_page, name="login"),
    path("login/code/", views_two_step.login_code_page, name="login-code"),
    path("account/two-step/", views_two_step.two_step_page, name="two-step"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("mentees/waiting/", views.mentee_waiting_list_page, name="mentee-waiting-list"),
    path("mentees/<int:mentee_id>/", views.mentee_page, name="mentee-detail"),
    path("mentors/", views.mentor_pipeline_page, name="mentor-pipeline"),
    path("mentors/all/", views.mentor_list_page, name="mentor-list"),
    path("mentors/new/", views.mentor_apply_page, name="mentor-apply"),
    path("mentors/<int:mentor_id>/", views.mentor_detail_page, name="mentor-detail"),
    path("mentors/<int:mentor_id>/steps/<slug:step>/", views.mentor_step, name="mentor-step"),
    path("people/<int:person_id>/data/", views_privacy.person_data_page, name="person-data"),
    path("people/<int:person_id>/erase/", views_privacy.person_erase_page, name="person-erase"),
    path("families/", views.family_list_page, name="family-list"),
    path("families/refer/", views.family_refer_page, name="family-refer"),
    path("families/<int:family_id>/", views.family_detail_page, name="family-detail"),
    path(
        "families/<int:family_id>/members/<int:mentee_id>/<slug:step>/",
        views.family_member_step,
        name="family-member-step",
    ),
]
