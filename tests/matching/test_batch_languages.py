"""A batch run's explanations and unmatched reasons read in each reader's language: the worker
words them in the language of the coordinator who asked for the run, keeps what they are made
of, and a reader of another language gets them worded again (in English byte for byte as the
engine words them)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from matching.batch import batch_pairs_worded, batch_run_compute, batch_run_create, batch_unmatched_worded
from matching.engine import reword_parts, unmatched_detail
from matching.models import BatchRun, BatchUnmatched
from mentoring.models import CulturalBackground, LanguageLevel, Need
from tests.factories import MenteeFactory, MentorFactory

NATIVE, FLUENT = LanguageLevel.NATIVE, LanguageLevel.FLUENT
EVERY_PART = {
    "preferred_language",
    "shared_language",
    "shared_background",
    "availability",
    "session_mode",
    "distance",
    "needs",
    "wait",
}


def _programme_with_every_part(programme) -> None:
    """One mentor and a mentee who share every part of a score, and a mentee nobody speaks to."""
    roma = CulturalBackground.objects.create(programme=programme, code="roma", name_en="Roma", name_nl="Roma")
    homework = Need.objects.create(
        programme=programme, code="homework", name_en="Homework support", name_nl="Huiswerkbegeleiding"
    )
    shared = {
        "availability": ["mon_evening", "wed_evening"],
        "session_modes": ["in_person", "video"],
        "longitude": 4.3525,
    }
    mentor = MentorFactory(
        programme=programme,
        approved=True,
        capacity=1,
        person__languages=[("ro", NATIVE), ("hu", NATIVE), ("en", FLUENT)],
        person__latitude=50.8467,
        **{f"person__{key}": value for key, value in shared.items()},
    )
    mentee = MenteeFactory(
        programme=programme,
        person__languages=[("ro", NATIVE), ("hu", FLUENT), ("en", FLUENT)],
        person__latitude=50.9,
        waiting_since=datetime.date.today() - datetime.timedelta(days=30),
        **{f"person__{key}": value for key, value in shared.items()},
    )
    for person in (mentor.person, mentee.person):
        person.cultural_backgrounds.add(roma)
        person.needs.add(homework)
    MenteeFactory(programme=programme, person__languages=[("ar", NATIVE)])


def _computed(programme, coordinator) -> BatchRun:
    run = batch_run_create(programme=programme, created_by=coordinator, wait_priority=True)
    return batch_run_compute(run_id=run.pk)


@pytest.mark.django_db
def test_english_texts_worded_again_are_the_stored_ones_byte_for_byte(programme, coordinator):
    _programme_with_every_part(programme)
    run = _computed(programme, coordinator)
    assert run.texts_language == "en"

    pairs = list(run.pairs.all())
    stored = [[part["reason"] for part in pair.parts] for pair in pairs]
    assert {part["code"] for pair in pairs for part in pair.parts} >= EVERY_PART
    for pair in pairs:
        for part in pair.parts:
            part["reason"] = ""
    with translation.override("en"):
        reword_parts(pair.parts for pair in pairs)
        assert [[part["reason"] for part in pair.parts] for pair in pairs] == stored
        rows = list(run.unmatched.all())
        assert rows
        assert [unmatched_detail(row.reason, row.detail_args, "") for row in rows] == [
            row.detail for row in rows
        ]


@pytest.mark.django_db
def test_a_run_is_worded_in_its_coordinators_language_and_again_for_another_reader(programme, coordinator):
    coordinator.interface_language = "nl"
    coordinator.save(update_fields=["interface_language"])
    _programme_with_every_part(programme)
    run = _computed(programme, coordinator)
    assert run.texts_language == "nl"
    pair = run.pairs.get()
    unmatched = run.unmatched.get()
    assert unmatched.reason == BatchUnmatched.Reason.NO_LANGUAGE
    stored = " ".join(part["reason"] for part in pair.parts)
    assert "Roemeens" in stored and "huiswerkbegeleiding" in stored
    assert "Arabisch" in unmatched.detail

    with translation.override("en"):
        (english,) = batch_pairs_worded(run=run, pairs=[pair])
        (row,) = batch_unmatched_worded(run=run, rows=[unmatched])
    reasons = [part["reason"] for part in english.parts]
    assert "Speaks Romanian natively, the mentee's preferred language" in reasons
    assert "Strong in homework support" in reasons
    assert "2 weekly time slots in common (Monday evening, Wednesday evening)" in reasons
    assert row.detail == "No matchable mentor speaks Arabic at a usable level."
