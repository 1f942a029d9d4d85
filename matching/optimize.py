"""Batch matching of a whole intake: the best set of pairs, with a certificate that it is the best.

The problem
-----------
N waiting mentees, M mentors. Mentee i may get at most one mentor, mentor j may take at most
``capacities[j]`` new mentees, and only *feasible* pairs (every hard rule passed) may be matched.
Each feasible pair has an integer score. We want the assignment with the highest total score
(``objective="total_score"``), or the one that matches as many mentees as possible and, among
those, has the highest total score (``objective="most_matched"``).

With 20,000 mentees and 10,000 mentors there are 200 million pairs, most of them feasible, so we
never hold them all: the scorer computes the scores of a block of mentees against every mentor and
we keep only what we need from each block.

Mentors' prices
---------------
Think of every mentor as having a *price* p_j >= 0 for one of their places. A mentee's *gain*
from mentor j is the pair's score minus that mentor's price; each mentee's best gain is
r_i = max(0, max_j (score_ij - p_j)). For ANY prices whatsoever,

    total score of any valid assignment  <=  sum_j capacity_j * p_j  +  sum_i r_i        (*)

because each matched pair's score is at most its mentor's price plus its mentee's best gain, a
mentor collects at most ``capacity`` prices and a mentee at most one gain. The right-hand side is
the *bound*. When prices are chosen well (they are the dual values of the linear programme below)
the bound equals the total of the assignment we found, and then no other assignment can be better:
the result is certified optimal, over every feasible pair, including the ones we never stored.

The method
----------
1. *Scoring candidates*: one pass over all mentees keeps, for each mentee, a reserve of their
   best-scoring mentors (512 by default) and the best score left out of it; the first few of the
   reserve, plus each mentor's own best few mentees, start as the candidate pairs.
2. *Solving*: the best assignment over the candidate pairs, i.e. the linear programme
   max sum w_e x_e  subject to  sum of x at a mentee <= 1,  sum of x at a mentor <= capacity,
   x >= 0. Its matrix is that of a bipartite graph (totally unimodular), so its optimum is an
   assignment and its dual values (the prices) are whole numbers. While many mentees have a
   better pair, we solve it afresh and exactly with SciPy's sparse assignment solver (LAPJVsp,
   each mentor's free places as columns) and read the prices off as shortest distances in the
   assignment's residual network, which satisfy complementary slackness with it: the bound (*)
   over the candidate pairs equals the assignment's total. Once few do (at most
   ``_WARM_SHARE`` of the mentees), each round starts from the previous round's assignment and
   prices and moves only the mentees concerned (:mod:`matching.flow`): the same exact answer,
   tens of times quicker. (HiGHS through ``linprog`` gives the same answer, several times
   slower at 20,000 mentees.)
3. *Checking every pair*: with those prices, we look for any pair whose gain beats what its
   mentee gets from the candidates. Pairs in the reserve are checked from memory. The pairs left
   out of a mentee's reserve are bounded by the best one left out, minus the lowest price; only
   the mentees for whom that bound could win are scored again, in full (their reserve is then
   refreshed with the best pairs under the current prices). Pairs that would improve the result
   join the candidates, pairs that clearly lose leave them, and step 2 runs again (column
   generation). When no pair anywhere would improve the result, the bound (*) computed in that
   same check equals the total found: the result is exact. Scores and prices are whole numbers,
   so a gap below 1 means exact; the check costs one or two passes over the mentees in all.

``most_matched`` adds the same large constant D to every feasible pair's score, large enough that
one more matched mentee always outweighs any difference in total score; the bound and the
objective value are then in those shifted units (D * matched + total), and ``total`` is always the
sum of the pairs' own scores.

Pairs whose score is 0 or below never raise the total, so for ``total_score`` they are not
proposed (a mentee with only such mentors stays unmatched); for ``most_matched`` every feasible
pair counts.

The scorer is called from up to ``workers`` threads at once (numpy releases the GIL while it
computes), so it must not change shared state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
from django.utils.translation import gettext, pgettext
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from matching.flow import Assignment

Scorer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Progress = Callable[[int, str], None]

OBJECTIVES = ("total_score", "most_matched")

_NO_SCORE = np.iinfo(np.int32).min  # marks a pair that may not be (or need not be) matched
_MAX_ROUNDS = 60  # pricing rounds before giving up on a certificate (never reached in practice)
_WARM_SHARE = 0.15  # largest share of mentees with a better pair for which a round starts warm


@dataclass
class Reserve:
    """What the first scoring pass of :func:`solve` kept: for the mentees ``active`` (in order),
    ``cols[a]`` are the mentors of mentee ``active[a]``'s best ``scores[a]`` among the mentors open
    and usable then (in no particular order; ``_NO_SCORE`` pads a short list), and ``left_out[a]``
    is the best score of any usable mentor not in the list (``_NO_SCORE`` if none)."""

    active: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    left_out: np.ndarray
    objective: str
    smin: int | None = None  # lowest and highest usable score seen (for most_matched's shift)
    smax: int | None = None


@dataclass
class Result:
    mentor_of: np.ndarray  # (N,) int64 mentor index, or -1 when the mentee stays unmatched
    total: int  # sum of the assigned pairs' own scores (pinned pairs included)
    matched: int  # mentees with a mentor (pinned pairs included)
    upper_bound: float | None  # bound on the objective over every feasible pair (None for greedy)
    objective_value: float  # total, or shift * matched + total for most_matched
    gap: float | None  # (upper_bound - objective_value) / max(1, objective_value)
    rounds: int  # pricing rounds (linear programmes solved)
    edges: int  # candidate pairs in the last linear programme
    prices: np.ndarray | None  # (M,) mentors' prices, in the objective's units
    shift: int = 0  # D added to each pair's score for most_matched; 0 for total_score
    # Each mentee's best mentors as first scored (see :class:`Reserve`), for a greedy comparison
    # without scoring everyone again; only when ``solve`` was asked to keep it.
    reserve: Reserve | None = None

    @property
    def exact(self) -> bool:
        """Whether the bound proves that no assignment does better (scores are whole numbers)."""
        return self.upper_bound is not None and self.upper_bound - self.objective_value < 1


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}.")


def _score(scorer: Scorer, rows: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    scores, feasible = scorer(rows)
    scores = np.asarray(scores)
    feasible = np.asarray(feasible, dtype=bool)
    if scores.shape != (len(rows), m) or feasible.shape != (len(rows), m):
        raise ValueError(
            f"The scorer returned shapes {scores.shape} and {feasible.shape} for {len(rows)} mentees "
            f"and {m} mentors; expected ({len(rows)}, {m})."
        )
    return scores, feasible


def _blocks(rows: np.ndarray, block: int) -> list[np.ndarray]:
    block = max(1, int(block))
    return [rows[k : k + block] for k in range(0, len(rows), block)]


def _map_blocks(fn, blocks, workers: int, on_done=None):
    """fn(block) for each block, in order, on up to ``workers`` threads; on_done(k) after each."""
    out = []
    if workers <= 1 or len(blocks) <= 1:
        for k, b in enumerate(blocks):
            out.append(fn(b))
            if on_done:
                on_done(k)
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for k, value in enumerate(pool.map(fn, blocks)):
            out.append(value)
            if on_done:
                on_done(k)
    return out


def _lowest(dtype) -> float | int:
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _top_k(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's ``k`` largest values of the 2-D array ``a`` (``k`` < its columns), exactly:
    -> (their columns (r, k) in no particular order, their values, the (k+1)-th largest value).

    Much quicker than ``argpartition`` over whole rows (scores are small whole numbers, full of
    ties, which ``argpartition`` handles slowly): a threshold read from a sample of each row keeps
    a few times ``k`` columns, and the exact selection runs on those alone. Where the threshold
    value itself is shared by many columns, the columns above it are taken with as many tied
    ones as needed.
    """
    r, m = a.shape
    cols = np.empty((r, k), dtype=np.int64)
    vals = np.empty((r, k), dtype=a.dtype)
    kth = np.empty(r, dtype=a.dtype)
    stride = max(1, m // max(128, 2 * (k + 1)))  # a sample of about 2 (k + 1) columns, or 128
    sample = a[:, ::stride]
    s = sample.shape[1]
    above = min(s, int(math.ceil(1.5 * (k + 1) * s / m)) + 2)  # sampled values kept per row
    threshold = np.partition(sample, s - above, axis=1)[:, s - above]
    at_least = a >= threshold[:, None]
    count = np.count_nonzero(at_least, axis=1)
    small = (count > k) & (count <= max(6 * (k + 1), 64))
    if small.any():
        _select(a, np.flatnonzero(small), at_least, count, k, cols, vals, kth)
    rest = np.flatnonzero(~small)
    if not len(rest):
        return cols, vals, kth
    sub = a[rest]
    over = sub > threshold[rest, None]
    n_over = np.count_nonzero(over, axis=1)
    # Too few above the threshold: all of them, and the rest of k from the ties at it.
    ties = np.flatnonzero((n_over <= k) & (count[rest] > k))
    if len(ties):
        t_rows = rest[ties]
        tied = sub[ties] == threshold[t_rows, None]
        enough = np.cumsum(tied, axis=1) <= (k - n_over[ties])[:, None]
        chosen = over[ties] | (tied & enough)
        cols[t_rows] = np.flatnonzero(chosen).reshape(len(ties), k) % m
        vals[t_rows] = np.take_along_axis(a[t_rows], cols[t_rows], axis=1)
        kth[t_rows] = threshold[t_rows]
    # Many above the threshold (a sample set too low): select among those.
    many = np.flatnonzero(n_over > k)
    if len(many):
        _select(a, rest[many], over, n_over, k, cols, vals, kth, local=many)
    # The threshold set too high (fewer than k + 1 at or above it): the whole row.
    whole = rest[count[rest] <= k]
    if len(whole):
        row = a[whole]
        part = np.argpartition(row, m - k - 1, axis=1)
        cols[whole] = part[:, m - k :]
        vals[whole] = np.take_along_axis(row, cols[whole], axis=1)
        kth[whole] = np.take_along_axis(row, part[:, m - k - 1 : m - k], axis=1)[:, 0]
    return cols, vals, kth


def _select(a, rows, mask, count, k, cols, vals, kth, local=None) -> None:
    """The k largest of ``a[rows]`` among the columns in ``mask`` (more than k per row): they
    are gathered into a narrow array and selected there. ``mask`` and ``count`` are indexed by
    ``local`` (positions within a subset of rows) when given, else by ``rows``."""
    at = rows if local is None else local
    m = a.shape[1]
    sub_count = count[at]
    rr, cc = np.divmod(np.flatnonzero(mask[at]), m)
    width = int(sub_count.max())
    pos = np.arange(len(rr)) - np.repeat(np.cumsum(sub_count) - sub_count, sub_count)
    pad_v = np.full((len(rows), width), _lowest(a.dtype), dtype=a.dtype)
    pad_c = np.zeros((len(rows), width), dtype=np.int64)
    pad_v[rr, pos] = a[rows[rr], cc]
    pad_c[rr, pos] = cc
    part = np.argpartition(pad_v, width - k - 1, axis=1)
    cols[rows] = np.take_along_axis(pad_c, part[:, width - k :], axis=1)
    vals[rows] = np.take_along_axis(pad_v, part[:, width - k :], axis=1)
    kth[rows] = np.take_along_axis(pad_v, part[:, width - k - 1 : width - k], axis=1)[:, 0]


def _pinned(
    scorer: Scorer, n: int, capacities: np.ndarray, fixed: Sequence[tuple[int, int]], block: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the pinned pairs. -> (mentee indices, mentor indices, their scores)."""
    m = len(capacities)
    pairs = [(int(i), int(j)) for i, j in fixed]
    fi = np.array([i for i, _ in pairs], dtype=np.int64)
    fj = np.array([j for _, j in pairs], dtype=np.int64)
    for i, j in pairs:
        if not (0 <= i < n and 0 <= j < m):
            raise ValueError(
                f"Pinned pair (mentee {i}, mentor {j}) is outside the {n} mentees × {m} mentors."
            )
    seen, twice = np.unique(fi, return_counts=True)
    if (twice > 1).any():
        raise ValueError(f"Mentee {int(seen[twice > 1][0])} is pinned to more than one mentor.")
    used = np.bincount(fj, minlength=m) if len(fj) else np.zeros(m, dtype=np.int64)
    over = np.flatnonzero(used > capacities)
    if len(over):
        j = int(over[0])
        raise ValueError(
            f"Mentor {j} is pinned to {int(used[j])} mentees but has {int(capacities[j])} free places."
        )
    fs = np.zeros(len(fi), dtype=np.int64)
    for start in range(0, len(fi), max(1, block)):
        rows = fi[start : start + block]
        cols = fj[start : start + block]
        scores, feasible = _score(scorer, rows, m)
        k = np.arange(len(rows))
        bad = np.flatnonzero(~feasible[k, cols])
        if len(bad):
            i, j = int(rows[bad[0]]), int(cols[bad[0]])
            raise ValueError(
                f"Pinned pair (mentee {i}, mentor {j}) breaks a hard rule and may not be matched."
            )
        fs[start : start + len(rows)] = scores[k, cols]
    return fi, fj, fs


class _Reporter:
    """Calls progress(percent, stage) with a percentage that never goes back."""

    def __init__(self, progress: Progress | None):
        self.progress, self.last = progress, 0

    def __call__(self, percent: int, stage: str) -> None:
        self.last = max(self.last, min(100, int(percent)))
        if self.progress:
            self.progress(self.last, stage)


def _round_percent(rounds: float) -> int:
    """Scoring takes the first 45 %; pricing rounds fill the rest, most of it in the first few."""
    return int(45 + 54 * (1 - 0.6**rounds))


def _shift(smin: int | None, smax: int | None, places: int) -> int:
    """D such that one more matched mentee outweighs any difference in total score."""
    if smin is None or smax is None:
        return 1
    return int((smax - smin) * places + abs(smin) + 1)


def _finish(mentor_of, total, matched, shift, objective, upper_bound, rounds, edges, prices) -> Result:
    value = float(total) if objective == "total_score" else float(shift) * matched + total
    gap = None if upper_bound is None else (upper_bound - value) / max(1.0, value)
    return Result(
        mentor_of=mentor_of,
        total=int(total),
        matched=int(matched),
        upper_bound=upper_bound,
        objective_value=value,
        gap=gap,
        rounds=rounds,
        edges=edges,
        prices=prices,
        shift=int(shift) if objective == "most_matched" else 0,
    )


# --------------------------------------------------------------------------------------------
# The restricted linear programme
# --------------------------------------------------------------------------------------------


def _solve_restricted(ei, ej, ew, caps, m):
    """The best assignment over the candidate pairs, and mentors' prices that prove it.

    ``ei`` are dense mentee numbers 0..n-1, ``ej`` mentor indices, ``ew`` whole-number weights.
    -> (chosen: bool per pair, prices (m,), gains (n,)), with gains_i + prices_j >= w_ij on every
    candidate pair, equality on the chosen ones, a gain only for a matched mentee and a price only
    for a full mentor: the bound (*) over the candidate pairs equals the chosen pairs' weight.
    """
    n, e = int(ei.max()) + 1, len(ei)
    # Each mentor becomes ``capacity`` places (columns); each mentee also gets a place of its own
    # meaning "no mentor" at weight 0, so that everyone can be placed. Costs are C - weight > 0.
    c = caps[ej]
    first_place = np.concatenate([[0], np.cumsum(caps)])
    places = int(first_place[-1])
    edge_of = np.repeat(np.arange(e), c)
    nth = np.arange(len(edge_of)) - np.repeat(np.cumsum(c) - c, c)
    top = float(ew.max()) + 1.0
    graph = sparse.csr_matrix(
        (
            np.concatenate([top - ew[edge_of], np.full(n, top)]),
            (
                np.concatenate([ei[edge_of], np.arange(n)]),
                np.concatenate([first_place[ej[edge_of]] + nth, places + np.arange(n)]),
            ),
        ),
        shape=(n, places + n),
    )
    rows, cols = min_weight_full_bipartite_matching(graph)
    real = cols < places
    mentor_of = np.full(n, -1, dtype=np.int64)
    mentor_of[rows[real]] = np.searchsorted(first_place, cols[real], side="right") - 1
    chosen = mentor_of[ei] == ej
    prices, gains = _prices(ei, ej, ew, chosen, mentor_of, caps, m)
    return chosen, prices, gains


def _prices(ei, ej, ew, chosen, mentor_of, caps, m):
    """Mentors' prices from shortest distances in the residual network of an optimal assignment.

    Nodes: mentees 0..n-1, mentors n..n+m-1, a source s and a sink t (flow s -> mentee -> mentor
    -> t -> s). With no negative cycle (the assignment is optimal) the distances d from s give
    gain_i = max(0, d_i - d_s) and price_j = max(0, d_s - d_j), complementary to the assignment.
    Distances are found by repeated relaxation, which converges in as many sweeps as the longest
    chain of reassignments (a few dozen in practice).
    """
    n = len(mentor_of)
    s, t = n + m, n + m + 1
    load = np.bincount(mentor_of[mentor_of >= 0], minlength=m)
    matched = mentor_of >= 0
    free = np.flatnonzero(load < caps)
    busy = np.flatnonzero(load > 0)
    src = np.concatenate(
        [np.full((~matched).sum(), s), np.flatnonzero(matched), ei[~chosen], n + ej[chosen]]
        + [n + free, np.full(len(busy), t), [t, s]]
    )
    dst = np.concatenate(
        [np.flatnonzero(~matched), np.full(matched.sum(), s), n + ej[~chosen], ei[chosen]]
        + [np.full(len(free), t), n + busy, [s, t]]
    )
    cost = np.concatenate(
        [np.zeros(n), -ew[~chosen], ew[chosen], np.zeros(len(free) + len(busy) + 2)]
    ).astype(np.float64)
    order = np.argsort(dst, kind="stable")
    src, dst, cost = src[order], dst[order], cost[order]
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    heads = dst[starts]
    dist = np.full(n + m + 2, np.inf)
    dist[s] = 0.0
    for _ in range(n + m + 3):
        best = np.minimum(dist[heads], np.minimum.reduceat(dist[src] + cost, starts))
        if np.array_equal(best, dist[heads]):
            break
        dist[heads] = best
    else:
        raise RuntimeError("The matching over the candidate pairs is not optimal.")
    dist[~np.isfinite(dist)] = 0.0
    gains = np.maximum(0.0, dist[:n])
    prices = np.maximum(0.0, -dist[n : n + m])
    return prices, gains


# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------


def solve(
    scorer: Scorer,
    n: int,
    capacities: np.ndarray,
    *,
    objective: str = "total_score",
    fixed: Sequence[tuple[int, int]] = (),
    block: int = 1000,
    candidates: int = 8,
    progress: Progress | None = None,
    workers: int = 2,
    reserve: int | None = None,
    keep_reserve: bool = False,
    on_reserve: Callable[[Reserve], None] | None = None,
) -> Result:
    """The exact best assignment of ``n`` mentees to ``len(capacities)`` mentors, with its bound.

    ``scorer(rows)`` returns (scores int (len(rows), M), feasible bool (len(rows), M)) for the
    mentee indices ``rows``. ``fixed`` pairs (mentee index, mentor index) are pinned: always in
    the result, using one of the mentor's places; a pinned pair that breaks a hard rule, or more
    pins on a mentor than free places, raises ValueError. ``candidates`` is how many best
    mentors per mentee start in the programme (raised to the largest capacity + 2); ``reserve``
    how many best mentors per mentee are kept between checks (default 64 × candidates, at least
    512), so that most mentees need scoring only once. ``workers`` threads call the scorer.

    Each mentee's reserve as first scored (:class:`Reserve`, for :func:`greedy`) is kept in
    ``Result.reserve`` with ``keep_reserve``, and handed to ``on_reserve`` as soon as the first
    pass has it, before the pricing rounds (which leave a core idle while they solve).
    """
    _check_objective(objective)
    caps = np.asarray(capacities, dtype=np.int64).copy()
    m = len(caps)
    if (caps < 0).any():
        raise ValueError("Capacities may not be negative.")
    report = _Reporter(progress)
    fi, fj, fs = _pinned(scorer, n, caps, fixed, block)
    caps -= np.bincount(fj, minlength=m) if len(fj) else 0
    mentor_of = np.full(n, -1, dtype=np.int64)
    mentor_of[fi] = fj

    active = np.setdiff1d(np.arange(n, dtype=np.int64), fi)
    na = len(active)
    open_mentor = caps > 0
    k_cand = max(int(candidates), int(caps.max(initial=0)) + 2, 1)
    reserve = min(m, max(1, reserve if reserve is not None else max(64 * k_cand, 512)))
    k_side = int(caps.max(initial=0)) + 4  # each mentor's best mentees also start as candidates
    blocks = _blocks(np.arange(na), block)
    positive_only = objective == "total_score"

    # 1. Scoring candidates: each mentee's reserve of best mentors, and the best score left out.
    def scan(local: np.ndarray):
        scores, feasible = _score(scorer, active[local], m)
        usable = feasible & open_mentor[None, :]
        smin = smax = None
        if not positive_only and usable.any():
            smin = int(np.where(usable, scores, np.iinfo(np.int32).max).min())
            smax = int(np.where(usable, scores, _NO_SCORE).max())
        if positive_only:
            usable &= scores > 0
        key = np.where(usable, scores, _NO_SCORE).astype(np.int32, copy=False)
        del scores, feasible, usable
        if reserve < m:
            top, top_scores, left_out = _top_k(key, reserve)
        else:
            top = np.broadcast_to(np.arange(m), key.shape)
            top_scores = key
            left_out = np.full(len(local), _NO_SCORE, dtype=np.int32)
        # The best ``k_cand`` of each reserve first: they start as candidates.
        if k_cand < top.shape[1]:
            order = np.argpartition(-top_scores.astype(np.int64), k_cand - 1, axis=1)
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
        # Each mentor's best mentees in this block, so that every mentor starts with candidates.
        r = len(local)
        if r > k_side:
            fans, fan_scores, _ = _top_k(np.ascontiguousarray(key.T), k_side)
            fans, fan_scores = fans.T, fan_scores.T
        else:
            fans = np.broadcast_to(np.arange(r)[:, None], key.shape)
            fan_scores = key
        return (
            top.astype(np.int32),
            np.ascontiguousarray(top_scores),
            left_out,
            smin,
            smax,
            local[fans],
            np.ascontiguousarray(fan_scores),
        )

    # Worded here, in the caller's thread and language: ``scanned`` runs in the pool's threads.
    scoring = gettext("Scoring candidates")

    def scanned(k: int) -> None:
        report(int(45 * (k + 1) / max(1, len(blocks))), scoring)

    parts = _map_blocks(scan, blocks, workers, scanned)
    if parts:
        res_cols = np.concatenate([p[0] for p in parts])
        res_scores = np.concatenate([p[1] for p in parts])
        left_scores = np.concatenate([p[2] for p in parts])
    else:
        res_cols = np.zeros((0, reserve), dtype=np.int32)
        res_scores = np.zeros((0, reserve), dtype=np.int32)
        left_scores = np.zeros(0, dtype=np.int32)
    fan_rows = np.concatenate([p[5] for p in parts]) if parts else np.zeros((0, m), dtype=np.int64)
    fan_scores = np.concatenate([p[6] for p in parts]) if parts else np.zeros((0, m), dtype=np.int32)
    if len(fan_rows) > k_side:
        best_fans = np.argpartition(fan_scores, len(fan_rows) - k_side, axis=0)[len(fan_rows) - k_side :]
        fan_rows = np.take_along_axis(fan_rows, best_fans, axis=0)
        fan_scores = np.take_along_axis(fan_scores, best_fans, axis=0)
    lows = [p[3] for p in parts if p[3] is not None]
    highs = [p[4] for p in parts if p[4] is not None]
    places = int(min(na, caps[open_mentor].sum()))
    shift = _shift(min(lows, default=None), max(highs, default=None), places) if not positive_only else 0
    del parts

    # Weights in the objective's units; -inf where a pair may not be matched.
    def weights(scores: np.ndarray) -> np.ndarray:
        w = scores.astype(np.float64)
        w[scores == _NO_SCORE] = -np.inf
        return w + shift

    kept = None
    if keep_reserve or on_reserve is not None:
        kept = Reserve(
            active,
            res_cols.copy(),
            res_scores,
            left_scores,
            objective,
            min(lows, default=None),
            max(highs, default=None),
        )
        if on_reserve is not None:
            on_reserve(kept)
    res_w = weights(res_scores)  # (na, reserve) weights of each mentee's reserve
    tail = weights(left_scores)  # best gain left out of the reserve, under the prices ``tail_ref``
    tail_w = tail.copy()  # best weight left out of the reserve
    tail_ref = np.zeros(na, dtype=np.int64)  # which prices ``tail`` was measured against
    ref_prices = [np.zeros(m)]
    del res_scores, left_scores

    first = np.isfinite(res_w[:, :k_cand])
    ei = np.repeat(np.arange(na, dtype=np.int64), first.sum(axis=1))
    ej = res_cols[:, :k_cand][first].astype(np.int64)
    ew = res_w[:, :k_cand][first]
    fan = fan_scores != _NO_SCORE
    ei = np.concatenate([ei, fan_rows[fan]])
    ej = np.concatenate([ej, np.broadcast_to(np.arange(m), fan.shape)[fan]])
    ew = np.concatenate([ew, weights(fan_scores[fan])])
    _, once = np.unique(ei * m + ej, return_index=True)
    ei, ej, ew = ei[once], ej[once], ew[once]
    del fan_rows, fan_scores, fan
    if np.isfinite(ew).any() and np.abs(ew).max() >= 2.0**50:
        raise ValueError("Scores are too large for an exact solution.")

    margin = 2.0  # how far below its mentee's gain a pair may fall before it leaves the programme
    rounds = 0
    prices = np.zeros(m)
    chosen = np.zeros(0, dtype=bool)
    bound = math.inf
    flow = Assignment(na, caps)
    warm = False  # whether ``flow`` holds the last round's answer, to start the next one from
    while True:
        rounds += 1
        # 2. Solving the programme over the candidate pairs.
        report(_round_percent(rounds - 0.5), gettext("Solving"))
        gain = np.zeros(na)  # each mentee's best gain over the candidate pairs
        if warm:
            chosen, prices, gain = flow.solve(ei, ej, ew)
        elif len(ei):
            chosen, prices, gain[: int(ei.max()) + 1] = _solve_restricted(ei, ej, ew, caps, m)
        else:
            chosen, prices = np.zeros(0, dtype=bool), np.zeros(m)
        tol = 0.5  # weights and prices are whole numbers

        # 3. Checking every pair against the prices.
        drops = np.array(
            [(ref - prices)[open_mentor].max() if open_mentor.any() else 0.0 for ref in ref_prices]
        )
        lowest = prices[open_mentor].min() if open_mentor.any() else 0.0
        # No pair left out of a mentee's reserve gains more than this:
        tail_bound = np.minimum(tail + drops[tail_ref], tail_w - lowest)
        res_gain = res_w - prices[res_cols]
        res_best = np.maximum(res_gain.max(axis=1, initial=-np.inf), 0.0)
        best = np.maximum(res_best, np.where(tail_bound > 0, tail_bound, 0.0))
        new_i: list[np.ndarray] = []  # pairs that would improve the result: mentees,
        new_j: list[np.ndarray] = []  # mentors,
        new_w: list[np.ndarray] = []  # and weights

        # Reserve pairs that would improve the result (no scoring needed).
        bi, bj, bw = _improving(np.arange(na), res_gain, res_cols, gain + tol, 2 * k_cand, prices)
        if len(bi):
            new_i.append(bi)
            new_j.append(bj)
            new_w.append(bw)
        if len(new_i) and len(new_i[0]) > max(100, na // 200):
            # Prices still move a lot while the reserves hold better pairs: score nobody again yet.
            rescore = np.zeros(0, dtype=np.int64)
        else:
            # Mentees whose left-out pairs might beat their gain: score them again, in full.
            rescore = np.flatnonzero(tail_bound > gain + tol)
        if len(rescore):
            stage = gettext("Checking every pair (round %(round)d)") % {"round": rounds}
            p_now = prices.copy()

            check = partial(
                _check_block,
                scorer=scorer,
                active=active,
                m=m,
                open_mentor=open_mentor,
                positive_only=positive_only,
                shift=shift,
                prices=p_now,
                gain=gain,
                tol=tol,
                reserve=reserve,
                k_cand=k_cand,
            )
            rblocks = _blocks(rescore, block)

            def checked(k: int, at: int = rounds, of: int = len(rblocks), say: str = stage) -> None:
                report(_round_percent(at - 0.5 + 0.5 * (k + 1) / of), say)

            ref_prices.append(p_now)
            for local, row_best, vi, vj, vw, top, top_w, left, left_w in _map_blocks(
                check, rblocks, workers, checked
            ):
                best[local] = row_best
                new_i.append(vi)
                new_j.append(vj)
                new_w.append(vw)
                res_cols[local] = top
                res_w[local] = top_w
                tail[local] = left
                tail_w[local] = left_w
                tail_ref[local] = len(ref_prices) - 1
        else:
            report(
                _round_percent(rounds), gettext("Checking every pair (round %(round)d)") % {"round": rounds}
            )

        bound = float(caps[open_mentor] @ prices[open_mentor] + best.sum())
        # A pair that beats its mentee's gain is never a candidate already (the gain is the best
        # over the candidates), but it may be found both in the reserve and by scoring again.
        add_i = np.concatenate(new_i) if new_i else np.zeros(0, dtype=np.int64)
        add_j = np.concatenate(new_j) if new_j else np.zeros(0, dtype=np.int64)
        add_w = np.concatenate(new_w) if new_w else np.zeros(0)
        _, once = np.unique(add_i * m + add_j, return_index=True)
        add_i, add_j, add_w = add_i[once], add_j[once], add_w[once]
        if not len(add_i) or rounds >= _MAX_ROUNDS:
            break
        # Few mentees with a better pair: the next round starts from this one's answer (only
        # they and the mentees they displace move). Many: solving afresh is quicker.
        if not warm and len(np.unique(add_i)) <= _WARM_SHARE * na:
            flow.start_from(ei, ej, ew, chosen, prices, gain)
            warm = True
        # Keep the programme small: drop pairs that lose clearly under today's prices (a pair
        # dropped here is still checked against later prices, and comes back if it would help).
        slack = ew - prices[ej] - gain[ei]
        keep = chosen | (slack >= -margin)
        ei, ej, ew = ei[keep], ej[keep], ew[keep]
        ei = np.concatenate([ei, add_i])
        ej = np.concatenate([ej, add_j])
        ew = np.concatenate([ew, add_w])

    sel = np.flatnonzero(chosen)
    mentor_of[active[ei[sel]]] = ej[sel]
    if (np.bincount(ej[sel], minlength=m) > caps).any():
        raise RuntimeError("The matching programme exceeded a mentor's capacity.")
    own = np.zeros(0, dtype=np.int64)
    if len(sel):
        own = np.rint(ew[sel] - shift).astype(np.int64)
    total = int(own.sum() + fs.sum())
    matched = len(sel) + len(fi)
    pinned_value = float(fs.sum()) + (shift * len(fi) if not positive_only else 0.0)
    report(100, pgettext("batch run stage", "Done"))
    result = _finish(
        mentor_of,
        total,
        matched,
        shift,
        objective,
        bound + pinned_value,
        rounds,
        len(ei),
        prices,
    )
    result.reserve = kept if keep_reserve else None
    return result


def _check_block(
    local, *, scorer, active, m, open_mentor, positive_only, shift, prices, gain, tol, reserve, k_cand
):
    """Score some mentees again in full and price every pair of theirs.

    -> (local rows, each row's best gain, new pairs' rows and mentors, the rows' refreshed reserve
    (mentors, weights) and the best gain left out of it under these prices).
    """
    scores, feasible = _score(scorer, active[local], m)
    usable = feasible & open_mentor[None, :]
    if positive_only:
        usable &= scores > 0
    red = np.where(usable, scores.astype(np.float64) + (shift - prices)[None, :], -np.inf)
    del scores, feasible, usable
    row_best = np.maximum(red.max(axis=1), 0.0)
    threshold = gain[local] + tol
    # Pairs that would improve the result: each row's best ``k_cand`` over its gain. They are
    # the row's best pairs under these prices, so a reserve at least that long holds them.
    from_reserve = k_cand <= reserve < m
    if not from_reserve:
        vi, vj, vw = _improving(local, red, None, threshold, k_cand, prices)
    if reserve < m:
        top, _, left = _top_k(red, reserve)
        if from_reserve:
            vi, vj, vw = _improving(
                local, np.take_along_axis(red, top, axis=1), top, threshold, k_cand, prices
            )
        red += prices[None, :]  # now the weights
        top_w = np.take_along_axis(red, top, axis=1)
        np.put_along_axis(red, top, -np.inf, axis=1)
        left_w = red.max(axis=1)
    else:
        top = np.broadcast_to(np.arange(m), red.shape)
        left = left_w = np.full(len(local), -np.inf)
        top_w = red + prices[None, :]
    return local, row_best, vi, vj, vw, top.astype(np.int32), top_w, left, left_w


def _improving(local, gains, cols, threshold, k_cand, prices):
    """Each row's best ``k_cand`` pairs whose gain beats ``threshold``: ``gains`` (r, w) are the
    gains of the mentors ``cols`` (r, w) (all mentors in order when None). -> (rows, mentors,
    weights) of those pairs."""
    over = gains > threshold[:, None]
    v = np.flatnonzero(over.any(axis=1))
    if not len(v):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    rv = np.where(over[v], gains[v], -np.inf)
    width = rv.shape[1]
    at = _top_k(rv, k_cand)[0] if width > k_cand else np.broadcast_to(np.arange(width), rv.shape)
    found = np.take_along_axis(rv, at, axis=1)
    ok = np.isfinite(found)
    mentors = (at if cols is None else np.take_along_axis(cols[v], at, axis=1))[ok].astype(np.int64)
    return np.repeat(local[v], ok.sum(axis=1)), mentors, found[ok] + prices[mentors]


# --------------------------------------------------------------------------------------------
# greedy and dual_bound
# --------------------------------------------------------------------------------------------


def greedy(
    scorer: Scorer,
    n: int,
    capacities: np.ndarray,
    *,
    order: np.ndarray | None = None,
    block: int = 1000,
    objective: str = "total_score",
    fixed: Sequence[tuple[int, int]] = (),
    workers: int = 2,
    reserve: Reserve | None = None,
) -> Result:
    """What a coordinator would do by hand: mentees in ``order`` (default 0..N-1, longest wait
    first) each take the best-scoring feasible mentor who still has a free place.

    For ``total_score`` a mentee only takes a mentor with a positive score (a pair scoring 0 or
    less would not raise the total); for ``most_matched`` any feasible mentor will do. Ties go to
    the lower mentor index. Pinned pairs are placed first, as in :func:`solve`.

    ``reserve`` (``Result.reserve`` of :func:`solve` on the same mentees, mentors, pins and
    objective) saves scoring everyone again: a mentee whose best mentor with a free place is in
    their reserve, and beats every mentor left out of it, takes that mentor; only the others are
    scored. The result is the same.
    """
    _check_objective(objective)
    caps = np.asarray(capacities, dtype=np.int64).copy()
    m = len(caps)
    fi, fj, fs = _pinned(scorer, n, caps, fixed, block)
    caps -= np.bincount(fj, minlength=m) if len(fj) else 0
    mentor_of = np.full(n, -1, dtype=np.int64)
    mentor_of[fi] = fj
    rows = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
    rows = rows[~np.isin(rows, fi)]
    positive_only = objective == "total_score"
    total = int(fs.sum())
    matched = len(fi)
    lows: list[int] = []
    highs: list[int] = []
    open_mentor = caps > 0  # before anyone is placed: the shift is measured as in solve

    def fetch(chunk: np.ndarray):
        return _score(scorer, chunk, m)

    if reserve is not None:
        if order is not None or reserve.objective != objective or not np.array_equal(reserve.active, rows):
            raise ValueError("The reserve was kept for other mentees, pins or objective.")
        got, got_total = _greedy_from_reserve(
            scorer, reserve, caps, m, mentor_of, positive_only, block, workers
        )
        total += got_total
        matched += got
        places = int(min(len(rows), np.asarray(capacities, dtype=np.int64).sum() - len(fi)))
        shift = 0
        if not positive_only:
            shift = _shift(reserve.smin, reserve.smax, places)
        return _finish(mentor_of, total, matched, shift, objective, None, 0, 0, None)

    chunks = _blocks(rows, block)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, 2))) as pool:
        pending = pool.submit(fetch, chunks[0]) if chunks else None
        for k, chunk in enumerate(chunks):
            scores, feasible = pending.result()
            pending = pool.submit(fetch, chunks[k + 1]) if k + 1 < len(chunks) else None
            if not positive_only:
                usable0 = feasible & open_mentor[None, :]
                if usable0.any():
                    lows.append(int(scores[usable0].min()))
                    highs.append(int(scores[usable0].max()))
            usable = feasible & (caps > 0)[None, :]
            if positive_only:
                usable &= scores > 0
            key = np.where(usable, scores, _NO_SCORE).astype(np.int32, copy=False)
            del usable
            for r in range(len(chunk) if m else 0):
                j = int(key[r].argmax())
                if key[r, j] == _NO_SCORE:
                    continue
                mentor_of[chunk[r]] = j
                total += int(scores[r, j])
                matched += 1
                caps[j] -= 1
                if caps[j] == 0:
                    key[r + 1 :, j] = _NO_SCORE
    places = int(min(len(rows), np.asarray(capacities, dtype=np.int64).sum() - len(fi)))
    shift = _shift(min(lows, default=None), max(highs, default=None), places) if not positive_only else 0
    return _finish(mentor_of, total, matched, shift, objective, None, 0, 0, None)


def _greedy_from_reserve(
    scorer, reserve, caps, m, mentor_of, positive_only, block, workers
) -> tuple[int, int]:
    """The greedy pass over ``reserve.active`` in order, from their reserves where these decide.

    A reserve decides while its best mentor with a free place beats every mentor left out of it.
    Places only ever fill, so a mentee whose reserve cannot decide now never will: when the pass
    meets one, every such mentee among the next ones is scored in full at once (a block), and
    each of them takes the best mentor still free in their full row when their turn comes.
    Places mentees in ``mentor_of`` and takes places from ``caps``. -> (placed, total score).
    """
    active, left_out = reserve.active, reserve.left_out
    # Each reserve best first, ties to the lower mentor index (as over a whole row).
    key = reserve.scores.astype(np.int64) * (m + 1) + (m - reserve.cols.astype(np.int64))
    order = np.argsort(-key, axis=1)
    cols = np.take_along_axis(reserve.cols, order, axis=1).astype(np.int64)
    ranked = np.take_along_axis(reserve.scores, order, axis=1)
    del key, order
    na = len(active)
    full: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # position -> (usable scores, scores)

    def first_free(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the mentees at positions ``at``: (position in the ranked reserve of the best
        mentor with a free place or -1, verdict): verdict 1 the reserve decides, 0 nobody
        usable is free, -1 the reserve cannot tell."""
        usable = (caps[cols[at]] > 0) & (ranked[at] != _NO_SCORE)
        t = np.where(usable.any(axis=1), usable.argmax(axis=1), -1)
        best = np.where(t >= 0, ranked[at, np.maximum(t, 0)], _NO_SCORE)
        verdict = np.where(
            (t >= 0) & (best > left_out[at]), 1, np.where((t < 0) & (left_out[at] == _NO_SCORE), 0, -1)
        )
        return t, verdict

    def score_undecided(a: int) -> None:
        ahead = np.arange(a, min(na, a + 3 * block))
        undecided = ahead[first_free(ahead)[1] == -1]
        if full:
            undecided = undecided[~np.isin(undecided, np.fromiter(full, dtype=np.int64, count=len(full)))]
        undecided = undecided[:block]
        halves = _blocks(undecided, (len(undecided) + 1) // 2)
        scored = _map_blocks(lambda part: _score(scorer, active[part], m), halves, workers)
        s_full = np.concatenate([pair[0] for pair in scored])
        f_full = np.concatenate([pair[1] for pair in scored])
        del scored
        if positive_only:
            f_full &= s_full > 0
        keys = np.where(f_full, s_full, _NO_SCORE).astype(np.int32, copy=False)
        for r, pos in enumerate(undecided.tolist()):
            full[pos] = (keys[r], s_full[r])

    placed = total = 0
    places = int(caps[caps > 0].sum())
    for a in range(na):
        if places <= 0:
            break
        (t,), (verdict,) = first_free(np.array([a]))
        if verdict == 0:
            continue
        if verdict == 1:
            j, score = int(cols[a, t]), int(ranked[a, t])
        else:
            if a not in full:
                score_undecided(a)
            keys, scores = full.pop(a)
            free_keys = np.where(caps > 0, keys, _NO_SCORE)
            j = int(free_keys.argmax())
            if free_keys[j] == _NO_SCORE:
                continue
            score = int(scores[j])
        mentor_of[active[a]] = j
        total += score
        placed += 1
        places -= 1
        caps[j] -= 1
    return placed, total


def dual_bound(
    scorer: Scorer,
    n: int,
    capacities: np.ndarray,
    prices: np.ndarray,
    *,
    objective: str = "total_score",
    block: int = 1000,
    fixed: Sequence[tuple[int, int]] = (),
    shift: int | None = None,
    workers: int = 2,
) -> float:
    """The bound  sum_j capacity_j * p_j + sum_i max(0, max_j (w_ij - p_j))  for given prices,
    over every feasible pair (one pass over all mentees): no assignment's objective exceeds it.

    ``fixed`` and ``shift`` as in :func:`solve` (``Result.shift``); for ``most_matched`` without
    ``shift`` the shift is worked out from the scores as :func:`solve` does.
    """
    _check_objective(objective)
    caps = np.asarray(capacities, dtype=np.int64).copy()
    m = len(caps)
    p = np.maximum(np.asarray(prices, dtype=np.float64), 0.0)
    fi, fj, fs = _pinned(scorer, n, caps, fixed, block)
    caps -= np.bincount(fj, minlength=m) if len(fj) else 0
    open_mentor = caps > 0
    active = np.setdiff1d(np.arange(n, dtype=np.int64), fi)
    positive_only = objective == "total_score"

    def row_best(rows: np.ndarray):
        scores, feasible = _score(scorer, rows, m)
        usable = feasible & open_mentor[None, :]
        smin = smax = None
        if not positive_only and usable.any():
            smin = int(scores[usable].min())
            smax = int(scores[usable].max())
        if positive_only:
            usable &= scores > 0
        red = np.where(usable, scores.astype(np.float64) - p[None, :], -np.inf)
        return red.max(axis=1, initial=-np.inf), smin, smax

    parts = _map_blocks(row_best, _blocks(active, block), workers)
    best = np.concatenate([b for b, _, _ in parts]) if parts else np.zeros(0)
    if positive_only:
        d = 0
    elif shift is not None:
        d = int(shift)
    else:
        places = int(min(len(active), caps[open_mentor].sum()))
        d = _shift(
            min((s for _, s, _ in parts if s is not None), default=None),
            max((s for _, _, s in parts if s is not None), default=None),
            places,
        )
    gains = np.maximum(best + d, 0.0)
    pinned_value = float(fs.sum()) + d * len(fi)
    return float(caps[open_mentor] @ p[open_mentor] + gains.sum() + pinned_value)
