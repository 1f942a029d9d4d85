"""The concern pages: a mentor raises one from a match and follows it; a coordinator works
through the programme's concerns."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions.models import Concern, Notification
from tests.factories import ConcernFactory, MatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def match(programme, mentor):
    return MatchFactory(programme=programme, mentor=mentor)


def _text(response) -> str:
    return response.content.decode()


def test_my_matches_links_each_current_match_to_the_raise_a_concern_page(client, mentor, match):
    client.force_login(mentor.user)

    response = client.get(reverse("matching:my-matches"))

    assert f"{reverse('sessions:concern-raise')}?match={match.pk}" in _text(response)


def test_mentor_raises_a_concern_from_the_page_and_sees_it_in_my_concerns(client, mentor, match, coordinator):
    client.force_login(mentor.user)
    url = f"{reverse('sessions:concern-raise')}?match={match.pk}"
    assert match.mentee.person.full_name in _text(client.get(url))

    response = client.post(
        url,
        {"severity": "high", "kind": "safeguarding", "description": "She said her father hits her."},
        follow=True,
    )

    concern = Concern.objects.get()
    assert (concern.mentee, concern.match, concern.raised_by) == (match.mentee, match, mentor.user)
    assert response.redirect_chain[-1][0] == reverse("sessions:concern-mine")
    assert f"C-{concern.pk}" in _text(response)
    assert Notification.objects.filter(recipient=coordinator).count() == 1


def test_the_raise_form_keeps_what_was_typed_when_something_is_missing(client, mentor, match):
    client.force_login(mentor.user)

    response = client.post(
        f"{reverse('sessions:concern-raise')}?match={match.pk}",
        {"kind": "school", "description": "Absent all week."},
    )

    assert response.status_code == 422
    assert "Absent all week." in _text(response)
    assert not Concern.objects.exists()


def test_the_raise_page_of_another_mentors_match_is_not_found(client, other_mentor, match):
    client.force_login(other_mentor.user)

    response = client.post(
        f"{reverse('sessions:concern-raise')}?match={match.pk}", {"severity": "low", "description": "x"}
    )

    assert response.status_code == 404
    assert not Concern.objects.exists()


def test_coordinator_list_shows_open_concerns_first_by_severity_and_filters_by_status(
    client, coordinator, programme
):
    closed = ConcernFactory(
        programme=programme, severity="urgent", status="closed", acknowledged_at="2025-01-01T10:00Z"
    )
    low = ConcernFactory(programme=programme, severity="low")
    high = ConcernFactory(programme=programme, severity="high")
    client.force_login(coordinator)

    response = client.get(reverse("sessions:concern-list"))

    assert [c.pk for c in response.context["concerns"]] == [high.pk, low.pk, closed.pk]
    assert 'aria-current="page">Concerns' in _text(response)
    filtered = client.get(reverse("sessions:concern-list"), {"status": "closed"})
    assert [c.pk for c in filtered.context["concerns"]] == [closed.pk]


def test_the_concern_list_is_not_found_for_mentors_and_managers(client, mentor, manager):
    for user in (mentor.user, manager):
        client.force_login(user)
        assert client.get(reverse("sessions:concern-list")).status_code == 404


def test_coordinator_acknowledges_refers_and_closes_from_the_concern_page(client, coordinator, match):
    concern = ConcernFactory(programme=match.programme, match=match)
    url = reverse("sessions:concern-detail", args=[concern.pk])
    client.force_login(coordinator)
    assert concern.description in _text(client.get(url))

    client.post(url, {"action": "acknowledge"})
    missing = client.post(url, {"action": "refer", "refer-referred_to": "school"})
    assert missing.status_code == 422
    client.post(
        url,
        {"action": "refer", "refer-referred_to": "school", "refer-referral_note": "Met the head teacher."},
    )
    response = client.post(
        url, {"action": "close", "close-closure_note": "School support plan in place."}, follow=True
    )

    concern.refresh_from_db()
    assert concern.status == Concern.Status.CLOSED
    assert concern.referral_note == "Met the head teacher."
    assert "School support plan in place." in _text(response)


def test_closing_an_open_concern_on_the_page_says_to_acknowledge_first(client, coordinator, match):
    concern = ConcernFactory(programme=match.programme, match=match)
    client.force_login(coordinator)

    response = client.post(
        reverse("sessions:concern-detail", args=[concern.pk]),
        {"action": "close", "close-closure_note": "Done."},
    )

    assert response.status_code == 422
    assert "Acknowledge the concern before closing it" in _text(response)
    concern.refresh_from_db()
    assert concern.status == Concern.Status.OPEN


def test_the_concern_page_is_read_only_for_the_mentor_and_not_found_for_others(
    client, mentor, other_mentor, other_coordinator, manager, match
):
    concern = ConcernFactory(programme=match.programme, match=match)
    url = reverse("sessions:concern-detail", args=[concern.pk])
    client.force_login(mentor.user)

    page = client.get(url)
    assert concern.description in _text(page) and 'value="acknowledge"' not in _text(page)
    assert client.post(url, {"action": "acknowledge"}).status_code == 404
    for outsider in (other_mentor.user, other_coordinator, manager):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
