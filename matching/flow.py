"""The best assignment over a set of candidate pairs, kept from one pricing round to the next.

Batch matching (:mod:`matching.optimize`) solves the same assignment problem a dozen times, each
time with some more candidate pairs (and some fewer that clearly lose). Solving one afresh costs
about a second at 20,000 mentees. Once few mentees have a better pair, starting from the previous
round's answer costs a few hundredths to a few tenths of a second: only those mentees, and the
ones they displace, move.

The problem as a flow
---------------------
Every mentee sends one unit, either to a mentor (the pair's cost is minus its weight) or straight
to the sink t (unmatched, cost 0); mentor j passes on at most ``capacity_j`` units to t. The
cheapest such flow is the best assignment. Each node v has a *potential* pi_v, and every edge of
the residual network (the edges along which flow can still move, forward or back) keeps a
non-negative *reduced cost* c(u, v) + pi_u - pi_v. When that holds everywhere, no cycle of the
residual network lowers the cost: the flow is optimal. The potentials are the prices:

    gain_i = max(0, pi_i - pi_t)        price_j = max(0, pi_t - pi_j)

and satisfy everything :func:`matching.optimize.solve` needs from them (gain_i + price_j >= w_ij
on every candidate pair, equality on the chosen ones, a gain only for a matched mentee, a price
only for a full mentor).

Starting from the previous answer
---------------------------------
New candidate pairs may have a negative reduced cost. For each mentee with such a pair, its
potential is raised until none is negative, and the mentee gives up what it had (its mentor's
place, or its place at t): it now has a unit too many (a *surplus*), and its old mentor (or t)
one too few. Then, until no surplus is left (primal-dual successive shortest paths):

1. a Dijkstra from every surplus at once finds the distance D, by reduced cost, to the nearest
   node short of a unit, and each node settled on the way gets pi += dist - D: every reduced cost
   stays non-negative and the shortest paths found now have reduced cost 0;
2. depth first, as many surpluses as can reach a node short of a unit along edges of reduced
   cost 0 move there.

The first round starts from nobody matched and all potentials 0, which makes every mentee with a
positive pair a surplus. Weights are whole numbers (the scores), so reduced costs are exact.

The inner loops are compiled with numba (``compile_ahead`` builds them at install time).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

_INF = np.inf

# Nodes are numbered mentees 0..n-1, mentors n..n+m-1 and the sink t = n+m. A mentor's mentees
# sit in ``slots[slot_start[j]:slot_start[j + 1]]`` (-1 for a free place); ``load[j]`` counts
# them and ``tflow[j]`` is the flow from mentor j to t (more than ``load[j]``: j is short of a
# unit). ``to_t[i]``: mentee i's unit goes straight to t (unmatched).


@njit(cache=True, nogil=True)
def _slot_add(slot_start, slots, j, i):
    """Put mentee i in a free place of mentor j."""
    for s in range(slot_start[j], slot_start[j + 1]):
        if slots[s] < 0:
            slots[s] = i
            return
    raise RuntimeError("a mentor took more mentees than places")


@njit(cache=True, nogil=True)
def _slot_remove(slot_start, slots, j, i):
    """Take mentee i out of mentor j's places."""
    for s in range(slot_start[j], slot_start[j + 1]):
        if slots[s] == i:
            slots[s] = -1
            return
    raise RuntimeError("a mentee was not in its mentor's places")


@njit(cache=True, nogil=True)
def _relax(heap, dist, touched, nt, v, nd, ub, ubn, target):
    """Offer node v the distance nd. Nodes no nearer than the nearest target found so far
    (``ub``, node ``ubn``) are left out: they cannot lie on a shortest path to a target.
    -> (nt, ub, ubn)."""
    if nd < dist[v] and (nd < ub or target):
        if dist[v] == _INF:
            touched[nt] = v
            nt += 1
        dist[v] = nd
        heapq.heappush(heap, (nd, v))
        if target and nd < ub:
            ub = nd
            ubn = v
    return nt, ub, ubn


@njit(cache=True, nogil=True)
def _is_short(v, n, m, load, tflow, short_t):
    """Whether node v is short of a unit (a target for the surplus)."""
    if v == n + m:
        return short_t > 0
    if v >= n:
        return tflow[v - n] > load[v - n]
    return False


@njit(cache=True, nogil=True)
def _nearest(
    n, m, indptr, adj_j, adj_w, slot_start, slots, caps, pi, mentor_of, w_of, to_t, load, tflow,
    short_t, surplus, count, dist, settled, touched, order, stats,
):  # fmt: skip
    """Dijkstra from every surplus mentee at once, by reduced cost, to the nearest node short of
    a unit, at distance D; then every node settled on the way gets pi += dist - D. That keeps
    every reduced cost non-negative and turns each shortest path to a target into one of
    reduced cost 0. -> D."""
    t = n + m
    heap = [(0.0, surplus[0])]
    heap.pop()
    nt = 0
    for q in range(count):
        x = surplus[q]
        dist[x] = 0.0
        touched[nt] = x
        nt += 1
        heap.append((0.0, x))
    ns = 0
    ub = _INF
    ubn = -1
    while len(heap):
        d, u = heapq.heappop(heap)
        if settled[u] or d > dist[u]:
            continue
        if d >= ub:
            break
        settled[u] = True
        order[ns] = u
        ns += 1
        pu = pi[u]
        if u == t:
            stats[2] += 1
            for k in range(n):  # back from t: an unmatched mentee takes a place
                if to_t[k]:
                    nt, ub, ubn = _relax(heap, dist, touched, nt, k, d + pu - pi[k], ub, ubn, False)
            for j in range(m):  # back from t: a mentor gives up a place it fills
                if tflow[j] > 0:
                    v = n + j
                    nt, ub, ubn = _relax(
                        heap, dist, touched, nt, v, d + pu - pi[v], ub, ubn, tflow[j] > load[j]
                    )
        elif u >= n:
            j = u - n
            for s in range(slot_start[j], slot_start[j + 1]):
                k = slots[s]
                if k >= 0:  # back along a chosen pair: the mentee leaves this mentor
                    nt, ub, ubn = _relax(heap, dist, touched, nt, k, d + w_of[k] + pu - pi[k], ub, ubn, False)
            if tflow[j] < caps[j]:  # one more place of this mentor is used
                nt, ub, ubn = _relax(heap, dist, touched, nt, t, d + pu - pi[t], ub, ubn, short_t > 0)
        else:
            a = mentor_of[u]
            for e in range(indptr[u], indptr[u + 1]):
                j = adj_j[e]
                if j != a:
                    v = n + j
                    nd = d - adj_w[e] + pu - pi[v]
                    nt, ub, ubn = _relax(heap, dist, touched, nt, v, nd, ub, ubn, tflow[j] > load[j])
            if not to_t[u]:  # the mentee goes unmatched
                nt, ub, ubn = _relax(heap, dist, touched, nt, t, d + pu - pi[t], ub, ubn, short_t > 0)
        if ub <= d:  # a target as near as the node just settled: none can be nearer
            break
    if ubn < 0:
        raise RuntimeError("no path for a surplus unit")
    for q in range(ns):
        u = order[q]
        pi[u] += dist[u] - ub
    stats[0] += 1
    stats[1] += ns
    for q in range(nt):
        u = touched[q]
        dist[u] = _INF
        settled[u] = False
    return ub


@njit(cache=True, nogil=True)
def _augment(stack, weights, top, n, m, slot_start, slots, mentor_of, w_of, to_t, load, tflow):
    """Move one unit along stack[0] -> ... -> stack[top]; ``weights[q]`` is the weight of the
    pair into stack[q] where that is a mentor reached from a mentee. Done from the target back,
    so that a mentor's place is given up before it is taken."""
    t = n + m
    for q in range(top - 1, -1, -1):
        u = stack[q]
        v = stack[q + 1]
        if u < n:
            if v == t:
                to_t[u] = True
                mentor_of[u] = -1
            else:
                j = v - n
                mentor_of[u] = j
                w_of[u] = weights[q + 1]
                _slot_add(slot_start, slots, j, u)
                load[j] += 1
        elif u < t:
            j = u - n
            if v == t:
                tflow[j] += 1
            else:
                _slot_remove(slot_start, slots, j, v)  # v's new place is already set
                load[j] -= 1
        elif v < n:
            to_t[v] = False
        else:
            tflow[v - n] -= 1


@njit(cache=True, nogil=True)
def _move_along_zero(
    n, m, indptr, adj_j, adj_w, slot_start, slots, caps, pi, mentor_of, w_of, to_t, load, tflow,
    short_t, surplus, count, seen, cursor, touched, stack, weights, stats,
):  # fmt: skip
    """Move as many surplus units as can go along paths of reduced cost 0 to a node short of a
    unit (depth first; each node is entered at most once per call). -> (surplus units left,
    kept at the front of ``surplus``; units t is short of)."""
    t = n + m
    nt = 0
    left = 0
    for q in range(count):
        x = surplus[q]
        found = False
        if not seen[x]:
            seen[x] = True
            touched[nt] = x
            nt += 1
            cursor[x] = 0
            stack[0] = x
            top = 0
            while top >= 0 and not found:
                u = stack[top]
                c = cursor[u]
                v = -1
                w = 0.0
                pu = pi[u]
                if u == t:
                    while c < n + m and v < 0:
                        if c < n:
                            if to_t[c] and not seen[c] and pu - pi[c] <= 0.0:
                                v = c
                        elif (
                            tflow[c - n] > 0
                            and pu - pi[c] <= 0.0
                            and (not seen[c] or tflow[c - n] > load[c - n])
                        ):
                            v = c
                        c += 1
                elif u >= n:
                    j = u - n
                    size = slot_start[j + 1] - slot_start[j]
                    while c <= size and v < 0:
                        if c < size:
                            k = slots[slot_start[j] + c]
                            if k >= 0 and not seen[k] and w_of[k] + pu - pi[k] <= 0.0:
                                v = k
                        elif tflow[j] < caps[j] and (short_t > 0 or not seen[t]) and pu - pi[t] <= 0.0:
                            v = t
                        c += 1
                else:
                    a = mentor_of[u]
                    size = indptr[u + 1] - indptr[u]
                    while c <= size and v < 0:
                        if c < size:
                            e = indptr[u] + c
                            j = adj_j[e]
                            if (
                                j != a
                                and pu - adj_w[e] - pi[n + j] <= 0.0
                                and (not seen[n + j] or tflow[j] > load[j])
                            ):
                                v = n + j
                                w = adj_w[e]
                        elif not to_t[u] and (short_t > 0 or not seen[t]) and pu - pi[t] <= 0.0:
                            v = t
                        c += 1
                cursor[u] = c
                if v < 0:
                    top -= 1  # a dead end for the rest of this call
                    continue
                if not seen[v]:
                    seen[v] = True
                    touched[nt] = v
                    nt += 1
                cursor[v] = 0
                top += 1
                stack[top] = v
                weights[top] = w
                if _is_short(v, n, m, load, tflow, short_t):
                    _augment(stack, weights, top, n, m, slot_start, slots, mentor_of, w_of, to_t, load, tflow)
                    if v == t:
                        short_t -= 1
                    found = True
        if not found:
            surplus[left] = x
            left += 1
    stats[3] += nt
    for q in range(nt):
        seen[touched[q]] = False
    return left, short_t


@njit(cache=True, nogil=True)
def _round(
    n, m, indptr, adj_j, adj_w, slot_start, slots, caps, pi, mentor_of, w_of, to_t, load, tflow, short, stats
):  # fmt: skip
    """Restore non-negative reduced costs after the candidate pairs changed, then move every
    surplus. ``short[0]`` is how many units t is short of (0 between rounds). -> surplus units."""
    t = n + m
    surplus = np.empty(max(n, 1), dtype=np.int64)
    count = 0
    for i in range(n):
        a = mentor_of[i]
        top = -_INF
        for e in range(indptr[i], indptr[i + 1]):
            j = adj_j[e]
            if j != a:
                value = adj_w[e] + pi[n + j]
                if value > top:
                    top = value
        if top > pi[i]:
            pi[i] = max(top, pi[t])
            if a >= 0:
                _slot_remove(slot_start, slots, a, i)
                load[a] -= 1
                mentor_of[i] = -1
            else:
                to_t[i] = False
                short[0] += 1
            surplus[count] = i
            count += 1
    size = n + m + 1
    dist = np.full(size, _INF)
    settled = np.zeros(size, dtype=np.bool_)
    touched = np.empty(size, dtype=np.int64)
    order = np.empty(size, dtype=np.int64)
    cursor = np.zeros(size, dtype=np.int64)
    weights = np.zeros(size)
    left = count
    work = surplus[:count].copy()
    short_t = short[0]
    while left > 0:
        _nearest(
            n, m, indptr, adj_j, adj_w, slot_start, slots, caps, pi, mentor_of, w_of, to_t, load,
            tflow, short_t, work, left, dist, settled, touched, order, stats,
        )  # fmt: skip
        left, short_t = _move_along_zero(
            n, m, indptr, adj_j, adj_w, slot_start, slots, caps, pi, mentor_of, w_of, to_t, load,
            tflow, short_t, work, left, settled, cursor, touched, order, weights, stats,
        )  # fmt: skip
    short[0] = short_t
    return count


class Assignment:
    """The best assignment of ``n`` mentees to mentors with ``caps`` places over candidate pairs
    that change between calls of :meth:`solve`; each call starts from the previous answer."""

    def __init__(self, n: int, caps: np.ndarray):
        self.n = int(n)
        self.caps = np.asarray(caps, dtype=np.int64)
        self.m = len(self.caps)
        self.slot_start = np.concatenate([[0], np.cumsum(self.caps)]).astype(np.int64)
        self.slots = np.full(int(self.slot_start[-1]), -1, dtype=np.int64)
        self.pi = np.zeros(self.n + self.m + 1)
        self.mentor_of = np.full(self.n, -1, dtype=np.int64)
        self.w_of = np.zeros(self.n)
        self.to_t = np.ones(self.n, dtype=np.bool_)
        self.load = np.zeros(self.m, dtype=np.int64)
        self.tflow = np.zeros(self.m, dtype=np.int64)
        self.short = np.zeros(1, dtype=np.int64)
        # Work done so far: Dijkstra passes, nodes settled, passes through t, nodes entered depth
        # first.
        self.stats = np.zeros(4, dtype=np.int64)
        self.moved = 0  # surplus units moved in the last call

    def start_from(self, ei, ej, ew, chosen, prices, gains) -> None:
        """Take over an optimal assignment found elsewhere (the ``chosen`` pairs) with prices and
        gains that prove it (see :func:`matching.optimize._solve_restricted`)."""
        sel = np.flatnonzero(chosen)
        i, j = np.asarray(ei)[sel], np.asarray(ej)[sel]
        self.mentor_of[:] = -1
        self.mentor_of[i] = j
        self.w_of[:] = 0.0
        self.w_of[i] = np.asarray(ew)[sel]
        self.to_t[:] = self.mentor_of < 0
        self.load[:] = np.bincount(j, minlength=self.m)
        self.tflow[:] = self.load
        self.slots[:] = -1
        order = np.argsort(j, kind="stable")
        nth = np.arange(len(j)) - np.repeat(np.cumsum(self.load) - self.load, self.load)
        self.slots[self.slot_start[j[order]] + nth] = i[order]
        self.pi[:] = 0.0
        self.pi[: len(gains)] = gains
        self.pi[self.n : self.n + self.m] = -np.asarray(prices)
        self.short[0] = 0

    def solve(self, ei: np.ndarray, ej: np.ndarray, ew: np.ndarray):
        """The best assignment over the pairs (ei[k], ej[k]) of weight ew[k] (no pair twice; a
        pair chosen before must still be among them). -> (chosen: bool per pair, prices (m,),
        gains (n,))."""
        ei = np.asarray(ei, dtype=np.int64)
        order = np.argsort(ei, kind="stable")
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(ei, minlength=self.n), out=indptr[1:])
        adj_j = np.ascontiguousarray(np.asarray(ej, dtype=np.int64)[order])
        adj_w = np.ascontiguousarray(np.asarray(ew, dtype=np.float64)[order])
        self.moved = _round(
            self.n, self.m, indptr, adj_j, adj_w, self.slot_start, self.slots, self.caps, self.pi,
            self.mentor_of, self.w_of, self.to_t, self.load, self.tflow, self.short, self.stats,
        )  # fmt: skip
        if self.short[0] or (self.tflow != self.load).any():
            raise RuntimeError("The assignment over the candidate pairs was left incomplete.")
        t = self.pi[self.n + self.m]
        prices = np.maximum(0.0, t - self.pi[self.n : self.n + self.m])
        gains = np.maximum(0.0, self.pi[: self.n] - t)
        chosen = self.mentor_of[ei] == np.asarray(ej)
        return chosen, prices, gains


def compile_ahead() -> None:
    """Compile the inner loops now (numba keeps them on disk, next to this file or in
    ``NUMBA_CACHE_DIR``), so that the first batch run does not spend seconds compiling."""
    flow = Assignment(2, np.array([1]))
    flow.solve(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 1.0]))
    flow.solve(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 3.0]))


if __name__ == "__main__":
    compile_ahead()
