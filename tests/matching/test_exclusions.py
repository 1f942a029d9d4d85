"""Pairs that must never be matched: the exclusion list's service, API and page, and
``match_create`` refusing an excluded pair."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from matching.models import Match, MatchExclusion
from matching.services import match_create, match_exclusion_create, match_exclusion_delete
from mentoring.models import AuditEvent
from tests.factories import MatchExclusionFactory, MatchFactory, MenteeFactory, MentorFactory

pytestmark = pytest.mark.django_db

EXCLUSIONS = "/api/v1/match-exclusions/"


def _errors(response) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


# --- The service ----------------------------------------------------------------------------------


@pytest.mark.parametrize("propose", [True, False])
def test_an_excluded_pair_cannot_be_matched(coordinator, mentor, waiting_mentee, propose):
    match_exclusion_create(mentor=mentor, mentee=waiting_mentee, reason="relative", created_by=coordinator)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator, propose=propose)

    assert excinfo.value.message_dict["mentor"] == ["This pair is on the exclusion list (relatives)."]
    assert not Match.objects.exists()


def test_excluding_a_pair_leaves_both_free_for_others(coordinator, mentor, other_mentor, waiting_mentee):
    match_exclusion_create(
        mentor=mentor, mentee=waiting_mentee, reason="conflict_of_interest", created_by=coordinator
    )

    match = match_create(mentee=waiting_mentee, mentor=other_mentor, created_by=coordinator)

    assert match.status == Match.Status.ACTIVE


def test_an_exclusion_is_audited_and_can_be_removed(coordinator, mentor, waiting_mentee):
    exclusion = match_exclusion_create(
        mentor=mentor, mentee=waiting_mentee, reason="known_conflict", created_by=coordinator
    )
    assert AuditEvent.objects.filter(action="create", object_type="matching.MatchExclusion").exists()

    match_exclusion_delete(exclusion=exclusion, deleted_by=coordinator)

    assert not MatchExclusion.objects.exists()
    assert match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator).status == "active"


def test_an_exclusion_for_another_reason_needs_a_note_and_a_pair_is_excluded_once(
    coordinator, mentor, waiting_mentee
):
    with pytest.raises(ValidationError) as excinfo:
        match_exclusion_create(mentor=mentor, mentee=waiting_mentee, reason="other", created_by=coordinator)
    assert "note" in excinfo.value.message_dict

    match_exclusion_create(mentor=mentor, mentee=waiting_mentee, reason="relative", created_by=coordinator)
    with pytest.raises(ValidationError) as excinfo:
        match_exclusion_create(
            mentor=mentor, mentee=waiting_mentee, reason="relative", created_by=coordinator
        )
    assert excinfo.value.message_dict["mentee"] == ["This pair is already on the exclusion list."]


def test_a_pair_with_an_open_match_is_not_excluded_until_the_match_is_closed(coordinator, programme):
    match = MatchFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        match_exclusion_create(
            mentor=match.mentor, mentee=match.mentee, reason="relative", created_by=coordinator
        )

    assert "close it before" in excinfo.value.message_dict["mentee"][0]


def test_a_pair_across_programmes_is_refused(coordinator, programme, other_programme, admin_user):
    mentor = MentorFactory(programme=other_programme, approved=True)
    mentee = MenteeFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        match_exclusion_create(mentor=mentor, mentee=mentee, reason="relative", created_by=admin_user)

    assert "mentor" in excinfo.value.message_dict


def test_only_the_programmes_coordinators_exclude_pairs(other_coordinator, manager, mentor, waiting_mentee):
    for user in (other_coordinator, manager, mentor.user):
        with pytest.raises(PermissionDenied):
            match_exclusion_create(mentor=mentor, mentee=waiting_mentee, reason="relative", created_by=user)


# --- The API ------------------------------------------------------------------------------------


def test_api_creates_an_exclusion_and_then_refuses_the_match(client_for, coordinator, mentor, waiting_mentee):
    api = client_for(coordinator)

    created = api.post(
        EXCLUSIONS,
        {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "relative", "note": "Cousins"},
        format="json",
    )
    match = api.post("/api/v1/matches/", {"mentor": mentor.pk, "mentee": waiting_mentee.pk}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["mentor"], body["mentee"], body["reason"], body["note"]) == (
        mentor.pk,
        waiting_mentee.pk,
        "relative",
        "Cousins",
    )
    assert body["programme"] == mentor.programme_id and body["created_by"] == coordinator.pk
    assert match.status_code == 400
    assert _errors(match)["mentor"] == ["This pair is on the exclusion list (relatives)."]


def test_api_create_answers_every_error_by_field(
    client_for, coordinator, other_coordinator, mentor, waiting_mentee
):
    api = client_for(coordinator)

    bad = api.post(
        EXCLUSIONS, {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "enemies"}, format="json"
    )
    no_note = api.post(
        EXCLUSIONS, {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "other"}, format="json"
    )
    foreign = client_for(other_coordinator).post(
        EXCLUSIONS, {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "relative"}, format="json"
    )

    assert bad.status_code == 400 and "reason" in _errors(bad)
    assert no_note.status_code == 400 and "note" in _errors(no_note)
    assert foreign.status_code == 400 and {"mentor", "mentee"} <= set(_errors(foreign))


def test_api_lists_filters_reads_and_deletes(client_for, coordinator, programme):
    first = MatchExclusionFactory(programme=programme)
    second = MatchExclusionFactory(programme=programme)
    api = client_for(coordinator)

    listed = api.get(EXCLUSIONS).json()
    by_mentor = api.get(EXCLUSIONS, {"mentor": first.mentor_id}).json()
    by_mentee = api.get(EXCLUSIONS, {"mentee": second.mentee_id}).json()
    detail = api.get(f"{EXCLUSIONS}{first.pk}/")
    deleted = api.delete(f"{EXCLUSIONS}{first.pk}/")

    assert listed["count"] == 2
    assert [row["id"] for row in by_mentor["results"]] == [first.pk]
    assert [row["id"] for row in by_mentee["results"]] == [second.pk]
    assert detail.status_code == 200 and detail.json()["mentor_name"] == first.mentor.person.full_name
    assert deleted.status_code == 204
    assert list(MatchExclusion.objects.values_list("pk", flat=True)) == [second.pk]


def test_api_exclusions_are_the_coordinators_only(client_for, programme, other_coordinator, manager):
    exclusion = MatchExclusionFactory(programme=programme)

    for user in (other_coordinator, manager, exclusion.mentor.user):
        api = client_for(user)
        assert api.get(EXCLUSIONS).json()["results"] == []
        assert api.get(f"{EXCLUSIONS}{exclusion.pk}/").status_code == 404
        assert api.delete(f"{EXCLUSIONS}{exclusion.pk}/").status_code == 404
    assert MatchExclusion.objects.filter(pk=exclusion.pk).exists()


def test_api_exclusion_list_query_count_does_not_grow_with_rows(
    client_for, coordinator, programme, django_assert_max_num_queries
):
    for _ in range(5):
        MatchExclusionFactory(programme=programme)
    api = client_for(coordinator)

    with django_assert_max_num_queries(8):
        response = api.get(EXCLUSIONS)

    assert response.json()["count"] == 5


# --- The page ------------------------------------------------------------------------------------


def test_coordinator_adds_and_removes_a_pair_on_the_exclusion_page(
    client, coordinator, programme, mentor, waiting_mentee
):
    client.force_login(coordinator)
    url = reverse("matching:exclusion-list", args=[programme.pk])

    added = client.post(
        url, {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "relative", "note": ""}, follow=True
    )
    exclusion = MatchExclusion.objects.get()
    removed = client.post(
        reverse("matching:exclusion-remove", args=[programme.pk, exclusion.pk]), follow=True
    )

    assert "Olena Kovalenko" in added.content.decode() and "Relatives" in added.content.decode()
    assert not MatchExclusion.objects.exists()
    assert "No pair is excluded" in removed.content.decode()


def test_the_exclusion_page_shows_the_services_refusal_by_its_field(
    client, coordinator, programme, mentor, waiting_mentee
):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:exclusion-list", args=[programme.pk]),
        {"mentor": mentor.pk, "mentee": waiting_mentee.pk, "reason": "other", "note": ""},
    )

    assert response.status_code == 422
    assert "Say in a note why the pair is excluded." in response.content.decode()


def test_the_exclusion_page_is_not_found_for_another_programmes_coordinator(
    client, other_coordinator, programme
):
    exclusion = MatchExclusionFactory(programme=programme)
    client.force_login(other_coordinator)

    assert client.get(reverse("matching:exclusion-list", args=[programme.pk])).status_code == 404
    removal = client.post(reverse("matching:exclusion-remove", args=[programme.pk, exclusion.pk]))
    assert removal.status_code == 404
    assert MatchExclusion.objects.exists()
