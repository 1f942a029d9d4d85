"""The coordinator's batch-matching pages: start a run, watch its progress, review the proposal
with its explanations, pin or forbid pairs and run it again, accept pairs, and read what the
programme needs to recruit."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from matching import views_batch
from matching.batch import batch_run_compute, batch_run_create
from matching.engine import Part
from matching.models import BatchPair, BatchRun, Match
from matching.services import match_create
from mentoring.models import LanguageLevel
from tests.factories import MenteeFactory, MentorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(programme):
    """Two mentors with one place each and three waiting mothers: a Ukrainian and a Romanian
    speaker whom the mentors suit, and an Eritrean mother who speaks only Tigrinya."""
    olena = MentorFactory(
        programme=programme,
        approved=True,
        capacity=1,
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
        person__backgrounds=["ukrainian"],
    )
    mihai = MentorFactory(
        programme=programme,
        approved=True,
        capacity=1,
        person__first_name="Mihai",
        person__last_name="Pop",
        person__languages=[("ro", LanguageLevel.NATIVE), ("en", LanguageLevel.FLUENT)],
        person__backgrounds=[],
    )
    iryna = MenteeFactory(
        programme=programme,
        person__first_name="Iryna",
        person__last_name="Shevchenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
        person__backgrounds=["ukrainian"],
    )
    ana = MenteeFactory(
        programme=programme,
        person__first_name="Ana",
        person__last_name="Lakatos",
        person__languages=[("ro", LanguageLevel.NATIVE)],
        person__backgrounds=[],
    )
    saba = MenteeFactory(
        programme=programme,
        person__first_name="Saba",
        person__last_name="Tesfay",
        person__languages=[("ti", LanguageLevel.NATIVE)],
        person__backgrounds=["eritrean"],
    )
    return {"olena": olena, "mihai": mihai, "iryna": iryna, "ana": ana, "saba": saba}


def _computed(programme, coordinator, **options) -> BatchRun:
    run = batch_run_create(programme=programme, created_by=coordinator, **options)
    return batch_run_compute(run_id=run.pk)


@pytest.fixture
def run(programme, coordinator, people) -> BatchRun:
    return _computed(programme, coordinator)


def _detail(run: BatchRun) -> str:
    return reverse("matching:batch-detail", kwargs={"run_id": run.pk})


def _pair(run: BatchRun, mentee) -> BatchPair:
    return run.pairs.get(mentee=mentee)


def test_coordinator_starts_a_batch_and_lands_on_its_progress(client, coordinator, programme, people):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:batch-list"),
        {"programme": programme.pk, "objective": "most_matched", "wait_priority": "on"},
    )

    run = BatchRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(run)
    assert (run.programme, run.objective, run.wait_priority, run.status) == (
        programme,
        "most_matched",
        True,
        "queued",
    )
    page = client.get(_detail(run)).content.decode()
    assert "Waiting for a worker" in page
    assert f'hx-get="{reverse("matching:batch-progress", kwargs={"run_id": run.pk})}"' in page
    assert 'hx-trigger="every 1s"' in page


def test_start_form_refuses_another_programmes_id_beside_the_field(
    client, coordinator, other_programme, people
):
    client.force_login(coordinator)

    response = client.post(reverse("matching:batch-list"), {"programme": other_programme.pk})

    assert response.status_code == 422
    assert response.context["form"].errors["programme"] == ["Choose one of your programmes."]
    assert "Choose one of your programmes." in response.content.decode()
    assert not BatchRun.objects.exists()


def test_the_form_labels_every_control(client, coordinator, programme):
    client.force_login(coordinator)

    page = client.get(reverse("matching:batch-list")).content.decode()

    for label in ("Programme", "Objective", "Highest total score", "Priority for long waits"):
        assert label in page
    assert 'for="id_programme"' in page and 'for="id_wait_priority"' in page


def test_the_list_shows_the_coordinators_programmes_runs_only(
    client, coordinator, other_coordinator, programme, other_programme, run
):
    theirs = BatchRun.objects.create(programme=other_programme, status="done")
    client.force_login(coordinator)

    page = client.get(reverse("matching:batch-list")).content.decode()

    assert _detail(run) in page
    assert _detail(theirs) not in page


def test_another_programmes_run_is_not_found(client, other_coordinator, manager, run):
    for user in (other_coordinator, manager):
        client.force_login(user)
        for name in ("batch-detail", "batch-progress", "batch-recruitment"):
            assert client.get(reverse(f"matching:{name}", kwargs={"run_id": run.pk})).status_code == 404
        response = client.post(reverse("matching:batch-accept", kwargs={"run_id": run.pk}), {"all": "1"})
        assert response.status_code == 404
    assert not Match.objects.exists()


def test_the_progress_fragment_turns_into_the_review_when_the_run_is_done(
    client, coordinator, programme, people
):
    run = batch_run_create(programme=programme, created_by=coordinator)
    client.force_login(coordinator)
    url = reverse("matching:batch-progress", kwargs={"run_id": run.pk})

    running = client.get(url, headers={"HX-Request": "true"}).content.decode()
    batch_run_compute(run_id=run.pk)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert "<progress" in running and "every 1s" in running
    assert "<progress" not in done and "every 1s" not in done
    assert "Iryna Shevchenko" in done and "Accept selected" in done


def test_review_shows_the_figures_and_each_pair_with_its_explanation(client, coordinator, run, people):
    client.force_login(coordinator)

    response = client.get(_detail(run))
    page = response.content.decode()

    assert response.status_code == 200
    assert run.matched_count == 2 and run.waiting_count == 3
    figures = response.context
    assert "2 of 3 waiting" in page
    assert f"{run.total_score}" in page
    assert "Better than a greedy assignment" in page
    assert figures["gain"] == run.total_score - run.greedy_total_score
    assert "No assignment scores above" in page
    assert "2 of 2 pairs" in page  # both mentors speak their mentee's preferred language
    iryna = _pair(run, people["iryna"])
    assert iryna.mentor == people["olena"]
    shown = [escape(str(Part(**part))) for part in iryna.parts if part["points"]]
    assert shown and all(text in page for text in shown)
    assert any(text.startswith("Speaks Ukrainian natively") and "(+40)" in text for text in shown)
    assert sum(part["points"] for part in iryna.parts) == iryna.score
    assert 'aria-label="Pin Iryna Shevchenko with Olena Kovalenko"' in page
    assert 'aria-label="Select Iryna Shevchenko with Olena Kovalenko"' not in page  # a <label>, not aria
    assert "Select Iryna Shevchenko with Olena Kovalenko" in page


def test_review_lists_the_unmatched_with_their_reason(client, coordinator, run, people):
    client.force_login(coordinator)

    page = client.get(_detail(run)).content.decode()

    assert "1 mentee left unmatched" in page
    unmatched = run.unmatched.get()
    assert unmatched.mentee == people["saba"]
    assert "Saba Tesfay" in page and unmatched.detail in page
    assert "Tigrinya" in unmatched.detail


def test_pinning_a_pair_runs_the_batch_again_with_the_pin_shown(client, coordinator, run, people):
    client.force_login(coordinator)
    ana, mihai = people["ana"], people["mihai"]

    response = client.post(
        reverse("matching:batch-rerun", kwargs={"run_id": run.pk}), {"pin": f"{ana.pk}-{mihai.pk}"}
    )

    rerun = BatchRun.objects.exclude(pk=run.pk).get()
    assert response["Location"] == _detail(rerun)
    assert (rerun.previous, rerun.pinned) == (run, [[ana.pk, mihai.pk]])
    batch_run_compute(run_id=rerun.pk)
    page = client.get(_detail(rerun)).content.decode()
    assert "Pinned pairs" in page and "Ana Lakatos with Mihai Pop" in page
    assert "Unpin Ana Lakatos with Mihai Pop" in page
    pair = rerun.pairs.get(mentee=ana)
    assert (pair.mentor, pair.pinned) == (mihai, True)
    assert "repeats" in page and _detail(run) in page
    assert "This batch was run again with changes" in client.get(_detail(run)).content.decode()


def test_forbidding_a_pair_keeps_it_out_of_the_next_proposal(client, coordinator, run, people):
    client.force_login(coordinator)
    iryna, olena = people["iryna"], people["olena"]

    client.post(
        reverse("matching:batch-rerun", kwargs={"run_id": run.pk}), {"forbid": f"{iryna.pk}-{olena.pk}"}
    )

    rerun = batch_run_compute(run_id=BatchRun.objects.exclude(pk=run.pk).get().pk)
    assert not rerun.pairs.filter(mentee=iryna, mentor=olena).exists()
    page = client.get(_detail(rerun)).content.decode()
    assert "Forbidden pairs" in page and "Allow Iryna Shevchenko with Olena Kovalenko again" in page


def test_a_rerun_without_a_pair_is_refused_with_a_message(client, coordinator, run):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:batch-rerun", kwargs={"run_id": run.pk}), {"pin": "x"}, follow=True
    )

    assert BatchRun.objects.count() == 1
    assert "Choose a pair to pin or forbid." in response.content.decode()


def test_a_pin_the_service_refuses_is_reported_and_starts_no_run(client, coordinator, run, people):
    client.force_login(coordinator)
    stranger = MenteeFactory()  # waiting in another programme

    response = client.post(
        reverse("matching:batch-rerun", kwargs={"run_id": run.pk}),
        {"pin": f"{stranger.pk}-{people['olena'].pk}"},
        follow=True,
    )

    assert BatchRun.objects.count() == 1
    assert f"Mentee {stranger.pk} is not on this programme&#x27;s waiting list." in response.content.decode()


def test_the_pairs_can_be_narrowed_to_those_not_accepted_yet(client, coordinator, run, people):
    client.force_login(coordinator)
    client.post(
        reverse("matching:batch-accept", kwargs={"run_id": run.pk}),
        {"pairs": [_pair(run, people["iryna"]).pk]},
    )

    page = client.get(_detail(run), {"show": "open"}).content.decode()

    assert "1 pair" in page and "Ana Lakatos" in page and "Iryna Shevchenko" not in page


def test_accepting_selected_pairs_makes_proposed_matches_linked_from_the_review(
    client, coordinator, run, people
):
    client.force_login(coordinator)
    pair = _pair(run, people["iryna"])

    response = client.post(
        reverse("matching:batch-accept", kwargs={"run_id": run.pk}), {"pairs": [pair.pk]}, follow=True
    )

    match = Match.objects.get()
    assert (match.mentee, match.mentor, match.status, match.batch_run) == (
        people["iryna"],
        people["olena"],
        Match.Status.PROPOSED,
        run,
    )
    page = response.content.decode()
    assert "1 pair accepted" in page
    assert f"Match M-{match.pk} · Proposed" in page
    assert reverse("matching:match-manage", kwargs={"match_id": match.pk}) in page
    assert f'id="select-pair-{pair.pk}"' not in page  # an accepted pair cannot be selected again


def test_accept_all_accepts_every_open_pair(client, coordinator, run):
    client.force_login(coordinator)

    response = client.post(
        reverse("matching:batch-accept", kwargs={"run_id": run.pk}), {"all": "1"}, follow=True
    )

    assert Match.objects.filter(batch_run=run, status=Match.Status.PROPOSED).count() == 2
    assert "2 pairs accepted" in response.content.decode()


def test_a_pair_that_can_no_longer_be_made_is_reported_with_its_reason(
    client, coordinator, run, people, programme
):
    # Meanwhile another coordinator matched Iryna by hand.
    match_create(mentee=people["iryna"], mentor=people["mihai"], created_by=coordinator)
    client.force_login(coordinator)
    pairs = [_pair(run, people["iryna"]).pk, _pair(run, people["ana"]).pk]

    response = client.post(
        reverse("matching:batch-accept", kwargs={"run_id": run.pk}), {"pairs": pairs}, follow=True
    )

    page = response.content.decode()
    assert "Iryna Shevchenko with Olena Kovalenko was not accepted:" in page
    assert 'class="message message--error"' in page


def test_accepting_nothing_selected_says_so(client, coordinator, run):
    client.force_login(coordinator)

    response = client.post(reverse("matching:batch-accept", kwargs={"run_id": run.pk}), {}, follow=True)

    assert "Select at least one pair to accept." in response.content.decode()
    assert not Match.objects.exists()


def test_the_pairs_are_paged_and_searchable(client, coordinator, run, people, monkeypatch):
    monkeypatch.setattr(views_batch, "PAIRS_PER_PAGE", 1)
    client.force_login(coordinator)

    first = client.get(_detail(run)).content.decode()
    found = client.get(_detail(run), {"q": "lakatos"}).content.decode()

    assert "2 pairs · showing 1–1" in first and "Page 1 of 2" in first
    assert "1 pair" in found and "Ana Lakatos" in found and "Iryna Shevchenko" not in found


def test_the_review_of_a_large_proposal_costs_a_fixed_number_of_queries(
    client, coordinator, run, programme, django_assert_max_num_queries
):
    client.force_login(coordinator)
    mentor = run.pairs.first().mentor
    more = [MenteeFactory(programme=programme) for _ in range(5)]
    BatchPair.objects.bulk_create(
        [BatchPair(run=run, mentee=m, mentor=mentor, score=10, parts=[]) for m in more]
    )

    with django_assert_max_num_queries(12):
        response = client.get(_detail(run))

    assert response.status_code == 200
    assert "7 pairs" in response.content.decode()


def test_a_failed_run_shows_why(client, coordinator, programme):
    run = BatchRun.objects.create(
        programme=programme,
        status="failed",
        error="A pinned pair cannot be made: the mentee is no longer waiting.",
    )
    client.force_login(coordinator)

    page = client.get(_detail(run)).content.decode()

    assert "The batch could not be computed" in page
    assert "the mentee is no longer waiting" in page


def test_recruitment_needs_sum_the_unmatched_by_language_and_background(client, coordinator, run):
    client.force_login(coordinator)

    response = client.get(reverse("matching:batch-recruitment", kwargs={"run_id": run.pk}))
    page = response.content.decode()

    assert response.status_code == 200
    assert "1 mentee waits for a mentor who speaks Tigrinya" in page
    assert "By cultural background" in page
    detail = run.unmatched.get().detail
    assert f"1 mentee: {detail}" in page


def test_coordinators_see_the_batch_link_in_the_navigation(client, coordinator, manager):
    client.force_login(coordinator)
    assert reverse("matching:batch-list") in client.get(reverse("mentee-waiting-list")).content.decode()
    client.force_login(manager)
    assert reverse("matching:batch-list") not in client.get(reverse("reports:dashboard")).content.decode()
