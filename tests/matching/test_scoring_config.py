"""A programme's scoring weights: read by its staff, changed by its coordinators, validated
field by field, and saved as the programme's ``ScoringConfig`` with who changed it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from matching.models import ScoringConfig
from matching.services import SCORING_FIELDS, scoring_config_update
from mentoring.models import AuditEvent

pytestmark = pytest.mark.django_db


def _url(programme) -> str:
    return f"/api/v1/programmes/{programme.pk}/scoring/"


def _errors(response) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


def test_a_programme_without_weights_of_its_own_answers_the_defaults(client_for, coordinator, programme):
    body = client_for(coordinator).get(_url(programme)).json()

    assert body["is_default"] is True
    assert body["preferred_language_native"] == 40
    assert body["km_per_penalty_point"] == "1.50"
    assert body["updated_by"] is None


def test_options_describes_the_weights_of_a_programme_the_user_reads_and_no_other(
    client_for, coordinator, programme, other_programme
):
    described = client_for(coordinator).options(_url(programme))
    foreign = client_for(coordinator).options(_url(other_programme))

    assert described.status_code == 200
    assert "preferred_language_native" in described.json()["actions"]["PUT"]
    assert foreign.status_code == 404


def test_a_coordinator_saves_weights_and_the_rest_keep_their_values(client_for, coordinator, programme):
    response = client_for(coordinator).put(
        _url(programme), {"shared_background": 35, "max_distance_km": 20}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["shared_background"], body["max_distance_km"], body["preferred_language_native"]) == (
        35,
        20,
        40,
    )
    assert body["is_default"] is False and body["updated_by"] == coordinator.pk
    saved = ScoringConfig.for_programme(programme.pk)
    assert (saved.shared_background, saved.updated_by) == (35, coordinator)
    assert AuditEvent.objects.filter(object_type="matching.ScoringConfig", object_id=str(saved.pk)).exists()


def test_invalid_weights_answer_400_by_field_and_nothing_is_saved(client_for, coordinator, programme):
    api = client_for(coordinator)

    negative = api.put(_url(programme), {"shared_language": -1, "wait_week": "many"}, format="json")
    too_high = api.put(
        _url(programme), {"family_continuity": 500, "km_per_penalty_point": "0.01"}, format="json"
    )
    disordered = api.put(_url(programme), {"preferred_language_fluent": 45}, format="json")

    assert negative.status_code == 400 and {"shared_language", "wait_week"} <= set(_errors(negative))
    assert too_high.status_code == 400
    assert _errors(too_high)["family_continuity"] == ["Give a value from 0 to 100."]
    assert "km_per_penalty_point" in _errors(too_high)
    assert disordered.status_code == 400 and "natively" in _errors(disordered)["preferred_language_fluent"][0]
    assert not ScoringConfig.objects.exists()


def test_managers_read_the_weights_but_do_not_change_them(client_for, manager, programme):
    api = client_for(manager)

    assert api.get(_url(programme)).status_code == 200
    assert api.put(_url(programme), {"shared_background": 0}, format="json").status_code == 403
    assert not ScoringConfig.objects.exists()


def test_another_programmes_staff_and_mentors_are_told_the_programme_is_not_found(
    client_for, api_client, programme, other_coordinator, mentor
):
    for user in (other_coordinator, mentor.user):
        assert client_for(user).get(_url(programme)).status_code == 404
        assert (
            client_for(user).put(_url(programme), {"shared_background": 0}, format="json").status_code == 404
        )
    assert client_for(other_coordinator).get("/api/v1/programmes/2000000000/scoring/").status_code == 404
    assert api_client.get(_url(programme)).status_code == 403


def test_the_service_refuses_anyone_but_the_programmes_coordinators(
    programme, manager, other_coordinator, admin_user
):
    for user in (manager, other_coordinator):
        with pytest.raises(PermissionDenied):
            scoring_config_update(programme=programme, updated_by=user, values={"shared_background": 1})
    with pytest.raises(ValidationError) as excinfo:
        scoring_config_update(programme=programme, updated_by=admin_user, values={"colour": 3})
    assert "colour" in excinfo.value.message_dict

    config = scoring_config_update(
        programme=programme, updated_by=admin_user, values={"km_per_penalty_point": Decimal("2.5")}
    )
    assert config.km_per_penalty_point == Decimal("2.5")


def test_the_scoring_page_shows_each_weight_with_its_help_and_saves(client, coordinator, programme):
    client.force_login(coordinator)
    url = reverse("matching:scoring-config", args=[programme.pk])

    page = client.get(url).content.decode()
    form = {name: getattr(ScoringConfig(), name) for name in SCORING_FIELDS}
    form["shared_background"] = 30
    saved = client.post(url, form, follow=True)
    refused = client.post(url, {**form, "need_strength": 101})

    assert "Mentor and mentee share a cultural background" in page and "(0–100)" in page
    assert saved.status_code == 200 and "Last changed" in saved.content.decode()
    assert ScoringConfig.for_programme(programme.pk).shared_background == 30
    assert refused.status_code == 422 and "Give a value from 0 to 100." in refused.content.decode()


def test_the_scoring_page_is_for_the_programmes_coordinators(client, programme, other_coordinator, manager):
    url = reverse("matching:scoring-config", args=[programme.pk])
    for user in (other_coordinator, manager):
        client.force_login(user)
        assert client.get(url).status_code == 404
