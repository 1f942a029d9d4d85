"""The batch-run endpoints: asking for a run, reading its figures, pairs, unmatched mentees and
recruitment needs, re-running with pins and forbids, and accepting pairs. Coordinators of the
programme and admins only; another programme's run is not found."""

from __future__ import annotations

import pytest
from django.urls import reverse

from matching.batch import batch_run_compute, batch_run_create
from matching.models import BatchRun, Match
from mentoring.models import LanguageLevel, Mentee, TaskOutbox
from tests.factories import CoordinatorFactory, MatchFactory, MenteeFactory, MentorFactory

NATIVE, FLUENT = LanguageLevel.NATIVE, LanguageLevel.FLUENT
LIST = reverse("api-batch-run-list")


def _url(name: str, run: BatchRun) -> str:
    return reverse(f"api-batch-run-{name}", kwargs={"pk": run.pk})


def _mentor(programme, languages, capacity=1):
    return MentorFactory(programme=programme, approved=True, capacity=capacity, person__languages=languages)


def _mentee(programme, languages, **person):
    return MenteeFactory(
        programme=programme,
        person__languages=languages,
        **{f"person__{key}": value for key, value in person.items()},
    )


@pytest.fixture
def people(programme):
    """Two Romanian-speaking mentors, two Romanian mothers, and a Tigrinya-speaking father no
    mentor can talk to."""
    return {
        "mentors": [_mentor(programme, [("ro", NATIVE), ("uk", FLUENT)]) for _ in range(2)],
        "mentees": [_mentee(programme, [("ro", NATIVE)]) for _ in range(2)],
        "tigrinya": _mentee(programme, [("ti", NATIVE)], backgrounds=["eritrean"]),
    }


@pytest.fixture
def run(programme, coordinator, people):
    created = batch_run_create(programme=programme, created_by=coordinator)
    return batch_run_compute(run_id=created.pk)


def _errors(response) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        errors.setdefault(error["field"], []).append(error["message"])
    return errors


# --- Asking for a run -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_coordinator_asks_for_a_run_and_it_is_queued(client_for, programme, coordinator, people):
    mentee, mentor = people["mentees"][0], people["mentors"][1]

    response = client_for(coordinator).post(
        LIST,
        {
            "programme": programme.pk,
            "objective": "most_matched",
            "wait_priority": True,
            "pinned": [[mentee.pk, mentor.pk]],
            "forbidden": [[people["mentees"][1].pk, mentor.pk]],
        },
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"].endswith(_url("detail", BatchRun(pk=body["id"])))
    assert body["status"] == "queued" and body["progress"] == 0
    assert body["objective"] == "most_matched" and body["wait_priority"] is True
    assert body["pinned"] == [[mentee.pk, mentor.pk]]
    assert TaskOutbox.objects.filter(args=[body["id"]]).exists()


@pytest.mark.django_db
def test_bad_input_answers_400_naming_each_field(client_for, programme, other_programme, coordinator, people):
    matched = MatchFactory(programme=programme).mentee
    api = client_for(coordinator)

    shapes = api.post(LIST, {"programme": programme.pk, "objective": "fastest", "pinned": [[1, 2, 3]]})
    people_errors = api.post(
        LIST,
        {
            "programme": programme.pk,
            "pinned": [[matched.pk, people["mentors"][0].pk]],
            "forbidden": [[people["mentees"][0].pk, 2_000_000_000]],
        },
    )
    foreign = api.post(LIST, {"programme": other_programme.pk})

    assert shapes.status_code == 400
    assert set(_errors(shapes)) == {"objective", "pinned.0"}
    assert people_errors.status_code == 400
    assert _errors(people_errors) == {
        "pinned": [f"Mentee {matched.pk} is not on this programme's waiting list."],
        "forbidden": ["Mentor 2000000000 is not a mentor of this programme."],
    }
    assert foreign.status_code == 400
    assert _errors(foreign) == {"programme": ["Programme not found."]}
    assert not BatchRun.objects.exists()


@pytest.mark.django_db
def test_managers_and_mentors_cannot_ask_for_a_run(client_for, programme, manager, people):
    mentor_user = people["mentors"][0].user

    for user in (manager, mentor_user):
        response = client_for(user).post(LIST, {"programme": programme.pk})
        assert response.status_code == 403, response.content


# --- Reading runs -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_is_the_programmes_runs_filtered_and_paginated_in_few_queries(
    client_for, programme, other_programme, coordinator, run, django_assert_max_num_queries
):
    for _ in range(4):
        batch_run_create(programme=programme, created_by=coordinator)
    other = batch_run_create(
        programme=other_programme, created_by=CoordinatorFactory(programmes=[other_programme])
    )
    api = client_for(coordinator)

    with django_assert_max_num_queries(8):
        response = api.get(LIST)
    done = api.get(LIST, {"status": "done", "programme": programme.pk}).json()
    bad = api.get(LIST, {"status": "finished"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and other.pk not in {row["id"] for row in body["results"]}
    assert [row["id"] for row in done["results"]] == [run.pk]
    assert bad.status_code == 400 and "status" in _errors(bad)


@pytest.mark.django_db
def test_a_run_shows_its_figures_and_gain_over_greedy(client_for, coordinator, run):
    body = client_for(coordinator).get(_url("detail", run)).json()

    assert body["status"] == "done" and body["progress"] == 100 and body["stage"] == "Ready for review"
    assert body["waiting_count"] == 3 and body["matched_count"] == 2
    assert body["total_score"] == run.total_score
    assert body["gain_over_greedy"] == run.total_score - run.greedy_total_score
    assert body["gap_to_bound"] == 0
    assert body["language_concordant_count"] == 2


@pytest.mark.django_db
def test_another_programmes_run_is_not_found_like_a_missing_one(
    client_for, other_coordinator, manager, coordinator, run, people
):
    missing = reverse("api-batch-run-detail", kwargs={"pk": 2_000_000_000})
    nonexistent = client_for(coordinator).get(missing)

    for user in (other_coordinator, manager, people["mentors"][0].user):
        for name in ("detail", "pairs", "unmatched", "recruitment-needs"):
            response = client_for(user).get(_url(name, run))
            assert (response.status_code, response.json()) == (404, nonexistent.json()), (user, name)
        assert client_for(user).get(LIST).json()["results"] == []


@pytest.mark.django_db
def test_pairs_show_people_and_the_parts_of_each_score(client_for, coordinator, run, people):
    response = client_for(coordinator).get(_url("pairs", run))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    for row in body["results"]:
        assert row["mentee"]["id"] in {m.pk for m in people["mentees"]}
        assert row["mentee"]["first_name"] and row["mentor"]["last_name"]
        assert row["score"] == sum(part["points"] for part in row["parts"])
        assert row["match"] is None and row["pinned"] is False
    pinned = client_for(coordinator).get(_url("pairs", run), {"pinned": "true"}).json()
    assert pinned["count"] == 0


@pytest.mark.django_db
def test_unmatched_mentees_and_recruitment_needs(client_for, coordinator, run, people):
    api = client_for(coordinator)

    unmatched = api.get(_url("unmatched", run)).json()
    by_reason = api.get(_url("unmatched", run), {"reason": "too_far"}).json()
    needs = api.get(_url("recruitment-needs", run)).json()

    (row,) = unmatched["results"]
    assert row["mentee"]["id"] == people["tigrinya"].pk
    assert row["reason"] == "no_language" and "Tigrinya" in row["detail"]
    assert row["language"] == "ti" and row["language_name"] == "Tigrinya"
    assert row["background_name"] == "Eritrean"
    assert by_reason["count"] == 0
    assert {(n["dimension"], n["value"], n["label"], n["count"]) for n in needs} == {
        ("language", "ti", "Tigrinya", 1),
        ("background", str(people["tigrinya"].person.cultural_backgrounds.get().pk), "Eritrean", 1),
    }
    assert needs[0]["reasons"] == [
        {"reason": "no_language", "label": "No matchable mentor speaks the mentee's language", "count": 1}
    ]


# --- Re-running and accepting -----------------------------------------------------------------


@pytest.mark.django_db
def test_rerun_with_a_pin_and_a_forbid_queues_a_new_run(client_for, coordinator, run, people):
    mentee, mentor = people["mentees"][0], people["mentors"][1]
    other = people["mentees"][1]

    response = client_for(coordinator).post(
        _url("rerun", run), {"pin": [[mentee.pk, mentor.pk]], "forbid": [[other.pk, mentor.pk]]}
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["previous"] == run.pk and body["status"] == "queued"
    assert body["pinned"] == [[mentee.pk, mentor.pk]] and body["forbidden"] == [[other.pk, mentor.pk]]
    new_run = batch_run_compute(run_id=body["id"])
    assert new_run.pairs.get(mentee=mentee).mentor == mentor


@pytest.mark.django_db
def test_rerun_refuses_bad_pairs_with_field_messages(client_for, coordinator, run, people):
    response = client_for(coordinator).post(
        _url("rerun", run), {"pin": [[people["tigrinya"].pk, 2_000_000_000]], "forbid": "everything"}
    )
    unknown = client_for(coordinator).post(
        _url("rerun", run), {"pin": [[2_000_000_000, people["mentors"][0].pk]]}
    )

    assert response.status_code == 400
    assert set(_errors(response)) == {"forbid"}
    assert unknown.status_code == 400
    assert _errors(unknown) == {"pin": ["Mentee 2000000000 is not on this programme's waiting list."]}


@pytest.mark.django_db
def test_accepting_all_makes_proposed_matches_and_reports_refused_pairs(client_for, coordinator, run, people):
    taken = run.pairs.first()
    # The mentee was matched by hand meanwhile.
    MatchFactory(
        programme=run.programme,
        mentee=Mentee.objects.get(pk=taken.mentee_id),
        mentor=_mentor(run.programme, [("ro", NATIVE)]),
    )
    Mentee.objects.filter(pk=taken.mentee_id).update(status=Mentee.Status.MATCHED)

    response = client_for(coordinator).post(_url("accept", run), {"all": True})

    assert response.status_code == 200, response.content
    body = response.json()
    (match,) = body["matches"]
    assert match["status"] == "proposed"
    assert Match.objects.get(pk=match["id"]).batch_run_id == run.pk
    (refused,) = body["refused"]
    assert refused["pair"] == taken.pk and refused["mentee"] == taken.mentee_id
    assert "not waiting" in refused["reason"]


@pytest.mark.django_db
def test_accepting_chosen_pairs_and_accepting_twice(client_for, coordinator, run):
    first = run.pairs.first()
    api = client_for(coordinator)

    accepted = api.post(_url("accept", run), {"pair_ids": [first.pk]})
    twice = api.post(_url("accept", run), {"pair_ids": [first.pk]})
    unknown = api.post(_url("accept", run), {"pair_ids": [2_000_000_000]})
    neither = api.post(_url("accept", run), {})

    assert accepted.status_code == 200 and len(accepted.json()["matches"]) == 1
    assert twice.status_code == 200
    assert twice.json()["matches"] == []
    assert twice.json()["refused"][0]["reason"] == "This pair has been accepted already."
    assert unknown.status_code == 400 and _errors(unknown) == {
        "pair_ids": ["Not pairs of this run: 2000000000."]
    }
    assert neither.status_code == 400 and "pair_ids" in _errors(neither)
    pairs = api.get(_url("pairs", run), {"accepted": "true"}).json()
    assert [row["id"] for row in pairs["results"]] == [first.pk]
    assert pairs["results"][0]["match"] == accepted.json()["matches"][0]["id"]


@pytest.mark.django_db
def test_a_queued_run_cannot_be_accepted(client_for, programme, coordinator, people):
    queued = batch_run_create(programme=programme, created_by=coordinator)

    response = client_for(coordinator).post(_url("accept", queued), {"all": True})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "not_done"
    assert _errors(response) == {None: ["Only a run ready for review can be accepted (this one is queued)."]}


@pytest.mark.django_db
def test_an_admin_reads_and_runs_any_programmes_batches(client_for, admin_user, programme, run):
    api = client_for(admin_user)

    assert api.get(_url("detail", run)).status_code == 200
    assert api.post(LIST, {"programme": programme.pk}).status_code == 202


@pytest.mark.django_db
def test_an_unmatched_mentee_without_consent_shows_no_language_or_background(
    client_for, programme, coordinator
):
    from mentoring.models import ConsentPurpose

    _mentee(
        programme,
        [("ti", NATIVE)],
        backgrounds=["eritrean"],
        consents=[ConsentPurpose.CASE_MANAGEMENT],
        session_modes=["in_person"],
    )
    run = batch_run_compute(run_id=batch_run_create(programme=programme, created_by=coordinator).pk)
    api = client_for(coordinator)

    (row,) = api.get(_url("unmatched", run)).json()["results"]
    needs = api.get(_url("recruitment-needs", run)).json()

    assert (row["language"], row["language_name"], row["background"], row["background_name"]) == (
        "",
        "",
        None,
        None,
    )
    assert {(n["dimension"], n["value"], n["count"]) for n in needs} == {
        ("language", None, 1),
        ("background", None, 1),
    }


@pytest.mark.django_db
def test_pairs_and_unmatched_pages_cost_a_fixed_number_of_queries(
    client_for, programme, coordinator, run, django_assert_max_num_queries
):
    from matching.models import BatchPair, BatchUnmatched

    mentor = run.pairs.first().mentor
    more = [_mentee(programme, [("ro", NATIVE)]) for _ in range(12)]
    BatchPair.objects.bulk_create(
        [BatchPair(run=run, mentee=m, mentor=mentor, score=5, parts=[]) for m in more[:6]]
    )
    BatchUnmatched.objects.bulk_create(
        [BatchUnmatched(run=run, mentee=m, reason="outscored", detail="Taken.") for m in more[6:]]
    )
    api = client_for(coordinator)

    with django_assert_max_num_queries(10):
        pairs = api.get(_url("pairs", run))
    with django_assert_max_num_queries(10):
        unmatched = api.get(_url("unmatched", run))

    assert pairs.json()["count"] == 8 and unmatched.json()["count"] == 7
