"""Participation by migrant background, aggregated in the database (one GROUP BY query per
population), then suppressed. Nothing here returns a row about a person."""

from __future__ import annotations

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, Value, When

from matching.models import Match
from mentoring.models import ConsentPurpose, Mentee, Mentor, MigrantBackground, Programme
from mentoring.selectors import has_active_consent
from reports.suppression import TOTAL, rate, suppress_table

NO_CONSENT = "no_consent"
GROUPS = [*MigrantBackground.values, NO_CONSENT]
GROUP_LABELS = {**dict(MigrantBackground.choices), NO_CONSENT: "Not used (no consent to statistics)"}
COLUMNS = ["matched", "not_matched"]

DEFINITIONS = {
    "population": (
        "Mentees: every parent or pupil referred to the programme. Mentors: every volunteer who applied."
    ),
    "group": (
        "Migrant background as the person declared it. People without active consent to "
        "anonymous statistics are counted only in the group “Not used (no consent to statistics)”."
    ),
    "matched": "People with at least one match that has started (active, paused or closed).",
    "matched_share": "Matched ÷ total in the group. Withheld when either count is withheld.",
    "suppression": (
        "Counts below k are shown as “< k”. Wherever totals would let a small count be worked "
        "out, further counts are withheld (shown as “withheld”) until the withheld counts of "
        "every row and column hold at least k people together. Rates built on withheld counts "
        "are withheld."
    ),
}


def _group_counts(queryset, *, person_ref: str, matched: Exists) -> dict[str, dict[str, int]]:
    rows = (
        queryset.annotate(
            stats_consent=has_active_consent(ConsentPurpose.STATISTICS, person_ref),
            grp=Case(
                When(stats_consent=True, then=F(f"{person_ref}__migrant_background")),
                default=Value(NO_CONSENT),
                output_field=CharField(),
            ),
            was_matched=matched,
        )
        .values("grp")
        .annotate(total=Count("pk"), matched=Count("pk", filter=Q(was_matched=True)))
        .order_by()
    )
    table = {group: {"matched": 0, "not_matched": 0} for group in GROUPS}
    for row in rows:
        table[row["grp"]] = {"matched": row["matched"], "not_matched": row["total"] - row["matched"]}
    return table


def _publish(table: dict[str, dict[str, int]], *, k: int) -> dict:
    cells = suppress_table(table, columns=COLUMNS, k=k)

    def line(key: str, label: str) -> dict:
        total, matched = cells[(key, TOTAL)], cells[(key, "matched")]
        return {
            "group": key,
            "label": label,
            "total": total.as_dict(),
            "matched": matched.as_dict(),
            "matched_share": rate(matched, total, k=k),
        }

    return {
        "groups": [line(group, GROUP_LABELS[group]) for group in table],
        "total": line(TOTAL, "All"),
    }


def participation_mentees(*, programme: Programme, k: int) -> dict:
    started = Match.objects.filter(mentee=OuterRef("pk"), started_on__isnull=False)
    table = _group_counts(
        Mentee.objects.filter(programme=programme), person_ref="person", matched=Exists(started)
    )
    return _publish(table, k=k)


def participation_mentors(*, programme: Programme, k: int) -> dict:
    started = Match.objects.filter(mentor=OuterRef("pk"), started_on__isnull=False)
    table = _group_counts(
        Mentor.objects.filter(programme=programme), person_ref="person", matched=Exists(started)
    )
    return _publish(table, k=k)
