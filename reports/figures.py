"""The shape of a participation-equality snapshot's ``figures`` (version 3).

This is the contract between the computation (``reports.metrics``), the tasks that assemble a
snapshot (``reports.services`` / ``reports.tasks``) and everything that reads one (pages,
exports, API). Every number in it is an aggregate that has already passed small-cell
suppression (``reports.suppression``); nothing in it names or counts a single person.

Definitions follow ``domain.md`` ("Participation equality"); their texts travel inside the
snapshot (``definitions``) so every reader shows what a figure means.

::

    figures = {
        "version": 3,
        "k": 10,                                   # the programme's small-cell threshold
        "reference_group": "none",                 # migrant-background group disparities compare with
        "period": {"start": "2025-09-01" | None, "end": "2026-08-31" | None},
        "definitions": {metric_key: text, ...},    # one per key used below
        "populations": {"mentees": Population, "mentors": Population},
        "participation": {                         # migrant participation as mentors vs as mentees
            "migrant_share_mentees": Rate,         # first + second generation ÷ all (entry stage)
            "migrant_share_mentors": Rate,
            "mentor_to_mentee_ratio": Ratio,       # share among mentors ÷ share among mentees
        },
    }

    Population = {
        "stages": [{"key": "referred", "label": "Referred"}, ...],   # funnel order
        "breakdowns": {dimension_key: Breakdown, ...},               # DIMENSIONS below
    }

    Breakdown = {
        "label": "Migrant background",
        "groups": [GroupFigures, ...],     # every group of the dimension, empty ones included,
                                           # then, when some groups are pooled, group "__other__"
                                           # "Other groups combined" with "pooled_groups": [label, ...]
        "total": GroupFigures,             # group "__total__": everyone in the population
    }

    GroupFigures = {
        "group": "first_generation", "label": "First generation (born abroad)",
        "pooled": False,                               # True: counted in "__other__", every figure withheld
        "funnel": {stage_key: Cell},                   # people who reached the stage
        "conversion": {stage_key: Rate},               # reached ÷ reached the previous stage (first: None)
        "representation": {stage_key: Ratio},          # share of the stage ÷ share at entry
        "median_days_to_match": Number,                # intake complete → first match start (mentees);
                                                       # approval → first match start (mentors)
        "median_match_days": Number,                   # start → close (or period end) of matches
        "sessions_per_active_month": Number,           # session logs ÷ active match-months
        "early_closure_rate": Rate,                    # closed early ÷ closed
        "language_concordance": Rate,                  # matches where the mentor speaks the mentee's
                                                       # preferred language ÷ matches
        "culture_concordance": Rate,                   # matches sharing a cultural background ÷ matches
        "outcome_change": Number,                      # mean (latest − baseline); None until measured
        "disparity": {metric_key: Disparity},          # vs the reference group; DISPARITY_METRICS
    }

    Cell = {"value": int | None, "suppressed": bool, "display": "42" | "< 10" | "withheld"}
    Rate = float (0–1, 4 decimals) | None       # None: withheld (a count behind it is withheld or
    Ratio = float (4 decimals) | None           #   its denominator is below k) or not defined
    Number = float (1 decimal) | None
    Disparity = {"ratio": Ratio, "flag": "below" | "above" | None}   # below 0.8 / above 1.25

People without active consent to anonymous statistics are counted in the group "no_consent" of
every dimension, never under their background, language, gender or age band.

The labels below are translated lazily; a snapshot stores them in the site's default language,
and readers see them in theirs (``reports.labels``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

VERSION = 3
TOTAL = "__total__"
NO_CONSENT = "no_consent"

MENTEE_STAGES = [
    ("referred", pgettext_lazy("funnel stage", "Referred")),
    ("intake_complete", _("Intake complete")),
    ("matched", pgettext_lazy("funnel stage", "Matched")),
    ("active_3_months", _("Active 3 months")),
    ("completed", _("Closed with planned completion")),
]
MENTOR_STAGES = [
    ("applied", _("Applied")),
    ("screened", _("Screened")),
    ("trained", _("Trained")),
    ("approved", _("Approved")),
    ("matched", pgettext_lazy("funnel stage", "Matched")),
    ("retained_6_months", _("Retained 6 months")),
]

DIMENSIONS = [
    ("migrant_background", _("Migrant background")),
    ("preferred_language", _("Preferred language")),
    ("cultural_background", _("Cultural background")),
    ("gender", _("Gender")),
    ("age_band", _("Age band")),
]

# Metrics whose group ÷ reference-group ratio is reported and flagged.
DISPARITY_METRICS = ["matched_rate", "completion_rate", "early_closure_rate", "language_concordance"]
DISPARITY_LOW = 0.8
DISPARITY_HIGH = 1.25
