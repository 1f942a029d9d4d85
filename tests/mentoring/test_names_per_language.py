"""Language and country names in the reader's language, and the demo's vocabularies with a
label in each programme's own language beside the English one."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from mentoring.demo import MAIN_SLUG, SECOND_SLUG
from mentoring.forms import country_choices, programme_languages
from mentoring.models import CulturalBackground, Need
from mentoring.vocabulary import country_name, language_name
from sessions.models import OutcomeInstrument


def test_language_and_country_names_are_english_by_default():
    assert (language_name("ro"), language_name("rom"), language_name("xx")) == ("Romanian", "Romany", "xx")
    assert (country_name("be"), country_name(""), country_name("zz")) == ("Belgium", "", "zz")


def test_language_and_country_names_follow_the_active_language():
    with translation.override("nl"):
        assert (language_name("ro"), country_name("SY")) == ("Roemeens", "Syrië")
    with translation.override("es"):
        assert language_name("ro") == "Rumano"
    # Each language has its own cached name.
    assert language_name("ro") == "Romanian"


def test_the_country_list_is_named_and_sorted_in_the_active_language():
    with translation.override("nl"):
        names = [name for code, name in country_choices() if code]
    assert "Duitsland" in names and "Germany" not in names
    # "Åland" is sorted with the A's, not after "Zweden".
    assert names.index("Ålandseilanden") < names.index("Albanië")


@pytest.mark.django_db
def test_the_language_list_of_a_programme_is_in_the_active_language(programme):
    with translation.override("nl"):
        used, every = programme_languages(programme)
    assert ("ro", "Roemeens") in every[1]


@pytest.mark.django_db
def test_demo_vocabularies_have_an_english_and_a_local_label():
    call_command("seed_demo", stdout=StringIO())

    syrian = CulturalBackground.objects.get(programme__slug=SECOND_SLUG, code="syrian")
    assert (syrian.name_en, syrian.name_nl) == ("Syrian", "Syrisch")
    homework = Need.objects.get(programme__slug=MAIN_SLUG, code="homework")
    assert (homework.name_en, homework.name_ro) == ("Homework support", "Sprijin la teme")
    instrument = OutcomeInstrument.objects.get(programme__slug=SECOND_SLUG, code="school_well_being")
    assert instrument.name_nl == "Welbevinden op school"
    with translation.override("nl"):
        assert CulturalBackground.objects.get(pk=syrian.pk).name == "Syrisch"
    with translation.override("hu"):  # no Hungarian label: the English one
        assert CulturalBackground.objects.get(pk=syrian.pk).name == "Syrian"
