"""The six interface catalogues are complete, sound and current: no untranslated or fuzzy
entry, every placeholder kept, every string the code and templates mark present (and none they
no longer mark), and the compiled catalogues Django reads equal to their sources."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from config.catalogues import LANGUAGES, PLURAL_FORMS, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
# A printf directive; "%%" (a literal per cent sign) is matched so that it is never read as one.
PLACEHOLDER = re.compile(r"%%|%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]|%[-#0 +]*\d*(?:\.\d+)?[sdifrx]")


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) - {"%%"}


SHOWN = 12  # offending entries named in a failure


def _catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(catalogue_path(language)), wrapwidth=0)


def _key(entry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def _named(entries) -> list[str]:
    return [entry.msgid for entry in entries[:SHOWN]]


def test_the_catalogues_are_the_languages_tandem_offers():
    assert list(LANGUAGES) == [code for code, _name in settings.LANGUAGES]
    assert all(catalogue_path(language).exists() for language in LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    catalogue = _catalogue(language)
    live = [entry for entry in catalogue if not entry.obsolete]

    untranslated = [entry for entry in live if not entry.translated() and "fuzzy" not in entry.flags]
    fuzzy = [entry for entry in live if "fuzzy" in entry.flags]

    assert live, "the catalogue holds the interface's strings"
    assert _named(untranslated) == [], f"{len(untranslated)} untranslated in {language}"
    assert _named(fuzzy) == [], f"{len(fuzzy)} fuzzy in {language}"
    assert catalogue.metadata["Language"] == language
    assert catalogue.metadata["Plural-Forms"] == PLURAL_FORMS[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    wrong = []
    for entry in _catalogue(language):
        if entry.obsolete or "fuzzy" in entry.flags:  # a fuzzy entry fails the test above
            continue
        source = _placeholders(entry.msgid) | _placeholders(entry.msgid_plural or "")
        if entry.msgid_plural:
            forms = list(entry.msgstr_plural.values())
            # A singular form may spell out its one ("one session") instead of %(count)d.
            if any(not _placeholders(form) <= source for form in forms):
                wrong.append(entry.msgid)
        elif entry.msgstr and _placeholders(entry.msgstr) != source:
            wrong.append(entry.msgid)

    assert wrong[:SHOWN] == [], f"{len(wrong)} translations in {language} change the placeholders"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_equals_its_source(language):
    source = _catalogue(language)
    compiled = polib.mofile(str(catalogue_path(language).with_suffix(".mo")))

    def translations(catalogue):
        return {
            _key(entry): (entry.msgstr, tuple(sorted(entry.msgstr_plural.items())))
            for entry in catalogue
            if entry.msgid
            and not entry.obsolete
            and "fuzzy" not in entry.flags
            and (entry.msgstr or any(entry.msgstr_plural.values()))
        }

    assert translations(compiled) == translations(source), f"run `make messages` ({language})"


def test_the_catalogues_hold_every_marked_string_and_no_other(tmp_path):
    """Extract the marked strings afresh from a copy of the code (Django's makemessages, which
    needs GNU gettext) and compare them with the catalogues."""
    if shutil.which("xgettext") is None:
        pytest.skip("Extracting the marked strings needs GNU gettext (apt-get install gettext)")
    for name in ("manage.py", "config", "mentoring", "matching", "sessions", "reports"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "static"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--no-wrap", "-l", "en", "--ignore=locale"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )
    marked = {_key(entry) for entry in polib.pofile(str(tmp_path / "locale/en/LC_MESSAGES/django.po"))}
    for language in LANGUAGES:
        held = {_key(entry) for entry in _catalogue(language) if not entry.obsolete}

        missing = sorted(msgid for _ctx, msgid in marked - held)
        stale = sorted(msgid for _ctx, msgid in held - marked)
        assert missing[:SHOWN] == [], f"{len(missing)} marked strings not in {language}: run `make messages`"
        assert stale[:SHOWN] == [], (
            f"{len(stale)} strings in {language} no longer marked: run `make messages`"
        )
