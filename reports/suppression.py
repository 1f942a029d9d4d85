"""Small-cell suppression for published tables of counts (``domain.md``, "Small cells").

A table is rows × columns of counts with its row totals, column totals and grand total. Every
entry below k is withheld (primary suppression). Then, since every line of the table adds up
to its total, a line in which exactly one entry is withheld would let a reader work it out; so
in each such line the smallest other entry is withheld too (complementary suppression), until
every line has none or at least two withheld entries. Columns that are not shown (e.g. "not
matched" beside "matched") still take part, because totals reveal them.

A line's withheld entries must also hold at least k people between them: otherwise "total
minus what is shown" would tell readers that a few people (or none) sit in the withheld cells,
which is the disclosure the rule exists to prevent. Empty cells therefore never serve as the
complementary cell while a non-empty one is available.
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


def suppress_table(
    table: dict[str, dict[str, int]], *, columns: list[str], k: int
) -> dict[tuple[str, str], Cell]:
    """Return every entry of ``table`` and its margins, keyed by ``(row, column)``, with
    ``TOTAL`` as the row or column name of the margins."""
    rows = list(table)
    grid: dict[tuple[str, str], int] = {}
    for r in rows:
        for c in columns:
            grid[(r, c)] = int(table[r].get(c, 0))
        grid[(r, TOTAL)] = sum(grid[(r, c)] for c in columns)
    for c in columns:
        grid[(TOTAL, c)] = sum(grid[(r, c)] for r in rows)
    grid[(TOTAL, TOTAL)] = sum(grid[(TOTAL, c)] for c in columns)

    # Empty groups hold nobody to protect and protect nobody: they are withheld for display
    # but take no part in the complementary rule.
    empty = {r for r in rows if grid[(r, TOTAL)] == 0}
    withheld = {key for key, value in grid.items() if value < k}
    live_rows = [r for r in rows if r not in empty]

    # Each line: its interior entries and the margin they add up to.
    lines = [([(r, c) for c in columns], (r, TOTAL)) for r in [*live_rows, TOTAL]]
    lines += [([(r, c) for r in live_rows], (TOTAL, c)) for c in columns]
    lines.append(([(r, TOTAL) for r in live_rows], (TOTAL, TOTAL)))

    changed = True
    while changed:
        changed = False
        for interior, margin in lines:
            if margin in withheld:
                continue  # without its total a line reveals nothing
            hidden = [key for key in interior if key in withheld]
            if not hidden or (len(hidden) >= 2 and sum(grid[key] for key in hidden) >= k):
                continue
            candidates = [key for key in interior if key not in withheld]
            # The smallest non-empty cell loses least; an empty one adds no protection.
            candidates.sort(key=lambda key: (grid[key] == 0, grid[key]))
            withheld.add(candidates[0] if candidates else margin)
            changed = True

    def publish(key: tuple[str, str], value: int) -> Cell:
        if key not in withheld:
            return Cell(value, False, str(value))
        # Small counts read "< k"; counts withheld only to protect another read "withheld".
        return Cell(None, True, f"< {k}" if value < k else WITHHELD)

    return {key: publish(key, value) for key, value in grid.items()}


def rate(numerator: Cell, denominator: Cell, *, k: int) -> float | None:
    """A rate is published only when both counts are and the denominator is at least k."""
    if numerator.suppressed or denominator.suppressed or not denominator.value or denominator.value < k:
        return None
    return round(numerator.value / denominator.value, 4)


def _cumulate(
    cells: dict[tuple[str, str], Cell], row: str, counts: dict[str, int], stages: list[str], k: int
):
    """The tail sums of one row ("reached stage s or further") and whether each may be shown.

    A tail sum is shown when it is a sum of entries the exclusive table shows (every entry from
    the stage on is shown), or the row's shown total minus such a sum (every entry before the
    stage is shown); either way it tells nothing the exclusive table did not, and the difference
    of two shown tail sums then always holds either shown entries only or every withheld entry
    of the row (together at least k, by ``suppress_table``'s rule)."""
    shown = {stage: not cells[(row, stage)].suppressed for stage in stages}
    total_shown = not cells[(row, TOTAL)].suppressed
    values, published = {}, {}
    for i, stage in enumerate(stages):
        values[stage] = sum(int(counts.get(s, 0)) for s in stages[i:])
        if i == 0:
            published[stage] = total_shown
        else:
            tail = all(shown[s] for s in stages[i:])
            head = total_shown and all(shown[s] for s in stages[:i])
            published[stage] = (tail or head) and values[stage] >= k
    return values, published


def suppress_funnels(
    tables: dict[str, dict[str, dict[str, int]]], *, stages: list[str], k: int
) -> dict[str, dict[tuple[str, str], Cell]]:
    """Suppress the cumulative funnels of one population broken down several ways.

    ``tables[dimension][group][stage]`` counts the people whose *furthest* stage is ``stage``
    (mutually exclusive categories, so every group's entries add up to everyone in it). The
    published figure of a stage is cumulative: everyone who reached it or a later stage. Returns,
    per dimension, a ``Cell`` for every ``(group, stage)`` and ``(TOTAL, stage)``.

    The rule, in order:

    1. Each dimension's exclusive table goes through ``suppress_table`` (primary and
       complementary suppression over groups × furthest stage). Final stages nobody in the
       population reached are left out of it: they are 0 (shown "< k") for every group.
    2. A cumulative cell of a group is published only when it can be computed from that
       table's published entries: all exclusive entries from the stage on are published, or the
       group's total and every exclusive entry before the stage are published; and it is at
       least k. The first stage is the group's total. So no difference between two published
       stages of a group (or between a stage and the entry count) can be smaller than k.
    3. The whole population's row is suppressed once, the same way, as a one-row table, so
       every breakdown shows the same totals (one breakdown can't give away what another hides).
    4. Each stage is then a line: the groups' cells add up to the total's. Where the total is
       published, the line's withheld cells must be none or at least two holding k people
       between them; where it is withheld, at least one group cell must be withheld so the
       total can't be added up. The smallest published cell of the line is withheld until
       that holds. Withholding a cumulative cell never reveals another (exclusive entries are
       never published), so this settles each line on its own.
    """
    dimensions = list(tables)
    grand = {s: sum(int(row.get(s, 0)) for row in tables[dimensions[0]].values()) for s in stages}
    for dimension in dimensions[1:]:
        other = {s: sum(int(row.get(s, 0)) for row in tables[dimension].values()) for s in stages}
        if other != grand:
            raise ValueError(f"Breakdown {dimension!r} does not add up to the same population.")
    # Stages nobody reached at the end of the funnel (nobody has completed yet) are left out of
    # the exclusive tables: their figures are 0 everywhere and shown as "< k", and their empty
    # columns would otherwise cost every group its later stages.
    reached = [s for i, s in enumerate(stages) if i == 0 or any(grand[t] for t in stages[i:])]
    unreached = stages[len(reached) :]
    everyone = "__everyone__"
    total_cells = suppress_table({everyone: grand}, columns=reached, k=k)
    total_values, total_published = _cumulate(total_cells, everyone, grand, reached, k)
    for stage in unreached:
        total_values[stage], total_published[stage] = 0, False

    def cell(value: int, shown: bool) -> Cell:
        if shown:
            return Cell(value, False, str(value))
        return Cell(None, True, f"< {k}" if value < k else WITHHELD)

    result: dict[str, dict[tuple[str, str], Cell]] = {}
    for dimension, table in tables.items():
        cells = suppress_table(table, columns=reached, k=k)
        values: dict[tuple[str, str], int] = {}
        published: dict[tuple[str, str], bool] = {}
        for group, counts in table.items():
            row_values, row_published = _cumulate(cells, group, counts, reached, k)
            for stage in stages:
                values[(group, stage)] = row_values.get(stage, 0)
                published[(group, stage)] = row_published.get(stage, False)
        live = [group for group in table if sum(int(v) for v in table[group].values())]
        for stage in stages:
            while True:
                hidden = [g for g in live if not published[(g, stage)]]
                shown = [g for g in live if published[(g, stage)]]
                if total_published[stage]:
                    safe = not hidden or (len(hidden) >= 2 and sum(values[(g, stage)] for g in hidden) >= k)
                else:
                    safe = bool(hidden) or not live
                if safe or not shown:
                    break
                shown.sort(key=lambda g: values[(g, stage)])  # noqa: B023 - used at once
                published[(shown[0], stage)] = False
        out = {key: cell(values[key], published[key]) for key in values}
        for stage in stages:
            out[(TOTAL, stage)] = cell(total_values[stage], total_published[stage])
        result[dimension] = out
    return result
