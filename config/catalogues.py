"""The interface's translation catalogues (``locale/<language>/LC_MESSAGES/django.po``).

``make messages`` extracts every marked string into the six catalogues (Django's
makemessages), then runs ``python -m config.catalogues prepare``: each catalogue gets its
language's header (plural rule included) and the English one its own strings as translations,
so that English is as complete as the others. ``tests/test_i18n_catalogues.py`` fails on an
untranslated or fuzzy entry, a broken placeholder, a catalogue behind the code or a compiled
catalogue behind its source.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "nl", "hu", "pt", "ro", "es")
TEAMS = {
    "en": "English",
    "nl": "Dutch",
    "hu": "Hungarian",
    "pt": "Portuguese",
    "ro": "Romanian",
    "es": "Spanish",
}
# Django's own plural rules for these languages (django/conf/locale/*/LC_MESSAGES/django.po).
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "nl": "nplurals=2; plural=(n != 1);",
    "hu": "nplurals=2; plural=(n != 1);",
    "pt": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
    "ro": "nplurals=3; plural=(n==1?0:(((n%100>19)||((n%100==0)&&(n!=0)))?2:1));",
}


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def prepare(language: str) -> polib.POFile:
    """Give the catalogue its header and turn msgmerge's fuzzy guesses back into untranslated
    entries; in English, every string translates to itself."""
    path = catalogue_path(language)
    catalogue = polib.pofile(str(path), wrapwidth=0)
    catalogue.metadata.update(
        {
            "Project-Id-Version": "Tandem",
            "Report-Msgid-Bugs-To": "",
            "Last-Translator": "Tandem translators",
            "Language-Team": TEAMS[language],
            "Language": language,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
            "Plural-Forms": PLURAL_FORMS[language],
        }
    )
    catalogue.header = "Tandem's interface in " + TEAMS[language] + "."
    catalogue.metadata_is_fuzzy = False
    for entry in catalogue:
        if "fuzzy" in entry.flags and language != "en":
            # msgmerge's guess from a similar string is seldom right: translate it afresh.
            entry.flags.remove("fuzzy")
            entry.msgstr = ""
            entry.msgstr_plural = dict.fromkeys(entry.msgstr_plural, "")
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    if language == "en":
        for entry in catalogue:
            if entry.obsolete:
                continue
            if entry.msgid_plural:
                entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
            else:
                entry.msgstr = entry.msgid
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    catalogue.save(str(path))
    return catalogue


def main(argv: list[str]) -> int:
    if argv[:1] != ["prepare"]:
        print("usage: python -m config.catalogues prepare [language ...]", file=sys.stderr)
        return 2
    languages = argv[1:] or list(LANGUAGES)
    unknown = [language for language in languages if language not in LANGUAGES]
    if unknown:
        known = ", ".join(LANGUAGES)
        print(f"unknown language(s): {', '.join(unknown)}; Tandem speaks {known}", file=sys.stderr)
        return 2
    for language in languages:
        catalogue = prepare(language)
        fuzzy = len(catalogue.fuzzy_entries())
        print(f"{language}: {catalogue.percent_translated()} % translated, {fuzzy} fuzzy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
