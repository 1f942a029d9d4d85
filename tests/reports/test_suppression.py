import random

import pytest

from reports.suppression import OTHER, TOTAL, Cell, rate, suppress_funnels

STAGES = ["referred", "intake", "matched", "active"]


def _funnel(table, k, stages=STAGES):
    return suppress_funnels({"dim": table}, stages=stages, k=k)["dim"]


def _displays(cells, group, stages=STAGES):
    return [cells.cells[(group, s)].display for s in stages]


def test_counts_of_at_least_k_are_published_as_cumulative_funnels():
    # Furthest stage reached: a = 20 referred only, 15 intake only, 12 matched only, 30 active.
    table = {
        "a": {"referred": 20, "intake": 15, "matched": 12, "active": 30},
        "b": {"referred": 11, "intake": 10, "matched": 10, "active": 40},
    }

    cells = _funnel(table, k=10)

    assert _displays(cells, "a") == ["77", "57", "42", "30"]
    assert _displays(cells, "b") == ["71", "60", "50", "40"]
    assert _displays(cells, TOTAL) == ["148", "117", "92", "70"]
    assert cells.pooled == []
    assert (OTHER, "referred") not in cells.cells


def test_a_stage_below_k_reads_below_k_and_a_second_group_is_withheld_beside_it():
    table = {
        "a": {"referred": 30, "intake": 10, "matched": 10, "active": 3},
        "b": {"referred": 20, "intake": 20, "matched": 20, "active": 25},
        "c": {"referred": 10, "intake": 10, "matched": 10, "active": 15},
    }

    cells = _funnel(table, k=10)

    assert cells.cells[("a", "active")].display == "< 10"
    assert cells.cells[("a", "active")].value is None
    # 43 active in all: with b and c shown, a's 3 would be 43 − 25 − 15. The smaller of them
    # (c, 15) is withheld too, and reads "withheld" as it is not small itself.
    assert cells.cells[("c", "active")].display == "withheld"
    assert not cells.cells[("b", "active")].suppressed
    assert cells.cells[(TOTAL, "active")].value == 43
    # The other stages of every group stay published.
    assert _displays(cells, "a")[:3] == ["53", "23", "13"]


def test_small_groups_are_pooled_into_one_line_and_show_below_k_everywhere():
    table = {
        "large": {"referred": 10, "intake": 10, "matched": 10, "active": 30},
        "small_1": {"referred": 1, "intake": 1, "matched": 0, "active": 4},
        "small_2": {"referred": 0, "intake": 2, "matched": 1, "active": 3},
        "larger": {"referred": 20, "intake": 10, "matched": 10, "active": 40},
        "empty": {},
    }

    cells = _funnel(table, k=10)

    assert cells.pooled == ["small_1", "small_2"]
    for group in ("small_1", "small_2", "empty"):
        assert _displays(cells, group) == ["< 10"] * 4
    # Together the two small groups hold 12 people: their line is published where it is ≥ 10.
    assert _displays(cells, OTHER) == ["12", "11", "< 10", "< 10"]
    # Matched: 8 in the pool, so a second cell (the smaller of the large groups) is withheld.
    assert cells.cells[("large", "matched")].display == "withheld"
    assert cells.cells[("larger", "matched")].value == 50


def test_a_pool_still_below_k_takes_in_the_smallest_other_group():
    # A group of 4 with k = 5 beside two groups of 20: the 4 would be the total minus the
    # others, so the smaller group joins the pool and shows "withheld" everywhere.
    table = {
        "first": {"referred": 5, "intake": 5, "matched": 10},
        "none": {"referred": 4, "intake": 6, "matched": 10},
        "second": {"referred": 1, "intake": 1, "matched": 2},
    }

    cells = _funnel(table, k=5, stages=["referred", "intake", "matched"])

    assert cells.pooled == ["first", "second"]
    assert _displays(cells, "second", ["referred", "intake", "matched"]) == ["< 5"] * 3
    assert _displays(cells, "first", ["referred", "intake", "matched"]) == ["withheld"] * 3
    assert _displays(cells, OTHER, ["referred", "intake", "matched"]) == ["24", "18", "12"]
    assert _displays(cells, "none", ["referred", "intake", "matched"]) == ["20", "16", "10"]


def test_every_breakdown_shows_the_same_totals():
    one = {"a": {"referred": 3, "matched": 12}, "b": {"referred": 2, "matched": 1}}
    two = {"x": {"referred": 5, "matched": 13}}

    result = suppress_funnels({"one": one, "two": two}, stages=["referred", "matched"], k=5)

    for stage in ("referred", "matched"):
        assert result["one"].cells[(TOTAL, stage)] == result["two"].cells[(TOTAL, stage)]
    assert result["two"].cells[("x", "referred")].value == 18


def test_breakdowns_of_different_populations_are_refused():
    with pytest.raises(ValueError, match="does not add up"):
        suppress_funnels(
            {"one": {"a": {"referred": 3}}, "two": {"a": {"referred": 4}}}, stages=["referred"], k=5
        )


def _lines_are_safe(cells, table, stages, k):
    """No withheld count can be worked out from a published total: at every stage whose total
    is shown, the line's withheld cells hold nobody, or are two or more holding k or more."""

    def cumulative(group, stage):
        rows = [table[g] for g in cells.pooled] if group == OTHER else [table[group]]
        return sum(row.get(t, 0) for row in rows for t in stages[stages.index(stage) :])

    lines = [g for g in table if g not in cells.pooled and cumulative(g, stages[0])]
    lines += [OTHER] if cells.pooled else []
    for group in cells.pooled:
        assert all(cells.cells[(group, s)].suppressed for s in stages), group
    for s in stages:
        if cells.cells[(TOTAL, s)].suppressed:
            assert all(cells.cells[(g, s)].suppressed for g in lines), s
            continue
        hidden = [g for g in lines if cells.cells[(g, s)].suppressed]
        hidden_sum = sum(cumulative(g, s) for g in hidden)
        assert hidden_sum == 0 or (len(hidden) >= 2 and hidden_sum >= k), (s, hidden, hidden_sum)
    if cells.pooled and not cells.cells[(TOTAL, stages[0])].suppressed:
        assert cumulative(OTHER, stages[0]) >= k


def test_funnel_suppression_never_lets_a_small_count_be_worked_out():
    rng = random.Random(20260630)
    stages = ["s0", "s1", "s2", "s3"]
    for _ in range(500):
        groups = rng.randint(1, 5)
        k = rng.choice([5, 10])
        rows = {f"g{i}": {s: rng.choice([0, 0, 1, 3, 6, 12, 25]) for s in stages} for i in range(groups)}
        together = {"all": {s: sum(row[s] for row in rows.values()) for s in stages}}
        result = suppress_funnels({"one": rows, "two": together}, stages=stages, k=k)
        for name, table in (("one", rows), ("two", together)):
            cells = result[name]
            for (g, s), cell in cells.cells.items():
                assert cell.suppressed or cell.value >= k, (g, s)
                if not cell.suppressed and g not in (TOTAL, OTHER):
                    assert cell.value == sum(table[g][t] for t in stages[stages.index(s) :])
            _lines_are_safe(cells, table, stages, k)
        for s in stages:
            assert result["one"].cells[(TOTAL, s)] == result["two"].cells[(TOTAL, s)]


def test_a_rate_is_withheld_when_its_numerator_or_denominator_is_or_the_denominator_is_below_k():
    shown_40, shown_9 = Cell(40, False, "40"), Cell(9, False, "9")
    withheld = Cell(None, True, "< 10")

    assert rate(Cell(12, False, "12"), shown_40, k=10) == 0.3
    assert rate(withheld, shown_40, k=10) is None
    assert rate(shown_9, withheld, k=10) is None
    assert rate(Cell(3, False, "3"), shown_9, k=10) is None
