from reports.suppression import TOTAL, rate, suppress_table


def _withheld(cells):
    return {key for key, cell in cells.items() if cell.suppressed}


def test_counts_of_at_least_k_are_published_as_they_are():
    cells = suppress_table(
        {"a": {"matched": 12, "not_matched": 20}, "b": {"matched": 15, "not_matched": 11}},
        columns=["matched", "not_matched"],
        k=10,
    )

    assert _withheld(cells) == set()
    assert cells[("a", TOTAL)].value == 32
    assert cells[(TOTAL, TOTAL)].value == 58


def test_a_small_cell_is_shown_as_below_k_and_its_row_partner_is_withheld_too():
    cells = suppress_table(
        {"a": {"matched": 4, "not_matched": 20}, "b": {"matched": 15, "not_matched": 30}},
        columns=["matched", "not_matched"],
        k=10,
    )

    assert cells[("a", "matched")].display == "< 10"
    assert cells[("a", "matched")].value is None
    # Row a's total is published, so "not matched" would reveal "matched": withheld too.
    assert ("a", "not_matched") in _withheld(cells)
    # Each column now has one withheld cell, so a second one is withheld in each.
    assert ("b", "matched") in _withheld(cells)
    assert ("b", "not_matched") in _withheld(cells)


def test_no_withheld_count_can_be_worked_out_from_the_totals_of_its_row_or_column():
    table = {
        "first_generation": {"matched": 4, "not_matched": 30},
        "second_generation": {"matched": 25, "not_matched": 12},
        "none": {"matched": 40, "not_matched": 33},
        "declined": {"matched": 0, "not_matched": 0},
    }
    cells = suppress_table(table, columns=["matched", "not_matched"], k=5)

    # An empty group (declined: nobody) has nobody to protect; every other line must hide
    # none or at least two entries.
    rows = [r for r in table if sum(table[r].values())] + [TOTAL]
    columns = ["matched", "not_matched", TOTAL]
    lines = [[(r, c) for c in columns] for r in rows] + [[(r, c) for r in rows] for c in columns]
    for line in lines:
        hidden = [key for key in line if cells[key].suppressed]
        assert len(hidden) != 1, f"{hidden[0]} could be worked out from its line"
    for key, cell in cells.items():
        assert cell.suppressed or cell.value >= 5, key


def test_a_rate_is_withheld_when_its_numerator_or_denominator_is():
    cells = suppress_table(
        {"a": {"matched": 3, "not_matched": 40}, "b": {"matched": 20, "not_matched": 30}},
        columns=["matched", "not_matched"],
        k=10,
    )

    assert rate(cells[("a", "matched")], cells[("a", TOTAL)], k=10) is None
    assert rate(cells[(TOTAL, "matched")], cells[(TOTAL, TOTAL)], k=10) == round(23 / 93, 4)


def test_empty_groups_do_not_count_as_protection_for_a_small_one():
    table = {
        "first_generation": {"matched": 30, "not_matched": 25},
        "none": {"matched": 40, "not_matched": 35},
        "second_generation": {"matched": 2, "not_matched": 1},
        "declined": {"matched": 0, "not_matched": 0},
    }
    cells = suppress_table(table, columns=["matched", "not_matched"], k=10)

    # Were only the empty group withheld beside second generation, "total minus what is
    # shown" would give its 2 matched people back; so a non-empty group is withheld too.
    assert cells[("second_generation", "matched")].suppressed
    assert cells[("declined", "matched")].display == "< 10"
    matched_column = [r for r in table if cells[(r, "matched")].suppressed]
    assert sum(table[r]["matched"] for r in matched_column) >= 10
    assert cells[(TOTAL, "matched")].value == 72
