"""No string escapes translation: every page of the three users' paths rendered in a pseudo
language whose catalogue wraps each string in ⟦markers⟧ shows no text outside them.

The pseudo catalogue is built here from the English catalogue (every string Tandem marks) and
from the English catalogues of Django and the installed apps (form errors, month names, ...), so
a string that was never marked, or marked but left out of ``locale/``, shows up unwrapped. What
is not interface text is allowed outside the markers: what people typed (every text value stored
in the database, so names, notes and vocabulary labels), the names of the languages and
countries those records name and the ISO lists of them, figures, dates in digits and
punctuation, the product's name, the language switcher's names of the languages, each written in
its own language (an element with a ``lang`` of its own), values shown as held (an element marked
``translate="no"``), and the codes an export carries beside its labels.

The pages are the authorization matrix's (tests/test_authorization_matrix.py, which lists every
page the URL resolver serves) as the users of the three paths see them: P's coordinator, P's
manager, the mentor of the page world's match, and a visitor not signed in (the sign-in page
and the family's check-in link). A form posted empty renders its errors, checked the same way.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import openpyxl
import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.conf.locale import LANG_INFO
from django.db import models
from django.urls import reverse
from django.utils.translation import pgettext

from mentoring.vocabulary import country_name, language_name
from reports import exports
from sessions.models import CheckIn
from tests.mentoring.test_permission_matrix import world  # noqa: F401 - the fixture the pages use
from tests.test_authorization_matrix import (
    LOGIN,
    PAGE_ACTORS,
    PAGES,
    _computed_snapshot,
    page_world,  # noqa: F401 - the fixture the pages use
)

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"
ROOT = Path(__file__).resolve().parent.parent
ACTORS = ("anonymous", "coordinator", "manager", "own_mentor")
# Interface text may contain what the markers wrap (a translated sentence around a name); once
# every wrapped string is taken out, only these may be left.
NOT_WORDS = re.compile(r"^[\W\d_]*$")
BRAND = "Tandem"


def _wrap(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}" if text else text


def _source_catalogues() -> list[Path]:
    """Tandem's English catalogue, then Django's and every installed app's."""
    found = [ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"]
    found.append(Path(django.__file__).parent / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po")
    for config in apps.get_app_configs():
        path = Path(config.path) / "locale" / "en" / "LC_MESSAGES" / "django.po"
        if path.exists():
            found.append(path)
    return found


def _pseudo_catalogue(directory: Path) -> None:
    pseudo = polib.POFile(wrapwidth=0)
    pseudo.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": PSEUDO,
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    seen: set[tuple[str | None, str]] = set()
    for path in _source_catalogues():
        for entry in polib.pofile(str(path)):
            key = (entry.msgctxt, entry.msgid)
            if entry.obsolete or not entry.msgid or key in seen:
                continue
            seen.add(key)
            wrapped = polib.POEntry(msgctxt=entry.msgctxt, msgid=entry.msgid, flags=list(entry.flags))
            if entry.msgid_plural:
                wrapped.msgid_plural = entry.msgid_plural
                wrapped.msgstr_plural = {0: _wrap(entry.msgid), 1: _wrap(entry.msgid_plural)}
            else:
                wrapped.msgstr = _wrap(entry.msgid)
            pseudo.append(wrapped)
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    pseudo.save_as_mofile(str(target / "django.mo"))


@pytest.fixture(scope="module")
def pseudo_locale(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("locale")
    _pseudo_catalogue(directory)
    return directory


@pytest.fixture
def in_pseudo_language(pseudo_locale, settings, monkeypatch):
    """The pseudo language, offered like the six (Django resets its translation caches when
    these settings change)."""
    monkeypatch.setitem(
        LANG_INFO, PSEUDO, {"bidi": False, "code": PSEUDO, "name": "Pseudo", "name_local": "Pseudo"}
    )
    settings.LOCALE_PATHS = [pseudo_locale, *settings.LOCALE_PATHS]
    settings.LANGUAGES = [*settings.LANGUAGES, (PSEUDO, "Pseudo")]
    return PSEUDO


class _VisibleText(HTMLParser):
    """The text a person sees or hears on a page: text nodes (not scripts or styles) and the
    attributes shown or read out (title, placeholder, alt, aria-label, a button's value), each
    with whether it sits in an element of a language of its own."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label", "aria-description")
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, inside an element with its own lang)
        self.texts: list[str] = []
        self.option: str | None = None  # the value of the option being read

    def _foreign(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        foreign = (
            self._foreign() or (tag != "html" and "lang" in attributes) or attributes.get("translate") == "no"
        )
        self.option = (attributes.get("value") or "") if tag == "option" else None
        if not foreign:
            for name in self.SHOWN_ATTRIBUTES:
                if attributes.get(name):
                    self.texts.append(attributes[name])
            if (
                tag == "input"
                and attributes.get("type") in ("submit", "button", "reset")
                and attributes.get("value")
            ):
                self.texts.append(attributes["value"])
        if tag not in self.VOID:
            self.stack.append((tag, foreign))

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag) -> None:
        if tag == "option":
            self.option = None
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data) -> None:
        if self.stack and self.stack[-1][0] in ("script", "style"):
            return
        if self.option is not None and _is_iso_name(self.option, data.strip()):
            return
        if not self._foreign() and data.strip():
            self.texts.append(data)


def _is_iso_name(code: str, text: str) -> bool:
    """An option of a language or country list: its name comes from the ISO catalogues
    (pycountry's own translations), not from Tandem's."""
    return 2 <= len(code) <= 3 and text in (language_name(code), country_name(code))


def _stored_texts() -> list[str]:
    """Every text value in the database (what people typed, and vocabulary labels), and the
    names of the languages and countries that short codes there stand for; longest first, so a
    name is taken out before a part of it."""
    values: set[str] = set()
    for model in apps.get_models():
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField) and not field.choices
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            values.update(value for value in row if isinstance(value, str) and value.strip())
    for value in list(values):
        if 2 <= len(value) <= 3:
            values.update((language_name(value), country_name(value)))
    return sorted((value.strip() for value in values if len(value.strip()) > 1), key=len, reverse=True)


def visible_texts(response) -> list[str]:
    """What a person reads in the answer: a page's visible text, or an export's cells."""
    content_type = response["Content-Type"]
    if content_type.startswith("text/csv"):
        return _table_texts(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))))
    if content_type.startswith("application/vnd.openxmlformats-officedocument.spreadsheetml"):
        workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        texts = list(workbook.sheetnames)
        for sheet in workbook.worksheets:
            texts.extend(_table_texts([list(row) for row in sheet.iter_rows(values_only=True)]))
        return texts
    assert content_type.startswith("text/html"), content_type
    parser = _VisibleText()
    parser.feed(response.content.decode())
    return parser.texts


def _table_texts(rows: list[list]) -> list[str]:
    """What people read in an exported table. The figures' rows carry codes beside their
    labels (population, dimension, group, metric, stage), so that a pivot table works whatever
    language the file was exported in: of those rows only the label and the shown value are
    read, and of the definitions only the text, not the metric's code."""
    headings = exports.column_headings()
    read = {exports.COLUMNS.index("group_label"), exports.COLUMNS.index("display")}
    texts, in_figures, in_definitions = [], False, False
    definitions = "# " + pgettext("export sheet", "Definitions")  # in the CSV file
    definition_headings = [pgettext("export heading", "Figure"), pgettext("export heading", "Definition")]
    for row in rows:
        cells = ["" if cell is None else str(cell) for cell in row]
        if cells == headings or cells[: len(headings)] == headings:
            texts.extend(cells)
            in_figures = True
            continue
        if cells and cells[0] == definitions or cells[:2] == definition_headings:
            in_definitions = True
            texts.extend(cells)
            continue
        if in_figures:
            texts.extend(cells[index] for index in read if index < len(cells))
        elif in_definitions:
            texts.extend(cells[1:])
        else:
            texts.extend(cells)
    return [text for text in texts if text.strip()]


def escaped_text(texts: list[str], stored: list[str]) -> list[str]:
    """The texts with words outside the markers and outside stored data."""
    escaped = []
    for text in texts:
        rest = text
        # A translated label cut short to fit ("⟦Closed with pla…") loses its closing marker.
        rest = re.sub(rf"{OPEN}[^{CLOSE}]*…$", " ", rest)
        # Innermost first: a translated sentence may carry translated words as its values.
        while True:
            shorter = re.sub(rf"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", " ", rest)
            if shorter == rest:
                break
            rest = shorter
        for value in stored:
            if value in rest:
                rest = rest.replace(value, " ")
        rest = rest.replace(BRAND, " ")
        if not NOT_WORDS.match(rest):
            escaped.append(" ".join(text.split()))
    return escaped


PSEUDO_CASES = [
    pytest.param(name, actor, id=f"{name}-{actor}")
    for name in sorted(PAGES)
    for actor in ACTORS
    if PAGES[name][2][PAGE_ACTORS.index(actor)] not in (LOGIN, 302, 400, 403, 404)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "actor"), PSEUDO_CASES)
def test_no_text_escapes_translation(client, page_world, in_pseudo_language, name, actor):  # noqa: F811
    method, kwargs, _expected, *query = PAGES[name]
    if name.startswith("reports:"):
        page_world.page["snapshot_id"] = _computed_snapshot(page_world.programme)
    # The family's check-in page speaks the language the check-in was sent in.
    CheckIn.objects.filter(token=page_world.page["family_token"]).update(language=PSEUDO)
    user = page_world.users[actor]
    if user is not None:
        client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = PSEUDO

    url = reverse(name, kwargs=kwargs(page_world.page))
    params = query[0](page_world.page) if query else {}
    # A form posted empty answers its errors, or the page it goes on to.
    response = client.get(url, params, follow=True) if method == "get" else client.post(url, {}, follow=True)

    assert response.status_code in (200, 422), response.status_code
    assert response["Content-Language"] == PSEUDO
    texts = visible_texts(response)
    assert texts, "the answer shows something to read"
    assert escaped_text(texts, _stored_texts()) == []


def test_the_check_finds_a_string_that_escaped():
    html = (
        f'<html lang="{PSEUDO}"><body><h1>{OPEN}Log a session{CLOSE}</h1><p>With Ana Pop</p>'
        f'<option lang="ro">Română</option><p>{OPEN}Seen %(n)s{CLOSE} 12 · 3.5 %</p>'
        f'<button aria-label="Close">×</button><script>var x = "Not text";</script></body></html>'
    )

    parser = _VisibleText()
    parser.feed(html)

    assert escaped_text(parser.texts, stored=["Ana Pop"]) == ["With Ana Pop", "Close"]
