"""Bulk import of mentors and families from the spreadsheets programmes already keep.

A file is CSV (UTF-8, comma, semicolon or tab separated; Excel's "CSV UTF-8") or XLSX (the
first worksheet). Line 1 holds the column names below, in any order and any case; columns
marked * are required, every other column may be left out or left blank. Within a cell,
lists are separated by ";" (or ",").

Mentors: one row per mentor, who starts at "applied".

    first_name*, last_name*, email, phone, gender (self-described), age_band (under_12, 12_17,
    18_29, 30_44, 45_64, 65_plus), country_of_birth (ISO 3166 code: "UA"), migrant_background
    (first_generation, second_generation, none, declined, unknown), municipality, postcode,
    latitude, longitude (both or neither), preferred_language (ISO 639 code: "ro"),
    preferred_language_level (native, fluent, basic; default fluent), other_languages
    ("hu:fluent; en:basic"; the level defaults to fluent), cultural_backgrounds and needs
    (codes of the programme's vocabularies: "roma; hungarian"), availability
    ("mon_evening; sat_morning"), session_modes (in_person, phone, video), consents
    (case_management, background_matching, statistics), consent_given_by (default: the
    person), consent_language (ISO 639 code of the form used; default: the programme's
    language), capacity (1–3, default 1), applied_on (YYYY-MM-DD, default today).

Families: one row per parent or pupil, grouped by ``family_reference``.

    family_reference*, referral_source* (school, social_service, community, self),
    referrer_name, referrer_organisation, referred_on (YYYY-MM-DD, default today),
    member_kind* (parent, pupil), mentored (yes/no, default yes), first_name*, last_name*,
    then every person column of the mentors' list from email to consent_language, and for
    pupils school (its name; a new name adds the school) and grade.

    The family's own columns (referral_source to referred_on) need be filled on one row of
    the family only; rows that fill them must agree. The family's municipality is that of
    its first member who gives one. Every member belongs to the family's household; mentored
    members become mentees at "referred". A family's rows are imported together or not at
    all, as ``family_refer`` does.

The rules are those of ``mentoring.services`` (``person_create``, ``mentor_apply``,
``family_refer``) and the models' validators: ISO codes, vocabulary codes, background data
(country of birth, migrant background, cultural background) only with consent to
background matching or to statistics, capacity 1–3. Dates may not be in the future.

Every problem is reported with its line (line 1 is the header), column and message. A dry
run writes nothing. A commit writes nothing unless every row is good, or the user chose to
import the good rows only; all writes happen in one transaction, checked again inside it.

Importing a file twice creates nothing twice. A mentor is the same person as one already
in the programme when the email matches (case-insensitively) or, for a row without an email,
when first name, last name and phone (its digits) match; such rows are skipped as "already
in the programme". A row whose email (or name and phone) belongs to someone in the programme
who is not a mentor is refused: they are made a mentor by hand, so their record is not
copied. The same person twice in one file is refused too. A family is matched by its
reference (case-insensitively) and a member by first and last name among the family's
household (``Person.household``) and mentees. A file that names a family already in the
programme adds its new members to it; its family columns do not change the family.

Speed: vocabularies and existing keys are loaded once, rows are checked in Python without
queries, and rows are written with ``bulk_create`` in batches. One ``AuditEvent`` records
the import (object type ``mentoring.Import``, object id "<kind>:<people created>"); it
holds no personal values.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from mentoring.audit import audit_record
from mentoring.models import (
    AVAILABILITY_SLOTS,
    AgeBand,
    AuditEvent,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorStatusChange,
    MigrantBackground,
    Need,
    Person,
    PersonLanguage,
    Programme,
    ReferralSource,
    School,
    SessionMode,
    User,
)
from mentoring.services import LanguageSpec, PersonSpec
from mentoring.vocabulary import validate_language_code

MENTORS = "mentors"
FAMILIES = "families"
KINDS = (MENTORS, FAMILIES)

MAX_FILE_BYTES = 5 * 1024 * 1024
CONSENT_GIVEN_BY_MAX = Consent._meta.get_field("given_by").max_length
MAX_ROWS = 20_000
MAX_COLUMNS = 100  # an XLSX file's columns beyond this are not read
BATCH_SIZE = 1000
AUDIT_OBJECT_TYPE = "mentoring.Import"

# The vocabularies of choice columns, computed once (an enum's ``.values`` builds a new list).
AGE_BANDS = tuple(AgeBand.values)
MIGRANT_BACKGROUNDS = tuple(MigrantBackground.values)
LANGUAGE_LEVELS = tuple(LanguageLevel.values)
SESSION_MODES = tuple(SessionMode.values)
CONSENT_PURPOSES = tuple(ConsentPurpose.values)
REFERRAL_SOURCES = tuple(ReferralSource.values)
MEMBER_KINDS = tuple(Mentee.Kind.values)

BACKGROUND_MESSAGE = gettext_lazy(
    "Background data (country of birth, migrant background, cultural background) is "
    "recorded only with consent to matching on it or to anonymous statistics."
)


def _interpolated(message, **values) -> str:
    """``message % values`` in the language active when it is shown (a lazy string)."""
    return lazy(lambda: str(message) % values, str)()


def _one_of(values: tuple[str, ...]) -> str:
    return _interpolated(gettext_lazy("One of %(values)s"), values=", ".join(values))


# Columns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    help: str  # a lazy translation: shown on the import page
    required: bool = False


PERSON_COLUMNS = (
    Column("first_name", gettext_lazy("First name"), required=True),
    Column("last_name", gettext_lazy("Last name"), required=True),
    Column("email", gettext_lazy("Email address")),
    Column("phone", gettext_lazy("Phone number (format the column as text in Excel)")),
    Column("gender", gettext_lazy("Self-described, optional")),
    Column("age_band", _one_of(AGE_BANDS)),
    Column("country_of_birth", gettext_lazy("ISO 3166 code, e.g. UA")),
    Column("migrant_background", _one_of(MIGRANT_BACKGROUNDS)),
    Column("municipality", gettext_lazy("Municipality")),
    Column("postcode", gettext_lazy("Postcode")),
    Column("latitude", gettext_lazy("Decimal degrees; give both coordinates or neither")),
    Column("longitude", gettext_lazy("Decimal degrees")),
    Column("preferred_language", gettext_lazy("ISO 639 code of the language for sessions, e.g. ro")),
    Column(
        "preferred_language_level",
        _interpolated(gettext_lazy("One of %(values)s; default fluent"), values=", ".join(LANGUAGE_LEVELS)),
    ),
    Column("other_languages", gettext_lazy("e.g. “hu:fluent; en:basic”; the level defaults to fluent")),
    Column("cultural_backgrounds", gettext_lazy("Codes of the programme's list, separated by ;")),
    Column("needs", gettext_lazy("Codes of the programme's needs and interests, separated by ;")),
    Column("availability", gettext_lazy("Weekly slots, e.g. “mon_evening; sat_morning”")),
    Column(
        "session_modes", _interpolated(gettext_lazy("Any of %(values)s"), values=", ".join(SESSION_MODES))
    ),
    Column(
        "consents",
        _interpolated(gettext_lazy("Purposes consented to: %(values)s"), values=", ".join(CONSENT_PURPOSES)),
    ),
    Column("consent_given_by", gettext_lazy("Who consented; default the person")),
    Column(
        "consent_language", gettext_lazy("ISO 639 code of the consent form; default the programme's language")
    ),
)

MENTOR_COLUMNS = (
    *PERSON_COLUMNS,
    Column("capacity", gettext_lazy("How many mentees at once, 1–3; default 1")),
    Column("applied_on", gettext_lazy("YYYY-MM-DD; default today")),
)

FAMILY_COLUMNS = (
    Column(
        "family_reference",
        gettext_lazy("The programme's case reference; groups the family's rows"),
        required=True,
    ),
    Column("referral_source", _one_of(REFERRAL_SOURCES), required=True),
    Column("referrer_name", gettext_lazy("e.g. the class teacher")),
    Column("referrer_organisation", gettext_lazy("e.g. the school")),
    Column("referred_on", gettext_lazy("YYYY-MM-DD; default today")),
    Column("member_kind", _one_of(MEMBER_KINDS), required=True),
    Column("mentored", gettext_lazy("yes or no; default yes")),
    *PERSON_COLUMNS,
    Column("school", gettext_lazy("Pupils only: the school's name")),
    Column("grade", gettext_lazy("Pupils only: the class or grade")),
)

COLUMNS = {MENTORS: MENTOR_COLUMNS, FAMILIES: FAMILY_COLUMNS}


# The report ---------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class RowProblem:
    """Why a row cannot be imported. Line 1 is the header: problems there concern the file."""

    line: int
    field: str
    message: str


@dataclass(frozen=True, order=True)
class RowSkipped:
    line: int
    message: str


@dataclass
class ImportReport:
    """What an import would do (dry run) or did (``committed``)."""

    kind: str
    rows: int = 0  # data rows, blank rows not counted
    new_lines: list[int] = field(default_factory=list)
    skipped: list[RowSkipped] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    committed: bool = False
    created: dict[str, int] = field(default_factory=dict)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems if p.line > 1})

    @property
    def bad_rows(self) -> int:
        return len(self.bad_lines)

    @property
    def good_rows(self) -> int:
        """Rows that would be written; duplicates are not counted."""
        return 0 if self.file_problems else len(self.new_lines)

    @property
    def file_problems(self) -> list[RowProblem]:
        return [p for p in self.problems if p.line <= 1]

    @property
    def is_clean(self) -> bool:
        return not self.problems


# Reading the file ---------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file cannot be read as a table."""


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", (name or "").strip().rstrip("*").strip().lower())


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(content: bytes) -> list[list[str]]:
    import openpyxl  # Imported here: only XLSX uploads pay for loading it.

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("The file is not a readable XLSX workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        table = []
        # A sheet's declared size can be made huge in a small file: read a bounded window.
        columns = min(sheet.max_column or MAX_COLUMNS, MAX_COLUMNS)
        for values in sheet.iter_rows(min_row=1, max_row=MAX_ROWS + 1000, max_col=columns, values_only=True):
            table.append([_cell_text(value) for value in values])
        return table
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text. In Excel choose Save As → “CSV UTF-8”, or upload the XLSX file.")
        ) from exc
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV or XLSX file."))
    first_line = text.split("\n", 1)[0]
    # Excel writes ";" where the decimal separator is a comma (most of Europe).
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [[cell.strip() for cell in row] for row in reader]
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s.") % {"error": exc}) from exc


def table_read(*, content: bytes, filename: str = "") -> list[list[str]]:
    """The file's rows as lists of text cells, header first. Raises ``ImportFileError``."""
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB; split it.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if not content.strip():
        raise ImportFileError(_("The file is empty."))
    if content.startswith(b"PK\x03\x04"):
        return _read_xlsx(content)
    if filename.lower().endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("Old Excel files (.xls) cannot be read: save the file as XLSX or CSV UTF-8."))
    return _read_csv(content)


# Parsing cells ------------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _split(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[;,]", value) if item.strip()]


def _choice(row: dict[str, str], column: str, choices: tuple[str, ...], default: str = "") -> str:
    value = row.get(column, "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise _CellError(
            column,
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": row[column], "choices": ", ".join(choices)},
        )
    return value


def _choices(row: dict[str, str], column: str, choices: tuple[str, ...]) -> list[str]:
    values = list(dict.fromkeys(item.lower() for item in _split(row.get(column, ""))))
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise _CellError(
            column,
            _("Unknown: %(unknown)s. Give any of: %(choices)s.")
            % {"unknown": ", ".join(unknown), "choices": ", ".join(choices)},
        )
    return values


def _date(row: dict[str, str], column: str, *, today: datetime.date) -> datetime.date | None:
    value = row.get(column, "").strip()
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise _CellError(
            column, _("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": value}
        ) from None
    if day > today:
        raise _CellError(column, _("The date cannot be in the future."))
    return day


def _float(row: dict[str, str], column: str) -> float | None:
    value = row.get(column, "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise _CellError(column, _("“%(value)s” is not a number.") % {"value": row[column]}) from None


def _yes_no(row: dict[str, str], column: str, *, default: bool) -> bool:
    value = row.get(column, "").strip().lower()
    if not value:
        return default
    if value in ("yes", "y", "true", "1", "x"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise _CellError(column, _("“%(value)s” is not yes or no.") % {"value": row[column]})


def _language_problem(code: str) -> str:
    return _language_problem_in(code, get_language())


@lru_cache(maxsize=2048)
def _language_problem_in(code: str, language: str | None) -> str:
    """Cached per interface language: the message is in it."""
    try:
        validate_language_code(code)
        PersonLanguage._meta.get_field("language").clean(code, None)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def _languages(row: dict[str, str]) -> list[LanguageSpec]:
    languages: list[LanguageSpec] = []
    preferred = row.get("preferred_language", "").strip().lower()
    level_given = row.get("preferred_language_level", "").strip()
    level = _choice(row, "preferred_language_level", LANGUAGE_LEVELS, default=LanguageLevel.FLUENT)
    if preferred:
        if problem := _language_problem(preferred):
            raise _CellError("preferred_language", problem)
        languages.append(LanguageSpec(language=preferred, level=level, is_preferred=True))
    elif level_given:
        raise _CellError("preferred_language_level", _("Give the preferred language too."))
    for item in _split(row.get("other_languages", "")):
        code, _sep, item_level = (part.strip().lower() for part in item.partition(":"))
        if problem := _language_problem(code):
            raise _CellError("other_languages", problem)
        if item_level and item_level not in LANGUAGE_LEVELS:
            raise _CellError(
                "other_languages",
                _("“%(item)s”: the level is one of %(levels)s.")
                % {"item": item, "levels": ", ".join(LANGUAGE_LEVELS)},
            )
        languages.append(LanguageSpec(language=code, level=item_level or LanguageLevel.FLUENT))
    if len({lang.language for lang in languages}) != len(languages):
        raise _CellError("other_languages", _("A language is listed twice."))
    return languages


# What is already in the programme -----------------------------------------------------------


def _fold(value: str) -> str:
    return " ".join(value.split()).casefold()


def _phone_key(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _person_key(*, email: str, first_name: str, last_name: str, phone: str) -> tuple:
    """The natural key of a mentor: the email if there is one, else name and phone."""
    if email.strip():
        return ("email", email.strip().casefold())
    return ("name", _fold(first_name), _fold(last_name), _phone_key(phone))


def _person_keys(*, email: str, first_name: str, last_name: str, phone: str) -> list[tuple]:
    """The keys a row without an email may be matched by: someone with an email is found by
    name and phone too, when they gave a phone."""
    keys = [_person_key(email=email, first_name=first_name, last_name=last_name, phone=phone)]
    if email.strip() and _phone_key(phone):
        keys.append(("name", _fold(first_name), _fold(last_name), _phone_key(phone)))
    return keys


@dataclass
class _Programme:
    """The programme's vocabularies and existing keys, loaded once per import."""

    programme: Programme
    backgrounds: dict[str, int]
    needs: dict[str, int]
    people: dict[tuple, bool] = field(default_factory=dict)  # person key → is a mentor
    families: dict[str, Family] = field(default_factory=dict)  # folded reference → family
    family_members: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)  # folded name → id

    @classmethod
    def load(cls, programme: Programme, kind: str) -> _Programme:
        def vocabulary(model) -> dict[str, int]:
            codes = dict(model.objects.filter(programme=programme).values_list("code", "id"))
            # Exact codes win; otherwise a code in another case is accepted.
            return {**{code.lower(): pk for code, pk in codes.items()}, **codes}

        state = cls(programme=programme, backgrounds=vocabulary(CulturalBackground), needs=vocabulary(Need))
        if kind == MENTORS:
            rows = Person.objects.filter(programme=programme).values_list(
                "email", "first_name", "last_name", "phone", "mentor__id"
            )
            for email, first_name, last_name, phone, mentor_id in rows:
                for key in _person_keys(email=email, first_name=first_name, last_name=last_name, phone=phone):
                    state.people[key] = state.people.get(key, False) or mentor_id is not None
        else:
            state.families = {_fold(f.reference): f for f in Family.objects.filter(programme=programme)}
            # Members are the family's household; mentees recorded before households existed
            # are found through their mentee record.
            household = Person.objects.filter(household__programme=programme).values_list(
                "household_id", "first_name", "last_name"
            )
            mentees = Mentee.objects.filter(programme=programme).values_list(
                "family_id", "person__first_name", "person__last_name"
            )
            for rows in (household, mentees):
                for family_id, first_name, last_name in rows:
                    state.family_members.setdefault(family_id, set()).add(
                        (_fold(first_name), _fold(last_name))
                    )
            state.schools = {
                _fold(name): pk
                for name, pk in School.objects.filter(programme=programme).values_list("name", "id")
            }
        return state


# Checking rows ------------------------------------------------------------------------------


@dataclass
class _PersonPlan:
    """A person checked and ready to write: the unsaved ``Person`` and what hangs off it."""

    person: Person
    languages: list[LanguageSpec]
    background_ids: list[int]
    need_ids: list[int]
    consents: list[str]
    consent_given_by: str
    consent_language: str


@dataclass
class _MentorPlan:
    line: int
    person: _PersonPlan
    capacity: int
    applied_on: datetime.date


@dataclass
class _MemberPlan:
    line: int
    person: _PersonPlan
    kind: str
    mentored: bool
    school: str
    grade: str


@dataclass
class _FamilyPlan:
    reference: str
    existing: Family | None = None
    values: dict[str, object] = field(default_factory=dict)  # family columns, first given wins
    value_lines: dict[str, int] = field(default_factory=dict)
    municipality: str = ""
    members: list[_MemberPlan] = field(default_factory=list)
    member_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    skipped: list[RowSkipped] = field(default_factory=list)


class _Row:
    """One data row and the problems found in it."""

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.problems: list[RowProblem] = []

    def problem(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.line, column, message))

    def parse(self, parser, *args, **kwargs):
        """Run a cell parser; its problem is recorded and ``None`` returned instead."""
        try:
            return parser(self.cells, *args, **kwargs)
        except _CellError as exc:
            self.problem(exc.column, exc.message)
            return None


def _person_spec(row: _Row) -> PersonSpec:
    """The row as ``mentor_apply`` and ``family_refer`` would receive it."""
    cells = row.cells
    return PersonSpec(
        first_name=cells.get("first_name", ""),
        last_name=cells.get("last_name", ""),
        email=cells.get("email", ""),
        phone=cells.get("phone", ""),
        gender=cells.get("gender", ""),
        age_band=row.parse(_choice, "age_band", AGE_BANDS) or "",
        country_of_birth=cells.get("country_of_birth", "").upper(),
        migrant_background=row.parse(
            _choice, "migrant_background", MIGRANT_BACKGROUNDS, default=MigrantBackground.UNKNOWN
        )
        or MigrantBackground.UNKNOWN,
        municipality=cells.get("municipality", ""),
        postcode=cells.get("postcode", ""),
        latitude=row.parse(_float, "latitude"),
        longitude=row.parse(_float, "longitude"),
        availability=row.parse(_choices, "availability", AVAILABILITY_SLOTS) or [],
        session_modes=row.parse(_choices, "session_modes", SESSION_MODES) or [],
        languages=row.parse(_languages) or [],
        cultural_backgrounds=_split(cells.get("cultural_backgrounds", "")),
        needs=_split(cells.get("needs", "")),
        consents=row.parse(_choices, "consents", CONSENT_PURPOSES) or [],
        consent_given_by=cells.get("consent_given_by", ""),
        consent_language=cells.get("consent_language", "").lower(),
    )


def _vocabulary_ids(row: _Row, column: str, codes: list[str], known: dict[str, int]) -> list[int]:
    unknown = [code for code in codes if code not in known and code.lower() not in known]
    if unknown:
        row.problem(column, _("Not in the programme's list: %(codes)s.") % {"codes": ", ".join(unknown)})
        return []
    return list(dict.fromkeys(known.get(code, known.get(code.lower())) for code in codes))


def _person_check(row: _Row, spec: PersonSpec, state: _Programme) -> _PersonPlan:
    """``person_create``'s rules, checked without queries against the preloaded vocabularies."""
    background_data = (
        spec.cultural_backgrounds
        or spec.country_of_birth
        or spec.migrant_background not in (MigrantBackground.UNKNOWN, "")
    )
    if (
        background_data
        and ConsentPurpose.STATISTICS not in spec.consents
        and ConsentPurpose.BACKGROUND_MATCHING not in spec.consents
    ):
        row.problem("consents", str(BACKGROUND_MESSAGE))
    person = Person(
        programme=state.programme,
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
        phone=spec.phone,
        gender=spec.gender,
        age_band=spec.age_band,
        country_of_birth=spec.country_of_birth,
        migrant_background=spec.migrant_background,
        municipality=spec.municipality,
        postcode=spec.postcode,
        latitude=spec.latitude,
        longitude=spec.longitude,
        availability=spec.availability,
        session_modes=spec.session_modes,
    )
    already = {p.field for p in row.problems}
    if {"latitude", "longitude"} & already:
        person.latitude = person.longitude = None  # one unreadable coordinate is reported once
    try:
        # The programme is known to exist; validating the foreign key would cost a query a row.
        person.full_clean(exclude=["programme", *already], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            row.problem(name if name != "__all__" else "first_name", " ".join(messages))
    if spec.consents:
        # Consent's own fields, as ``Consent.full_clean`` would check them.
        if len(spec.consent_given_by) > CONSENT_GIVEN_BY_MAX:
            row.problem("consent_given_by", _("At most %(max)s characters.") % {"max": CONSENT_GIVEN_BY_MAX})
        if spec.consent_language and (problem := _language_problem(spec.consent_language)):
            row.problem("consent_language", problem)
    elif spec.consent_given_by or spec.consent_language:
        row.problem("consents", _("Name the purposes consented to."))
    return _PersonPlan(
        person=person,
        languages=spec.languages,
        background_ids=_vocabulary_ids(
            row, "cultural_backgrounds", spec.cultural_backgrounds, state.backgrounds
        ),
        need_ids=_vocabulary_ids(row, "needs", spec.needs, state.needs),
        consents=spec.consents,
        consent_given_by=spec.consent_given_by or person.full_name,
        consent_language=spec.consent_language or state.programme.local_language,
    )


def _header_problems(header: list[str], kind: str) -> list[RowProblem]:
    known = {column.name for column in COLUMNS[kind]}
    problems = []
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            problems.append(RowProblem(1, name, _("This column appears twice.")))
        elif name not in known:
            problems.append(
                RowProblem(
                    1,
                    name,
                    _("Unknown column for %(kind)s. Known columns: %(columns)s.")
                    % {"kind": kind, "columns": ", ".join(sorted(known))},
                )
            )
        seen.add(name)
    for column in COLUMNS[kind]:
        if column.required and column.name not in seen:
            problems.append(RowProblem(1, column.name, _("This required column is missing.")))
    return problems


def _data_rows(table: list[list[str]]) -> tuple[list[str], list[_Row], list[RowProblem]]:
    header = [_normalise_header(name) for name in table[0]]
    rows, problems = [], []
    for index, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        row = _Row(index, {name: value for name, value in zip(header, cells, strict=False) if name})
        for position, value in enumerate(cells, start=1):
            if value and (position > len(header) or not header[position - 1]):
                row.problem(
                    _("column %(position)s") % {"position": position},
                    _("A value in a column without a name on line 1."),
                )
        rows.append(row)
    if len(rows) > MAX_ROWS:
        problems.append(
            RowProblem(1, "file", _("The file has more than %(max)s rows; split it.") % {"max": MAX_ROWS})
        )
    return header, rows, problems


@dataclass
class _Plan:
    report: ImportReport
    mentors: list[_MentorPlan] = field(default_factory=list)
    families: list[_FamilyPlan] = field(default_factory=list)


def _plan_mentors(rows: list[_Row], state: _Programme, report: ImportReport) -> _Plan:
    plan = _Plan(report=report)
    today = timezone.localdate()
    seen: dict[tuple, int] = {}
    for row in rows:
        spec = _person_spec(row)
        capacity_text = row.cells.get("capacity", "").strip()
        capacity = 1
        if capacity_text:
            try:
                capacity = int(float(capacity_text))
                if capacity != float(capacity_text) or not 1 <= capacity <= 3:
                    raise ValueError
            except ValueError:
                row.problem("capacity", _("Capacity is a whole number from 1 to 3."))
        applied_on = row.parse(_date, "applied_on", today=today) or today
        person = _person_check(row, spec, state)
        key = _person_key(
            email=spec.email, first_name=spec.first_name, last_name=spec.last_name, phone=spec.phone
        )
        key_column = "email" if key[0] == "email" else "first_name"
        if key in seen:
            row.problem(
                key_column,
                _("The same person as line %(line)s (%(key)s).")
                % {"line": seen[key], "key": _key_words(key)},
            )
        for other_key in _person_keys(
            email=spec.email, first_name=spec.first_name, last_name=spec.last_name, phone=spec.phone
        ):
            seen.setdefault(other_key, row.line)
        if row.problems:
            report.problems.extend(row.problems)
        elif key in state.people:
            if state.people[key]:
                report.skipped.append(RowSkipped(row.line, _("Already in the programme as a mentor.")))
            else:
                report.problems.append(
                    RowProblem(
                        row.line,
                        key_column,
                        _(
                            "Someone in the programme who is not a mentor has the same %(key)s. "
                            "Record them as a mentor by hand, so their record is not copied."
                        )
                        % {"key": _key_words(key)},
                    )
                )
        else:
            plan.mentors.append(_MentorPlan(row.line, person, capacity, applied_on))
    report.new_lines = [m.line for m in plan.mentors]
    return plan


def _key_words(key: tuple) -> str:
    return _("email") if key[0] == "email" else _("name and phone")


def _plan_families(rows: list[_Row], state: _Programme, report: ImportReport) -> _Plan:
    plan = _Plan(report=report)
    today = timezone.localdate()
    families: dict[str, _FamilyPlan] = {}
    family_rows: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        reference = row.cells.get("family_reference", "").strip()
        if not reference:
            row.problem("family_reference", _("Give the family's reference."))
            report.problems.extend(row.problems)
            continue
        folded = _fold(reference)
        family = families.get(folded)
        if family is None:
            family = families[folded] = _FamilyPlan(reference=reference, existing=state.families.get(folded))
        family_rows[folded].append(row)

        values = {
            "referral_source": row.parse(_choice, "referral_source", REFERRAL_SOURCES),
            "referrer_name": row.cells.get("referrer_name", ""),
            "referrer_organisation": row.cells.get("referrer_organisation", ""),
            "referred_on": row.parse(_date, "referred_on", today=today),
        }
        for name, value in values.items():
            if value in (None, ""):
                continue
            if name in family.values and family.values[name] != value:
                row.problem(
                    name,
                    _("Differs from line %(line)s of the same family.") % {"line": family.value_lines[name]},
                )
            elif name not in family.values:
                family.values[name], family.value_lines[name] = value, row.line

        kind = row.parse(_choice, "member_kind", MEMBER_KINDS)
        if not kind and not row.cells.get("member_kind", "").strip():
            row.problem("member_kind", _("Give one of: %(values)s.") % {"values": ", ".join(MEMBER_KINDS)})
        mentored = row.parse(_yes_no, "mentored", default=True)
        school, grade = row.cells.get("school", "").strip(), row.cells.get("grade", "").strip()
        if kind == Mentee.Kind.PARENT and (school or grade):
            row.problem("school" if school else "grade", _("Only pupils have a school and a grade."))
        if mentored is False and (school or grade):
            row.problem("school" if school else "grade", _("A school is recorded only for mentored pupils."))
        spec = _person_spec(row)
        person = _person_check(row, spec, state)
        if school:
            try:
                School(name=school).clean_fields(exclude=["programme"])
            except ValidationError as exc:
                row.problem("school", " ".join(exc.message_dict.get("name", exc.messages)))
        try:
            Mentee(kind=kind or Mentee.Kind.PARENT, grade=grade).clean_fields(
                exclude=["programme", "family", "person", "school"]
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                row.problem({"kind": "member_kind"}.get(name, name), " ".join(messages))
        name_key = (_fold(spec.first_name), _fold(spec.last_name))
        if name_key in family.member_lines:
            row.problem(
                "first_name", _("The same member as line %(line)s.") % {"line": family.member_lines[name_key]}
            )
        family.member_lines.setdefault(name_key, row.line)
        if not family.municipality and spec.municipality:
            family.municipality = spec.municipality
        if row.problems:
            continue
        if family.existing is not None and name_key in state.family_members.get(family.existing.pk, set()):
            family.skipped.append(
                RowSkipped(row.line, _("Already in the programme (a member of this family)."))
            )
        else:
            family.members.append(
                _MemberPlan(row.line, person, kind, bool(mentored), school, grade if kind == "pupil" else "")
            )

    for folded, family in families.items():
        rows_of_family = family_rows[folded]
        first = rows_of_family[0]
        if family.existing is None:
            if "referral_source" not in family.values and not any(
                p.field == "referral_source" for r in rows_of_family for p in r.problems
            ):
                first.problem(
                    "referral_source",
                    _("Give one of: %(values)s (on any row).") % {"values": ", ".join(REFERRAL_SOURCES)},
                )
            family_check = Family(
                reference=family.reference,
                referral_source=family.values.get("referral_source") or ReferralSource.SCHOOL,
                referrer_name=family.values.get("referrer_name", ""),
                referrer_organisation=family.values.get("referrer_organisation", ""),
                referred_on=family.values.get("referred_on") or today,
                municipality=family.municipality,
            )
            try:
                family_check.clean_fields(exclude=["programme"])
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = {"reference": "family_reference"}.get(name, name)
                    line = family.value_lines.get(column, first.line)
                    next(r for r in rows_of_family if r.line == line).problem(column, " ".join(messages))
            if not any(_is_yes(r) for r in rows_of_family):
                first.problem("mentored", _("Refer at least one parent or pupil to be mentored."))
        bad = [r for r in rows_of_family if r.problems]
        if bad:
            for r in rows_of_family:
                if not r.problems:
                    r.problem(
                        "family_reference",
                        _(
                            "Family %(reference)s has a bad row (line %(line)s); "
                            "a family's rows are imported together or not at all."
                        )
                        % {"reference": family.reference, "line": bad[0].line},
                    )
            for r in rows_of_family:
                report.problems.extend(r.problems)
            family.members = []
            continue
        report.skipped.extend(family.skipped)
        if family.members:
            plan.families.append(family)
    report.new_lines = sorted(m.line for f in plan.families for m in f.members)
    return plan


def _is_yes(row: _Row) -> bool:
    try:
        return _yes_no(row.cells, "mentored", default=True)
    except _CellError:
        return False


def _import_check(*, programme: Programme, kind: str, content: bytes, filename: str = "") -> _Plan:
    """Read and check the file against the programme as it is now. Writes nothing."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    report = ImportReport(kind=kind)
    try:
        table = table_read(content=content, filename=filename)
    except ImportFileError as exc:
        report.problems.append(RowProblem(1, "file", str(exc)))
        return _Plan(report=report)
    if not table or not any(table[0]):
        report.problems.append(RowProblem(1, "file", _("Line 1 must hold the column names.")))
        return _Plan(report=report)
    header, rows, file_problems = _data_rows(table)
    report.rows = len(rows)
    report.problems.extend(file_problems)
    report.problems.extend(_header_problems(header, kind))
    if report.problems:
        return _Plan(report=report)
    state = _Programme.load(programme, kind)
    plan = (_plan_mentors if kind == MENTORS else _plan_families)(rows, state, report)
    report.problems.sort(key=lambda p: (p.line, _column_order(kind, p.field)))
    report.skipped.sort()
    return plan


@lru_cache(maxsize=256)
def _column_order(kind: str, name: str) -> int:
    names = [column.name for column in COLUMNS[kind]]
    return names.index(name) if name in names else len(names)


# Writing ------------------------------------------------------------------------------------


def _write_people(people: list[_PersonPlan], *, recorded_by: User | None) -> None:
    """Persons, then their languages, backgrounds, needs and consents, in batches."""
    Person.objects.bulk_create([p.person for p in people], batch_size=BATCH_SIZE)
    PersonLanguage.objects.bulk_create(
        (
            PersonLanguage(
                person_id=p.person.pk,
                language=lang.language,
                level=lang.level,
                is_preferred=lang.is_preferred,
            )
            for p in people
            for lang in p.languages
        ),
        batch_size=BATCH_SIZE,
    )
    backgrounds = Person.cultural_backgrounds.through
    backgrounds.objects.bulk_create(
        (
            backgrounds(person_id=p.person.pk, culturalbackground_id=pk)
            for p in people
            for pk in p.background_ids
        ),
        batch_size=BATCH_SIZE,
    )
    needs = Person.needs.through
    needs.objects.bulk_create(
        (needs(person_id=p.person.pk, need_id=pk) for p in people for pk in p.need_ids),
        batch_size=BATCH_SIZE,
    )
    now = timezone.now()
    Consent.objects.bulk_create(
        (
            Consent(
                person_id=p.person.pk,
                purpose=purpose,
                given_by=p.consent_given_by,
                given_at=now,
                language=p.consent_language,
                recorded_by=recorded_by,
            )
            for p in people
            for purpose in p.consents
        ),
        batch_size=BATCH_SIZE,
    )


def _write_mentors(plan: _Plan, programme: Programme, recorded_by: User | None) -> dict[str, int]:
    _write_people([m.person for m in plan.mentors], recorded_by=recorded_by)
    mentors = Mentor.objects.bulk_create(
        [
            Mentor(
                programme=programme,
                person_id=m.person.person.pk,
                capacity=m.capacity,
                applied_on=m.applied_on,
                status=Mentor.Status.APPLIED,
            )
            for m in plan.mentors
        ],
        batch_size=BATCH_SIZE,
    )
    now = timezone.now()
    MentorStatusChange.objects.bulk_create(
        (
            MentorStatusChange(
                mentor_id=mentor.pk,
                from_status="",
                to_status=Mentor.Status.APPLIED,
                changed_by=recorded_by,
                changed_at=now,
                note="Imported",
            )
            for mentor in mentors
        ),
        batch_size=BATCH_SIZE,
    )
    return {"people": len(mentors), "mentors": len(mentors)}


def _write_families(plan: _Plan, programme: Programme, recorded_by: User | None) -> dict[str, int]:
    today = timezone.localdate()
    schools = dict(School.objects.filter(programme=programme).values_list("name", "id"))
    schools = {_fold(name): pk for name, pk in schools.items()}
    new_schools: dict[str, School] = {}
    for family in plan.families:
        for member in family.members:
            if member.school and _fold(member.school) not in schools:
                new_schools.setdefault(
                    _fold(member.school), School(programme=programme, name=member.school, municipality="")
                )
    School.objects.bulk_create(new_schools.values(), batch_size=BATCH_SIZE)
    schools.update({key: school.pk for key, school in new_schools.items()})

    new_families = [f for f in plan.families if f.existing is None]
    created = Family.objects.bulk_create(
        [
            Family(
                programme=programme,
                reference=f.reference,
                referral_source=f.values["referral_source"],
                referrer_name=f.values.get("referrer_name", ""),
                referrer_organisation=f.values.get("referrer_organisation", ""),
                referred_on=f.values.get("referred_on") or today,
                municipality=f.municipality,
            )
            for f in new_families
        ],
        batch_size=BATCH_SIZE,
    )
    for family, row in zip(new_families, created, strict=True):
        family.existing = row

    for family in plan.families:
        for member in family.members:
            member.person.person.household_id = family.existing.pk
    members = [m for f in plan.families for m in f.members]
    _write_people([m.person for m in members], recorded_by=recorded_by)
    mentees = Mentee.objects.bulk_create(
        [
            Mentee(
                programme=programme,
                family_id=family.existing.pk,
                person_id=member.person.person.pk,
                kind=member.kind,
                status=Mentee.Status.REFERRED,
                school_id=schools[_fold(member.school)] if member.school else None,
                grade=member.grade,
                # A member added to a family already in the programme is referred now.
                referred_on=family.existing.referred_on
                if family in new_families
                else family.values.get("referred_on") or today,
            )
            for family in plan.families
            for member in family.members
            if member.mentored
        ],
        batch_size=BATCH_SIZE,
    )
    return {
        "people": len(members),
        "families": len(created),
        "mentees": len(mentees),
        "schools": len(new_schools),
    }


def people_import(
    *,
    programme: Programme,
    kind: str,
    content: bytes,
    filename: str = "",
    recorded_by: User | None,
    commit: bool = False,
    good_rows_only: bool = False,
    request: HttpRequest | None = None,
) -> ImportReport:
    """Check the file and, with ``commit``, write its new rows in one transaction.

    Without ``good_rows_only`` a commit writes nothing when any row is bad; with it, the
    good rows are written and the bad ones reported. Problems in the file itself (line 1)
    always stop the import. The report says what was (or would be) created and skipped."""
    if not commit:
        return _import_check(programme=programme, kind=kind, content=content, filename=filename).report
    with transaction.atomic():
        # One import per programme at a time, checked against what is there now: rows added
        # since the dry run are found as duplicates rather than written twice.
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        plan = _import_check(programme=programme, kind=kind, content=content, filename=filename)
        report = plan.report
        if report.file_problems or (report.problems and not good_rows_only):
            return report
        if report.new_lines:
            writer = _write_mentors if kind == MENTORS else _write_families
            report.created = writer(plan, programme, recorded_by)
            audit_record(
                user=recorded_by,
                action=AuditEvent.Action.CREATE,
                object_type=AUDIT_OBJECT_TYPE,
                object_id=f"{kind}:{report.created['people']}",
                programme_id=programme.pk,
                request=request,
            )
        else:
            report.created = {"people": 0}
        report.committed = True
    return report
