"""Batch matching of a waiting list: the proposal is the optimum, pins and forbids are honoured,
hard rules and consent hold, unmatched mentees say why, and accepted pairs become proposed
matches within the mentors' capacities."""

from __future__ import annotations

import datetime
import itertools
import time

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from matching.batch import (
    batch_run_accept,
    batch_run_compute,
    batch_run_create,
    batch_run_rerun,
    recruitment_needs,
)
from matching.engine import load_matching_data
from matching.models import BatchPair, BatchRun, BatchUnmatched, Match, MatchExclusion
from matching.services import match_create
from matching.tasks import batch_run_compute_task
from mentoring.models import ConsentPurpose, LanguageLevel, Mentee, TaskOutbox
from tests.factories import MatchFactory, MenteeFactory, MentorFactory

NATIVE, FLUENT, BASIC = LanguageLevel.NATIVE, LanguageLevel.FLUENT, LanguageLevel.BASIC
SLOTS = ["mon_evening", "tue_evening", "wed_evening", "sat_morning", "sun_afternoon"]
WITHOUT_BACKGROUND_MATCHING = [ConsentPurpose.CASE_MANAGEMENT, ConsentPurpose.STATISTICS]


def _mentor(programme, languages, *, capacity: int = 1, **person):
    return MentorFactory(
        programme=programme,
        approved=True,
        capacity=capacity,
        person__languages=languages,
        **{f"person__{key}": value for key, value in person.items()},
    )


def _mentee(programme, languages, *, waited_days: int = 30, **person):
    return MenteeFactory(
        programme=programme,
        person__languages=languages,
        waiting_since=datetime.date.today() - datetime.timedelta(days=waited_days),
        **{f"person__{key}": value for key, value in person.items()},
    )


def _computed(programme, coordinator, **options) -> BatchRun:
    run = batch_run_create(programme=programme, created_by=coordinator, **options)
    return batch_run_compute(run_id=run.pk)


def _proposal(run: BatchRun) -> set[tuple[int, int]]:
    return set(run.pairs.values_list("mentee_id", "mentor_id"))


def _random_programme(programme, seed: int, mentees: int = 6, mentors: int = 3) -> None:
    """A small programme where language, time slots and capacities pull in different ways."""
    rng = np.random.default_rng(seed)
    codes = ["ro", "uk", "ar", "hu"]
    levels = [NATIVE, FLUENT, BASIC]
    for _ in range(mentors):
        spoken = rng.choice(codes, 2, replace=False)
        _mentor(
            programme,
            [("ro", NATIVE)] + [(str(c), levels[rng.integers(3)]) for c in spoken if c != "ro"],
            capacity=int(rng.integers(1, 3)),
            availability=[str(s) for s in rng.choice(SLOTS, 2, replace=False)],
        )
    for k in range(mentees):
        preferred = str(rng.choice(codes))
        languages = [(preferred, NATIVE)] + ([("ro", BASIC)] if preferred != "ro" else [])
        _mentee(
            programme,
            languages,
            waited_days=10 + 7 * k,
            availability=[str(s) for s in rng.choice(SLOTS, 2, replace=False)],
        )


def _brute_force(programme_id: int, objective: str) -> tuple[int, int]:
    """(matched, total) of the best assignment, trying every one: each mentee gets one of the
    mentors or none, within the mentors' free places and over feasible pairs only."""
    data = load_matching_data(programme_id)
    n, m = len(data.mentee_ids), len(data.mentor_ids)
    scores, feasible = data.score_block(np.arange(n))
    best = (0, 0) if objective == "most_matched" else 0
    for choice in itertools.product(range(-1, m), repeat=n):
        load = np.zeros(m, dtype=int)
        total = matched = 0
        ok = True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            if not feasible[i, j]:
                ok = False
                break
            load[j] += 1
            total += int(scores[i, j])
            matched += 1
        if not ok or (load > data.mentor_free).any():
            continue
        value = (matched, total) if objective == "most_matched" else total
        best = max(best, value)
    return best if objective == "most_matched" else (None, best)


# --- The proposal ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_proposal_has_the_highest_total_score_of_every_possible_assignment(programme, coordinator, seed):
    _random_programme(programme, seed)

    run = _computed(programme, coordinator)

    _, optimum = _brute_force(programme.pk, "total_score")
    assert run.status == BatchRun.Status.DONE, run.error
    assert run.total_score == optimum
    assert sum(run.pairs.values_list("score", flat=True)) == optimum
    assert run.greedy_total_score <= run.total_score
    assert run.gain_over_greedy == run.total_score - run.greedy_total_score
    assert run.upper_bound is not None and run.upper_bound - run.total_score < 1
    assert run.matched_count + run.unmatched.count() == run.waiting_count == 6


@pytest.mark.django_db
def test_most_matched_first_matches_as_many_as_possible_then_scores_highest(programme, coordinator):
    _random_programme(programme, 4)

    run = _computed(programme, coordinator, objective=BatchRun.Objective.MOST_MATCHED)

    matched, total = _brute_force(programme.pk, "most_matched")
    assert (run.matched_count, run.total_score) == (matched, total)


@pytest.mark.django_db
def test_each_pairs_parts_sum_to_its_score_and_concordance_is_counted(programme, coordinator):
    _random_programme(programme, 5)

    run = _computed(programme, coordinator)

    pairs = list(run.pairs.all())
    assert pairs
    for pair in pairs:
        assert pair.score == sum(part["points"] for part in pair.parts)
        # "args": what the reason is worded from, to word it again in its reader's language.
        assert all(set(part) == {"code", "points", "reason", "args"} for part in pair.parts)
    assert run.language_concordant_count == sum(pair.language_concordant for pair in pairs)


@pytest.mark.django_db
def test_a_long_wait_wins_a_tie_only_with_wait_priority(programme, coordinator):
    mentor = _mentor(programme, [("ro", NATIVE)])
    recent = _mentee(programme, [("ro", NATIVE)], waited_days=3)
    long_waiting = _mentee(programme, [("ro", NATIVE)], waited_days=150)

    run = _computed(programme, coordinator, wait_priority=True)

    assert _proposal(run) == {(long_waiting.pk, mentor.pk)}
    assert {u.mentee_id for u in run.unmatched.all()} == {recent.pk}
    (pair,) = run.pairs.all()
    assert "wait" in {part["code"] for part in pair.parts}


# --- Pins, forbids, hard rules, consent -------------------------------------------------------


@pytest.mark.django_db
def test_a_rerun_keeps_the_pinned_pair_and_avoids_the_forbidden_one(programme, coordinator):
    romanian = _mentor(programme, [("ro", NATIVE)])
    ukrainian = _mentor(programme, [("uk", NATIVE), ("ro", FLUENT)])
    ana = _mentee(programme, [("ro", NATIVE)])
    olena = _mentee(programme, [("uk", NATIVE), ("ro", BASIC)])
    run = _computed(programme, coordinator)
    assert _proposal(run) == {(ana.pk, romanian.pk), (olena.pk, ukrainian.pk)}

    pinned = batch_run_rerun(run=run, created_by=coordinator, pin=[[ana.pk, ukrainian.pk]])
    pinned = batch_run_compute(run_id=pinned.pk)
    forbidden = batch_run_rerun(run=run, created_by=coordinator, forbid=[[olena.pk, ukrainian.pk]])
    forbidden = batch_run_compute(run_id=forbidden.pk)

    assert pinned.previous == run and pinned.pinned == [[ana.pk, ukrainian.pk]]
    assert (ana.pk, ukrainian.pk) in _proposal(pinned)
    assert pinned.pairs.get(mentee=ana).pinned is True
    assert pinned.total_score < run.total_score  # the pin costs points, and the figures show it
    assert forbidden.forbidden == [[olena.pk, ukrainian.pk]]
    assert (olena.pk, ukrainian.pk) not in _proposal(forbidden)


@pytest.mark.django_db
def test_rerun_carries_pins_over_and_unpin_and_unforbid_lift_them(programme, coordinator):
    mentors = [_mentor(programme, [("ro", NATIVE)], capacity=2) for _ in range(2)]
    mentees = [_mentee(programme, [("ro", NATIVE)]) for _ in range(3)]
    run = batch_run_create(
        programme=programme,
        created_by=coordinator,
        pinned=[[mentees[0].pk, mentors[0].pk]],
        forbidden=[[mentees[1].pk, mentors[1].pk]],
    )

    again = batch_run_rerun(run=run, created_by=coordinator, forbid=[[mentees[2].pk, mentors[0].pk]])
    lifted = batch_run_rerun(
        run=again,
        created_by=coordinator,
        unpin=[[mentees[0].pk, mentors[0].pk]],
        unforbid=[[mentees[1].pk, mentors[1].pk]],
    )

    assert again.pinned == [[mentees[0].pk, mentors[0].pk]]
    assert again.forbidden == [[mentees[1].pk, mentors[1].pk], [mentees[2].pk, mentors[0].pk]]
    assert lifted.pinned == [] and lifted.forbidden == [[mentees[2].pk, mentors[0].pk]]


@pytest.mark.django_db
def test_excluded_and_declined_pairs_are_never_proposed(programme, coordinator):
    best = _mentor(programme, [("uk", NATIVE), ("ro", NATIVE)], capacity=3)
    other = _mentor(programme, [("ro", NATIVE)], capacity=3)
    relative = _mentee(programme, [("uk", NATIVE), ("ro", FLUENT)])
    declined = _mentee(programme, [("uk", NATIVE), ("ro", FLUENT)])
    MatchExclusion.objects.create(programme=programme, mentor=best, mentee=relative, reason="relative")
    MatchFactory(
        programme=programme,
        mentor=best,
        mentee=declined,
        status=Match.Status.DECLINED,
        started_on=None,
        declined_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        decline_reason=Match.DeclineReason.NO_TIME,
    )
    Mentee.objects.filter(pk=declined.pk).update(status=Mentee.Status.WAITING)

    run = _computed(programme, coordinator)

    assert _proposal(run) == {(relative.pk, other.pk), (declined.pk, other.pk)}


@pytest.mark.django_db
def test_a_mentee_without_background_consent_is_matched_without_language_or_background(
    programme, coordinator
):
    evening = ["mon_evening"]
    mentor = _mentor(
        programme, [("uk", NATIVE), ("ro", NATIVE)], backgrounds=["ukrainian"], availability=evening
    )
    mentee = _mentee(
        programme,
        [("uk", NATIVE), ("ro", BASIC)],
        backgrounds=["ukrainian"],
        availability=evening,
        consents=WITHOUT_BACKGROUND_MATCHING,
    )

    run = _computed(programme, coordinator)

    pair = run.pairs.get()
    assert (pair.mentee_id, pair.mentor_id) == (mentee.pk, mentor.pk)
    codes = {part["code"] for part in pair.parts}
    assert codes.isdisjoint({"preferred_language", "shared_language", "shared_background"})
    assert "consent_missing" in codes and "availability" in codes
    assert pair.language_concordant is False


@pytest.mark.django_db
def test_a_pinned_pair_that_breaks_a_hard_rule_fails_the_run_with_the_reason(programme, coordinator):
    mentor = _mentor(programme, [("ro", NATIVE)])
    mentee = _mentee(programme, [("ti", NATIVE)])

    run = _computed(programme, coordinator, pinned=[[mentee.pk, mentor.pk]])

    assert run.status == BatchRun.Status.FAILED
    assert "A pinned pair cannot be made" in run.error and "Unpin it" in run.error
    assert not run.pairs.exists() and not run.unmatched.exists()


# --- Unmatched mentees and recruitment needs -------------------------------------------------


@pytest.mark.django_db
def test_every_unmatched_mentee_has_a_reason_and_the_needs_sum_them(programme, coordinator):
    _mentor(programme, [("ro", NATIVE), ("uk", FLUENT)])
    tigrinya = [_mentee(programme, [("ti", NATIVE)], backgrounds=["eritrean"]) for _ in range(2)]
    ukrainian = [_mentee(programme, [("uk", NATIVE)], backgrounds=["ukrainian"]) for _ in range(2)]

    run = _computed(programme, coordinator)

    unmatched = {row.mentee_id: row for row in run.unmatched.all()}
    assert set(unmatched) == {m.pk for m in tigrinya} | (
        {m.pk for m in ukrainian} - {p.mentee_id for p in run.pairs.all()}
    )
    assert len(unmatched) == 3
    for mentee in tigrinya:
        row = unmatched[mentee.pk]
        assert row.reason == BatchUnmatched.Reason.NO_LANGUAGE
        assert "Tigrinya" in row.detail
        assert row.language == "ti" and row.background.code == "eritrean"
    (outscored,) = [row for row in unmatched.values() if row.language == "uk"]
    assert outscored.reason == BatchUnmatched.Reason.OUTSCORED

    needs = recruitment_needs(run=run)
    languages = {item["value"]: item for item in needs if item["dimension"] == "language"}
    backgrounds = {item["label"]: item for item in needs if item["dimension"] == "background"}
    assert languages["ti"]["label"] == "Tigrinya"
    assert languages["ti"]["count"] == 2
    assert languages["ti"]["reasons"] == [
        {"reason": "no_language", "label": BatchUnmatched.Reason.NO_LANGUAGE.label, "count": 2}
    ]
    assert languages["uk"]["count"] == 1
    assert sum(item["count"] for item in languages.values()) == len(unmatched)
    assert backgrounds["Eritrean"]["count"] == 2 and backgrounds["Ukrainian"]["count"] == 1
    assert needs[0]["value"] == "ti"  # largest first


# --- Accepting --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_accepting_makes_proposed_matches_and_refuses_a_pair_whose_mentor_is_now_full(programme, coordinator):
    mentors = [_mentor(programme, [("ro", NATIVE)]) for _ in range(2)]
    mentees = [_mentee(programme, [("ro", NATIVE)]) for _ in range(2)]
    run = _computed(programme, coordinator)
    assert run.matched_count == 2
    full_pair = run.pairs.get(mentor=mentors[0])
    # Meanwhile another coordinator gives that mentor's one place to someone else.
    match_create(mentee=_mentee(programme, [("ro", NATIVE)]), mentor=mentors[0], created_by=coordinator)

    made = batch_run_accept(run=run, created_by=coordinator)

    (match,) = made
    other_pair = run.pairs.get(mentor=mentors[1])
    assert (match.mentee_id, match.mentor_id) == (other_pair.mentee_id, other_pair.mentor_id)
    assert match.status == Match.Status.PROPOSED and match.batch_run == run
    assert match.score == other_pair.score
    other_pair.refresh_from_db()
    assert other_pair.match == match
    assert Mentee.objects.get(pk=match.mentee_id).status == Mentee.Status.WAITING  # until the mentor accepts
    ((refused, reason),) = [(r.pair, r.reason) for r in made.refused]
    assert refused.pk == full_pair.pk and "No free capacity" in reason
    assert Match.objects.filter(mentor=mentors[0], status__in=Match.OPEN_STATUSES).count() == 1
    assert {m.pk for m in mentees} >= {match.mentee_id}


@pytest.mark.django_db
def test_a_pair_accepted_twice_is_refused(programme, coordinator):
    _mentor(programme, [("ro", NATIVE)], capacity=2)
    _mentee(programme, [("ro", NATIVE)])
    _mentee(programme, [("ro", NATIVE)])
    run = _computed(programme, coordinator)
    first, second = run.pairs.all()

    made = batch_run_accept(run=run, created_by=coordinator, pair_ids=[first.pk])
    again = batch_run_accept(run=run, created_by=coordinator, pair_ids=[first.pk, second.pk])

    assert len(made) == 1 and made.refused == []
    assert [m.mentee_id for m in again] == [second.mentee_id]
    assert [(r.pair.pk, r.reason) for r in again.refused] == [
        (first.pk, "This pair has been accepted already.")
    ]
    with pytest.raises(ValidationError, match="accepted already"):
        batch_run_accept(run=run, created_by=coordinator)
    assert Match.objects.filter(batch_run=run).count() == 2


@pytest.mark.django_db
def test_only_a_run_ready_for_review_can_be_accepted(programme, coordinator):
    _mentor(programme, [("ro", NATIVE)])
    _mentee(programme, [("ro", NATIVE)])
    run = batch_run_create(programme=programme, created_by=coordinator)

    with pytest.raises(ValidationError, match="ready for review"):
        batch_run_accept(run=run, created_by=coordinator)


# --- Who may, and what is checked -------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_programmes_coordinators_run_and_accept_batches(
    programme, coordinator, other_coordinator, manager
):
    _mentor(programme, [("ro", NATIVE)])
    _mentee(programme, [("ro", NATIVE)])
    run = _computed(programme, coordinator)

    for user in (other_coordinator, manager):
        with pytest.raises(PermissionDenied):
            batch_run_create(programme=programme, created_by=user)
        with pytest.raises(PermissionDenied):
            batch_run_accept(run=run, created_by=user)
        with pytest.raises(PermissionDenied):
            batch_run_rerun(run=run, created_by=user)


@pytest.mark.django_db
def test_pins_and_forbids_must_name_this_programmes_waiting_mentees_and_mentors(
    programme, other_programme, coordinator
):
    mentor = _mentor(programme, [("ro", NATIVE)], capacity=1)
    waiting = _mentee(programme, [("ro", NATIVE)])
    second = _mentee(programme, [("ro", NATIVE)])
    matched = MatchFactory(programme=programme).mentee
    foreign_mentor = _mentor(other_programme, [("ro", NATIVE)])

    with pytest.raises(ValidationError) as bad_people:
        batch_run_create(
            programme=programme,
            created_by=coordinator,
            pinned=[[matched.pk, mentor.pk]],
            forbidden=[[waiting.pk, foreign_mentor.pk]],
        )
    with pytest.raises(ValidationError) as conflicting:
        batch_run_create(
            programme=programme,
            created_by=coordinator,
            objective="fastest",
            pinned=[[waiting.pk, mentor.pk], [second.pk, mentor.pk]],
            forbidden=[[waiting.pk, mentor.pk], "nonsense"],
        )

    assert bad_people.value.message_dict == {
        "pinned": [f"Mentee {matched.pk} is not on this programme's waiting list."],
        "forbidden": [f"Mentor {foreign_mentor.pk} is not a mentor of this programme."],
    }
    errors = conflicting.value.message_dict
    assert set(errors) == {"objective", "pinned", "forbidden"}
    assert "has 1 free place(s) but 2 pinned mentees" in errors["pinned"][0]
    assert errors["forbidden"] == ["Give each pair as [mentee id, mentor id] (two whole numbers)."]
    assert not BatchRun.objects.exists()


@pytest.mark.django_db
def test_asking_for_a_run_enqueues_its_computation_after_commit(
    programme, coordinator, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(batch_run_compute_task, "apply_async", lambda args, **kw: sent.append(tuple(args)))

    with django_capture_on_commit_callbacks(execute=True):
        run = batch_run_create(programme=programme, created_by=coordinator)

    assert run.status == BatchRun.Status.QUEUED and run.progress == 0
    assert sent == [(run.pk,)]
    outbox = TaskOutbox.objects.get()
    assert (outbox.task_name, outbox.args) == (batch_run_compute_task.name, [run.pk])


# --- Computing: idempotent, atomic, fast ------------------------------------------------------


@pytest.mark.django_db
def test_computing_again_changes_nothing_and_an_interrupted_run_is_computed_afresh(programme, coordinator):
    _random_programme(programme, 6)
    run = _computed(programme, coordinator)
    pairs = sorted(_proposal(run))
    finished_at = run.finished_at

    again = batch_run_compute(run_id=run.pk)
    # A worker lost mid-run: the message is delivered again while the row still says running.
    BatchRun.objects.filter(pk=run.pk).update(status=BatchRun.Status.RUNNING, progress=40)
    redone = batch_run_compute(run_id=run.pk)

    assert again.finished_at == finished_at and sorted(_proposal(again)) == pairs
    assert redone.status == BatchRun.Status.DONE and redone.progress == 100
    assert sorted(_proposal(redone)) == pairs
    assert redone.pairs.count() + redone.unmatched.count() == redone.waiting_count


@pytest.mark.django_db
def test_a_failing_computation_marks_the_run_failed_and_writes_nothing(programme, coordinator, monkeypatch):
    from matching import optimize

    _random_programme(programme, 7)
    run = batch_run_create(programme=programme, created_by=coordinator)

    def broken(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(optimize, "greedy", broken)
    with pytest.raises(MemoryError):
        batch_run_compute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == BatchRun.Status.FAILED
    assert "unexpected error (MemoryError)" in run.error
    assert not BatchPair.objects.filter(run=run).exists()
    assert not BatchUnmatched.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_saving_a_proposal_costs_the_same_queries_for_a_larger_waiting_list(programme, other_programme):
    from tests.factories import CoordinatorFactory

    def queries_for(target, mentees: int) -> int:
        user = CoordinatorFactory(programmes=[target])
        for _ in range(max(1, mentees // 2)):
            _mentor(target, [("ro", NATIVE)], capacity=2)
        for _ in range(mentees):
            _mentee(target, [("ro", NATIVE)])
        run = batch_run_create(programme=target, created_by=user)
        with CaptureQueriesContext(connection) as queries:
            batch_run_compute(run_id=run.pk)
        assert BatchRun.objects.get(pk=run.pk).matched_count == mentees
        return len(queries)

    assert queries_for(other_programme, 40) <= queries_for(programme, 4)


# --- Through a real worker --------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_computes_a_batch_through_the_queue(celery_worker_live, programme, coordinator):
    _random_programme(programme, 8)

    with transaction.atomic():
        run = batch_run_create(programme=programme, created_by=coordinator)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (BatchRun.Status.DONE, BatchRun.Status.FAILED):
            break
        time.sleep(0.2)
    assert run.status == BatchRun.Status.DONE, run.error
    assert run.progress == 100 and run.stage == "Ready for review"
    assert run.started_at <= run.finished_at and run.elapsed_ms is not None
    assert run.pairs.count() == run.matched_count > 0
    assert TaskOutbox.objects.get().sent_at is not None


@pytest.mark.django_db
def test_a_rerun_drops_the_pins_of_mentees_matched_since(programme, coordinator):
    mentors = [_mentor(programme, [("ro", NATIVE)]) for _ in range(2)]
    mentees = [_mentee(programme, [("ro", NATIVE)]) for _ in range(2)]
    run = _computed(
        programme,
        coordinator,
        pinned=[[mentees[0].pk, mentors[0].pk]],
        forbidden=[[mentees[1].pk, mentors[0].pk]],
    )
    batch_run_accept(run=run, created_by=coordinator, pair_ids=[run.pairs.get(mentee=mentees[0]).pk])

    again = batch_run_compute(run_id=batch_run_rerun(run=run, created_by=coordinator).pk)

    assert again.pinned == [] and again.forbidden == [[mentees[1].pk, mentors[0].pk]]
    assert again.waiting_count == 1  # the proposed mentee has left the waiting list
    assert _proposal(again) == {(mentees[1].pk, mentors[1].pk)}


@pytest.mark.django_db
def test_a_programme_without_mentors_or_without_waiting_mentees_gives_an_empty_proposal(
    programme, other_programme, coordinator, other_coordinator
):
    lonely = _mentee(programme, [("ro", NATIVE)])
    _mentor(other_programme, [("ro", NATIVE)])

    no_mentors = _computed(programme, coordinator)
    nobody_waiting = _computed(other_programme, other_coordinator)

    assert no_mentors.status == BatchRun.Status.DONE, no_mentors.error
    assert (no_mentors.matched_count, no_mentors.total_score, no_mentors.waiting_count) == (0, 0, 1)
    (row,) = no_mentors.unmatched.all()
    assert (row.mentee_id, row.reason) == (lonely.pk, BatchUnmatched.Reason.NO_MENTOR)
    assert nobody_waiting.status == BatchRun.Status.DONE, nobody_waiting.error
    assert (nobody_waiting.waiting_count, nobody_waiting.mentor_count) == (0, 1)
