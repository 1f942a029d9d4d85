"""A snapshot's figures in the reader's language.

A snapshot stores its labels (stages, dimensions, groups) and definitions as text, in the site's
default language (``settings.LANGUAGE_CODE``, see ``reports.services``). Pages and exports read
them through ``figures_localized``, which puts each text the code knows by its key into the
active language. A stored text is replaced only when it is exactly what the code gives in the
default language: a snapshot computed by an older wording, or a programme's own vocabulary (its
cultural backgrounds), keeps the text it was computed with.
"""

from __future__ import annotations

import copy

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from mentoring.models import AgeBand, MigrantBackground
from mentoring.vocabulary import language_name
from reports import figures as contract
from reports import metrics
from reports.suppression import OTHER, WITHHELD


def _group_labels(dimension: str, codes: set[str]) -> dict[str, str]:
    """The labels the code gives the groups of ``dimension``, in the active language."""
    labels: dict[str, object] = {
        contract.NO_CONSENT: metrics.NO_CONSENT_LABEL,
        OTHER: metrics.OTHER_LABEL,
        contract.TOTAL: metrics.TOTAL_LABEL,
    }
    if dimension == "migrant_background":
        labels.update(MigrantBackground.choices)
    elif dimension == "preferred_language":
        labels.update({code: language_name(code) for code in codes if code not in labels})
        labels[metrics.NO_LANGUAGE] = metrics.NO_LANGUAGE_LABEL
    elif dimension == "cultural_background":
        labels[metrics.MULTIPLE] = metrics.MULTIPLE_LABEL
        labels[metrics.NO_BACKGROUND] = metrics.NO_BACKGROUND_LABEL
    elif dimension == "gender":
        labels.update(metrics.GENDER_GROUPS)
    elif dimension == "age_band":
        labels.update(AgeBand.choices)
        labels[metrics.NOT_STATED] = metrics.NOT_STATED_LABEL
    return {code: str(label) for code, label in labels.items()}


def _texts() -> dict:
    """Every text the code knows by its key, in the active language."""
    stages = dict(contract.MENTEE_STAGES + contract.MENTOR_STAGES)
    return {
        "definitions": {key: str(text) for key, text in metrics.DEFINITIONS.items()},
        "stages": {key: str(label) for key, label in stages.items()},
        "dimensions": {key: str(label) for key, label in contract.DIMENSIONS},
    }


def _swap(stored: str, source: str | None, target: str | None) -> str:
    return target if source is not None and target is not None and stored == source else stored


def figures_localized(figures: dict) -> dict:
    """``figures`` with its labels, definitions and "withheld" marks in the active language.
    In the default language the figures come back as they are."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if language == settings.LANGUAGE_CODE or not figures.get("populations"):
        return figures
    codes = {
        dimension: {group["group"] for group in breakdown.get("groups", [])}
        for population in figures["populations"].values()
        for dimension, breakdown in population.get("breakdowns", {}).items()
    }
    target = _texts()
    target_groups = {dimension: _group_labels(dimension, found) for dimension, found in codes.items()}
    with translation.override(settings.LANGUAGE_CODE):
        source = _texts()
        source_groups = {dimension: _group_labels(dimension, found) for dimension, found in codes.items()}
    withheld = gettext("withheld")

    out = copy.deepcopy(figures)
    out["definitions"] = {
        key: _swap(text, source["definitions"].get(key), target["definitions"].get(key))
        for key, text in (figures.get("definitions") or {}).items()
    }
    for population in out["populations"].values():
        for stage in population.get("stages", []):
            stage["label"] = _swap(
                stage["label"], source["stages"].get(stage["key"]), target["stages"].get(stage["key"])
            )
        for dimension, breakdown in population.get("breakdowns", {}).items():
            if "label" in breakdown:
                breakdown["label"] = _swap(
                    breakdown["label"],
                    source["dimensions"].get(dimension),
                    target["dimensions"].get(dimension),
                )
            was, now = source_groups.get(dimension, {}), target_groups.get(dimension, {})
            renamed: dict[str, str] = {}
            for group in [*breakdown.get("groups", []), breakdown.get("total") or {}]:
                if "label" not in group:
                    continue
                label = _swap(group["label"], was.get(group["group"]), now.get(group["group"]))
                renamed[group["label"]] = label
                group["label"] = label
                for cell in (group.get("funnel") or {}).values():
                    if cell and cell.get("display") == WITHHELD:
                        cell["display"] = withheld
            for group in breakdown.get("groups", []):
                if group.get("pooled_groups"):
                    group["pooled_groups"] = [renamed.get(label, label) for label in group["pooled_groups"]]
    return out
