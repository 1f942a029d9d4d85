"""Report pages and exports in the reader's language: stored labels and definitions are put in
it by their keys, numbers are written with its decimal separator, and the default language
reads the stored figures exactly as they are."""

from __future__ import annotations

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import translation

from reports import exports
from reports import figures as contract
from reports.labels import figures_localized
from tests.reports.test_dashboard import build_figures, make_snapshot

pytestmark = pytest.mark.django_db


def stored_figures() -> dict:
    """Figures as a snapshot stores them: JSON, its labels written in the default language."""
    return json.loads(json.dumps(build_figures(), cls=DjangoJSONEncoder))


def test_the_default_language_reads_the_stored_figures_as_they_are():
    figures = stored_figures()

    assert figures_localized(figures) is figures


def test_stored_texts_the_code_does_not_know_are_kept_in_any_language():
    figures = stored_figures()
    figures["definitions"]["funnel"] = "A wording of an older version."

    with translation.override("nl"):
        localized = figures_localized(figures)

    assert localized["definitions"]["funnel"] == "A wording of an older version."
    assert figures["populations"]["mentees"]["stages"][0]["label"] == "Referred"  # the original is left alone


def test_stage_and_dimension_labels_follow_the_readers_language():
    figures = stored_figures()

    with translation.override("nl"):
        localized = figures_localized(figures)
        stage_labels = [str(label) for _key, label in contract.MENTEE_STAGES]
        dimension_label = str(dict(contract.DIMENSIONS)["gender"])

    population = localized["populations"]["mentees"]
    assert [stage["label"] for stage in population["stages"]] == stage_labels
    assert population["breakdowns"]["gender"]["label"] == dimension_label


def test_numbers_are_written_with_the_readers_decimal_separator():
    with translation.override("nl"):
        assert exports.display_ratio(0.4348) == "0,43"
        assert exports.display_number(21.5) == "21,5"
        assert exports.display_number(240.0) == "240"
    assert exports.display_ratio(0.4348) == "0.43"


def test_the_dashboard_reads_in_the_managers_language(client, manager, programme):
    make_snapshot(programme)
    manager.interface_language = "nl"
    manager.save(update_fields=["interface_language"])
    client.force_login(manager)

    response = client.get(reverse("reports:dashboard"))

    assert response.status_code == 200
    text = response.content.decode()
    assert "0,43" in text  # the participation ratio, 0.4348
    assert "0.43<" not in text


def test_exports_are_written_in_the_readers_language(client, manager, programme):
    snapshot = make_snapshot(programme)
    manager.interface_language = "nl"
    manager.save(update_fields=["interface_language"])
    client.force_login(manager)

    csv_text = client.get(reverse("reports:export-csv", args=[snapshot.pk])).content.decode()
    xlsx = client.get(reverse("reports:export-xlsx", args=[snapshot.pk]))

    assert ",0.4348,0,43" in csv_text.replace('"', "")  # the value stays a number; its display is Dutch
    with translation.override("nl"):
        headings = exports.column_headings()
    assert ",".join(headings) in csv_text
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
