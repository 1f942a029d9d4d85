"""Small-cell suppression for published tables of counts (``domain.md``, "Small cells").

A table is rows × columns of counts with its row totals, column totals and grand total. Every
entry below k is withheld (primary suppression). Then, since every line of the table adds up
to its total, a line in which exactly one entry is withheld would let a reader work it out; so
in each such line the smallest other entry is withheld too (complementary suppression), until
every line has none or at least two withheld entries. Columns that are not shown (e.g. "not
matched" beside "matched") still take part, because totals reveal them.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL = "__total__"


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

    withheld = {key for key, value in grid.items() if value < k}

    all_rows = [*rows, TOTAL]
    all_cols = [*columns, TOTAL]
    lines = [[(r, c) for c in all_cols] for r in all_rows] + [[(r, c) for r in all_rows] for c in all_cols]

    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [key for key in line if key in withheld]
            if len(hidden) != 1:
                continue
            candidates = [key for key in line if key not in withheld]
            if not candidates:
                continue
            # Prefer an interior cell over a margin, then the smallest, so the least is lost.
            candidates.sort(key=lambda key: (TOTAL in key, grid[key]))
            withheld.add(candidates[0])
            changed = True

    below = f"< {k}"
    return {
        key: Cell(None, True, below) if key in withheld else Cell(value, False, str(value))
        for key, value in grid.items()
    }


def rate(numerator: Cell, denominator: Cell, *, k: int) -> float | None:
    """A rate is published only when both counts are and the denominator is at least k."""
    if numerator.suppressed or denominator.suppressed or not denominator.value or denominator.value < k:
        return None
    return round(numerator.value / denominator.value, 4)
