"""The assignment over candidate pairs that batch matching solves in every pricing round: solved
from nothing and from the previous round's answer, its total equals an exact solver's and its
prices prove it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from matching.flow import Assignment
from matching.optimize import _solve_restricted


def pairs(rng, n, m, count, low=-5, high=40):
    """``count`` distinct random pairs with whole-number weights full of ties."""
    flat = rng.choice(n * m, size=min(count, n * m), replace=False)
    return flat // m, flat % m, rng.integers(low, high + 1, len(flat)).astype(np.float64)


def exact(n, caps, ei, ej, ew) -> float:
    """Best total over the pairs: SciPy's dense assignment, a column per place (a missing or
    losing pair is worth 0, as leaving the mentee unmatched)."""
    places = np.repeat(np.arange(len(caps)), caps)
    if not len(places):
        return 0.0
    w = np.zeros((n, len(caps)))
    w[ei, ej] = np.maximum(ew, 0)
    profit = w[:, places]
    rows, cols = linear_sum_assignment(profit, maximize=True)
    return float(profit[rows, cols].sum())


def check(n, caps, ei, ej, ew, chosen, prices, gains) -> float:
    """The chosen pairs form a valid assignment whose total the prices prove best; -> total."""
    mentees = ei[chosen]
    assert len(np.unique(mentees)) == len(mentees), "a mentee got two mentors"
    assert (np.bincount(ej[chosen], minlength=len(caps)) <= caps).all(), "a mentor got too many"
    assert (prices >= 0).all() and (gains >= 0).all()
    assert (gains[ei] + prices[ej] >= ew).all(), "a pair beats its mentee's gain at these prices"
    total = float(ew[chosen].sum())
    assert caps @ prices + gains.sum() == total, "the prices do not prove the total"
    return total


@pytest.mark.parametrize("seed", range(6))
def test_a_fresh_solve_equals_the_exact_optimum(seed):
    rng = np.random.default_rng(seed)
    n, m = 120, 50
    caps = rng.integers(0, 4, m)  # some mentors have no free place
    ei, ej, ew = pairs(rng, n, m, 1500)
    got = check(n, caps, ei, ej, ew, *Assignment(n, caps).solve(ei, ej, ew))
    assert got == exact(n, caps, ei, ej, ew)


@pytest.mark.parametrize("seed", range(6))
def test_each_round_from_the_last_answer_equals_a_fresh_solve(seed):
    """Pairs join (some better than anything chosen) and pairs that were not chosen leave, as
    in the pricing rounds; every round's answer is still the optimum."""
    rng = np.random.default_rng(100 + seed)
    n, m = 150, 60
    caps = rng.integers(1, 4, m)
    all_i, all_j, all_w = pairs(rng, n, m, 3000, high=60)
    live = rng.random(len(all_i)) < 0.2
    flow = Assignment(n, caps)
    for _ in range(6):
        ei, ej, ew = all_i[live], all_j[live], all_w[live]
        chosen, prices, gains = flow.solve(ei, ej, ew)
        got = check(n, caps, ei, ej, ew, chosen, prices, gains)
        assert got == exact(n, caps, ei, ej, ew)
        assert got == check(n, caps, ei, ej, ew, *Assignment(n, caps).solve(ei, ej, ew))
        kept = np.zeros(len(all_i), dtype=bool)
        kept[np.flatnonzero(live)[chosen]] = True
        live = kept | ((rng.random(len(all_i)) < 0.25) & (live | (rng.random(len(all_i)) < 0.3)))


def test_a_round_with_nothing_new_moves_nobody():
    rng = np.random.default_rng(7)
    caps = rng.integers(1, 3, 40)
    ei, ej, ew = pairs(rng, 100, 40, 900)
    flow = Assignment(100, caps)
    first = flow.solve(ei, ej, ew)
    assert flow.moved > 0
    again = flow.solve(ei, ej, ew)
    assert flow.moved == 0
    assert (first[0] == again[0]).all()


def test_a_round_can_start_from_the_fresh_solvers_answer():
    """Batch matching solves afresh while many mentees move and goes on from that answer."""
    rng = np.random.default_rng(11)
    n, m = 200, 80
    caps = rng.integers(1, 4, m)
    all_i, all_j, all_w = pairs(rng, n, m, 5000, high=50)
    first = rng.random(len(all_i)) < 0.3
    ei, ej, ew = all_i[first], all_j[first], all_w[first]
    chosen, prices, gains = _solve_restricted(ei, ej, ew, caps, m)
    full_gains = np.zeros(n)
    full_gains[: len(gains)] = gains
    flow = Assignment(n, caps)
    flow.start_from(ei, ej, ew, chosen, prices, full_gains)
    chosen2, prices2, gains2 = flow.solve(ei, ej, ew)
    assert flow.moved == 0
    assert (chosen2 == chosen).all()
    more = first | (rng.random(len(all_i)) < 0.2)
    ei, ej, ew = all_i[more], all_j[more], all_w[more]
    got = check(n, caps, ei, ej, ew, *flow.solve(ei, ej, ew))
    assert flow.moved > 0
    assert got == exact(n, caps, ei, ej, ew)


def test_large_weights_of_the_most_matched_objective_stay_exact():
    """most_matched adds one large constant to every pair: still whole numbers, still exact."""
    rng = np.random.default_rng(3)
    n, m = 150, 40
    caps = rng.integers(1, 3, m)
    ei, ej, ew = pairs(rng, n, m, 2000, low=-20, high=20)
    shift = 2.0**40
    got = check(n, caps, ei, ej, ew + shift, *Assignment(n, caps).solve(ei, ej, ew + shift))
    assert got == exact(n, caps, ei, ej, ew + shift)


def test_no_pairs_leaves_everyone_unmatched():
    chosen, prices, gains = Assignment(5, np.array([1, 2])).solve(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    )
    assert len(chosen) == 0 and not prices.any() and not gains.any()
