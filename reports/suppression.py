"""Small-cell suppression of published counts (``domain.md``, "Small cells").

Counts below k read "< k"; a count withheld only to protect another reads "withheld"; rates
are published only over a denominator of k or more (``rate``). The funnels of a population,
broken down several ways, go through ``suppress_funnels``, whose docstring states the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL = "__total__"
WITHHELD = "withheld"


@dataclass(frozen=True)
class Cell:
    """A published count: ``value`` is None when withheld; ``display`` is what readers see."""

    value: int | None
    suppressed: bool
    display: str

    def as_dict(self) -> dict:
        return {"value": self.value, "suppressed": self.suppressed, "display": self.display}


def rate(numerator: Cell, denominator: Cell, *, k: int) -> float | None:
    """A rate is published only when both counts are and the denominator is at least k."""
    if numerator.suppressed or denominator.suppressed or not denominator.value or denominator.value < k:
        return None
    return round(numerator.value / denominator.value, 4)


OTHER = "__other__"


@dataclass(frozen=True)
class FunnelCells:
    """One breakdown's suppressed funnel: a ``Cell`` for every ``(group, stage)``, for
    ``(OTHER, stage)`` when some groups are pooled, and for ``(TOTAL, stage)``; ``pooled`` lists
    the groups (in table order) whose people are counted in ``OTHER`` instead of on their own."""

    cells: dict[tuple[str, str], Cell]
    pooled: list[str]


def suppress_funnels(
    tables: dict[str, dict[str, dict[str, int]]], *, stages: list[str], k: int
) -> dict[str, FunnelCells]:
    """Suppress the cumulative funnels of one population broken down several ways.

    ``tables[dimension][group][stage]`` counts the people whose *furthest* stage is ``stage``
    (so every group's entries add up to everyone in it). The published figure of a stage is
    cumulative: everyone who reached it or a later stage, so a group's row is a funnel that
    only narrows, and the rate from one stage to the next is a published rate whose
    denominator is the earlier stage (``domain.md``: rates are withheld when their denominator
    is below k, not when the people who left are fewer than k).

    The rule, in order:

    1. **Small groups are pooled** (margin first, as statistics offices publish): a group of
       fewer than k people at entry shows "< k" everywhere and its people are counted together
       in one "other groups" line. Were that line still below k, the smallest other group joins
       it (and shows "withheld") until it holds k people or more. Empty groups show "< k" and
       take no part: they hold nobody.
    2. **Primary suppression**: every cumulative count below k, of a group, the other-groups
       line or the whole population, is shown as "< k".
    3. **Complementary suppression**: each stage is a line, the shown groups plus the
       other-groups line adding up to the whole population's count. Where that count is shown,
       the line's withheld cells must hold nobody, or be at least two holding k people or more
       between them; otherwise the smallest shown cell of the line is withheld, until it does.
       Where the population's count is withheld, every cell of the line is below k already.
       A withheld cumulative cell can't be worked out along its row either: a funnel's stages
       are not summed anywhere, and no rate is published from a withheld count.
    4. The whole population's row is suppressed once, so every breakdown shows the same totals
       (one breakdown can't give away what another hides).
    """
    dimensions = list(tables)

    def cumulative(row: dict[str, int]) -> dict[str, int]:
        return {s: sum(int(row.get(t, 0)) for t in stages[i:]) for i, s in enumerate(stages)}

    grand = {s: sum(int(row.get(s, 0)) for row in tables[dimensions[0]].values()) for s in stages}
    for dimension in dimensions[1:]:
        other = {s: sum(int(row.get(s, 0)) for row in tables[dimension].values()) for s in stages}
        if other != grand:
            raise ValueError(f"Breakdown {dimension!r} does not add up to the same population.")
    total = cumulative(grand)
    entry = stages[0]

    def cell(value: int, shown: bool) -> Cell:
        if shown:
            return Cell(value, False, str(value))
        return Cell(None, True, f"< {k}" if value < k else WITHHELD)

    result: dict[str, FunnelCells] = {}
    for dimension, table in tables.items():
        values = {group: cumulative(row) for group, row in table.items()}
        live = [g for g in table if values[g][entry] > 0]
        pooled = [g for g in live if values[g][entry] < k]
        if pooled:
            # The smallest groups join the pool until it holds k people (ties: table order).
            for g in sorted((g for g in live if g not in pooled), key=lambda g: values[g][entry]):
                if sum(values[p][entry] for p in pooled) >= k:
                    break
                pooled.append(g)
            pooled = [g for g in table if g in pooled]
            values[OTHER] = {s: sum(values[g][s] for g in pooled) for s in stages}
        lines = [g for g in live if g not in pooled] + ([OTHER] if pooled else [])
        published = {(g, s): values[g][s] >= k for g in lines for s in stages}
        for s in stages:
            if total[s] < k:
                continue
            while True:
                hidden = [g for g in lines if not published[(g, s)]]
                hidden_sum = sum(values[g][s] for g in hidden)
                if hidden_sum == 0 or (len(hidden) >= 2 and hidden_sum >= k):
                    break
                shown = sorted((g for g in lines if published[(g, s)]), key=lambda g: values[g][s])  # noqa: B023
                if not shown:
                    break
                published[(shown[0], s)] = False
        cells = {}
        for g in table:
            for s in stages:
                cells[(g, s)] = cell(values[g][s], published.get((g, s), False))
        if pooled:
            for s in stages:
                cells[(OTHER, s)] = cell(values[OTHER][s], published[(OTHER, s)])
        for s in stages:
            cells[(TOTAL, s)] = cell(total[s], total[s] >= k)
        result[dimension] = FunnelCells(cells=cells, pooled=pooled)
    return result
