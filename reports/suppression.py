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
