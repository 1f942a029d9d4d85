"""Batch matching's solver: its result equals the optimum computed independently, by brute force on
small intakes and by an exact assignment solver from SciPy on the full graph of medium ones."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from matching import optimize
from matching.optimize import _top_k, dual_bound, greedy, solve

LEVEL_POINTS = np.array([0, 10, 30, 40], dtype=np.int32)


class Intake:
    """Scores and hard rules held as full arrays (fine for the sizes tested here)."""

    def __init__(self, scores: np.ndarray, feasible: np.ndarray, capacities: np.ndarray):
        self.scores = scores.astype(np.int32)
        self.feasible = feasible.astype(bool)
        self.capacities = np.asarray(capacities, dtype=np.int64)
        self.n, self.m = scores.shape

    def scorer(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.scores[rows], self.feasible[rows]


def random_intake(rng, n, m, *, caps=(1, 3), low=-10, high=30, density=0.6) -> Intake:
    return Intake(
        rng.integers(low, high + 1, (n, m)),
        rng.random((n, m)) < density,
        rng.integers(caps[0], caps[1] + 1, m),
    )


def programme(n: int, m: int, seed: int = 0) -> Intake:
    """A small programme like a real one: most people speak the local language (0), some prefer a
    minority language; points for the preferred language's level, a shared background, evenings in
    common, minus distance for in-person mentees, who must live within 45 km."""
    rng = np.random.default_rng(seed)
    languages = 6

    def people(k: int):
        level = np.zeros((k, languages), dtype=np.int8)
        local = rng.random(k) < 0.9
        level[local, 0] = rng.choice([1, 2, 3], size=local.sum())
        other = rng.integers(1, languages, k)
        has_other = (rng.random(k) < 0.5) | ~local
        level[np.flatnonzero(has_other), other[has_other]] = rng.choice([1, 2, 3], size=has_other.sum())
        return level, other

    mentor_level, _ = people(m)
    mentee_level, other = people(n)
    preferred = np.where((mentee_level[np.arange(n), other] > 0) & (rng.random(n) < 0.6), other, 0)
    speaks_common = (mentee_level > 0).astype(int) @ (mentor_level > 0).astype(int).T > 0
    score = LEVEL_POINTS[mentor_level[:, preferred].T]
    score += 25 * (rng.integers(0, 8, n)[:, None] == rng.integers(0, 8, m)[None, :])
    evenings = np.bitwise_count(rng.integers(0, 1 << 14, n)[:, None] & rng.integers(0, 1 << 14, m)[None, :])
    score += np.minimum(4 * evenings, 24).astype(np.int32)
    km = np.hypot(*(rng.random((2, n))[:, :, None] * 60 - rng.random((2, m))[:, None, :] * 60))
    in_person = (rng.random(n) < 0.5)[:, None]
    score -= np.where(in_person, km // 3, 0).astype(np.int32)
    feasible = speaks_common & (~in_person | (km <= 45))
    return Intake(score, feasible, rng.integers(1, 4, m))


# --- independent optima ------------------------------------------------------------------------


def brute_force(intake: Intake, objective: str, pinned=()) -> tuple[int, int]:
    """(matched, total) of the best assignment, by trying every one (dynamic programme over the
    mentors' remaining places). Pinned mentees keep their mentor."""
    pinned = dict(pinned)
    caps = intake.capacities.copy()
    for j in pinned.values():
        caps[j] -= 1
    rest = [i for i in range(intake.n) if i not in pinned]
    base = (len(pinned), sum(int(intake.scores[i, j]) for i, j in pinned.items()))

    def better(a, b):
        key = (lambda v: v[1]) if objective == "total_score" else (lambda v: v)
        return a if key(a) >= key(b) else b

    @functools.cache
    def best(k: int, left: tuple[int, ...]) -> tuple[int, int]:
        if k == len(rest):
            return (0, 0)
        i = rest[k]
        result = best(k + 1, left)
        for j in range(intake.m):
            if left[j] and intake.feasible[i, j]:
                after = left[:j] + (left[j] - 1,) + left[j + 1 :]
                sub = best(k + 1, after)
                result = better((sub[0] + 1, sub[1] + int(intake.scores[i, j])), result)
        return result

    got = best(0, tuple(int(c) for c in caps))
    return base[0] + got[0], base[1] + got[1]


def exact_total(intake: Intake) -> int:
    """Highest total score on the full graph: SciPy's assignment solver, each mentor expanded into
    one column per place; a pair that may not be matched, or scores 0 or less, is worth 0."""
    places = np.repeat(np.arange(intake.m), intake.capacities)
    profit = np.where(intake.feasible, np.maximum(intake.scores, 0), 0)[:, places]
    rows, cols = linear_sum_assignment(profit, maximize=True)
    return int(profit[rows, cols].sum())


def exact_most_matched(intake: Intake) -> tuple[int, int]:
    """(matched, total) that matches the most mentees, then scores highest, on the full graph."""
    places = np.repeat(np.arange(intake.m), intake.capacities)
    feasible = intake.feasible[:, places]
    spread = int(intake.scores.max() - intake.scores.min()) + 1
    bonus = spread * (min(intake.n, len(places)) + 1) + abs(int(intake.scores.min()))
    profit = np.where(feasible, intake.scores[:, places].astype(np.int64) + bonus, 0)
    rows, cols = linear_sum_assignment(profit, maximize=True)
    used = feasible[rows, cols]
    return int(used.sum()), int(intake.scores[rows[used], places[cols[used]]].sum())


def assert_valid(intake: Intake, mentor_of: np.ndarray) -> None:
    matched = np.flatnonzero(mentor_of >= 0)
    assert intake.feasible[matched, mentor_of[matched]].all(), "a pair that breaks a hard rule was matched"
    load = np.bincount(mentor_of[matched], minlength=intake.m)
    assert (load <= intake.capacities).all(), "a mentor got more mentees than free places"


def own_total(intake: Intake, mentor_of: np.ndarray) -> int:
    matched = np.flatnonzero(mentor_of >= 0)
    return int(intake.scores[matched, mentor_of[matched]].sum())


# --- small intakes: brute force ----------------------------------------------------------------


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
def test_result_equals_brute_force_optimum_on_small_intakes(objective):
    rng = np.random.default_rng(7)
    for _ in range(120):
        intake = random_intake(rng, int(rng.integers(1, 8)), int(rng.integers(1, 5)), density=rng.random())
        result = solve(intake.scorer, intake.n, intake.capacities, objective=objective, block=3)
        matched, total = brute_force(intake, objective)
        assert_valid(intake, result.mentor_of)
        assert result.total == own_total(intake, result.mentor_of)
        assert result.matched == int((result.mentor_of >= 0).sum())
        if objective == "total_score":
            assert result.total == total
            assert result.objective_value == total
        else:
            assert (result.matched, result.total) == (matched, total)
            assert result.objective_value == result.shift * matched + total
        assert result.upper_bound >= result.objective_value
        assert result.upper_bound - result.objective_value < 1
        assert result.exact


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
def test_greedy_never_beats_the_optimum(objective):
    rng = np.random.default_rng(11)
    for _ in range(60):
        intake = random_intake(rng, int(rng.integers(1, 8)), int(rng.integers(1, 5)))
        best = solve(intake.scorer, intake.n, intake.capacities, objective=objective)
        hand = greedy(intake.scorer, intake.n, intake.capacities, objective=objective)
        assert_valid(intake, hand.mentor_of)
        assert hand.total == own_total(intake, hand.mentor_of)
        assert hand.upper_bound is None
        if objective == "total_score":
            assert hand.total <= best.total
        else:
            assert (hand.matched, hand.total) <= (best.matched, best.total)


def test_greedy_serves_the_longest_wait_first():
    # Both mentees like mentor 0 best; mentor 0 has one place.
    intake = Intake(np.array([[10, 4], [30, 1]]), np.ones((2, 2), bool), np.array([1, 1]))
    assert greedy(intake.scorer, 2, intake.capacities).mentor_of.tolist() == [0, 1]
    assert greedy(intake.scorer, 2, intake.capacities, order=[1, 0]).mentor_of.tolist() == [1, 0]
    # The optimum gives mentor 0 to the mentee who gains most from them.
    assert solve(intake.scorer, 2, intake.capacities).mentor_of.tolist() == [1, 0]


def test_total_score_leaves_a_mentee_unmatched_rather_than_lose_points():
    intake = Intake(np.array([[-5, 0], [12, -3]]), np.ones((2, 2), bool), np.array([1, 1]))
    best = solve(intake.scorer, 2, intake.capacities)
    assert best.mentor_of.tolist() == [-1, 0]
    assert best.total == 12
    most = solve(intake.scorer, 2, intake.capacities, objective="most_matched")
    assert most.matched == 2
    assert most.total == 12 + 0


# --- medium intakes: SciPy's exact solver on the full graph --------------------------------------


@pytest.mark.parametrize(("n", "m"), [(300, 150), (1000, 500)])
def test_total_equals_exact_solver_on_full_graph(n, m):
    intake = programme(n, m, seed=n)
    assert intake.feasible.mean() > 0.6  # dense, as in a real programme
    result = solve(intake.scorer, n, intake.capacities, block=128)
    assert_valid(intake, result.mentor_of)
    assert result.total == exact_total(intake)
    assert result.exact
    assert result.total >= greedy(intake.scorer, n, intake.capacities, block=128).total


def test_most_matched_equals_exact_solver_on_full_graph():
    intake = programme(600, 250, seed=3)
    result = solve(intake.scorer, 600, intake.capacities, objective="most_matched", block=128)
    assert_valid(intake, result.mentor_of)
    assert (result.matched, result.total) == exact_most_matched(intake)
    assert result.exact


def test_random_scores_with_negatives_equal_exact_solver():
    rng = np.random.default_rng(5)
    intake = random_intake(rng, 400, 120, low=-40, high=60, density=0.8)
    result = solve(intake.scorer, 400, intake.capacities, block=64)
    assert result.total == exact_total(intake)
    assert result.exact


def contested(n: int = 500, m: int = 300) -> Intake:
    """Every mentee's best mentors are the same few: the short lists alone give a poor answer."""
    rng = np.random.default_rng(2)
    scores = rng.integers(1, 20, (n, m))
    scores[:, :6] = 60 + rng.integers(0, 3, (n, 6))
    return Intake(scores, rng.random((n, m)) < 0.9, np.ones(m, dtype=np.int64))


def test_pairs_left_out_are_priced_back_in_until_none_would_improve():
    intake = contested()
    result = solve(intake.scorer, intake.n, intake.capacities, candidates=4, block=100)
    assert result.rounds > 1
    assert result.total == exact_total(intake)
    assert result.exact


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
@pytest.mark.parametrize("warm_share", [0.0, 1.0])
def test_rounds_solved_afresh_or_from_the_round_before_reach_the_same_optimum(
    objective, warm_share, monkeypatch
):
    """After a first round, each restricted problem is solved afresh (share 0) or from the
    previous round's answer (share 1: always); the certified optimum is the same."""
    monkeypatch.setattr(optimize, "_WARM_SHARE", warm_share)
    intake = programme(600, 250, seed=3)
    result = solve(
        intake.scorer, intake.n, intake.capacities, objective=objective, candidates=2, reserve=8, block=100
    )
    assert result.rounds > 3
    assert result.exact
    if objective == "total_score":
        assert result.total == exact_total(intake)
    else:
        assert (result.matched, result.total) == exact_most_matched(intake)


def test_mentees_are_scored_again_when_their_short_lists_cannot_prove_the_optimum():
    intake = contested()
    calls = []

    def counting(rows):
        calls.append(len(rows))
        return intake.scorer(rows)

    result = solve(counting, intake.n, intake.capacities, candidates=2, reserve=3, block=100)
    assert sum(calls) > intake.n  # some mentees were scored twice
    assert result.rounds > 1
    assert result.total == exact_total(intake)
    assert result.exact


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
def test_dual_bound_from_the_prices_reproduces_the_upper_bound(objective):
    intake = programme(400, 200, seed=9)
    result = solve(intake.scorer, 400, intake.capacities, objective=objective)
    again = dual_bound(intake.scorer, 400, intake.capacities, result.prices, objective=objective)
    assert again == result.upper_bound
    # Any other prices give a valid but weaker bound.
    assert dual_bound(intake.scorer, 400, intake.capacities, result.prices + 3, objective=objective) >= again
    assert dual_bound(intake.scorer, 400, intake.capacities, np.zeros(200), objective=objective) >= again


def test_progress_is_reported_up_to_done():
    intake = programme(300, 100, seed=1)
    seen = []
    solve(intake.scorer, 300, intake.capacities, block=50, progress=lambda p, stage: seen.append((p, stage)))
    assert seen[0][1] == "Scoring candidates"
    assert any(stage == "Solving" for _, stage in seen)
    assert any(stage.startswith("Checking every pair") for _, stage in seen)
    assert seen[-1] == (100, "Done")
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


def test_no_mentees_or_no_feasible_pairs():
    empty = solve(lambda rows: (np.zeros((len(rows), 3)), np.zeros((len(rows), 3), bool)), 0, np.ones(3))
    assert empty.matched == 0 and empty.total == 0 and empty.exact
    intake = Intake(np.ones((4, 2)), np.zeros((4, 2), bool), np.array([1, 2]))
    none = solve(intake.scorer, 4, intake.capacities)
    assert none.mentor_of.tolist() == [-1] * 4
    assert none.exact
    no_mentors = Intake(np.zeros((3, 0)), np.zeros((3, 0), bool), np.zeros(0))
    assert solve(no_mentors.scorer, 3, no_mentors.capacities).mentor_of.tolist() == [-1] * 3
    assert greedy(no_mentors.scorer, 3, no_mentors.capacities).matched == 0


# --- pinned pairs ------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
def test_pinned_pairs_are_kept_and_the_rest_is_optimal_given_them(objective):
    rng = np.random.default_rng(21)
    for _ in range(60):
        intake = random_intake(rng, int(rng.integers(2, 8)), int(rng.integers(1, 5)), density=0.8)
        feasible = np.argwhere(intake.feasible)
        if not len(feasible):
            continue
        i, j = (int(v) for v in feasible[rng.integers(len(feasible))])
        result = solve(intake.scorer, intake.n, intake.capacities, objective=objective, fixed=[(i, j)])
        assert result.mentor_of[i] == j
        assert_valid(intake, result.mentor_of)
        matched, total = brute_force(intake, objective, pinned=[(i, j)])
        assert result.total == total
        if objective == "most_matched":
            assert result.matched == matched
        assert result.exact


def test_pinned_pair_even_when_it_scores_below_zero():
    intake = Intake(np.array([[-8, 5], [20, 1]]), np.ones((2, 2), bool), np.array([1, 1]))
    result = solve(intake.scorer, 2, intake.capacities, fixed=[(0, 0)])
    assert result.mentor_of.tolist() == [0, 1]
    assert result.total == -8 + 1
    hand = greedy(intake.scorer, 2, intake.capacities, fixed=[(0, 0)])
    assert hand.mentor_of.tolist() == [0, 1]


def test_pinning_a_pair_that_breaks_a_hard_rule_is_refused():
    intake = Intake(np.array([[5, 5]]), np.array([[True, False]]), np.array([1, 1]))
    with pytest.raises(ValueError, match="breaks a hard rule"):
        solve(intake.scorer, 1, intake.capacities, fixed=[(0, 1)])


def test_pinning_more_mentees_than_a_mentor_has_places_is_refused():
    intake = Intake(np.ones((3, 2)), np.ones((3, 2), bool), np.array([1, 2]))
    with pytest.raises(ValueError, match="free places"):
        solve(intake.scorer, 3, intake.capacities, fixed=[(0, 0), (1, 0)])


def test_pinning_one_mentee_twice_is_refused():
    intake = Intake(np.ones((3, 2)), np.ones((3, 2), bool), np.array([2, 2]))
    with pytest.raises(ValueError, match="more than one mentor"):
        solve(intake.scorer, 3, intake.capacities, fixed=[(0, 0), (0, 1)])


def test_unknown_objective_is_refused():
    intake = Intake(np.ones((1, 1)), np.ones((1, 1), bool), np.array([1]))
    with pytest.raises(ValueError, match="objective"):
        solve(intake.scorer, 1, intake.capacities, objective="fastest")


# --- each mentee's reserve: the k best mentors, exactly ---------------------------------------


@pytest.mark.parametrize("dtype", [np.int32, np.float64])
@pytest.mark.parametrize("k", [1, 7, 64, 300])
def test_reserve_holds_each_rows_k_best_and_the_best_left_out(dtype, k):
    rng = np.random.default_rng(k)
    lowest = -np.inf if dtype == np.float64 else np.iinfo(np.int32).min
    a = rng.integers(-30, 120, (400, 3000)).astype(dtype)
    a[rng.random(a.shape) < 0.4] = lowest  # pairs that may not be matched
    a[:20] = 5  # every value tied
    a[20:40, 10:] = lowest  # hardly a feasible mentor
    a[40:60, : k + 1] = 500  # the best k + 1 all equal
    # Rows whose every other column misleads a sample of them: a threshold set too low (every
    # sampled value tied below the rest) and one set too high (sampled values above the rest).
    a[60:70, 0::2] = -20
    a[60:70, 1::2] = rng.integers(-10, 120, (10, 1500))
    a[70:80] = rng.integers(-30, 50, (10, 3000))
    a[70:80, 0:456:2] = 100

    cols, vals, kth = _top_k(a, k)

    expected = np.sort(a, axis=1)[:, ::-1]
    assert (np.sort(vals, axis=1)[:, ::-1] == expected[:, :k]).all()
    assert (np.take_along_axis(a, cols, axis=1) == vals).all()
    assert all(len(set(row)) == k for row in cols.tolist())  # k distinct mentors
    assert (kth == expected[:, k]).all()


# --- the greedy comparison from the solver's reserves -------------------------------------------


@pytest.mark.parametrize("objective", ["total_score", "most_matched"])
@pytest.mark.parametrize("reserve", [2, 8, 64])
def test_greedy_from_the_solvers_reserves_equals_greedy_scoring_everyone(objective, reserve):
    for intake in (programme(300, 120, seed=reserve), contested(300, 80)):
        fixed = [(0, 3), (7, 5)] if intake.feasible[0, 3] and intake.feasible[7, 5] else []
        result = solve(
            intake.scorer, intake.n, intake.capacities, objective=objective, fixed=fixed,
            reserve=reserve, block=64, keep_reserve=True,
        )  # fmt: skip
        calls = []

        def counting(rows, intake=intake, calls=calls):
            calls.append(len(rows))
            return intake.scorer(rows)

        quick = greedy(
            counting, intake.n, intake.capacities, objective=objective, fixed=fixed, reserve=result.reserve
        )
        plain = greedy(intake.scorer, intake.n, intake.capacities, objective=objective, fixed=fixed)
        assert (quick.mentor_of == plain.mentor_of).all()
        assert (quick.total, quick.matched, quick.objective_value) == (
            plain.total,
            plain.matched,
            plain.objective_value,
        )
        assert sum(calls) - len(fixed) < intake.n  # some mentees were placed from their reserve


def test_a_reserve_from_another_objective_is_refused():
    intake = programme(50, 20, seed=1)
    result = solve(intake.scorer, 50, intake.capacities, keep_reserve=True)
    with pytest.raises(ValueError, match="other mentees, pins or objective"):
        greedy(intake.scorer, 50, intake.capacities, objective="most_matched", reserve=result.reserve)
