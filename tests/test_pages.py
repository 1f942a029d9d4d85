"""The server-rendered pages of each role, through Django's test client."""

from __future__ import annotations

import datetime
import html
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from matching.models import Match
from mentoring.models import Mentee, MigrantBackground
from reports.models import ReportSnapshot
from reports.services import snapshot_compute, snapshot_request
from sessions.models import SessionLog
from tests.factories import MatchFactory, MenteeFactory, MentorFactory, SessionLogFactory


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def active_match(programme, mentor, waiting_mentee):
    waiting_mentee.status = Mentee.Status.MATCHED
    waiting_mentee.save()
    return MatchFactory(
        programme=programme,
        mentor=mentor,
        mentee=waiting_mentee,
        started_on=timezone.localdate() - datetime.timedelta(days=14),
    )


def _session_form(**overrides) -> dict:
    data = {
        "held_on": timezone.localdate().isoformat(),
        "duration_minutes": "60",
        "mode": "in_person",
        "participants": ["parent"],
        "topics": ["homework"],
        "language": "uk",
        "notes": "We looked at the school's homework platform together.",
        "follow_ups": "Ask the class teacher about the parents' evening.",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


# Landing and sign-in


@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [
        ("coordinator", "/mentees/waiting/"),
        ("mentor_user", "/matching/mine/"),
        ("manager", "/reports/"),
        ("admin_user", "/admin/"),
    ],
)
def test_landing_page_sends_each_role_to_where_its_work_starts(client, request, user_fixture, expected):
    client.force_login(request.getfixturevalue(user_fixture))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == expected


@pytest.fixture
def mentor_user(mentor):
    return mentor.user


@pytest.mark.parametrize(
    "url",
    ["/", "/mentees/waiting/", "/matching/mine/", "/reports/", "/sessions/matches/1/new/"],
)
def test_anonymous_visitor_is_sent_to_the_login_page(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_login_page_signs_a_user_in_and_lands_on_their_page(client, coordinator):
    response = client.post(
        reverse("login"), {"username": coordinator.username, "password": "tandem-test-pass"}
    )

    assert response.status_code == 302
    assert response.url == reverse("home")


# Coordinator


def test_waiting_list_shows_longest_wait_first_with_days_and_language(client, coordinator, programme):
    recent = MenteeFactory(
        programme=programme, person__first_name="Recent", waiting_since=timezone.localdate()
    )
    longest = MenteeFactory(
        programme=programme,
        person__first_name="Longest",
        waiting_since=timezone.localdate() - datetime.timedelta(days=45),
    )
    client.force_login(coordinator)

    text = _text(client.get(reverse("mentee-waiting-list")))

    assert text.index(longest.person.full_name) < text.index(recent.person.full_name)
    assert "45 days" in text
    assert "Ukrainian" in text


def test_coordinator_matches_a_mentee_from_the_suggestions(client, coordinator, mentor, waiting_mentee):
    client.force_login(coordinator)
    page = client.get(reverse("mentee-detail", args=[waiting_mentee.pk]))
    assert mentor.person.full_name in _text(page)
    assert "Shares Ukrainian background" in _text(page)

    response = client.post(
        reverse("matching:match-create", args=[waiting_mentee.pk]), {"mentor": mentor.pk}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("mentee-waiting-list")
    success = f"{waiting_mentee.person.full_name} is now matched with {mentor.person.full_name}."
    assert success in _text(response)
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.MATCHED
    match = Match.objects.get(mentee=waiting_mentee)
    assert match.mentor == mentor and match.proposed_by == coordinator and match.score > 0


def test_a_refused_match_is_explained_on_the_mentee_page(client, coordinator, programme, waiting_mentee):
    full = MentorFactory(programme=programme, approved=True, capacity=1)
    MatchFactory(programme=programme, mentor=full)
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:match-create", args=[waiting_mentee.pk]), {"mentor": full.pk}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("mentee-detail", args=[waiting_mentee.pk])
    assert "No free capacity (1 of 1 places taken)." in _text(response)
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING


def test_another_programmes_mentee_page_is_not_found(client, other_coordinator, waiting_mentee):
    client.force_login(other_coordinator)

    assert client.get(reverse("mentee-detail", args=[waiting_mentee.pk])).status_code == 404


@pytest.mark.parametrize("user_fixture", ["mentor_user", "manager"])
def test_coordinator_pages_are_not_found_for_other_roles(client, request, user_fixture, waiting_mentee):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(reverse("mentee-waiting-list")).status_code == 404
    assert client.get(reverse("mentee-detail", args=[waiting_mentee.pk])).status_code == 404


# Mentor


def test_my_matches_lists_the_mentors_matches_with_their_sessions(client, active_match):
    SessionLogFactory(match=active_match, held_on=timezone.localdate() - datetime.timedelta(days=2))
    SessionLogFactory(match=active_match, held_on=timezone.localdate() - datetime.timedelta(days=9))
    client.force_login(active_match.mentor.user)

    response = client.get(reverse("matching:my-matches"))

    text = _text(response)
    assert active_match.mentee.person.full_name in text
    assert reverse("sessions:session-log-create", args=[active_match.pk]) in text
    last = timezone.localdate() - datetime.timedelta(days=2)
    assert f"{last.day} {last:%b %Y}" in text
    assert response.context["current"][0].session_count == 2


def test_log_form_defaults_to_today_and_the_mentees_preferred_language(client, active_match):
    client.force_login(active_match.mentor.user)

    response = client.get(reverse("sessions:session-log-create", args=[active_match.pk]))

    form = response.context["form"]
    assert form["held_on"].value() == timezone.localdate()
    assert form["language"].value() == "uk"
    assert uuid.UUID(str(form["idempotency_key"].value())).version == 4


def test_mentor_logs_a_session_once_even_when_the_form_is_sent_twice(client, active_match):
    client.force_login(active_match.mentor.user)
    url = reverse("sessions:session-log-create", args=[active_match.pk])
    data = _session_form()

    first = client.post(url, data)
    second = client.post(url, data, follow=True)

    assert first.status_code == 302 and first.url == reverse("matching:my-matches")
    assert "already saved" in _text(second)
    log = SessionLog.objects.get(match=active_match)
    assert log.notes == data["notes"] and log.participants == ["parent"] and log.topics == ["homework"]


def test_a_future_date_is_shown_on_its_field_and_what_the_mentor_typed_is_kept(client, active_match):
    client.force_login(active_match.mentor.user)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    data = _session_form(
        held_on=tomorrow.isoformat(), notes="Visited the library; she wants a Romanian course."
    )

    response = client.post(reverse("sessions:session-log-create", args=[active_match.pk]), data)

    assert response.status_code == 422
    assert response.context["form"].errors["held_on"] == ["The session date cannot be in the future."]
    text = _text(response)
    assert 'id="id_held_on_error"' in text and 'aria-describedby="id_held_on_error"' in text
    assert "Visited the library; she wants a Romanian course." in text
    assert f'value="{data["idempotency_key"]}"' in text
    assert not SessionLog.objects.exists()


def test_mentor_cannot_open_another_mentors_log_form(client, active_match, other_mentor):
    client.force_login(other_mentor.user)
    url = reverse("sessions:session-log-create", args=[active_match.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, _session_form()).status_code == 404
    assert not SessionLog.objects.exists()


# Manager


@pytest.fixture
def reported_programme(programme):
    """12 first-generation mentees of whom 4 are matched, and 3 who declined to say."""
    for i in range(12):
        if i < 4:
            MatchFactory(programme=programme, mentee__person__first_name=f"Matched{i}")
        else:
            MenteeFactory(programme=programme, person__first_name=f"Waiting{i}")
    for i in range(3):
        MenteeFactory(
            programme=programme,
            person__first_name=f"Declined{i}",
            person__migrant_background=MigrantBackground.DECLINED,
        )
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)
    snapshot_compute(snapshot_id=snapshot.pk)
    return programme


def test_manager_dashboard_shows_suppressed_counts_and_no_names(client, manager, reported_programme):
    client.force_login(manager)

    response = client.get(reverse("reports:dashboard"))

    assert response.status_code == 200
    text = _text(response)
    assert reported_programme.name in text
    assert "< 10" in text
    # 4 matched first-generation mentees is below k; and since 15 − 12 would give back the 3
    # who declined to say, the 12 is withheld too.
    first = next(
        line for line in response.context["report"]["view"]["groups"] if line["group"] == "first_generation"
    )
    funnel = {cell["stage"]: cell["display"] for cell in first["funnel"]}
    assert funnel["referred"] == "withheld" and funnel["matched"] == "< 10"
    for person_name in ("Matched0", "Waiting5", "Declined1"):
        assert person_name not in text


def test_refresh_shows_progress_while_the_snapshot_is_computed(client, manager, reported_programme):
    client.force_login(manager)
    refresh = reverse("reports:snapshot-refresh", args=[reported_programme.pk])
    status = reverse("reports:snapshot-status", args=[reported_programme.pk])

    # Without a worker (in this test) the snapshot stays pending after the request.
    response = client.post(refresh, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert f'hx-get="{status}?' in response.content.decode()
    assert client.get(status, headers={"HX-Request": "true"}).templates[0].name == "reports/_progress.html"

    snapshot_compute(snapshot_id=ReportSnapshot.objects.get(status=ReportSnapshot.Status.PENDING).pk)
    done = client.get(status, headers={"HX-Request": "true"})

    assert done["HX-Retarget"] == f"#programme-report-{reported_programme.pk}"
    assert "hx-trigger" not in done.content.decode()


def test_reports_are_not_found_for_mentors_and_other_programmes(client, mentor, manager, other_programme):
    client.force_login(mentor.user)
    assert client.get(reverse("reports:dashboard")).status_code == 404

    client.force_login(manager)
    assert client.post(reverse("reports:snapshot-refresh", args=[other_programme.pk])).status_code == 404
    assert not ReportSnapshot.objects.exists()
