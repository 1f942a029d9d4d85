"""A believable demo programme, and large ones for benchmarks (``manage.py seed_demo``).

The demo is built in two steps. First every row is *planned* in memory with one
``random.Random`` (so a seed gives the same people, matches and sessions), respecting the rules
the services enforce: a mentor's open matches never exceed their capacity, a mentee has at most one
open match, sessions fall between a match's start and its end (or today), every date of a person's
lifecycle comes after the one before it. Then the plan is *written* in bulk: PostgreSQL's COPY
(psycopg 3) when the database is PostgreSQL, ``bulk_create`` elsewhere. Rows are written directly
rather than through the services because the demo describes a past the services only reach one
call at a time (matches started months ago, logs written long after the 7-day window); no audit
rows are written, as nobody did anything.

The demo's programmes are known by their slugs (``DEMO_SLUGS``); ``demo_delete`` removes them
with everything recorded in them.
"""

from __future__ import annotations

import datetime
import json
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate, islice
from random import Random

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from guardian.models import GroupObjectPermission, UserObjectPermission

from matching.models import Match, ScoringConfig
from mentoring.models import (
    AgeBand,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    MigrantBackground,
    Need,
    Organisation,
    Person,
    PersonLanguage,
    Programme,
    ReferralSource,
    School,
    SelfAssessment,
    SelfAssessmentQuestion,
    TrainingRecord,
    User,
)
from mentoring.permissions import grant_programme_role
from mentoring.vocabulary import language_name
from sessions.models import (
    CheckIn,
    Concern,
    Goal,
    GoalProgress,
    OutcomeInstrument,
    OutcomeMeasure,
    OutcomeStage,
    Participant,
    SessionLog,
    SessionMode,
    Topic,
)


def _default_points(field: str) -> int:
    return ScoringConfig._meta.get_field(field).default


# The default weights of ``matching.models.ScoringConfig``, for planning plausible demo scores.
PREFERRED_LANGUAGE_POINTS = {
    LanguageLevel.NATIVE: _default_points("preferred_language_native"),
    LanguageLevel.FLUENT: _default_points("preferred_language_fluent"),
    LanguageLevel.BASIC: _default_points("preferred_language_basic"),
}
SHARED_LANGUAGE_POINTS = _default_points("shared_language")
SHARED_BACKGROUND_POINTS = _default_points("shared_background")

DEMO_PASSWORD = "tandem-demo"  # noqa: S105 - a published demo password, printed by the command
DEFAULT_SEED = 2025
DEFAULT_MENTORS = 40
DEFAULT_MENTEES = 120
MAIN_SLUG = "demo-baia-mare"
SECOND_SLUG = "demo-gent"
DEMO_SLUGS = (MAIN_SLUG, SECOND_SLUG)
SECOND_MENTORS = 100
SECOND_MENTEES = 400

RECORD_CHECK_VALID_DAYS = 3 * 365  # the programme re-checks its volunteers every three years
NATIVE, FLUENT, BASIC = LanguageLevel.NATIVE.value, LanguageLevel.FLUENT.value, LanguageLevel.BASIC.value
LEVEL_RANK = {NATIVE: 3, FLUENT: 2, BASIC: 1}


class DemoOptionsError(ValueError):
    """The requested demo cannot be built (the command shows the message as a CommandError)."""


# ---------------------------------------------------------------------------------------------
# What a programme's people look like
# ---------------------------------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    """``"El Amrani, Benali"`` → ``("El Amrani", "Benali")``: names are listed in prose, compactly."""
    return tuple(name.strip() for name in text.split(","))


@dataclass(frozen=True)
class Community:
    """One entry of a programme's cultural-background vocabulary and how its members look.

    ``heritage`` is the community's own language (``None`` when it is the school language);
    ``first_gen``/``second_gen`` are the shares of adults born abroad / born here to parents born
    abroad (the rest have no migrant background); ``children_born_abroad`` is the share of
    first-generation parents' children also born abroad (recent arrivals) rather than here.
    """

    code: str
    name: str
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    origin: str
    heritage: str | None
    mentee_weight: float
    mentor_weight: float
    heritage_rate: float = 1.0
    first_gen: float = 0.0
    second_gen: float = 0.0
    children_born_abroad: float = 0.5
    extra: tuple[tuple[str, float], ...] = ()
    feminine_surnames: bool = False  # Slovak and Bulgarian women's surnames: Horváth → Horváthová


@dataclass(frozen=True)
class Place:
    municipality: str
    postcodes: tuple[str, ...]
    latitude: float
    longitude: float
    weight: float


@dataclass(frozen=True)
class SchoolSpec:
    name: str
    municipality: str
    secondary: bool = False
    language: str = ""  # teaching language when it is not the local one


@dataclass(frozen=True)
class Locale:
    slug: str
    name: str
    organisation: str
    country: str
    local_language: str
    reference_prefix: str
    communities: tuple[Community, ...]
    places: tuple[Place, ...]
    schools: tuple[SchoolSpec, ...]
    primary_grades: tuple[str, ...]  # pupils under 12
    older_grades: tuple[tuple[str, bool], ...]  # pupils 12–17: (grade, taught at a secondary school)
    consent_languages: tuple[str, ...]  # languages the consent form exists in
    phone_format: str
    moved_to: tuple[str, ...]
    social_service: str  # who refers families besides schools
    community_organisations: tuple[tuple[str, tuple[str, ...]], ...]  # (name, communities served; () all)
    record_check_format: str  # the certificate's number, as the coordinator writes it down
    training_course: str
    small_cell_k: int = 10


ROMANIAN = Community(
    code="romanian",
    name="Romanian",
    female=_names(
        "Ana, Maria, Elena, Ioana, Andreea, Mihaela, Cristina, Alexandra, Daniela, "
        "Gabriela, Ramona, Simona, Larisa, Bianca, Denisa, Diana, Raluca, Camelia"
    ),
    male=_names(
        "Andrei, Alexandru, Mihai, Ionuț, Florin, Cristian, Gheorghe, Vasile, Ioan, "
        "Bogdan, Darius, Răzvan, Marius, Sorin, David, Luca, Matei, Ștefan, Vlad"
    ),
    surnames=_names(
        "Pop, Mureșan, Rus, Bud, Dragoș, Ardelean, Hotea, Tămaș, Pașca, Marinca, Bârsan, "
        "Cosma, Moldovan, Sabău, Iuga, Roman, Hodor, Petrovan, Coman"
    ),
    origin="RO",
    heritage=None,
    mentee_weight=30,
    mentor_weight=50,
    # Maramureș families often worked in Spain or Italy and came back with the language.
    extra=(("en", 0.3), ("es", 0.08), ("it", 0.05), ("hu", 0.04)),
)
ROMA = Community(
    code="roma",
    name="Roma",
    female=_names(
        "Mirela, Florica, Lăcrămioara, Steluța, Nicoleta, Loredana, Rebeca, Sara, Violeta, "
        "Mădălina, Georgiana, Crina, Samanta, Roxana, Ramona"
    ),
    male=_names(
        "Marian, Cornel, Florin, Costel, Nicușor, Dănuț, Robert, Ionel, Remus, Sebastian, "
        "Alin, Denis, Gabriel, Fănel, Darius"
    ),
    surnames=_names(
        "Lakatos, Rostaș, Căldărar, Boboc, Stoica, Ciurar, Radu, Varga, Lingurar, Oláh, "
        "Covaci, Ursu, Balogh, Pușcaș, Mihai"
    ),
    origin="RO",
    heritage="rom",
    heritage_rate=0.55,
    mentee_weight=30,
    mentor_weight=9,
    extra=(("hu", 0.12),),
)
HUNGARIAN = Community(
    code="hungarian",
    name="Hungarian",
    female=_names(
        "Zsófia, Réka, Enikő, Katalin, Erzsébet, Anikó, Tímea, Krisztina, Noémi, Boglárka, Ildikó, Hajnalka"
    ),
    male=_names(
        "Attila, Levente, Csaba, Zoltán, Gábor, László, Botond, Szabolcs, Balázs, Tamás, Zsolt, Márk"
    ),
    surnames=_names(
        "Kovács, Szabó, Nagy, Tóth, Fekete, Kiss, Molnár, Papp, Szilágyi, Bíró, Farkas, Mészáros, Németh"
    ),
    origin="RO",
    heritage="hu",
    mentee_weight=12,
    mentor_weight=14,
    extra=(("en", 0.2), ("de", 0.05)),
)
UKRAINIAN = Community(
    code="ukrainian",
    name="Ukrainian",
    female=_names(
        "Olena, Iryna, Oksana, Nataliia, Tetiana, Yuliia, Sofiia, Anastasiia, Kateryna, "
        "Viktoriia, Daryna, Mariia, Halyna, Khrystyna"
    ),
    male=_names(
        "Andrii, Dmytro, Oleksandr, Maksym, Serhii, Vasyl, Mykola, Ivan, Bohdan, Artem, Taras, Yurii, Denys"
    ),
    surnames=_names(
        "Kovalenko, Shevchenko, Bondarenko, Melnyk, Tkachenko, Kravchenko, Boiko, "
        "Hrytsenko, Savchuk, Petruk, Moroz, Lysenko, Marchuk, Fedoriv"
    ),
    origin="UA",
    heritage="uk",
    # Families who fled the war since 2022, and Maramureș's own Ukrainian minority.
    first_gen=0.75,
    children_born_abroad=0.95,
    mentee_weight=14,
    mentor_weight=9,
    extra=(("ru", 0.35), ("en", 0.3), ("hu", 0.05)),
)
SYRIAN = Community(
    code="syrian",
    name="Syrian",
    female=_names("Fatima, Layla, Rania, Amal, Hiba, Noor, Yasmin, Salma, Reem, Lama, Maryam, Sham"),
    male=_names("Ahmad, Omar, Mohammad, Khaled, Yusuf, Hassan, Ali, Karim, Tarek, Bilal, Adam, Zaid"),
    surnames=_names(
        "Haddad, Al-Hassan, Khalil, Darwish, Hamdan, Al-Ahmad, Sabbagh, Najjar, Hamoud, "
        "Al-Khatib, Shami, Kurdi"
    ),
    origin="SY",
    heritage="ar",
    first_gen=0.85,
    second_gen=0.1,
    children_born_abroad=0.4,
    mentee_weight=5,
    mentor_weight=3,
    extra=(("en", 0.3), ("tr", 0.2)),
)
TURKISH = Community(
    code="turkish",
    name="Turkish",
    female=_names("Ayşe, Elif, Zeynep, Emine, Fatma, Merve, Esra, Hatice, Büşra, Defne, Ecrin, Nur"),
    male=_names("Mehmet, Mustafa, Emre, Ahmet, Murat, Hasan, Burak, Yusuf, Emir, Kerem, Ömer, Can"),
    surnames=_names("Yılmaz, Demir, Kaya, Çelik, Şahin, Yıldız, Öztürk, Aydın, Arslan, Doğan, Koç, Kılıç"),
    origin="TR",
    heritage="tr",
    first_gen=0.6,
    second_gen=0.3,
    mentee_weight=3,
    mentor_weight=4,
    extra=(("en", 0.35),),
)
ERITREAN = Community(
    code="eritrean",
    name="Eritrean",
    female=_names("Selam, Senait, Helen, Saba, Ruta, Mebrat, Feven, Yordanos, Hiwet, Luwam"),
    male=_names("Kiros, Yonas, Mebrahtu, Daniel, Filmon, Tesfalem, Samuel, Habtom, Amanuel, Biniam"),
    surnames=_names("Tesfay, Gebremedhin, Haile, Berhane, Kidane, Tekle, Ghebreyesus, Woldu, Mehari, Abraha"),
    origin="ER",
    heritage="ti",
    first_gen=0.95,
    children_born_abroad=0.6,
    mentee_weight=2,
    mentor_weight=0.5,
    extra=(("ar", 0.3), ("en", 0.4), ("am", 0.2)),
)
MOROCCAN = Community(
    code="moroccan",
    name="Moroccan",
    female=_names("Khadija, Salma, Nadia, Imane, Soukaina, Houda, Samira, Meryem, Aya"),
    male=_names("Youssef, Hamza, Mohamed, Karim, Rachid, Mehdi, Anas, Ilias, Bilal, Ayoub"),
    surnames=_names(
        "El Amrani, Benali, Ouahbi, Bennani, El Idrissi, Azzouzi, Boukhari, Tahiri, El Ouardi, Chaouki"
    ),
    origin="MA",
    heritage="ar",
    first_gen=0.9,
    mentee_weight=2,
    mentor_weight=1,
    extra=(("fr", 0.6), ("es", 0.3)),
)
PORTUGUESE = Community(
    code="portuguese",
    name="Portuguese",
    female=_names("Ana, Inês, Beatriz, Mariana, Joana, Catarina, Sofia, Rita"),
    male=_names("João, Tiago, Pedro, Rui, Miguel, Nuno, Diogo, Duarte"),
    surnames=_names(
        "Silva, Santos, Ferreira, Costa, Oliveira, Pereira, Rodrigues, Martins, Sousa, Fernandes"
    ),
    origin="PT",
    heritage="pt",
    first_gen=0.9,
    mentee_weight=1,
    mentor_weight=2,
    extra=(("en", 0.6), ("es", 0.4)),
)

FLEMISH = Community(
    code="flemish",
    name="Flemish",
    female=_names("Sarah, Lotte, Marie, Eline, An, Katrien, Lien, Hanne, Fien, Nore"),
    male=_names("Pieter, Jens, Tom, Wouter, Bart, Lucas, Arne, Stijn, Jonas, Wout"),
    surnames=_names(
        "Peeters, Janssens, De Smet, Van den Broeck, Claeys, Maes, Willems, De Vos, "
        "Goossens, Vermeulen, Van Damme"
    ),
    origin="BE",
    heritage=None,
    mentee_weight=8,
    mentor_weight=40,
    extra=(("en", 0.6), ("fr", 0.5)),
)
BULGARIAN_TURKISH = Community(
    code="bulgarian-turkish",
    name="Bulgarian Turkish",
    female=_names("Ayten, Gülsen, Nurten, Emine, Sevgi, Aylin, Elif, Nesrin"),
    male=_names("Ahmed, Mehmed, Ibrahim, Hüseyin, Erol, Sevgin, Yusuf, Orhan"),
    surnames=_names("Mehmedov, Ibryamov, Hasanov, Aliev, Salimov, Osmanov, Mustafov"),
    origin="BG",
    heritage="tr",
    first_gen=0.85,
    children_born_abroad=0.5,
    mentee_weight=14,
    mentor_weight=4,
    extra=(("bg", 0.7),),
    feminine_surnames=True,
)
SLOVAK_ROMA = Community(
    code="roma",
    name="Roma",
    female=_names("Monika, Denisa, Žaneta, Veronika, Lucia, Renáta, Nikola, Simona"),
    male=_names("Marek, Dušan, Milan, Ján, Tomáš, Roman, Patrik, Marcel"),
    surnames=_names("Horváth, Balog, Lakatoš, Kotlár, Oláh, Gábor, Červeňák, Giňa"),
    origin="SK",
    heritage="rom",
    heritage_rate=0.8,
    first_gen=0.75,
    children_born_abroad=0.5,
    mentee_weight=12,
    mentor_weight=2,
    extra=(("sk", 0.8), ("hu", 0.15)),
    feminine_surnames=True,
)
# Gent: families mostly of migrant background (Turkish and Moroccan families of every generation,
# recent arrivals from Bulgaria, Slovakia, Syria, Eritrea and Ukraine) mentored by volunteers who are
# more often Flemish or second generation.
GENT_TURKISH = Community(
    **{
        **TURKISH.__dict__,
        "first_gen": 0.3,
        "second_gen": 0.6,
        "mentee_weight": 16,
        "mentor_weight": 22,
        "extra": (("en", 0.3), ("fr", 0.2)),
    }
)
GENT_MOROCCAN = Community(
    **{**MOROCCAN.__dict__, "first_gen": 0.3, "second_gen": 0.6, "mentee_weight": 16, "mentor_weight": 22}
)
GENT_SYRIAN = Community(
    **{
        **SYRIAN.__dict__,
        "mentee_weight": 10,
        "mentor_weight": 3,
        "extra": (("en", 0.3), ("tr", 0.2), ("ku", 0.1)),
    }
)
GENT_ERITREAN = Community(**{**ERITREAN.__dict__, "mentee_weight": 6, "mentor_weight": 2})
GENT_UKRAINIAN = Community(**{**UKRAINIAN.__dict__, "first_gen": 1.0, "mentee_weight": 6, "mentor_weight": 3})

BAIA_MARE = Locale(
    slug=MAIN_SLUG,
    name="Parent mentoring, Baia Mare 2025–26",
    organisation="Asociația Părinți Împreună",
    country="RO",
    local_language="ro",
    reference_prefix="BM",
    communities=(ROMANIAN, ROMA, HUNGARIAN, UKRAINIAN, SYRIAN, TURKISH, ERITREAN, MOROCCAN, PORTUGUESE),
    places=(
        Place(
            "Baia Mare",
            ("430011", "430031", "430072", "430122", "430212", "430233", "430321", "430345"),
            47.6567,
            23.5850,
            62,
        ),
        Place("Baia Sprie", ("435100",), 47.6617, 23.6922, 8),
        Place("Tăuții-Măgherăuș", ("435300",), 47.7166, 23.4735, 7),
        Place("Recea", ("437270",), 47.6333, 23.5167, 5),
        Place("Seini", ("435400",), 47.7442, 23.2853, 5),
        Place("Șomcuta Mare", ("435500",), 47.5180, 23.4680, 4),
        Place("Cavnic", ("435200",), 47.6653, 23.8711, 3),
        Place("Groși", ("437225",), 47.6168, 23.6150, 3),
        Place("Dumbrăvița", ("437145",), 47.6000, 23.6500, 3),
    ),
    schools=(
        SchoolSpec("Școala Gimnazială „Avram Iancu”", "Baia Mare"),
        SchoolSpec("Școala Gimnazială „Lucian Blaga”", "Baia Mare"),
        SchoolSpec("Școala Gimnazială „Nicolae Iorga”", "Baia Mare"),
        SchoolSpec("Școala Gimnazială „George Coșbuc”", "Baia Mare"),
        SchoolSpec("Școala Gimnazială Nr. 5", "Baia Mare"),
        SchoolSpec("Școala Gimnazială Nr. 14", "Baia Mare"),
        SchoolSpec("Liceul Teoretic „Németh László”", "Baia Mare", secondary=True, language="hu"),
        SchoolSpec("Colegiul Național „Gheorghe Șincai”", "Baia Mare", secondary=True),
        SchoolSpec("Liceul Tehnologic „Transilvania”", "Baia Mare", secondary=True),
        SchoolSpec("Școala Gimnazială Baia Sprie", "Baia Sprie"),
        SchoolSpec("Școala Gimnazială Tăuții-Măgherăuș", "Tăuții-Măgherăuș"),
        SchoolSpec("Școala Gimnazială Recea", "Recea"),
        SchoolSpec("Școala Gimnazială Seini", "Seini"),
        SchoolSpec("Școala Gimnazială Cavnic", "Cavnic"),
    ),
    primary_grades=(
        "clasa pregătitoare",
        "clasa I",
        "clasa a II-a",
        "clasa a III-a",
        "clasa a IV-a",
        "clasa a V-a",
    ),
    older_grades=(
        ("clasa a VI-a", False),
        ("clasa a VII-a", False),
        ("clasa a VIII-a", False),
        ("clasa a IX-a", True),
        ("clasa a X-a", True),
        ("clasa a XI-a", True),
    ),
    consent_languages=("ro", "hu", "uk", "ar", "en"),
    phone_format="+40 7{a:02d} {b:03d} {c:03d}",
    moved_to=("Cluj-Napoca", "Spain", "Germany", "Italy", "Satu Mare"),
    social_service="Direcția de Asistență Socială Baia Mare",
    community_organisations=(
        ("Centrul comunitar Pirita", ()),
        ("Parohia Greco-Catolică Baia Mare", ("romanian", "ukrainian")),
        ("Punctul de sprijin pentru refugiați Baia Mare", ("ukrainian", "syrian", "eritrean")),
        ("Asociația Femeilor Rome Maramureș", ("roma",)),
        ("Egyesület a Magyar Családokért", ("hungarian",)),
    ),
    record_check_format="Certificat de cazier judiciar nr. {number}/{year}",
    training_course="Curs de formare pentru mentori (4 × 3 ore)",
)

GENT = Locale(
    slug=SECOND_SLUG,
    name="Ouderschapsmentoring Gent 2025–26",
    organisation="Stichting Samen Ouders",
    country="BE",
    local_language="nl",
    reference_prefix="GE",
    communities=(
        FLEMISH,
        GENT_TURKISH,
        GENT_MOROCCAN,
        BULGARIAN_TURKISH,
        SLOVAK_ROMA,
        GENT_SYRIAN,
        GENT_ERITREAN,
        GENT_UKRAINIAN,
    ),
    places=(
        Place("Gent", ("9000",), 51.0543, 3.7174, 40),
        Place("Ledeberg", ("9050",), 51.0383, 3.7433, 12),
        Place("Sint-Amandsberg", ("9040",), 51.0620, 3.7500, 14),
        Place("Gentbrugge", ("9050",), 51.0390, 3.7580, 8),
        Place("Wondelgem", ("9032",), 51.0880, 3.7220, 8),
        Place("Mariakerke", ("9030",), 51.0730, 3.6800, 6),
        Place("Merelbeke", ("9820",), 50.9960, 3.7450, 5),
    ),
    schools=(
        SchoolSpec("Basisschool De Wonderfluit", "Gent"),
        SchoolSpec("Stedelijke Basisschool Ledeberg", "Ledeberg"),
        SchoolSpec("GO! Basisschool De Vlieger", "Sint-Amandsberg"),
        SchoolSpec("Sint-Salvatorschool", "Gentbrugge"),
        SchoolSpec("Basisschool Het Spoor", "Wondelgem"),
        SchoolSpec("Atheneum Gentbrugge", "Gentbrugge", secondary=True),
        SchoolSpec("Sint-Bavo Humaniora", "Gent", secondary=True),
    ),
    primary_grades=(
        "1ste leerjaar",
        "2de leerjaar",
        "3de leerjaar",
        "4de leerjaar",
        "5de leerjaar",
        "6de leerjaar",
    ),
    older_grades=(
        ("1ste middelbaar", True),
        ("2de middelbaar", True),
        ("3de middelbaar", True),
        ("4de middelbaar", True),
        ("5de middelbaar", True),
    ),
    consent_languages=("nl", "fr", "en", "tr", "ar", "uk"),
    phone_format="+32 4{a:02d} {b:03d} {c:03d}",
    moved_to=("Antwerpen", "Brussel", "the Netherlands", "Germany"),
    social_service="OCMW Gent",
    community_organisations=(
        ("Buurtcentrum Ledeberg", ()),
        ("Huis van het Kind Gent", ()),
        ("Moskee Ledeberg", ("turkish", "moroccan", "bulgarian-turkish", "syrian")),
        ("Vzw Samen Thuis", ("roma", "eritrean", "ukrainian")),
    ),
    record_check_format="Uittreksel strafregister model 2, nr. {number}",
    training_course="Basisopleiding mentor (4 × 3 uur)",
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    first_name: str
    last_name: str
    sees: str
    programmes: tuple[str, ...] = ()  # slugs the role is granted in


COORDINATOR_LOGIN = DemoLogin(
    "coordinator",
    User.Role.COORDINATOR,
    "Ioana",
    "Mureșan",
    "Baia Mare: mentors, families, waiting list and suggestions, matches, session logs, reports",
    (MAIN_SLUG,),
)
MANAGER_LOGIN = DemoLogin(
    "manager",
    User.Role.MANAGER,
    "Maria",
    "Szabó",
    "Baia Mare and Gent: aggregate reports and exports only, no case files",
    (MAIN_SLUG, SECOND_SLUG),
)
MENTOR_LOGIN = DemoLogin(
    "mentor", User.Role.MENTOR, "", "", "own profile, own mentees and their session logs"
)
ADMIN_LOGIN = DemoLogin(
    "admin", User.Role.ADMIN, "Tandem", "Administrator", "every programme, staff, the audit log, Django admin"
)
GENT_COORDINATOR_LOGIN = DemoLogin(
    "coordinator-gent",
    User.Role.COORDINATOR,
    "Lien",
    "Claeys",
    "Gent only: the same pages as coordinator, none of Baia Mare's records",
    (SECOND_SLUG,),
)
DEMO_LOGIN_USERNAMES = tuple(
    login.username
    for login in (COORDINATOR_LOGIN, MANAGER_LOGIN, MENTOR_LOGIN, ADMIN_LOGIN, GENT_COORDINATOR_LOGIN)
)
# Marks the accounts the demo made (RFC 2606 reserves .invalid: no mail can reach it).
DEMO_EMAIL_DOMAIN = "demo.tandem.invalid"


# ---------------------------------------------------------------------------------------------
# Writing rows in bulk
# ---------------------------------------------------------------------------------------------


@contextmanager
def _explicit_timestamps(model: type[models.Model]) -> Iterator[None]:
    """Let ``bulk_create`` keep the ``created_at``/``updated_at`` the plan gives (a demo row
    written today describes a past day); Django would otherwise stamp them with now."""
    changed = [
        (f, f.auto_now, f.auto_now_add)
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    try:
        for f, _, _ in changed:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, auto_now, auto_now_add in changed:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _fields(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def _batched(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class BulkWriter:
    """Inserts planned rows: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    Rows are tuples in the order of ``fields`` (attribute names, ``person_id`` for a foreign
    key); a JSON list is given as a tuple. Columns the caller leaves out get the field's
    default, so a field another developer adds with a default does not break the demo. Ids of
    the rows other rows point to are reserved up front (``reserve_ids``) so a whole table can be
    planned before it is written.
    """

    BATCH_SIZE = 2000

    def __init__(self) -> None:
        self.copy = connection.vendor == "postgresql"
        self.counts: Counter[str] = Counter()
        self._next_id: dict[type[models.Model], int] = {}
        self._json_cache: dict = {}

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """``count`` fresh primary keys for ``model``. On PostgreSQL they are drawn from the
        table's sequence, so rows inserted meanwhile by someone else never collide with them."""
        if count <= 0:
            return []
        table = model._meta.db_table
        pk_column = model._meta.pk.column
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.copy:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, pk_column, count],
                )
                return [row[0] for row in cursor.fetchall()]
            # SQLite: the write lock is held from the first write to the commit.
            cursor.execute(f"SELECT MAX({quote(pk_column)}) FROM {quote(table)}")  # noqa: S608 - quoted names from model metadata  # nosec B608
            first = max((cursor.fetchone()[0] or 0) + 1, self._next_id.get(model, 1))
        self._next_id[model] = first + count
        return list(range(first, first + count))

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in fields if name not in by_attname]
        if unknown:
            raise ValueError(f"{model._meta.label} has no field(s) {', '.join(unknown)}")
        missing = [f for f in model._meta.concrete_fields if f.attname not in fields and not f.primary_key]
        now = timezone.now()
        extra = tuple(
            now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            for f in missing
        )
        names = [*fields, *(f.attname for f in missing)]
        json_positions = [
            i for i, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)
        ]
        written = 0
        if self.copy:
            written = self._copy(model, [by_attname[n] for n in names], rows, extra, json_positions)
        else:
            with _explicit_timestamps(model):
                for batch in _batched(rows, self.BATCH_SIZE):
                    objs = []
                    for row in batch:
                        values = list(row) + list(extra)
                        for i in json_positions:
                            if isinstance(values[i], tuple):
                                values[i] = list(values[i])
                        objs.append(model(**dict(zip(names, values, strict=True))))
                    model._base_manager.bulk_create(objs, batch_size=self.BATCH_SIZE)
                    written += len(objs)
        self.counts[model._meta.db_table] += written
        return written

    def _copy(self, model, db_fields, rows, extra, json_positions) -> int:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in db_fields)
        json_cache = self._json_cache
        written = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor behind Django's wrapper
            with raw.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    if json_positions:
                        row = list(row)
                        for i in json_positions:
                            value = row[i]
                            if isinstance(value, tuple):  # lists repeat (["parent", "pupil"]): dump each once
                                dumped = json_cache.get(value)
                                if dumped is None:
                                    dumped = json_cache[value] = json.dumps(list(value))
                            else:
                                dumped = json.dumps(value)
                            row[i] = dumped
                    copy.write_row((*row, *extra) if extra else row)
                    written += 1
        return written

    def analyze(self) -> None:
        """Fresh planner statistics, so the first report after a benchmark seed is not planned
        for empty tables."""
        if self.copy and self.counts:
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                for table in self.counts:
                    cursor.execute(f"ANALYZE {quote(table)}")


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedPerson:
    id: int
    community: Community
    first_name: str
    last_name: str
    gender: str
    age_band: str
    generation: str  # "first", "second" or "local"
    country_of_birth: str = ""
    migrant_background: str = MigrantBackground.UNKNOWN
    languages: list[tuple[str, str]] = field(default_factory=list)  # the first is preferred
    backgrounds: list[int] = field(default_factory=list)
    municipality: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None
    email: str = ""
    phone: str = ""
    created_on: datetime.date | None = None
    background_consent: bool = False
    wanted: tuple[bool, bool] = (False, False)  # consents given: (background matching, statistics)
    needs: list[str] = field(default_factory=list)  # a mentee's needs, a mentor's strengths (codes)
    availability: tuple[str, ...] = ()
    session_modes: tuple[str, ...] = ()
    consents: list[tuple] = field(
        default_factory=list
    )  # (purpose, given_by, given_at, language, withdrawn_at)

    @property
    def preferred(self) -> str:
        return self.languages[0][0]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class PlannedFamily:
    id: int
    reference: str
    community: Community
    referral_source: str
    place: Place
    referred_on: datetime.date | None = None
    consent_giver: str = ""  # "Iryna Shevchenko (mother)"
    referrer_name: str = ""
    referrer_organisation: str = ""
    school_name: str = ""


@dataclass(slots=True)
class PlannedMentor:
    id: int
    person: PlannedPerson
    role: str  # the planned lifecycle stage; ``status`` is settled once matches are known
    capacity: int
    status: str = ""
    user_id: int | None = None
    target_load: int = 0
    open_matches: list[PlannedMatch] = field(default_factory=list)
    closed_matches: list[PlannedMatch] = field(default_factory=list)
    applied_on: datetime.date | None = None
    record_check_on: datetime.date | None = None
    record_check_expires_on: datetime.date | None = None
    training_completed_on: datetime.date | None = None
    approved_on: datetime.date | None = None
    interviewed_on: datetime.date | None = None
    record_check_reference: str = ""
    left_on: datetime.date | None = None
    leaving_reason: str = ""
    speaks: dict[str, str] = field(default_factory=dict)
    references: list[tuple[str, str, datetime.date, bool]] = field(default_factory=list)
    trainings: list[tuple[datetime.date, int]] = field(default_factory=list)  # (completed on, test score)
    assessments: list[tuple[str, datetime.date]] = field(default_factory=list)
    history: list[tuple[str, str, datetime.datetime, str]] = field(default_factory=list)  # from, to, at, note


@dataclass(slots=True)
class PlannedMentee:
    id: int
    person: PlannedPerson
    family: PlannedFamily
    kind: str
    role: str  # referred, intake, pool (waiting or matched), closed
    status: str = ""
    school_id: int | None = None
    grade: str = ""
    referred_on: datetime.date | None = None
    intake_completed_on: datetime.date | None = None
    waiting_since: datetime.date | None = None
    closed_on: datetime.date | None = None
    needs_assessment: str = ""
    open_match: PlannedMatch | None = None
    closed_match: PlannedMatch | None = None


@dataclass(slots=True)
class PlannedMatch:
    id: int
    mentor: PlannedMentor
    mentee: PlannedMentee
    status: str
    proposed_on: datetime.date | None = None
    started_on: datetime.date | None = None
    planned_end_on: datetime.date | None = None
    closed_on: datetime.date | None = None
    closure_reason: str = ""
    closure_note: str = ""
    score: int | None = None
    sessions_until: datetime.date | None = None  # the last day a session can have been held


def _english_language_name(code: str) -> str:
    """The demo's notes and assessments are written in English, languages named in it too."""
    with translation.override("en"):
        return language_name(code)


def _weighted(rng: Random, items: Sequence, weights: Sequence[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == "-").strip("-") or "x"


def _feminine(surname: str) -> str:
    if surname.endswith("ov"):
        return surname + "a"
    if surname.endswith("a"):
        return surname[:-1] + "ová"
    return surname + "ová"


MENTOR_ROLES = (
    "applied",
    "screening",
    "training",
    "withdrawn_early",
    "approved",
    "active",
    "inactive",
    "withdrawn_late",
)
MENTOR_ROLE_WEIGHTS = (5, 5, 7, 3, 9, 62, 5, 4)
MENTEE_ROLES = ("referred", "intake", "pool", "closed")
MENTEE_ROLE_WEIGHTS = (5, 5, 66, 24)
CLOSURE_REASONS = (
    (Match.ClosureReason.PLANNED_COMPLETION, 45),
    (Match.ClosureReason.FAMILY_MOVED, 12),
    (Match.ClosureReason.LOST_CONTACT, 14),
    (Match.ClosureReason.MISMATCH, 9),
    (Match.ClosureReason.SAFEGUARDING, 2),
    (Match.ClosureReason.OTHER, 8),
)
CLOSURE_NOTES = {
    Match.ClosureReason.PLANNED_COMPLETION: (
        "Goals reached; the family now contacts the school on their own.",
        "Planned end. Attendance improved and the mother joined the parents' committee.",
        "Completed the planned period; the family knows whom to call at school.",
    ),
    Match.ClosureReason.FAMILY_MOVED: ("The family moved to {moved_to}.",),
    Match.ClosureReason.LOST_CONTACT: (
        "No answer to calls or messages for five weeks; letter sent, no reply.",
        "Phone number no longer in use; the school has no new contact either.",
    ),
    Match.ClosureReason.MENTOR_LEFT: (
        "The mentor moved away for work; the family was offered a new mentor.",
        "The mentor stopped volunteering for health reasons.",
    ),
    Match.ClosureReason.MISMATCH: (
        "Schedules never fitted; both agreed to end and the mentee asked for a new mentor.",
        "Language barrier too large without an interpreter; rematch planned.",
    ),
    Match.ClosureReason.SAFEGUARDING: (
        "Closed after a safeguarding referral; the case continues with social services.",
    ),
    Match.ClosureReason.OTHER: ("The pupil changed school mid-year and the family asked to stop.",),
}
SESSION_NOTES = {
    Topic.SCHOOL_SYSTEM: (
        "Explained how the school year, holidays and exams are organised.",
        "Set up the online gradebook on her phone and turned on notifications.",
        "Went through the options after lower secondary and the admission calendar.",
        "Explained how absences are excused and whom to tell.",
    ),
    Topic.HOMEWORK: (
        "Did the maths homework together; by the end the pupil explained the method.",
        "Made a weekly homework plan and found a quiet corner at home.",
        "Read a short book together; agreed on ten minutes of reading a day.",
    ),
    Topic.PARENT_TEACHER: (
        "Prepared questions for the parent–teacher meeting.",
        "Went to the parent–teacher meeting together; translated where needed.",
        "Wrote a short message to the class teacher about the absences.",
    ),
    Topic.BILINGUAL: (
        "Talked about keeping the home language strong alongside {local}.",
        "Found children's books in the home language at the library.",
    ),
    Topic.LOCAL_LANGUAGE: (
        "Practised {local} for the appointment at the doctor's.",
        "Worked through the vocabulary of the latest letter from school.",
        "Filled in the school canteen form in {local} together.",
    ),
    Topic.WELL_BEING: (
        "The pupil has been worried about a conflict in class; we talked it through.",
        "The mother feels more settled since the family found a flat closer to school.",
        "Talked about sleep and screen time before the tests.",
    ),
}
NEED_WISHES = {
    Topic.SCHOOL_SYSTEM: "to understand how the school system works",
    Topic.HOMEWORK: "help with homework at home",
    Topic.PARENT_TEACHER: "to talk to the teachers without help",
    Topic.BILINGUAL: "to raise the children in two languages",
    Topic.LOCAL_LANGUAGE: "more confidence in {local}",
    Topic.WELL_BEING: "the pupil to feel at home at school",
}
SELF_ASSESSMENT_QUESTIONS = (
    "I can explain how the school system works to a parent new to it.",
    "I can listen to a family without judging.",
    "I can help a parent prepare for a meeting with a teacher.",
    "I can work with an interpreter.",
    "I keep to my role and know its boundaries.",
    "I know when and how to pass a concern to the coordinator.",
)
REFEREE_RELATIONSHIPS = (
    "employer",
    "teacher",
    "community leader",
    "former colleague",
    "university tutor",
    "priest",
    "neighbour",
)
LEAVING_REASONS_EARLY = (
    "Found a job with evening shifts.",
    "Moved to another town.",
    "Did not come back after the interview.",
    "Decided the time commitment is too much this year.",
)
LEAVING_REASONS_LATE = (
    "Moved abroad for work.",
    "Started university in another city.",
    "Family reasons; may come back next year.",
    "Health reasons.",
)
SLOTS_PARENT = tuple(
    f"{d}_{p}" for d in ("mon", "tue", "wed", "thu", "fri") for p in ("afternoon", "evening")
) + (
    "sat_morning",
    "sat_afternoon",
)
SLOTS_PUPIL = tuple(f"{d}_afternoon" for d in ("mon", "tue", "wed", "thu", "fri")) + ("sat_morning",)
SLOTS_MENTOR = tuple(f"{d}_evening" for d in ("mon", "tue", "wed", "thu", "fri")) + (
    "sat_morning",
    "sat_afternoon",
    "sun_afternoon",
    "wed_afternoon",
    "fri_afternoon",
)
FOLLOW_UPS = (
    "Call the class teacher before Friday.",
    "Bring the enrolment form next time.",
    "Check whether the school grant application was accepted.",
    "Ask the school about the after-school homework club.",
    "Look up the date of the next parent–teacher meeting.",
)


def _topic_weights(kind: str, first_generation: bool) -> tuple[tuple[Topic, ...], tuple[float, ...]]:
    """What a parent or a pupil needs and talks about, and how often."""
    if kind == Mentee.Kind.PARENT:
        return PARENT_TOPICS, (3, 3, 2.5 if first_generation else 0.5, 1, 1.5, 1.5)
    return PUPIL_TOPICS, (5, 2, 1, 1.5 if first_generation else 0.3, 1, 0.3)


PARENT_TOPICS = (
    Topic.SCHOOL_SYSTEM,
    Topic.PARENT_TEACHER,
    Topic.LOCAL_LANGUAGE,
    Topic.BILINGUAL,
    Topic.HOMEWORK,
    Topic.WELL_BEING,
)
PUPIL_TOPICS = (
    Topic.HOMEWORK,
    Topic.WELL_BEING,
    Topic.SCHOOL_SYSTEM,
    Topic.LOCAL_LANGUAGE,
    Topic.PARENT_TEACHER,
    Topic.BILINGUAL,
)
MODES = (SessionMode.IN_PERSON, SessionMode.PHONE, SessionMode.VIDEO)
MODE_CUM_WEIGHTS = (65, 85, 100)  # in person 65 %, phone 20 %, video 15 %
IN_PERSON_MINUTES = (45, 60, 60, 60, 75, 90, 90, 120)
PHONE_MINUTES = (10, 15, 15, 20, 20, 25, 30, 40)
VIDEO_MINUTES = (30, 30, 40, 45, 45, 60)

# Every demo programme measures its mentees on four instruments (code, name, scale, higher is
# better, headline): parent engagement in schooling is the one equality reports show.
OUTCOME_INSTRUMENTS = (
    ("parent_engagement", "Parent engagement in schooling", 1, 5, True, True),
    ("attendance_rate", "School attendance rate (%)", 0, 100, True, False),
    ("school_well_being", "School well-being", 1, 5, True, False),
    ("early_leaving_risk", "Early-school-leaving risk", 1, 3, False, False),
)
# The programmes' vocabularies in their local language, beside the English ``name`` of each
# community, need (``Topic``) and outcome instrument: each is stored as that language's label
# (django-modeltranslation's ``name_<language>``), so each interface language shows its own.
LOCAL_LABELS: dict[str, dict[str, str]] = {
    "ro": {
        # Cultural backgrounds
        "romanian": "Română",
        "roma": "Romă",
        "hungarian": "Maghiară",
        "ukrainian": "Ucraineană",
        "syrian": "Siriană",
        "turkish": "Turcă",
        "eritrean": "Eritreeană",
        "moroccan": "Marocană",
        "portuguese": "Portugheză",
        # Needs
        Topic.SCHOOL_SYSTEM: "Orientare în sistemul școlar",
        Topic.HOMEWORK: "Sprijin la teme",
        Topic.PARENT_TEACHER: "Întâlniri părinte–profesor",
        Topic.BILINGUAL: "Creșterea copiilor în două limbi",
        Topic.LOCAL_LANGUAGE: "Limba română",
        Topic.WELL_BEING: "Stare de bine",
        # Outcome instruments
        "parent_engagement": "Implicarea părinților în școală",
        "attendance_rate": "Rata de prezență la școală (%)",
        "school_well_being": "Starea de bine la școală",
        "early_leaving_risk": "Riscul de abandon școlar timpuriu",
    },
    "nl": {
        # Cultural backgrounds
        "flemish": "Vlaams",
        "turkish": "Turks",
        "moroccan": "Marokkaans",
        "bulgarian-turkish": "Bulgaars-Turks",
        "roma": "Roma",
        "syrian": "Syrisch",
        "eritrean": "Eritrees",
        "ukrainian": "Oekraïens",
        # Needs
        Topic.SCHOOL_SYSTEM: "Wegwijs in het schoolsysteem",
        Topic.HOMEWORK: "Huiswerkbegeleiding",
        Topic.PARENT_TEACHER: "Oudercontacten",
        Topic.BILINGUAL: "Tweetalige opvoeding",
        Topic.LOCAL_LANGUAGE: "Nederlands",
        Topic.WELL_BEING: "Welbevinden",
        # Outcome instruments
        "parent_engagement": "Ouderbetrokkenheid bij school",
        "attendance_rate": "Aanwezigheid op school (%)",
        "school_well_being": "Welbevinden op school",
        "early_leaving_risk": "Risico op vroegtijdig schoolverlaten",
    },
}


def _local_labels(language: str, code: str) -> dict[str, str]:
    """``{"name_nl": "Turks"}``: the label of a vocabulary entry in the programme's language,
    when it is an interface language and the demo has one; else nothing (English is shown)."""
    label = LOCAL_LABELS.get(language, {}).get(code)
    if label is None or language == "en" or language not in dict(settings.LANGUAGES):
        return {}
    return {f"name_{language}": label}


OUTCOME_BASELINE_SHARE = 0.9  # mentees past intake with a baseline; the rest were never measured
OUTCOME_MIDWAY_DAYS = 90  # a midway measure once a match has been active three months
# How much of the full change a mentee shows, by migrant generation: a little more for recent
# arrivals, who start lower and learn the most about the school system.
OUTCOME_LIFT = {"first": 1.15, "second": 1.0, "local": 0.85}


# The demo's concerns, one per active match in this order: one in every state of the lifecycle.
# (status, raised days ago, severity, kind, description, referred to)
DEMO_CONCERNS = (
    (
        Concern.Status.OPEN, 1, Concern.Severity.HIGH, Concern.Kind.WELL_BEING,
        "The mother cried during our meeting; she says she cannot sleep since the eviction letter came.", "",
    ),
    (
        Concern.Status.ACKNOWLEDGED, 9, Concern.Severity.MEDIUM, Concern.Kind.SCHOOL,
        "The boy has missed school most days this month; the family says he is afraid of older pupils.", "",
    ),
    (
        Concern.Status.REFERRED, 20, Concern.Severity.URGENT, Concern.Kind.SAFEGUARDING,
        "The girl had a bruise on her face and said she was not allowed to talk about it.",
        Concern.ReferredTo.SOCIAL_SERVICES,
    ),
    (
        Concern.Status.CLOSED, 45, Concern.Severity.LOW, Concern.Kind.OTHER,
        "The family had no heating for a week and the children were often ill.", "",
    ),
)  # fmt: skip
DEMO_REFERRAL_NOTES = {
    Concern.ReferredTo.SOCIAL_SERVICES: (
        "Called the child protection duty line; a social worker visits this week."
    ),
}
DEMO_GOALS = (
    "Use the school's online platform to follow homework and grades",
    "Attend the next parent–teacher meeting and prepare questions together",
    "Read together in the home language three evenings a week",
    "Know whom to contact at school when the child is ill",
    "Join the school's parents' association meeting",
    "Find an after-school homework club",
)
# The check-in questionnaire's codes (``sessions.services.checkins.QUESTIONS``).
DEMO_CHECKIN_QUESTIONS = ("frequency", "openness", "school", "respect", "overall")


@dataclass
class ProgrammeResult:
    programme: Programme
    mentors: int
    mentees: int
    matches: Counter
    sessions: int


@dataclass
class DemoResult:
    programmes: list[ProgrammeResult]
    counts: Counter
    logins: list[tuple[DemoLogin, User]]
    seconds: float
    mentor_login_matches: int = 0


class ProgrammeBuilder:
    """Plans and writes one demo programme."""

    def __init__(
        self,
        *,
        rng: Random,
        today: datetime.date,
        locale: Locale,
        n_mentors: int,
        n_mentees: int,
        n_sessions: int | None,
        writer: BulkWriter,
        coordinator: User | None,
        user_serial: int,
        seed: int = DEFAULT_SEED,
    ) -> None:
        self.rng = rng
        # Outcome measures draw from their own generator, so adding them changed nothing else.
        self.outcome_rng = Random(f"{seed}:{locale.slug}:outcomes")  # noqa: S311 - demo data
        # Concerns, goals and check-ins too: adding them changed nothing planned before them.
        self.followup_rng = Random(f"{seed}:{locale.slug}:followup")  # noqa: S311 - demo data
        self.today = today
        self.locale = locale
        self.n_mentors = n_mentors
        self.n_mentees = n_mentees
        self.n_sessions = n_sessions
        self.writer = writer
        self.coordinator_id = coordinator.pk if coordinator else None
        self.user_serial = user_serial
        self.tz = timezone.get_current_timezone()
        self.now = timezone.now()
        self._sessions_written = 0
        self.mentors: list[PlannedMentor] = []
        self.mentees: list[PlannedMentee] = []
        self.families: list[PlannedFamily] = []
        self.matches: list[PlannedMatch] = []
        self.people: list[PlannedPerson] = []

    # -- small helpers ------------------------------------------------------------------------

    def _days_ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high))

    def _at(self, day: datetime.date, hour_low: int = 9, hour_high: int = 18) -> datetime.datetime:
        moment = datetime.datetime.combine(
            day, datetime.time(self.rng.randint(hour_low, hour_high), self.rng.randrange(0, 60, 5)), self.tz
        )
        return min(moment, self.now)

    def _phone(self) -> str:
        rng = self.rng
        return self.locale.phone_format.format(
            a=rng.randint(20, 99), b=rng.randint(100, 999), c=rng.randint(100, 999)
        )

    def _generation(self, community: Community) -> str:
        r = self.rng.random()
        if r < community.first_gen:
            return "first"
        if r < community.first_gen + community.second_gen:
            return "second"
        return "local"

    def _name(self, community: Community, gender: str, surname: str | None = None) -> tuple[str, str]:
        rng = self.rng
        pool = (
            community.female
            if gender == "female"
            else community.male
            if gender == "male"
            else (community.female + community.male)
        )
        last = surname or rng.choice(community.surnames)
        if community.feminine_surnames and gender == "female":
            last = _feminine(last)
        return rng.choice(pool), last

    # -- people --------------------------------------------------------------------------------

    def _languages(self, community: Community, generation: str, *, adult: bool, mentor: bool) -> list:
        """Languages with levels, the preferred one first."""
        rng = self.rng
        local = self.locale.local_language
        spoken: dict[str, str] = {}
        prefer_heritage = False
        heritage = community.heritage
        if heritage is None:
            spoken[local] = NATIVE
        elif generation == "first":
            spoken[heritage] = NATIVE
            if mentor:
                spoken[local] = FLUENT if rng.random() < 0.8 else BASIC
            elif adult:
                level = _weighted(rng, (None, BASIC, FLUENT), (25, 50, 25))
                if level:
                    spoken[local] = level
            else:
                spoken[local] = BASIC if rng.random() < 0.5 else FLUENT
            prefer_heritage = adult or rng.random() < 0.6 or spoken.get(local) != FLUENT
        elif generation == "second":
            spoken[local] = NATIVE if rng.random() < 0.6 else FLUENT
            spoken[heritage] = _weighted(rng, (NATIVE, FLUENT, BASIC), (25, 60, 15))
            prefer_heritage = adult and rng.random() < 0.3
        else:  # a minority born here, or the majority
            if rng.random() < community.heritage_rate:
                spoken[heritage] = NATIVE
                spoken[local] = NATIVE if rng.random() < 0.5 else FLUENT
                prefer_heritage = rng.random() < (0.55 if adult else 0.35)
            else:
                spoken[local] = NATIVE
        if mentor and spoken.get(local) is None:
            spoken[local] = FLUENT
        for code, share in community.extra:
            if code not in spoken and rng.random() < share * (1.5 if mentor else 1.0):
                spoken[code] = BASIC if rng.random() < 0.6 else FLUENT
        if "en" not in spoken and (mentor or (adult and rng.random() < 0.15)) and rng.random() < 0.5:
            spoken["en"] = FLUENT if mentor and rng.random() < 0.5 else BASIC
        preferred = (
            heritage
            if prefer_heritage and heritage in spoken
            else (local if local in spoken else next(iter(spoken)))
        )
        return [(preferred, spoken[preferred])] + [(c, lvl) for c, lvl in spoken.items() if c != preferred]

    def _person(
        self,
        community: Community,
        *,
        generation: str,
        gender: str,
        age_band: str,
        place: Place,
        postcode: str,
        coordinates: tuple[float, float],
        adult: bool,
        mentor: bool,
        surname: str | None = None,
    ) -> PlannedPerson:
        rng = self.rng
        first, last = self._name(community, gender, surname)
        person = PlannedPerson(
            id=0,
            community=community,
            first_name=first,
            last_name=last,
            gender=gender,
            age_band=age_band,
            generation=generation,
            languages=self._languages(community, generation, adult=adult, mentor=mentor),
            municipality=place.municipality,
            postcode=postcode,
            latitude=coordinates[0],
            longitude=coordinates[1],
        )
        if generation == "first":
            person.migrant_background = MigrantBackground.FIRST_GENERATION
            person.country_of_birth = community.origin
        elif generation == "second":
            person.migrant_background = MigrantBackground.SECOND_GENERATION
            person.country_of_birth = self.locale.country
        else:
            person.migrant_background = MigrantBackground.NONE
            person.country_of_birth = self.locale.country
        # Families may decline or not know; volunteers state it on their application form.
        r = 1.0 if mentor else rng.random()
        if r < 0.04:  # "declined" is a valid answer and reported as its own group
            person.migrant_background = MigrantBackground.DECLINED
            person.country_of_birth = ""
        elif r < 0.08:
            person.migrant_background = MigrantBackground.UNKNOWN
            if rng.random() < 0.5:
                person.country_of_birth = ""
        if mentor or (adult and rng.random() < 0.6) or (age_band == AgeBand.AGE_12_17 and rng.random() < 0.2):
            domain = rng.choice(("example.org", "example.net", "example.com"))
            person.email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{domain}"
        if mentor or adult or (age_band == AgeBand.AGE_12_17 and rng.random() < 0.5):
            person.phone = self._phone()
        self.people.append(person)
        return person

    def _place(self) -> tuple[Place, str, tuple[float, float]]:
        """Where a household lives: municipality, postcode and coordinates near its centre."""
        rng = self.rng
        place = _weighted(rng, self.locale.places, [p.weight for p in self.locale.places])
        spread = 0.02 if place.weight > 30 else 0.008
        return (
            place,
            rng.choice(place.postcodes),
            (
                round(place.latitude + rng.uniform(-spread, spread), 5),
                round(place.longitude + rng.uniform(-spread, spread), 5),
            ),
        )

    def plan_families(self) -> None:
        """Families until there are ``n_mentees`` mentees; not every parent or pupil is mentored."""
        rng = self.rng
        communities = self.locale.communities
        weights = [c.mentee_weight for c in communities]
        while len(self.mentees) < self.n_mentees:
            community = _weighted(rng, communities, weights)
            place, postcode, coordinates = self._place()
            family = PlannedFamily(
                id=0,
                reference="",  # numbered by referral date once dates are planned
                community=community,
                referral_source=_weighted(
                    rng,
                    (
                        ReferralSource.SCHOOL,
                        ReferralSource.SOCIAL_SERVICE,
                        ReferralSource.COMMUNITY,
                        ReferralSource.SELF,
                    ),
                    (55, 20, 18, 7),
                ),
                place=place,
            )
            self.families.append(family)
            surname = rng.choice(community.surnames)
            parent_generation = self._generation(community)
            two_parents = rng.random() < 0.6
            parents = ["female", "male"] if two_parents else ["female" if rng.random() < 0.85 else "male"]
            members: list[tuple[str, dict, float]] = []  # (kind, person kwargs, chance of being mentored)
            for i, gender in enumerate(parents):
                members.append(
                    (
                        "parent",
                        {
                            "generation": parent_generation,
                            "gender": gender,
                            "age_band": _weighted(
                                rng, (AgeBand.AGE_18_29, AgeBand.AGE_30_44, AgeBand.AGE_45_64), (15, 65, 20)
                            ),
                            "adult": True,
                            # A mother sometimes keeps her own surname.
                            "surname": surname
                            if i > 0 or two_parents is False or rng.random() < 0.85
                            else None,
                        },
                        0.75 if i == 0 else 0.2,
                    )
                )
            for _ in range(_weighted(rng, (1, 2, 3), (45, 35, 20))):
                if parent_generation == "first":
                    generation = "first" if rng.random() < community.children_born_abroad else "second"
                else:
                    generation = "local"
                members.append(
                    (
                        "pupil",
                        {
                            "generation": generation,
                            "gender": "female" if rng.random() < 0.5 else "male",
                            "age_band": AgeBand.UNDER_12 if rng.random() < 0.6 else AgeBand.AGE_12_17,
                            "adult": False,
                            "surname": surname,
                        },
                        0.55,
                    )
                )
            chosen = [m for m in members if rng.random() < m[2]] or [rng.choice(members)]
            chosen = chosen[: self.n_mentees - len(self.mentees)]
            first_parent = members[0][1]
            for kind, kwargs, _ in chosen:
                person = self._person(
                    community, place=place, postcode=postcode, coordinates=coordinates, mentor=False, **kwargs
                )
                if kind == "parent" and not family.consent_giver:
                    family.consent_giver = (
                        f"{person.full_name} ({'mother' if person.gender == 'female' else 'father'})"
                    )
                self.mentees.append(
                    PlannedMentee(
                        id=0,
                        person=person,
                        family=family,
                        kind=Mentee.Kind.PARENT if kind == "parent" else Mentee.Kind.PUPIL,
                        role=_weighted(rng, MENTEE_ROLES, MENTEE_ROLE_WEIGHTS),
                    )
                )
            if not family.consent_giver:
                first, last = self._name(community, first_parent["gender"], first_parent["surname"])
                family.consent_giver = (
                    f"{first} {last} ({'mother' if first_parent['gender'] == 'female' else 'father'})"
                )

    def plan_mentors(self) -> None:
        rng = self.rng
        communities = self.locale.communities
        weights = [c.mentor_weight for c in communities]
        for _ in range(self.n_mentors):
            community = _weighted(rng, communities, weights)
            place, postcode, coordinates = self._place()
            gender = _weighted(rng, ("female", "male", "non-binary", ""), (70, 27, 1, 2))
            person = self._person(
                community,
                generation=self._generation(community),
                gender=gender,
                age_band=_weighted(
                    rng,
                    (AgeBand.AGE_18_29, AgeBand.AGE_30_44, AgeBand.AGE_45_64, AgeBand.AGE_65_PLUS),
                    (25, 35, 30, 10),
                ),
                place=place,
                postcode=postcode,
                coordinates=coordinates,
                adult=True,
                mentor=True,
            )
            mentor = PlannedMentor(
                id=0,
                person=person,
                role=_weighted(rng, MENTOR_ROLES, MENTOR_ROLE_WEIGHTS),
                capacity=_weighted(rng, (1, 2, 3), (20, 50, 30)),
            )
            mentor.speaks = dict(person.languages)
            self.mentors.append(mentor)
        if self.mentors and self.mentees and not any(m.role == "active" for m in self.mentors):
            self.mentors[0].role = "active"  # sessions need at least one match to be logged against
        if self.mentees and not any(m.role == "pool" for m in self.mentees):
            self.mentees[0].role = "pool"

    def plan_backgrounds_and_consents(self, backgrounds: dict[str, int]) -> None:
        """Consent first (most give all three; a few withhold background matching or statistics),
        then the cultural background, recorded only for people who consented to a use of it."""
        rng = self.rng
        # Volunteers consent to anonymous statistics when they apply; some families do not.
        volunteers = {id(mentor.person) for mentor in self.mentors}
        for person in self.people:
            person.background_consent = rng.random() < 0.9
            statistics = id(person) in volunteers or rng.random() < 0.93
            if person.background_consent or statistics:
                if rng.random() < 0.95:
                    person.backgrounds.append(backgrounds[person.community.code])
                if person.community.code == "roma" and rng.random() < 0.3:
                    # Many Roma also name the country's majority or Hungarian background.
                    other = rng.choice(("romanian", "hungarian"))
                    if other in backgrounds:
                        person.backgrounds.append(backgrounds[other])
            person.wanted = (person.background_consent, statistics)

    # -- matches -------------------------------------------------------------------------------

    def _score(self, mentor: PlannedMentor, mentee: PlannedMentee) -> int:
        """The language and background parts of the suggestion score the coordinator saw
        (``matching.engine``, with the default ``ScoringConfig`` weights)."""
        if not (mentor.person.background_consent and mentee.person.background_consent):
            return 0
        score = 0
        preferred = mentee.person.preferred
        if preferred in mentor.speaks:
            score += PREFERRED_LANGUAGE_POINTS[LanguageLevel(mentor.speaks[preferred])]
        score += SHARED_LANGUAGE_POINTS * sum(
            1 for code, _ in mentee.person.languages[1:] if code in mentor.speaks
        )
        score += SHARED_BACKGROUND_POINTS * len(
            set(mentor.person.backgrounds) & set(mentee.person.backgrounds)
        )
        return score

    def plan_matches(self) -> None:
        rng = self.rng
        slots_by_language: dict[str, list[PlannedMentor]] = defaultdict(list)
        free: list[PlannedMentor] = []
        for mentor in self.mentors:
            if mentor.role == "active":
                mentor.target_load = mentor.capacity if rng.random() < 0.8 else max(1, mentor.capacity - 1)
                free.append(mentor)
                for code, level in mentor.speaks.items():
                    if level != BASIC:
                        slots_by_language[code].append(mentor)

        def take(candidates: list[PlannedMentor]) -> PlannedMentor | None:
            # Random pick with lazy removal of mentors whose places are all taken.
            while candidates:
                i = rng.randrange(len(candidates))
                mentor = candidates[i]
                if len(mentor.open_matches) < mentor.target_load:
                    return mentor
                candidates[i] = candidates[-1]
                candidates.pop()
            return None

        pool = [m for m in self.mentees if m.role == "pool"]
        rng.shuffle(pool)
        target = max(1, round(0.7 * len(pool))) if pool else 0
        matched = 0
        family_mentor: dict[int, PlannedMentor] = {}
        leftovers = []
        for mentee in pool:
            if matched >= target:
                leftovers.append(mentee)
                continue
            mentor = family_mentor.get(id(mentee.family))
            if mentor is None or len(mentor.open_matches) >= mentor.target_load or rng.random() < 0.3:
                mentor = take(slots_by_language.get(mentee.person.preferred, []))
            if mentor is None:
                leftovers.append(mentee)
                continue
            self._open_match(mentor, mentee)
            family_mentor[id(mentee.family)] = mentor
            matched += 1
        # Then across languages (the shared local language, or with an interpreter), for
        # some of the rest: mentees whose language no mentor speaks wait longest.
        waiting = []
        for mentee in leftovers:
            mentor = None
            if matched < target and (rng.random() < 0.75 or matched == 0):
                mentor = take(free)
            if mentor is None:
                waiting.append(mentee)
                continue
            self._open_match(mentor, mentee)
            matched += 1
        for mentee in waiting:
            mentee.status = Mentee.Status.WAITING
        # Open matches: mostly active, a few proposed and waiting for the first meeting, a few
        # paused over a family's trip home; the first one stays active so sessions can be logged.
        for i, match in enumerate(self.matches):
            if i > 0:
                match.status = _weighted(
                    rng, (Match.Status.ACTIVE, Match.Status.PROPOSED, Match.Status.PAUSED), (93, 3, 4)
                )

        # Approved mentors have never been matched: a first match would have made them active.
        history = [m for m in self.mentors if m.role in ("active", "inactive", "withdrawn_late")]
        leavers = [m for m in self.mentors if m.role in ("inactive", "withdrawn_late")]
        history_by_language: dict[str, list[PlannedMentor]] = defaultdict(list)
        for mentor in history:
            for code, level in mentor.speaks.items():
                if level != BASIC:
                    history_by_language[code].append(mentor)
        for mentee in self.mentees:
            if mentee.role == "closed":
                mentee.status = Mentee.Status.CLOSED
                has_history = rng.random() < 0.9
            elif mentee.status == Mentee.Status.MATCHED:
                has_history = rng.random() < 0.08  # rematched after a first match ended
            elif mentee.status == Mentee.Status.WAITING:
                has_history = rng.random() < 0.1  # back on the waiting list after a closure
            else:
                has_history = False
            if not has_history or not history:
                continue
            if leavers and rng.random() < 0.5:
                mentor = leavers.pop()
            else:
                candidates = history_by_language.get(mentee.person.preferred)
                mentor = rng.choice(candidates) if candidates and rng.random() < 0.7 else rng.choice(history)
            match = PlannedMatch(id=0, mentor=mentor, mentee=mentee, status=Match.Status.CLOSED)
            mentor.closed_matches.append(match)
            mentee.closed_match = match
            match.score = self._score(mentor, mentee)
            self.matches.append(match)

        for mentee in self.mentees:
            if not mentee.status:
                mentee.status = Mentee.Status.REFERRED if mentee.role == "referred" else Mentee.Status.INTAKE
        for mentor in self.mentors:
            mentor.status = {
                "applied": Mentor.Status.APPLIED,
                "screening": Mentor.Status.SCREENING,
                "training": Mentor.Status.TRAINING,
                "withdrawn_early": Mentor.Status.WITHDRAWN,
                "approved": Mentor.Status.APPROVED,
                "active": Mentor.Status.ACTIVE
                if mentor.open_matches or mentor.closed_matches
                else Mentor.Status.APPROVED,
                "inactive": Mentor.Status.INACTIVE,
                "withdrawn_late": Mentor.Status.WITHDRAWN,
            }[mentor.role]

    def _open_match(self, mentor: PlannedMentor, mentee: PlannedMentee) -> None:
        match = PlannedMatch(id=0, mentor=mentor, mentee=mentee, status=Match.Status.ACTIVE)
        match.score = self._score(mentor, mentee)
        mentor.open_matches.append(match)
        mentee.open_match = match
        mentee.status = Mentee.Status.MATCHED
        self.matches.append(match)

    # -- dates ---------------------------------------------------------------------------------

    def plan_dates(self) -> None:
        """Every date, working back from the matches so each step follows the one before."""
        rng = self.rng
        today = self.today
        day = datetime.timedelta(days=1)
        for mentee in self.mentees:
            current = mentee.open_match
            if current is not None:
                if current.status == Match.Status.PROPOSED:
                    current.proposed_on = self._days_ago(0, 10)
                else:
                    lowest = 45 if current.status == Match.Status.PAUSED else 0
                    current.started_on = today - day * max(lowest, int(300 * rng.random() ** 0.8))
                    current.proposed_on = current.started_on - day * rng.randint(0, 7)
                    current.planned_end_on = current.started_on + day * (
                        365 if (today - current.started_on).days > 150 or rng.random() < 0.6 else 182
                    )
                    if current.status == Match.Status.PAUSED:
                        current.sessions_until = max(current.started_on, self._days_ago(14, 45))
                    else:
                        current.sessions_until = today
            previous = mentee.closed_match
            if previous is not None:
                if current is not None:
                    previous.closed_on = current.proposed_on - day * rng.randint(14, 90)
                    waiting_again = previous.closed_on + day * rng.randint(0, 7)
                    mentee.waiting_since = min(waiting_again, current.proposed_on)
                elif mentee.status == Mentee.Status.WAITING:
                    mentee.waiting_since = today - day * int(150 * rng.random() ** 1.7)
                    previous.closed_on = mentee.waiting_since - day * rng.randint(0, 7)
                else:
                    previous.closed_on = self._days_ago(3, 200)
                self._close(previous)
                first_step = previous.proposed_on
            elif current is not None:
                wait = int(120 * rng.random() ** 1.5) + rng.randint(2, 10)
                mentee.waiting_since = current.proposed_on - day * wait
                first_step = mentee.waiting_since
            elif mentee.status == Mentee.Status.WAITING:
                # Long waits are rarer than short ones, but the list has a tail.
                mentee.waiting_since = today - day * int(200 * rng.random() ** 1.7)
                first_step = mentee.waiting_since
            elif mentee.status == Mentee.Status.CLOSED:  # left while waiting: moved, or stopped
                first_step = self._days_ago(40, 300)
                mentee.waiting_since = first_step
                mentee.closed_on = min(today, first_step + day * rng.randint(10, 120))
            elif mentee.status == Mentee.Status.INTAKE:
                mentee.referred_on = self._days_ago(7, 45)
                continue
            else:
                mentee.referred_on = self._days_ago(0, 21)
                continue
            if previous is not None and mentee.waiting_since is None:
                mentee.waiting_since = previous.proposed_on - day * rng.randint(5, 60)
                first_step = mentee.waiting_since
            first_waiting = min(first_step, mentee.waiting_since or first_step) - day * (
                rng.randint(5, 40) if previous is not None else 0
            )
            mentee.intake_completed_on = first_waiting - day * rng.randint(0, 5)
            mentee.referred_on = mentee.intake_completed_on - day * rng.randint(5, 40)

        for mentee in self.mentees:
            if mentee.status == Mentee.Status.CLOSED and mentee.closed_match is not None:
                mentee.closed_on = mentee.closed_match.closed_on
        for family in self.families:
            family.referred_on = today
        for mentee in self.mentees:
            mentee.person.created_on = mentee.referred_on
            family = mentee.family
            family.referred_on = min(family.referred_on, mentee.referred_on)
        # Case references count up per year of referral: BM-2025-00001, BM-2025-00002, ...
        per_year: Counter[int] = Counter()
        for family in sorted(self.families, key=lambda f: f.referred_on):
            year = family.referred_on.year
            per_year[year] += 1
            family.reference = f"{self.locale.reference_prefix}-{year}-{per_year[year]:05d}"

        expired = self._expired_check_mentor()
        for mentor in self.mentors:
            self._mentor_lifecycle(mentor, expired=mentor is expired)

    def _close(self, match: PlannedMatch) -> None:
        rng = self.rng
        day = datetime.timedelta(days=1)
        leaver = match.mentor.role in ("inactive", "withdrawn_late")
        if leaver and rng.random() < 0.35:
            reason = Match.ClosureReason.MENTOR_LEFT
        else:
            reason = _weighted(rng, [r for r, _ in CLOSURE_REASONS], [w for _, w in CLOSURE_REASONS])
        planned_length = 182 if rng.random() < 0.5 else 365
        if reason == Match.ClosureReason.PLANNED_COMPLETION:
            length = planned_length + rng.randint(-14, 0)
        else:  # an early closure
            length = rng.randint(14, planned_length - 20)
        match.closed_on = min(match.closed_on, self.today)
        match.started_on = match.closed_on - day * length
        match.proposed_on = match.started_on - day * rng.randint(0, 7)
        match.planned_end_on = match.started_on + day * planned_length
        match.sessions_until = match.closed_on
        match.closure_reason = reason
        note = rng.choice(CLOSURE_NOTES[reason])
        match.closure_note = note.format(moved_to=rng.choice(self.locale.moved_to))

    def _expired_check_mentor(self) -> PlannedMentor | None:
        """One long-serving mentor whose criminal-record check has lapsed, so the coordinator sees
        why they are not suggested: an approved one when there is one, else an active one (a
        check lapsing during a match is what happens in real programmes)."""
        if len(self.mentors) < 5:
            return None
        for status in (Mentor.Status.APPROVED, Mentor.Status.ACTIVE):
            for mentor in self.mentors:
                if mentor.status == status:
                    return mentor
        return None

    def _mentor_lifecycle(self, mentor: PlannedMentor, *, expired: bool = False) -> None:
        """The mentor's path so far: applied → screening (interview, two references, record
        check) → training (course and test, self-assessment) → approved → active → inactive or
        withdrawn, with the dates and records a coordinator would have written down. Dates are
        worked back from the first match (approval comes before it)."""
        rng = self.rng
        day = datetime.timedelta(days=1)
        today = self.today
        role = mentor.role
        matches = mentor.open_matches + mentor.closed_matches
        first_match = min((m.proposed_on for m in matches), default=None)
        if role == "withdrawn_early":
            end = self._days_ago(20, 400)  # the day they withdrew
            reached = _weighted(rng, ("applied", "screening", "training"), (25, 45, 30))
        else:
            end = today
            reached = role if role in ("applied", "screening", "training") else "approved"

        screening = interview = check = training_start = completed = approved = None
        if reached == "applied":
            applied = end - day * rng.randint(0, 30)
        elif reached == "screening":
            screening = end - day * rng.randint(0, 40)
            applied = screening - day * rng.randint(1, 10)
            interview = screening + day * rng.randint(1, 10) if rng.random() < 0.6 else None
            if interview is not None and interview > end:
                interview = None
            check = (interview or screening) + day * rng.randint(3, 15) if rng.random() < 0.4 else None
            if check is not None and check > end:
                check = None
        else:
            if reached == "training":
                training_start = end - day * rng.randint(0, 60)
                check = training_start - day * rng.randint(0, 10)
            elif expired:
                check = today - day * (RECORD_CHECK_VALID_DAYS + rng.randint(10, 40))
                training_start = check + day * rng.randint(0, 10)
                completed = training_start + day * rng.randint(7, 21)
                approved = completed + day * rng.randint(0, 14)
            else:
                approved = first_match - day * rng.randint(3, 60) if first_match else self._days_ago(5, 240)
                completed = approved - day * rng.randint(0, 14)
                training_start = completed - day * rng.randint(7, 21)
                check = training_start - day * rng.randint(0, 10)
            interview = check - day * rng.randint(5, 20)
            screening = interview - day * rng.randint(1, 7)
            applied = screening - day * rng.randint(1, 10)

        mentor.applied_on = applied
        mentor.interviewed_on = interview
        mentor.record_check_on = check
        mentor.training_completed_on = completed
        mentor.approved_on = approved
        mentor.person.created_on = applied
        if check is not None:
            mentor.record_check_expires_on = check + day * RECORD_CHECK_VALID_DAYS
            mentor.record_check_reference = self.locale.record_check_format.format(
                number=rng.randint(10000, 999999), year=check.year
            )[:60]

        if interview is not None:
            # Two satisfactory references before training; a few applicants never get there.
            until = training_start or end
            wanted = 2 if training_start else rng.choice((0, 1, 2))
            if role == "withdrawn_early" and rng.random() < 0.25:
                wanted = max(wanted, 1)
            for i in range(wanted):
                received = min(interview + day * rng.randint(1, 14), until)
                satisfactory = not (role == "withdrawn_early" and i == 0 and rng.random() < 0.4)
                first, last = self._name(mentor.person.community, rng.choice(("female", "male")))
                mentor.references.append(
                    (f"{first} {last}", rng.choice(REFEREE_RELATIONSHIPS), received, satisfactory)
                )
        if completed is not None:
            if rng.random() < 0.08:  # passed at the second attempt
                mentor.trainings.append((completed - day * rng.randint(14, 28), rng.randint(55, 78)))
            mentor.trainings.append((completed, rng.randint(80, 100)))
            mentor.assessments.append(
                (SelfAssessment.Stage.START, completed + day * rng.randint(0, (approved - completed).days))
            )
        elif training_start is not None and (end - training_start).days >= 14 and rng.random() < 0.35:
            mentor.trainings.append(
                (training_start + day * rng.randint(7, (end - training_start).days), rng.randint(50, 79))
            )

        history = [("", Mentor.Status.APPLIED, applied, "")]
        if screening is not None:
            history.append((Mentor.Status.APPLIED, Mentor.Status.SCREENING, screening, ""))
        if training_start is not None:
            history.append((Mentor.Status.SCREENING, Mentor.Status.TRAINING, training_start, ""))
        if approved is not None:
            history.append((Mentor.Status.TRAINING, Mentor.Status.APPROVED, approved, ""))
        if first_match is not None:
            history.append((Mentor.Status.APPROVED, Mentor.Status.ACTIVE, first_match, "First match"))
        if role in ("inactive", "withdrawn_late", "withdrawn_early"):
            last = history[-1][1]
            if role == "withdrawn_early":
                left, reason = end, rng.choice(LEAVING_REASONS_EARLY)
            else:
                busy_until = max([m.closed_on for m in mentor.closed_matches] + [approved])
                left = min(today, busy_until + day * rng.randint(1, 30))
                reason = rng.choice(LEAVING_REASONS_LATE)
            if role == "inactive":
                history.append((last, Mentor.Status.INACTIVE, left, "Taking a break after the last match"))
            else:
                mentor.left_on, mentor.leaving_reason = left, reason
                history.append((last, Mentor.Status.WITHDRAWN, left, reason))
            if completed is not None:
                mentor.assessments.append((SelfAssessment.Stage.END, left))
        # Moves made on the same day keep their order.
        previous = None
        for before, after, on, note in history:
            moment = self._at(on)
            if previous is not None and moment <= previous:
                moment = min(
                    previous + datetime.timedelta(minutes=rng.randint(5, 90)), max(self.now, previous)
                )
            mentor.history.append((before, after, moment, note))
            previous = moment

    def plan_consents(self) -> None:
        forms = self.locale.consent_languages
        local = self.locale.local_language
        for mentee in self.mentees:
            person = mentee.person
            if mentee.status == Mentee.Status.REFERRED:
                person.background_consent = False  # consent is taken at intake
                person.backgrounds.clear()
                continue
            given_on = mentee.intake_completed_on or self._days_ago(0, (self.today - mentee.referred_on).days)
            if mentee.kind == Mentee.Kind.PARENT:
                given_by = person.full_name
            elif person.age_band == AgeBand.AGE_12_17:
                given_by = f"{person.first_name} and {mentee.family.consent_giver}"
            else:
                given_by = mentee.family.consent_giver
            if mentee.status == Mentee.Status.INTAKE:
                person.background_consent = False  # intake under way: case management only so far
                person.backgrounds.clear()
                wanted = (False, False)
            else:
                wanted = person.wanted
            self._consents(person, given_by, given_on, wanted, forms, local)
        for mentor in self.mentors:
            person = mentor.person
            self._consents(person, person.full_name, mentor.applied_on, person.wanted, forms, local)

    def _consents(self, person, given_by, given_on, wanted, forms, local) -> None:
        rng = self.rng
        language = person.preferred if person.preferred in forms else local
        given_at = self._at(given_on)
        background, statistics = wanted
        person.consents.append((ConsentPurpose.CASE_MANAGEMENT, given_by, given_at, language, None))
        if background:
            person.consents.append((ConsentPurpose.BACKGROUND_MATCHING, given_by, given_at, language, None))
        elif rng.random() < 0.2 and (self.today - given_on).days > 30:
            # Gave it, then withdrew it: the field stops being used from the withdrawal on.
            withdrawn = self._at(
                given_on + datetime.timedelta(days=rng.randint(7, (self.today - given_on).days))
            )
            person.consents.append(
                (ConsentPurpose.BACKGROUND_MATCHING, given_by, given_at, language, max(withdrawn, given_at))
            )
        if statistics:
            person.consents.append((ConsentPurpose.STATISTICS, given_by, given_at, language, None))

    # -- sessions ------------------------------------------------------------------------------

    def _session_counts(self, started: list[PlannedMatch]) -> list[int] | None:
        """With ``--sessions N``: exactly N, spread over matches by how long each has run."""
        if self.n_sessions is None:
            return None
        if not started:
            return []
        weights = [(m.sessions_until - m.started_on).days + 1 for m in started]
        total = sum(weights)
        counts = [self.n_sessions * w // total for w in weights]
        for i in self.rng.choices(range(len(started)), weights=weights, k=self.n_sessions - sum(counts)):
            counts[i] += 1
        return counts

    def _match_style(self, match: PlannedMatch) -> tuple[str, bool]:
        """The language a match's sessions are held in, and whether an interpreter is needed."""
        mentee_langs = dict(match.mentee.person.languages)
        mentor_langs = match.mentor.speaks
        preferred = match.mentee.person.preferred
        if LEVEL_RANK.get(mentor_langs.get(preferred, ""), 0) >= 2:
            return preferred, False
        shared = [
            (LEVEL_RANK[mentee_langs[code]] + LEVEL_RANK[level], code)
            for code, level in mentor_langs.items()
            if code in mentee_langs and level != BASIC
        ]
        if shared:
            return max(shared)[1], False
        return preferred, True

    def session_rows(self) -> Iterator[tuple]:
        rng = self.rng
        local = self.locale.local_language
        local_name = _english_language_name(local)
        notes = {t: tuple(n.format(local=local_name) for n in texts) for t, texts in SESSION_NOTES.items()}
        day = datetime.timedelta(days=1)
        started = [m for m in self.matches if m.started_on is not None]
        counts = self._session_counts(started)
        now = self.now
        tz = self.tz
        evening = [datetime.time(h, m) for h in (18, 19, 20, 21) for m in (0, 15, 30, 45)]
        for index, match in enumerate(started):
            author = match.mentor.user_id
            language, interpreter = self._match_style(match)
            mentee = match.mentee
            if mentee.kind == Mentee.Kind.PARENT:
                alone, together = ("parent",), ("parent", "pupil")
            else:
                alone, together = ("pupil",), ("pupil", "parent")
            # Sessions mostly work on what the intake said the mentee needs.
            topics, topic_weights = _topic_weights(mentee.kind, mentee.person.generation == "first")
            needs = set(mentee.person.needs)
            topic_cum = list(
                accumulate(
                    w * (4 if t.value in needs else 1) for t, w in zip(topics, topic_weights, strict=True)
                )
            )
            start, end = match.started_on, match.sessions_until
            span = (end - start).days
            if counts is None:
                dates = []
                held = start + day * rng.randint(0, min(6, span))
                while held <= end:
                    dates.append(held)
                    gap = rng.choice((7, 7, 7, 10, 14, 14, 21))
                    if rng.random() < 0.08:
                        gap += rng.randint(14, 35)  # holidays, illness
                    held += day * gap
            else:
                dates = sorted(start + day * rng.randint(0, span) for _ in range(counts[index]))
            for held in dates:
                mode = rng.choices(MODES, cum_weights=MODE_CUM_WEIGHTS)[0]
                if mode == SessionMode.IN_PERSON:
                    minutes = rng.choice(IN_PERSON_MINUTES)
                elif mode == SessionMode.PHONE:
                    minutes = rng.choice(PHONE_MINUTES)
                else:
                    minutes = rng.choice(VIDEO_MINUTES)
                chosen = rng.choices(topics, cum_weights=topic_cum, k=1 if rng.random() < 0.55 else 2)
                if len(chosen) == 2 and chosen[0] == chosen[1]:
                    chosen = chosen[:1]
                participants = together if rng.random() < 0.35 else alone
                if Topic.PARENT_TEACHER in chosen and mode == SessionMode.IN_PERSON and rng.random() < 0.4:
                    participants = (*participants, Participant.TEACHER.value)
                used_language = language
                if used_language != local and not interpreter and rng.random() < 0.15:
                    used_language = (
                        local
                        if local in match.mentor.speaks and local in dict(mentee.person.languages)
                        else language
                    )
                note = rng.choice(notes[chosen[0]])
                follow_up = rng.choice(FOLLOW_UPS) if rng.random() < 0.3 else ""
                written = datetime.datetime.combine(
                    held + day * rng.choice((0, 0, 1, 1, 2, 3)), rng.choice(evening), tz
                )
                written = min(written, now)
                yield (
                    match.id,
                    author,
                    held,
                    minutes,
                    mode.value,
                    participants,
                    tuple(t.value for t in chosen),
                    used_language,
                    interpreter and mode != SessionMode.PHONE,
                    note,
                    follow_up,
                    None,
                    written,
                    written,
                )

    # -- writing -------------------------------------------------------------------------------

    def build(self, *, mentor_login: User | None) -> ProgrammeResult:
        locale = self.locale
        organisation, created = Organisation.objects.get_or_create(name=locale.organisation)
        self.writer.counts[Organisation._meta.db_table] += int(created)
        programme = Programme.objects.create(
            organisation=organisation,
            name=locale.name,
            slug=locale.slug,
            country=locale.country,
            local_language=locale.local_language,
            small_cell_k=locale.small_cell_k,
        )
        local = locale.local_language
        backgrounds = {}
        # ``name`` is the English label (django-modeltranslation writes it to the active
        # language's field); the local one goes to its own field.
        with translation.override("en"):
            for community in locale.communities:
                if community.code not in backgrounds:
                    backgrounds[community.code] = CulturalBackground.objects.create(
                        programme=programme,
                        code=community.code,
                        name=community.name,
                        **_local_labels(local, community.code),
                    ).pk
            self.need_ids = {
                topic.value: Need.objects.create(
                    programme=programme,
                    code=topic.value,
                    name=str(topic.label),
                    **_local_labels(local, topic),
                ).pk
                for topic in Topic
            }
            self.instrument_ids = {
                code: OutcomeInstrument.objects.create(
                    programme=programme,
                    code=code,
                    name=name,
                    scale_min=low,
                    scale_max=high,
                    higher_is_better=better,
                    is_headline=headline,
                    order=i,
                    **_local_labels(local, code),
                ).pk
                for i, (code, name, low, high, better, headline) in enumerate(OUTCOME_INSTRUMENTS, start=1)
            }
        schools = {
            spec: School.objects.create(
                programme=programme, name=spec.name, municipality=spec.municipality
            ).pk
            for spec in locale.schools
        }
        self.question_ids = [
            SelfAssessmentQuestion.objects.create(programme=programme, text=text, order=i).pk
            for i, text in enumerate(SELF_ASSESSMENT_QUESTIONS, start=1)
        ]
        counts = self.writer.counts
        counts[OutcomeInstrument._meta.db_table] += len(self.instrument_ids)
        counts[Programme._meta.db_table] += 1
        counts[CulturalBackground._meta.db_table] += len(backgrounds)
        counts[School._meta.db_table] += len(schools)
        counts[Need._meta.db_table] += len(self.need_ids)
        counts[SelfAssessmentQuestion._meta.db_table] += len(self.question_ids)

        self.plan_families()
        self.plan_mentors()
        self.plan_backgrounds_and_consents(backgrounds)
        self.plan_matches()
        self.plan_dates()
        self.plan_consents()
        self.plan_profiles()
        self._plan_schools(schools)
        starts = [m.started_on for m in self.matches if m.started_on] + [
            self.today - datetime.timedelta(days=300)
        ]
        programme.starts_on = min(starts).replace(day=1)
        programme.save(update_fields=["starts_on"])

        chosen = self._mentor_for_login() if mentor_login is not None else None
        self._write(programme, chosen, mentor_login)
        return ProgrammeResult(
            programme=programme,
            mentors=len(self.mentors),
            mentees=len(self.mentees),
            matches=Counter(m.status for m in self.matches),
            sessions=self._sessions_written,
        )

    def plan_profiles(self) -> None:
        """Needs (a mentor's strengths), weekly availability and session modes; the needs
        assessment written at intake."""
        rng = self.rng
        local_name = _english_language_name(self.locale.local_language)
        order = {
            f"{d}_{p}": i
            for i, (d, p) in enumerate(
                (d, p)
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                for p in ("morning", "afternoon", "evening")
            )
        }

        def modes(in_person: float, phone: float, video: float) -> tuple[str, ...]:
            chosen = tuple(
                mode.value
                for mode, share in zip(MODES, (in_person, phone, video), strict=True)
                if rng.random() < share
            )
            return chosen or (SessionMode.IN_PERSON.value,)

        def slots(pool: tuple[str, ...], low: int, high: int) -> tuple[str, ...]:
            return tuple(sorted(rng.sample(pool, rng.randint(low, high)), key=order.__getitem__))

        for mentee in self.mentees:
            person = mentee.person
            topics, weights = _topic_weights(mentee.kind, person.generation == "first")
            wanted = dict.fromkeys(t.value for t in rng.choices(topics, weights=weights, k=rng.randint(1, 3)))
            if mentee.status == Mentee.Status.REFERRED:
                continue  # needs, times and modes are asked at intake
            person.needs = list(wanted)
            parent = mentee.kind == Mentee.Kind.PARENT
            person.availability = slots(SLOTS_PARENT if parent else SLOTS_PUPIL, 2, 4)
            person.session_modes = modes(0.92, 0.5 if parent else 0.2, 0.2)
            if mentee.intake_completed_on is not None:
                wishes = [NEED_WISHES[Topic(code)].format(local=local_name) for code in person.needs]
                who = (
                    ("The mother" if person.gender == "female" else "The father") if parent else "The family"
                )
                joined = wishes[0] if len(wishes) == 1 else f"{', '.join(wishes[:-1])} and {wishes[-1]}"
                mentee.needs_assessment = f"{who} would like {joined}."
        for mentor in self.mentors:
            person = mentor.person
            strengths = [Topic.SCHOOL_SYSTEM, Topic.HOMEWORK, Topic.PARENT_TEACHER, Topic.WELL_BEING]
            if person.community.heritage:
                strengths += [Topic.BILINGUAL, Topic.LOCAL_LANGUAGE]
            person.needs = [t.value for t in rng.sample(strengths, rng.randint(2, min(4, len(strengths))))]
            person.availability = slots(SLOTS_MENTOR, 2, 5)
            person.session_modes = modes(1.0, 0.6, 0.45)

    def _plan_schools(self, schools: dict[SchoolSpec, int]) -> None:
        rng = self.rng
        specs = list(schools)
        for mentee in self.mentees:
            if mentee.kind != Mentee.Kind.PUPIL:
                continue
            person = mentee.person
            if person.age_band == AgeBand.UNDER_12:
                mentee.grade = rng.choice(self.locale.primary_grades)
                secondary = False
            else:
                mentee.grade, secondary = rng.choice(self.locale.older_grades)
            teaching = person.preferred if person.preferred != self.locale.local_language else ""
            fitting = [s for s in specs if s.secondary == secondary or s.language]
            options = (
                [s for s in fitting if teaching and s.language == teaching]
                or [
                    s
                    for s in fitting
                    if not s.language and s.municipality == mentee.family.place.municipality
                ]
                or [s for s in fitting if not s.language and s.secondary == secondary]
                or specs
            )
            spec = rng.choice(options)
            mentee.school_id = schools[spec]
            mentee.family.school_name = mentee.family.school_name or spec.name
        # Who referred each family: a teacher of one of its pupils, a social worker, a community
        # organisation, or nobody (the family came by itself).
        staff = self.locale.communities[0]
        for family in self.families:
            if family.referral_source == ReferralSource.SELF:
                continue
            first, last = self._name(staff, rng.choice(("female", "female", "male")))
            family.referrer_name = f"{first} {last}"
            if family.referral_source == ReferralSource.SCHOOL:
                family.referrer_organisation = family.school_name or rng.choice(specs).name
            elif family.referral_source == ReferralSource.SOCIAL_SERVICE:
                family.referrer_organisation = self.locale.social_service
            else:
                family.referrer_organisation = rng.choice(
                    [
                        name
                        for name, serves in self.locale.community_organisations
                        if not serves or family.community.code in serves
                    ]
                )

    def _mentor_for_login(self) -> PlannedMentor | None:
        """The demo ``mentor`` login: an active mentor with active matches, best two in one family."""

        def active(m: PlannedMentor) -> list[PlannedMatch]:
            return [x for x in m.open_matches if x.status == Match.Status.ACTIVE]

        candidates = [
            (i, m) for i, m in enumerate(self.mentors) if m.status == Mentor.Status.ACTIVE and active(m)
        ]
        if not candidates:
            return None
        return max(
            candidates,
            key=lambda item: (
                len({id(x.mentee.family) for x in active(item[1])}) < len(active(item[1])),
                len(active(item[1])),
                item[1].person.background_consent,
                -item[0],
            ),
        )[1]

    def _write(self, programme: Programme, chosen: PlannedMentor | None, mentor_login: User | None) -> None:
        writer = self.writer
        rng = self.rng
        pid = programme.pk
        staff = self.coordinator_id
        at = self._at

        for person, pk in zip(self.people, writer.reserve_ids(Person, len(self.people)), strict=True):
            person.id = pk
        new_users = [m for m in self.mentors if m is not chosen]
        for mentor, pk in zip(new_users, writer.reserve_ids(User, len(new_users)), strict=True):
            mentor.user_id = pk
        if chosen is not None:
            chosen.user_id = mentor_login.pk
            mentor_login.first_name = chosen.person.first_name
            mentor_login.last_name = chosen.person.last_name
            mentor_login.save(update_fields=["first_name", "last_name"])
        planned = (
            (Mentor, self.mentors),
            (Family, self.families),
            (Mentee, self.mentees),
            (Match, self.matches),
        )
        for model, items in planned:
            for item, pk in zip(items, writer.reserve_ids(model, len(items)), strict=True):
                item.id = pk

        interface = {code for code, _ in settings.LANGUAGES}
        local = self.locale.local_language
        writer.insert(
            User,
            _fields(
                "id password username first_name last_name email is_active date_joined role "
                "interface_language"
            ),
            (
                (
                    m.user_id,
                    f"!{rng.getrandbits(128):032x}",  # an unusable password: only demo logins sign in
                    f"{_ascii(m.person.first_name)}.{_ascii(m.person.last_name)}.{self.user_serial + n}"[
                        :150
                    ],
                    m.person.first_name,
                    m.person.last_name,
                    m.person.email,
                    m.status != Mentor.Status.WITHDRAWN,
                    at(m.applied_on),
                    User.Role.MENTOR.value,
                    m.person.preferred
                    if m.person.preferred in interface
                    else (local if local in interface else ""),
                )
                for n, m in enumerate(new_users)
            ),
        )
        writer.insert(
            Person,
            _fields(
                "id programme_id first_name last_name email phone gender age_band country_of_birth "
                "migrant_background municipality postcode latitude longitude availability session_modes "
                "created_at updated_at"
            ),
            (
                (
                    p.id,
                    pid,
                    p.first_name,
                    p.last_name,
                    p.email,
                    p.phone,
                    p.gender,
                    str(p.age_band),
                    p.country_of_birth,
                    str(p.migrant_background),
                    p.municipality,
                    p.postcode,
                    p.latitude,
                    p.longitude,
                    p.availability,
                    p.session_modes,
                    at(p.created_on),
                    at(p.created_on),
                )  # fmt: skip
                for p in self.people
            ),
        )
        writer.insert(
            PersonLanguage,
            _fields("person_id language level is_preferred"),
            ((p.id, code, level, i == 0) for p in self.people for i, (code, level) in enumerate(p.languages)),
        )
        writer.insert(
            Person.cultural_backgrounds.through,
            _fields("person_id culturalbackground_id"),
            ((p.id, b) for p in self.people for b in dict.fromkeys(p.backgrounds)),
        )
        writer.insert(
            Person.needs.through,
            _fields("person_id need_id"),
            ((p.id, self.need_ids[code]) for p in self.people for code in p.needs),
        )
        writer.insert(
            Consent,
            _fields("person_id purpose given_by given_at language recorded_by_id withdrawn_at"),
            (
                (p.id, purpose.value, given_by[:200], given_at, language, staff, withdrawn_at)
                for p in self.people
                for purpose, given_by, given_at, language, withdrawn_at in p.consents
            ),
        )
        writer.insert(
            Mentor,
            _fields(
                "id programme_id person_id user_id status capacity applied_on interviewed_on "
                "interviewed_by_id record_check_on record_check_expires_on record_check_reference "
                "training_completed_on approved_on left_on leaving_reason"
            ),
            (
                (
                    m.id,
                    pid,
                    m.person.id,
                    m.user_id,
                    m.status.value,
                    m.capacity,
                    m.applied_on,
                    m.interviewed_on,
                    staff if m.interviewed_on else None,
                    m.record_check_on,
                    m.record_check_expires_on,
                    m.record_check_reference,
                    m.training_completed_on,
                    m.approved_on,
                    m.left_on,
                    m.leaving_reason,
                )  # fmt: skip
                for m in self.mentors
            ),
        )
        writer.insert(
            MentorReference,
            _fields("mentor_id referee_name relationship received_on satisfactory recorded_by_id"),
            ((m.id, *reference, staff) for m in self.mentors for reference in m.references),
        )
        writer.insert(
            TrainingRecord,
            _fields("mentor_id course completed_on test_score recorded_by_id"),
            (
                (m.id, self.locale.training_course, completed_on, score, staff)
                for m in self.mentors
                for completed_on, score in m.trainings
            ),
        )
        questions = self.question_ids
        writer.insert(
            SelfAssessment,
            _fields("mentor_id stage completed_on answers"),
            (
                # Confidence grows with experience: the end-of-service answers are a little higher.
                (
                    m.id,
                    stage.value,
                    completed_on,
                    {
                        str(q): min(
                            5, rng.randint(2, 4) + (stage == SelfAssessment.Stage.END and rng.random() < 0.6)
                        )
                        for q in questions
                    },
                )  # fmt: skip
                for m in self.mentors
                for stage, completed_on in m.assessments
            ),
        )
        writer.insert(
            MentorStatusChange,
            _fields("mentor_id from_status to_status changed_by_id changed_at note"),
            (
                (m.id, str(before), str(after), staff, moment, note)
                for m in self.mentors
                for before, after, moment, note in m.history
            ),
        )
        writer.insert(
            Family,
            _fields(
                "id programme_id reference referral_source referrer_name referrer_organisation referred_on "
                "municipality created_at"
            ),
            (
                (
                    f.id,
                    pid,
                    f.reference,
                    f.referral_source.value,
                    f.referrer_name,
                    f.referrer_organisation[:200],
                    f.referred_on,
                    f.place.municipality,
                    at(f.referred_on),
                )  # fmt: skip
                for f in self.families
            ),
        )
        writer.insert(
            Mentee,
            _fields(
                "id programme_id family_id person_id kind status school_id grade referred_on "
                "intake_completed_on needs_assessment waiting_since closed_on"
            ),
            (
                (
                    m.id,
                    pid,
                    m.family.id,
                    m.person.id,
                    m.kind.value,
                    m.status.value,
                    m.school_id,
                    m.grade,
                    m.referred_on,
                    m.intake_completed_on,
                    m.needs_assessment,
                    m.waiting_since,
                    m.closed_on,
                )  # fmt: skip
                for m in self.mentees
            ),
        )
        # Mentees' people belong to their family's household.
        Person.objects.filter(programme_id=pid, mentee__isnull=False).update(
            household_id=Subquery(Mentee.objects.filter(person_id=OuterRef("pk")).values("family_id")[:1])
        )
        writer.insert(
            Match,
            _fields(
                "id programme_id mentor_id mentee_id status proposed_by_id proposed_at score started_on "
                "planned_end_on closed_on closure_reason closure_note"
            ),
            (
                (
                    m.id,
                    pid,
                    m.mentor.id,
                    m.mentee.id,
                    m.status.value,
                    staff,
                    at(m.proposed_on),
                    m.score,
                    m.started_on,
                    m.planned_end_on,
                    m.closed_on,
                    m.closure_reason and m.closure_reason.value,
                    m.closure_note,
                )  # fmt: skip
                for m in self.matches
            ),
        )
        self._sessions_written = writer.insert(
            SessionLog,
            _fields(
                "match_id author_id held_on duration_minutes mode participants topics language "
                "interpreter_used notes follow_ups idempotency_key created_at updated_at"
            ),
            self.session_rows(),
        )
        writer.insert(
            OutcomeMeasure,
            _fields("mentee_id instrument_id stage value measured_on recorded_by_id created_at"),
            self.outcome_rows(),
        )
        self._write_followup(pid, chosen)

    def _write_followup(self, pid: int, chosen: PlannedMentor | None) -> None:
        """Concerns in every state, goals with their progress and the day-30 check-ins of
        some active matches (one family said they feel uncertain), so the coordinator's
        concern list, the timeline and the "Needs attention" page have something to show."""
        rng = self.followup_rng
        writer = self.writer
        today = self.today
        day = datetime.timedelta(days=1)
        active = sorted(
            (
                m
                for m in self.matches
                if m.status == Match.Status.ACTIVE and m.started_on and m.mentor.user_id is not None
            ),
            # The demo mentor's own match first, so "mentor" has a concern to follow.
            key=lambda m: (m.mentor is not chosen, m.started_on, m.id),
        )

        def moment(on: datetime.date, hour_low: int = 9, hour_high: int = 18) -> datetime.datetime:
            at = datetime.datetime.combine(
                on, datetime.time(rng.randint(hour_low, hour_high), rng.randrange(0, 60, 5)), self.tz
            )
            return min(at, self.now)

        # Concerns: (status, raised how many days ago, severity, kind, description, referral)
        rows = []
        staff = self.coordinator_id
        for match, (status, ago, severity, kind, text, referred_to) in zip(
            active, DEMO_CONCERNS, strict=False
        ):
            raised_on = max(match.started_on, today - day * ago)
            created = moment(raised_on) if ago else self.now
            acknowledged = referred = closed = None
            if status != Concern.Status.OPEN:
                acknowledged = min(created + datetime.timedelta(hours=rng.randint(2, 20)), self.now)
            if status == Concern.Status.REFERRED or (status == Concern.Status.CLOSED and referred_to):
                referred = min(acknowledged + datetime.timedelta(days=rng.randint(1, 3)), self.now)
            if status == Concern.Status.CLOSED:
                closed = min(
                    (referred or acknowledged) + datetime.timedelta(days=rng.randint(5, 20)), self.now
                )
            rows.append(
                (
                    pid,
                    match.mentee.id,
                    match.id,
                    match.mentor.user_id,
                    kind,
                    severity,
                    text,
                    status,
                    staff if acknowledged else None,
                    acknowledged,
                    referred_to if referred else "",
                    DEMO_REFERRAL_NOTES.get(referred_to, "") if referred else "",
                    referred,
                    staff if closed else None,
                    closed,
                    "Talked it through with the family and the mentor; no further action needed."
                    if closed
                    else "",
                    created,
                )  # fmt: skip
            )
        writer.insert(
            Concern,
            _fields(
                "programme_id mentee_id match_id raised_by_id kind severity description status "
                "acknowledged_by_id acknowledged_at referred_to referral_note referred_at closed_by_id "
                "closed_at closure_note created_at"
            ),
            rows,
        )

        # Goals agreed at the start of about half the matches that started, with monthly updates.
        started = [m for m in self.matches if m.started_on and m.started_on <= today]
        with_goals = [m for m in started if rng.random() < 0.5]
        planned_goals = []
        for match in with_goals:
            for text in rng.sample(DEMO_GOALS, k=rng.randint(1, 2)):
                end = min(match.closed_on or today, today)
                months = (end - match.started_on).days // 30
                steps, progress = [], 0
                for month in range(1, months + 1):
                    progress = min(100, progress + rng.choice((10, 15, 20, 25, 30)))
                    steps.append((match.started_on + day * (30 * month), progress))
                    if progress == 100:
                        break
                if progress == 100:
                    status = Goal.Status.ACHIEVED
                elif match.closed_on and rng.random() < 0.5:
                    status = Goal.Status.DROPPED
                else:
                    status = Goal.Status.OPEN
                planned_goals.append((match, text, steps, progress, status))
        goal_ids = writer.reserve_ids(Goal, len(planned_goals))
        writer.insert(
            Goal,
            _fields(
                "id mentee_id description agreed_on target_on status progress created_by_id "
                "created_at updated_at"
            ),
            (
                (
                    gid,
                    match.mentee.id,
                    text,
                    match.started_on,
                    match.started_on + day * 180,
                    status.value,
                    progress,
                    match.mentor.user_id,
                    moment(match.started_on),
                    moment(steps[-1][0] if steps else match.started_on),
                )  # fmt: skip
                for gid, (match, text, steps, progress, status) in zip(goal_ids, planned_goals, strict=True)
            ),
        )
        writer.insert(
            GoalProgress,
            _fields("goal_id progress note recorded_on recorded_by_id created_at"),
            (
                (gid, progress, "", on, match.mentor.user_id, moment(on))
                for gid, (match, _text, steps, _p, _s) in zip(goal_ids, planned_goals, strict=True)
                for on, progress in steps
            ),
        )

        # Day-30 check-ins, answered by the mentor and the family, for some active matches.
        answered = [m for m in active if m.started_on + day * 35 <= today and rng.random() < 0.6]
        checkins = []
        for i, match in enumerate(answered):
            due_on = match.started_on + day * 30
            uncertain_family = i == len(answered) // 2  # exactly one family is unsure
            for respondent, language in (
                (CheckIn.Respondent.MENTOR, match.mentor.person.preferred),
                (CheckIn.Respondent.FAMILY, match.mentee.person.preferred),
            ):
                unsure = uncertain_family and respondent == CheckIn.Respondent.FAMILY
                low, high = (2, 3) if unsure else (3, 5)
                checkins.append(
                    (
                        match.id,
                        respondent.value,
                        due_on,
                        f"{rng.getrandbits(256):064x}",
                        language,
                        {code: rng.randint(low, high) for code in DEMO_CHECKIN_QUESTIONS},
                        "",
                        unsure,
                        "We are not sure the meeting times work for us." if unsure else "",
                        moment(due_on + day * rng.randint(0, 4)),
                    )  # fmt: skip
                )
        writer.insert(
            CheckIn,
            _fields(
                "match_id respondent due_on token language answers comment uncertain private_note answered_at"
            ),
            checkins,
        )

    def outcome_rows(self) -> Iterator[tuple]:
        """A baseline at intake for most mentees past it; a midway measure once their match has
        been active three months; one at closure when it closed. Scores improve a little on
        average, more the further the match went and (a little) by migrant generation."""
        rng = self.outcome_rng
        today = self.today
        day = datetime.timedelta(days=1)
        ids = self.instrument_ids
        staff = self.coordinator_id
        tz = self.tz

        def moment(on: datetime.date) -> datetime.datetime:
            at = datetime.datetime.combine(on, datetime.time(rng.randint(9, 17), rng.randrange(0, 60, 5)), tz)
            return min(at, self.now)

        def clamp(value: float, low: float, high: float) -> float:
            return min(high, max(low, value))

        for mentee in self.mentees:
            intake = mentee.intake_completed_on
            if intake is None or intake > today or rng.random() >= OUTCOME_BASELINE_SHARE:
                continue
            match = mentee.open_match
            if match is None or match.started_on is None:
                match = mentee.closed_match
            # (stage, measured on, how far through the planned match: 0 at baseline)
            stages = [(OutcomeStage.BASELINE, intake, 0.0)]
            if match is not None and match.started_on is not None:
                end = min(match.closed_on or today, today)
                active = (end - match.started_on).days
                planned = max(1, ((match.planned_end_on or end) - match.started_on).days, active)
                if active >= OUTCOME_MIDWAY_DAYS:
                    midway = min(
                        active, rng.randint(OUTCOME_MIDWAY_DAYS, max(OUTCOME_MIDWAY_DAYS, planned // 2))
                    )
                    stages.append((OutcomeStage.MIDWAY, match.started_on + day * midway, midway / planned))
                if match.closed_on is not None:
                    stages.append((OutcomeStage.CLOSURE, end, active / planned))
            first = mentee.person.generation == "first"
            response = rng.gauss(1.0, 0.6) * OUTCOME_LIFT.get(mentee.person.generation, 1.0)
            engagement = clamp(rng.gauss(2.3 if first else 2.7, 0.6), 1, 4.5)
            attendance = clamp(rng.gauss(82 if first else 87, 8), 35, 100)
            well_being = clamp(rng.gauss(2.9 if first else 3.2, 0.6), 1, 4.6)
            risk = _weighted(rng, (1, 2, 3), (0.4, 0.4, 0.2) if first else (0.5, 0.37, 0.13))
            for stage, measured_on, progress in stages:
                gain = progress * response
                later = stage != OutcomeStage.BASELINE  # only later measures wander from the trend
                scores = {
                    "parent_engagement": clamp(engagement + 0.9 * gain + later * rng.gauss(0, 0.3), 1, 5),
                    "attendance_rate": clamp(attendance + 5 * gain + later * rng.gauss(0, 3), 0, 100),
                    "school_well_being": clamp(well_being + 0.4 * gain + later * rng.gauss(0, 0.3), 1, 5),
                    "early_leaving_risk": clamp(round(risk - 0.7 * gain + later * rng.gauss(0, 0.35)), 1, 3),
                }
                values = {
                    code: f"{score:.1f}" if code != "early_leaving_risk" else str(int(score))
                    for code, score in scores.items()
                }
                created = moment(measured_on)
                for code, value in values.items():
                    yield (mentee.id, ids[code], stage.value, Decimal(value), measured_on, staff, created)


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def demo_exists() -> bool:
    return Programme.objects.filter(slug__in=DEMO_SLUGS).exists()


def _purge(queryset: models.QuerySet, depth: int = 0) -> int:
    """Delete ``queryset`` after everything that points at it with PROTECT or CASCADE, deepest
    first, so PROTECT foreign keys (a session log protects its match) never block the reset.
    Relations that SET_NULL are left to Django's collector."""
    if depth > 8:
        raise RuntimeError(f"Relations nest too deep to delete {queryset.model._meta.label}")
    deleted = 0
    for relation in queryset.model._meta.related_objects:
        if relation.many_to_many or relation.on_delete not in (
            models.CASCADE,
            models.PROTECT,
            models.RESTRICT,
        ):
            continue
        related = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": queryset})
        deleted += _purge(related, depth + 1)
    return deleted + queryset.delete()[0]


def demo_delete() -> int:
    """Remove the demo programmes with every record in them, their organisations when nothing
    else uses them, their mentors' accounts and the demo logins. Audit events name the
    programme by id only and are kept: the trail is append-only."""
    programmes = list(Programme.objects.filter(slug__in=DEMO_SLUGS))
    if not programmes:
        return _purge(_demo_login_users())
    ids = [p.pk for p in programmes]
    mentor_users = list(
        Mentor.objects.filter(programme_id__in=ids, user__isnull=False).values_list("user_id", flat=True)
    )
    organisations = {p.organisation_id for p in programmes}
    content_type = ContentType.objects.get_for_model(Programme)
    deleted = 0
    for model in (UserObjectPermission, GroupObjectPermission):
        deleted += model.objects.filter(
            content_type=content_type, object_pk__in=[str(i) for i in ids]
        ).delete()[0]
    deleted += _purge(Programme.objects.filter(pk__in=ids))
    for start in range(0, len(mentor_users), 5000):
        chunk = mentor_users[start : start + 5000]
        deleted += _purge(User.objects.filter(pk__in=chunk).exclude(username__in=DEMO_LOGIN_USERNAMES))
    deleted += _purge(_demo_login_users())
    deleted += Organisation.objects.filter(pk__in=organisations, programmes__isnull=True).delete()[0]
    return deleted


def _demo_login_users() -> models.QuerySet[User]:
    """The demo's own logins: a real account that happens to be called "admin" is not one."""
    return User.objects.filter(username__in=DEMO_LOGIN_USERNAMES, email__endswith=f"@{DEMO_EMAIL_DOMAIN}")


def _ensure_login(login: DemoLogin, password_hash: str) -> tuple[User, bool]:
    """Create the demo login, or refresh it if an earlier demo left it. An account of the same
    name that the demo did not create is refused rather than given the published password."""
    user = User.objects.filter(username=login.username).first()
    if user is not None and not user.email.endswith(f"@{DEMO_EMAIL_DOMAIN}"):
        raise DemoOptionsError(
            f"A user called “{login.username}” already exists and is not a demo login; the demo "
            "would give it the published demo password. Rename that user or use another database."
        )
    created = user is None
    user = user or User(username=login.username)
    user.password = password_hash
    user.role = login.role
    user.first_name = login.first_name or user.first_name
    user.last_name = login.last_name or user.last_name
    user.email = f"{login.username}@{DEMO_EMAIL_DOMAIN}"
    user.is_active = True
    user.is_superuser = user.is_staff = login.role == User.Role.ADMIN
    user.save()
    return user, created


def demo_validate_options(*, mentors: int | None, mentees: int | None, sessions: int | None) -> None:
    for name, value in (("mentors", mentors), ("mentees", mentees), ("sessions", sessions)):
        if value is not None and value < 0:
            raise DemoOptionsError(f"--{name} must be 0 or more (got {value}).")
    n_mentors = DEFAULT_MENTORS if mentors is None else mentors
    n_mentees = DEFAULT_MENTEES if mentees is None else mentees
    if sessions and (n_mentors == 0 or n_mentees == 0):
        raise DemoOptionsError(
            f"--sessions {sessions} needs matches to log them against, and matches need at least one "
            f"mentor and one mentee (got --mentors {n_mentors} --mentees {n_mentees})."
        )


def demo_build(
    *,
    seed: int = DEFAULT_SEED,
    mentors: int | None = None,
    mentees: int | None = None,
    sessions: int | None = None,
    today: datetime.date | None = None,
) -> DemoResult:
    """Build the demo in one transaction. Without sizes: Baia Mare (40 mentors, 120 mentees,
    sessions at a believable rhythm) and a migrant-family programme in Gent (100 mentors, 400
    mentees); with any size: Baia Mare only, with exactly the mentors, mentees and (if given)
    session logs asked for."""
    demo_validate_options(mentors=mentors, mentees=mentees, sessions=sessions)
    started = time.perf_counter()
    sized = mentors is not None or mentees is not None or sessions is not None
    rng = Random(seed)  # noqa: S311 - demo data, not secrets
    today = today or timezone.localdate()
    writer = BulkWriter()
    with transaction.atomic():
        password_hash = make_password(DEMO_PASSWORD)
        logins = [COORDINATOR_LOGIN, MANAGER_LOGIN, MENTOR_LOGIN, ADMIN_LOGIN]
        if not sized:
            logins.append(GENT_COORDINATOR_LOGIN)
        users = {}
        for login in logins:
            users[login.username], created = _ensure_login(login, password_hash)
            writer.counts[User._meta.db_table] += int(created)
        mentor_login = users[MENTOR_LOGIN.username]
        if Mentor.objects.filter(user=mentor_login).exists():
            raise DemoOptionsError(
                "The demo login “mentor” is still linked to a mentor of another programme; unlink it first."
            )
        plans = [
            (
                BAIA_MARE,
                mentors if mentors is not None else DEFAULT_MENTORS,
                mentees if mentees is not None else DEFAULT_MENTEES,
                sessions,
                COORDINATOR_LOGIN,
            )
        ]
        if not sized:
            plans.append((GENT, SECOND_MENTORS, SECOND_MENTEES, None, GENT_COORDINATOR_LOGIN))
        results = []
        serial = 1
        for locale, n_mentors, n_mentees, n_sessions, coordinator_login in plans:
            builder = ProgrammeBuilder(
                rng=rng,
                today=today,
                locale=locale,
                n_mentors=n_mentors,
                n_mentees=n_mentees,
                n_sessions=n_sessions,
                writer=writer,
                coordinator=users[coordinator_login.username],
                user_serial=serial,
                seed=seed,
            )
            results.append(builder.build(mentor_login=mentor_login if locale is BAIA_MARE else None))
            serial += n_mentors
        granted = UserObjectPermission.objects.count()
        for login in logins:
            for slug in login.programmes:
                # A sized run builds Baia Mare only.
                programme = next((r.programme for r in results if r.programme.slug == slug), None)
                if programme is not None:
                    grant_programme_role(user=users[login.username], programme=programme)
        writer.counts[UserObjectPermission._meta.db_table] += UserObjectPermission.objects.count() - granted
        writer.analyze()
    mentor_matches = Match.objects.filter(mentor__user=mentor_login, status=Match.Status.ACTIVE).count()
    return DemoResult(
        programmes=results,
        counts=writer.counts,
        logins=[(login, users[login.username]) for login in logins],
        seconds=time.perf_counter() - started,
        mentor_login_matches=mentor_matches,
    )
