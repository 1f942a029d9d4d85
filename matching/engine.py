"""How well a mentor suits a mentee, for one pair or for a whole programme at once.

Every score is the sum of named parts a coordinator can question ("Speaks Romanian natively
(+40)", "2 weekly time slots in common (+8)", "9 km apart (−6)"), weighted by the programme's
``ScoringConfig``; every pair that may not be matched names the rule that excludes it. Language
first, cultural background second, as programmes match.

The people of a programme are held as numpy arrays (``MatchingData``): languages, backgrounds
and needs as bit masks, availability as a bit per weekly slot, places as unit vectors. Scoring a
block of mentees against every mentor is then a handful of array operations, which is what makes
suggestions instant and lets the batch matcher (``matching.optimize``) look at every pair of a
20,000 × 10,000 programme. One code path (``MatchingData._score``) computes both the totals and
the parts of an explanation, so an explanation always sums to the score.

Consent: languages and cultural backgrounds are special-category data. They are read only for
people with active consent to matching on them, and a part that uses them counts only when both
people have it; the common-language rule then cannot be checked and is not applied (the
explanation says so). Availability, ways of meeting, places, needs and gender are ordinary data.

Hard rules: the mentor is matchable (approved or active, a valid record check, training done, a
free place); a common language at a usable level (fluent or native; a mentee's preferred language
counts at any level) unless an interpreter is arranged; a way of meeting in common; within the
programme's maximum distance when they can only meet in person; not on the pair's exclusion list,
not declined before, not a previous match closed as a mismatch or for safeguarding.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db.models import Q
from django.dispatch import receiver
from django.utils import dateformat, timezone
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext

from matching.models import Match, MatchExclusion, ScoringConfig
from mentoring.models import (
    AVAILABILITY_SLOTS,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Mentee,
    Mentor,
    Need,
    Person,
    PersonLanguage,
    SessionMode,
)
from mentoring.vocabulary import language_name

LEVEL_CODES = {"basic": 1, "fluent": 2, "native": 3}
LEVEL_WORDS = {1: gettext_lazy("at a basic level"), 2: gettext_lazy("fluently"), 3: gettext_lazy("natively")}
USABLE_LEVEL = 2
MODE_BITS = {SessionMode.IN_PERSON: 1, SessionMode.PHONE: 2, SessionMode.VIDEO: 4}
MODE_PHRASES = {
    SessionMode.IN_PERSON: gettext_lazy("in person"),
    SessionMode.PHONE: gettext_lazy("by phone"),
    SessionMode.VIDEO: gettext_lazy("by video"),
}
# A weekly slot ("mon_evening") in words: whole phrases, as many languages join day and part of
# the day into one word ("maandagavond").
SLOT_LABELS = {
    "mon_morning": gettext_lazy("Monday morning"),
    "mon_afternoon": gettext_lazy("Monday afternoon"),
    "mon_evening": gettext_lazy("Monday evening"),
    "tue_morning": gettext_lazy("Tuesday morning"),
    "tue_afternoon": gettext_lazy("Tuesday afternoon"),
    "tue_evening": gettext_lazy("Tuesday evening"),
    "wed_morning": gettext_lazy("Wednesday morning"),
    "wed_afternoon": gettext_lazy("Wednesday afternoon"),
    "wed_evening": gettext_lazy("Wednesday evening"),
    "thu_morning": gettext_lazy("Thursday morning"),
    "thu_afternoon": gettext_lazy("Thursday afternoon"),
    "thu_evening": gettext_lazy("Thursday evening"),
    "fri_morning": gettext_lazy("Friday morning"),
    "fri_afternoon": gettext_lazy("Friday afternoon"),
    "fri_evening": gettext_lazy("Friday evening"),
    "sat_morning": gettext_lazy("Saturday morning"),
    "sat_afternoon": gettext_lazy("Saturday afternoon"),
    "sat_evening": gettext_lazy("Saturday evening"),
    "sun_morning": gettext_lazy("Sunday morning"),
    "sun_afternoon": gettext_lazy("Sunday afternoon"),
    "sun_evening": gettext_lazy("Sunday evening"),
}
ALL_MODES = 7
IN_PERSON = 1
SLOT_BITS = {slot: 1 << k for k, slot in enumerate(AVAILABILITY_SLOTS)}
# Other shared languages, common time slots and needs met count up to this many.
PART_CAP = 3
WAIT_WEEKS_CAP = 26
MAX_DISTANCE_PENALTY = 8000
SCORE_CHUNK = 256
EXPLAIN_CHUNK = 128
EARTH_RADIUS_KM = 6371.0088
# Closure reasons after which the same pair is not proposed again.
NO_REMATCH_REASONS = (Match.ClosureReason.MISMATCH, Match.ClosureReason.SAFEGUARDING)

# Rule families, for the "excluded mentors" summary of suggestions.
RULE_NOT_MATCHABLE = gettext_lazy("The mentor cannot take a mentee now")
RULE_LANGUAGE = gettext_lazy("No common language at a usable level")
RULE_MODE = gettext_lazy("No way of meeting in common")
RULE_DISTANCE = gettext_lazy("Too far apart for in-person sessions")
RULE_PAIR = gettext_lazy("Excluded pair, declined before or forbidden")


@dataclass(frozen=True)
class Part:
    """A named part of a score. ``args`` are what the reason was worded from (language codes,
    background and need ids, slots, kilometres, weeks), so that a stored part can be worded
    again in its reader's language (``reword_parts``)."""

    code: str
    points: int
    reason: str
    args: dict | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.reason} ({self.points:+d})".replace("(-", "(−")

    def as_dict(self) -> dict:
        out = {"code": self.code, "points": self.points, "reason": self.reason}
        if self.args is not None:
            out["args"] = self.args
        return out


@dataclass
class Explanation:
    mentee_id: int
    mentor_id: int
    score: int
    parts: list[Part]
    excluded_by: list[str]
    language_concordant: bool
    mentor_free: int = 0

    @property
    def feasible(self) -> bool:
        return not self.excluded_by


@dataclass
class Suggestions:
    items: list[Explanation]
    excluded: list[tuple[str, int]]
    considered: int


# The texts of explanations ---------------------------------------------------------------

# Texts that depend on a number, each looked up once per number and language (``_Texts.counted``).
_COUNTED = {
    "availability": lambda n: ngettext(
        "%(count)d weekly time slot in common (%(slots)s)",
        "%(count)d weekly time slots in common (%(slots)s)",
        n,
    ),
    "distance": lambda n: ngettext("%(km)d km apart", "%(km)d km apart", n),
    "wait": lambda n: ngettext("Waiting %(count)d week", "Waiting %(count)d weeks", n),
    "no_capacity": lambda n: ngettext(
        "No free capacity (%(taken)d of %(capacity)d places taken).",
        "No free capacity (%(taken)d of %(capacity)d places taken).",
        n,
    ),
    "outscored": lambda n: ngettext(
        "The %(count)d suitable mentor were all proposed to other mentees.",
        "The %(count)d suitable mentors were all proposed to other mentees.",
        n,
    ),
}


class _Texts:
    """Every sentence of explanations and unmatched reasons in one interface language, looked
    up once per language (``_texts()``) rather than once per pair: a batch run explains tens of
    thousands of pairs, and a suggestion must stay instant."""

    def __init__(self, language_code: str) -> None:
        self.language_code = language_code
        self.consent_missing = gettext(
            "Language and background not used: consent to matching on them is missing"
        )
        self.preferred_language = {
            1: gettext("Speaks %(language)s at a basic level, the mentee's preferred language"),
            2: gettext("Speaks %(language)s fluently, the mentee's preferred language"),
            3: gettext("Speaks %(language)s natively, the mentee's preferred language"),
        }
        self.shared_language = gettext("Also speaks %(languages)s")
        self.shared_background = gettext("Shares %(backgrounds)s background")
        self.session_mode = gettext("Both can meet %(modes)s")
        self.less_than_a_km = gettext("Less than 1 km apart")
        self.needs = gettext("Strong in %(needs)s")
        self.gender_preference = gettext("The gender the family asked for")
        self.family_continuity = gettext("Already mentors someone in this family")
        self.slot_labels = {slot: str(label) for slot, label in SLOT_LABELS.items()}
        self.mode_phrases = {mode: str(phrase) for mode, phrase in MODE_PHRASES.items()}
        self.mode_labels = {mode: str(label).lower() for mode, label in SessionMode.choices}
        self.and_list = gettext("%(items)s and %(last)s")
        self.or_list = gettext("%(items)s or %(last)s")
        # Hard rules.
        self.mentor_rules = {
            "no_record_check": gettext("No criminal-record check recorded."),
            "record_check_expired": gettext("Criminal-record check expired on %(date)s."),
            "no_training": gettext("Training not completed."),
        }
        self.no_free_capacity = gettext("No free capacity.")
        self.no_common_language = gettext(
            "No common language at a usable level, and no interpreter arranged "
            "(the mentee speaks %(languages)s)."
        )
        self.no_common_mode = gettext("No way of meeting in common.")
        self.too_far = gettext(
            "%(km)d km apart, beyond the programme's %(limit)d km for pairs who can only meet in person."
        )
        # Why a mentee is left unmatched.
        self.unmatched_no_mentor = gettext("No matchable mentor in the programme.")
        self.unmatched_no_language = gettext("No matchable mentor speaks %(languages)s at a usable level.")
        self.unmatched_no_mode = gettext(
            "No matchable mentor who shares a language offers %(modes)s sessions."
        )
        self.unmatched_too_far_language = gettext(
            "No matchable mentor who speaks %(language)s is within %(km)d km for in-person sessions."
        )
        self.unmatched_too_far = gettext(
            "No matchable mentor who shares a language is within %(km)d km for in-person sessions."
        )
        self.unmatched_excluded = gettext(
            "Every suitable mentor is excluded for this mentee (exclusion list, declined or forbidden)."
        )
        self.unmatched_not_worth = gettext("No suitable mentor scores above zero for this mentee.")
        self.fixed_parts = {
            "consent_missing": self.consent_missing,
            "gender_preference": self.gender_preference,
            "family_continuity": self.family_continuity,
        }
        self.fixed_unmatched = {
            "no_mentor": self.unmatched_no_mentor,
            "excluded": self.unmatched_excluded,
            "not_worth": self.unmatched_not_worth,
        }
        self._counted: dict[tuple[str, int], str] = {}
        self._language_names: dict[str, str] = {}

    def language(self, code: str) -> str:
        """``language_name(code)``, looked up once per code."""
        name = self._language_names.get(code)
        if name is None:
            name = self._language_names[code] = language_name(code)
        return name

    def part_reason(
        self,
        code: str,
        args: dict,
        *,
        backgrounds: Mapping[int, str] | None = None,
        needs: Mapping[int, str] | None = None,
    ) -> str:
        """A part's reason, from its code and ``args`` (``Part.args``); ``backgrounds`` and
        ``needs`` name the ids a part of those codes holds."""
        if code == "preferred_language":
            return self.preferred_language[args["level"]] % {"language": self.language(args["language"])}
        if code == "shared_language":
            return self.shared_language % {
                "languages": self.all_of([self.language(c) for c in args["languages"]])
            }
        if code == "shared_background":
            names = [backgrounds.get(pk, "") for pk in args["backgrounds"]] if backgrounds else []
            return self.shared_background % {"backgrounds": self.all_of(names)}
        if code == "availability":
            slots = args["slots"]
            return self.counted("availability", len(slots)) % {
                "count": len(slots),
                "slots": ", ".join(self.slot_labels[slot] for slot in slots),
            }
        if code == "session_mode":
            return self.session_mode % {
                "modes": self.any_of([self.mode_phrases[mode] for mode in args["modes"]])
            }
        if code == "distance":
            km = args["km"]
            if km < 1:
                return self.less_than_a_km
            return self.counted("distance", round(km)) % {"km": round(km)}
        if code == "needs":
            names = [needs.get(pk, "") for pk in args["needs"]] if needs else []
            return self.needs % {"needs": self.all_of(names).lower()}
        if code == "wait":
            return self.counted("wait", args["weeks"]) % {"count": args["weeks"]}
        return self.fixed_parts[code]

    def unmatched_detail(self, reason: str, args: dict) -> str:
        """Why a mentee is left unmatched, from the reason's code and ``args``
        (``MatchingData.unmatched_cause``)."""
        if reason == "no_language":
            spoken = self.any_of([self.language(c) for c in args["languages"]])
            if not spoken and args["language"]:
                spoken = self.language(args["language"])
            return self.unmatched_no_language % {"languages": spoken}
        if reason == "no_mode":
            wanted = [self.mode_labels[mode] for mode in args["modes"]]
            return self.unmatched_no_mode % {"modes": self.any_of(wanted)}
        if reason == "too_far":
            if args["language"]:
                return self.unmatched_too_far_language % {
                    "language": self.language(args["language"]),
                    "km": args["km"],
                }
            return self.unmatched_too_far % {"km": args["km"]}
        if reason == "outscored":
            return self.counted("outscored", args["count"]) % {"count": args["count"]}
        return self.fixed_unmatched[reason]

    def counted(self, key: str, n: int) -> str:
        """The form of text ``key`` (``_COUNTED``) for the number ``n``."""
        text = self._counted.get((key, n))
        if text is None:
            text = self._counted[key, n] = _COUNTED[key](n)
        return text

    def join(self, items: list[str], last_pattern: str) -> str:
        items = [x for x in items if x]
        if len(items) <= 1:
            return items[0] if items else ""
        return last_pattern % {"items": ", ".join(items[:-1]), "last": items[-1]}

    def all_of(self, items: list[str]) -> str:
        """The items joined as "Dutch, French and Arabic"."""
        return self.join(items, self.and_list)

    def any_of(self, items: list[str]) -> str:
        """The items joined as "in person or by video"."""
        return self.join(items, self.or_list)


_texts_by_language: dict[str, _Texts] = {}


@receiver(setting_changed)
def _forget_texts(*, setting: str, **kwargs) -> None:
    """Catalogues change only with these settings (Django forgets its own then too)."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _texts_by_language.clear()


def _texts() -> _Texts:
    """The explanation texts in the active language (built on first use, then kept)."""
    language = get_language() or ""
    texts = _texts_by_language.get(language)
    if texts is None:
        texts = _texts_by_language[language] = _Texts(language)
    return texts


# Building the arrays -----------------------------------------------------------------------


class _Vocabulary:
    """Bit positions for a programme's languages, backgrounds and needs."""

    def __init__(self) -> None:
        self.languages: dict[str, int] = {}
        self.backgrounds: dict[int, int] = {}
        self.needs: dict[int, int] = {}
        self.genders: dict[str, int] = {}

    @staticmethod
    def _index(table: dict, key) -> int:
        if key not in table:
            table[key] = len(table)
        return table[key]

    def words(self, table: dict) -> int:
        return max(1, math.ceil(len(table) / 64))


def _mask(rows: list[list[int]], words: int) -> np.ndarray:
    out = np.zeros((len(rows), words), dtype=np.uint64)
    for r, bits in enumerate(rows):
        for bit in bits:
            out[r, bit // 64] |= np.uint64(1 << (bit % 64))
    return out


def _planar_km(lat: np.ndarray, lon: np.ndarray, reference_latitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Kilometres east and north on a plane through the programme's area (equirectangular: within
    a city region the error is far below a kilometre)."""
    x = EARTH_RADIUS_KM * np.radians(lon) * math.cos(math.radians(reference_latitude))
    y = EARTH_RADIUS_KM * np.radians(lat)
    return x.astype(np.float32), y.astype(np.float32)


def _gender_key(value: str) -> str:
    return " ".join((value or "").casefold().split())


class _People:
    """One side (mentors or mentees) as arrays, in the order of ``ids``."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.index = {int(pk): k for k, pk in enumerate(self.ids)}


def _load_people(
    people: list[tuple],
    *,
    vocab: _Vocabulary,
    grow_vocab: bool,
    on_gender,
) -> dict:
    """Read the matching attributes of ``people`` — (role id, person id, gender, latitude,
    longitude, availability, session modes) tuples — in five queries."""
    person_ids = [row[1] for row in people]
    position = {row[1]: k for k, row in enumerate(people)}
    n = len(people)
    consent = np.zeros(n, dtype=bool)
    for (pid,) in Consent.objects.filter(
        person_id__any_of=person_ids, purpose=ConsentPurpose.BACKGROUND_MATCHING, withdrawn_at__isnull=True
    ).values_list("person_id"):
        consent[position[pid]] = True

    languages: list[list[tuple[str, int, bool]]] = [[] for _ in range(n)]
    backgrounds: list[list[int]] = [[] for _ in range(n)]
    needs: list[list[int]] = [[] for _ in range(n)]
    consented = [pid for pid in person_ids if consent[position[pid]]]
    if consented:
        for pid, code, level, preferred in (
            PersonLanguage.objects.filter(person_id__any_of=consented)
            .order_by("person_id", "id")
            .values_list("person_id", "language", "level", "is_preferred")
        ):
            languages[position[pid]].append((code, LEVEL_CODES.get(level, 0), preferred))
            if grow_vocab:
                vocab._index(vocab.languages, code)
        through = Person.cultural_backgrounds.through
        for pid, bg in through.objects.filter(person_id__any_of=consented).values_list(
            "person_id", "culturalbackground_id"
        ):
            backgrounds[position[pid]].append(bg)
            if grow_vocab:
                vocab._index(vocab.backgrounds, bg)
    for pid, need in Person.needs.through.objects.filter(person_id__any_of=person_ids).values_list(
        "person_id", "need_id"
    ):
        needs[position[pid]].append(need)
        if grow_vocab:
            vocab._index(vocab.needs, need)

    avail = np.zeros(n, dtype=np.int32)
    modes = np.full(n, ALL_MODES, dtype=np.int8)
    modes_stated = np.zeros(n, dtype=bool)
    lat = np.zeros(n)
    lon = np.zeros(n)
    has_xy = np.zeros(n, dtype=bool)
    gender = np.full(n, -1, dtype=np.int32)
    for k, (_, _, gender_text, la, lo, slots, person_modes) in enumerate(people):
        avail[k] = sum(SLOT_BITS.get(slot, 0) for slot in slots or ())
        if person_modes:
            modes[k] = sum(MODE_BITS.get(mode, 0) for mode in person_modes) or ALL_MODES
            modes_stated[k] = True
        if la is not None and lo is not None:
            lat[k], lon[k], has_xy[k] = la, lo, True
        gender[k] = on_gender(gender_text)
    return {
        "consent": consent,
        "languages": languages,
        "backgrounds": backgrounds,
        "needs": needs,
        "avail": avail,
        "modes": modes,
        "modes_stated": modes_stated,
        "lat": lat,
        "lon": lon,
        "has_xy": has_xy,
        "gender": gender,
    }


_PERSON_FIELDS = (
    "person__gender",
    "person__latitude",
    "person__longitude",
    "person__availability",
    "person__session_modes",
)


class MatchingData:
    """A programme's matchable mentors and a set of its mentees, as arrays."""

    def __init__(self, programme_id: int, weights: ScoringConfig) -> None:
        self.programme_id = programme_id
        self.weights = weights
        self.vocab = _Vocabulary()
        self.wait_priority = False
        self.excluded_pairs: dict[int, dict[int, str]] = {}
        # Names of backgrounds and needs per interface language, read once and shared with
        # ``with_mentees`` copies (and so with readers of every language).
        self._names: dict[tuple[str, str], dict[int, str]] = {}
        self._pks: dict[str, list[int]] = {}

    # -- loading ----------------------------------------------------------------------------

    def _load_mentors(self, on: datetime.date) -> None:
        rows = list(
            Mentor.objects.filter(programme_id=self.programme_id, status__in=Mentor.MATCHABLE_STATUSES)
            .order_by("id")
            .values_list(
                "id",
                "person_id",
                *_PERSON_FIELDS,
                "capacity",
                "status",
                "record_check_expires_on",
                "training_completed_on",
                "approved_on",
                "applied_on",
            )
        )
        mentors = _People([row[0] for row in rows])
        self.mentors = mentors
        self.mentor_ids = mentors.ids
        self.mentor_person_ids = np.asarray([row[1] for row in rows], dtype=np.int64)
        attrs = _load_people(
            [row[:7] for row in rows],
            vocab=self.vocab,
            grow_vocab=True,
            on_gender=lambda text: (
                self.vocab._index(self.vocab.genders, key) if (key := _gender_key(text)) else -1
            ),
        )
        m = len(rows)
        load = Counter()
        self.family_mentors: dict[int, list[int]] = defaultdict(list)
        for mentor_id, family_id in Match.objects.filter(
            programme_id=self.programme_id, status__in=Match.OPEN_STATUSES
        ).values_list("mentor_id", "mentee__family_id"):
            load[mentor_id] += 1
            if mentor_id in mentors.index:
                self.family_mentors[family_id].append(mentors.index[mentor_id])
        self.mentor_free = np.zeros(m, dtype=np.int32)
        # The rules that keep each mentor from being matched, as (rule, value) pairs: the data
        # is shared by readers of every language, and ``mentor_rule_texts`` words them.
        self.mentor_rules: list[list[tuple[str, object]]] = []
        self.mentor_since = np.zeros(m, dtype=np.int64)
        for k, row in enumerate(rows):
            mentor_id, capacity, _status, expires, trained, approved, applied = (row[0], *row[7:])
            rules: list[tuple[str, object]] = []
            if expires is None:
                rules.append(("no_record_check", None))
            elif expires < on:
                rules.append(("record_check_expired", expires))
            if trained is None:
                rules.append(("no_training", None))
            taken = load[mentor_id]
            if taken >= capacity:
                rules.append(("no_capacity", (taken, capacity)))
            self.mentor_rules.append(rules)
            self.mentor_free[k] = 0 if rules else capacity - taken
            self.mentor_since[k] = (approved or applied or on).toordinal()
        self.mentor_capacity = np.asarray([row[7] for row in rows], dtype=np.int32)

        vocab = self.vocab
        nl = len(vocab.languages)
        # Level of every language for every mentor; the last row stands for "no preferred language".
        self.mentor_level = np.zeros((nl + 1, m), dtype=np.int8)
        usable = []
        for k, langs in enumerate(attrs["languages"]):
            bits = []
            for code, level, _preferred in langs:
                idx = vocab.languages[code]
                self.mentor_level[idx, k] = max(self.mentor_level[idx, k], level)
                if level >= USABLE_LEVEL:
                    bits.append(idx)
            usable.append(bits)
        self.mentor_consent = attrs["consent"]
        self.mentor_usable = _mask(usable, vocab.words(vocab.languages))
        self.mentor_bg = _mask(
            [[vocab.backgrounds[b] for b in bgs] for bgs in attrs["backgrounds"]],
            vocab.words(vocab.backgrounds),
        )
        self.mentor_needs = _mask(
            [[vocab.needs[x] for x in ns] for ns in attrs["needs"]], vocab.words(vocab.needs)
        )
        self.mentor_avail = attrs["avail"]
        self.mentor_modes = attrs["modes"]
        self.mentor_modes_stated = attrs["modes_stated"]
        self.mentor_has_xy = attrs["has_xy"]
        # One reference latitude per programme, rounded so it stays put as mentors come and go.
        located = attrs["lat"][attrs["has_xy"]]
        self.reference_latitude = round(float(np.median(located)), 0) if len(located) else 0.0
        self.mentor_x, self.mentor_y = _planar_km(attrs["lat"], attrs["lon"], self.reference_latitude)
        self.mentor_gender = attrs["gender"]
        w = self.weights
        points = np.asarray(
            [0, w.preferred_language_basic, w.preferred_language_fluent, w.preferred_language_native],
            dtype=np.int32,
        )
        self.mentor_pref_points = (points[self.mentor_level] * self.mentor_consent[None, :]).astype(np.int16)

    def _load_mentees(self, mentee_ids: Sequence[int] | None, on: datetime.date) -> None:
        qs = Mentee.objects.filter(programme_id=self.programme_id)
        if mentee_ids is None:
            qs = qs.filter(status=Mentee.Status.WAITING).exclude(matches__status__in=Match.OPEN_STATUSES)
            qs = qs.order_by("waiting_since", "id")
        else:
            qs = qs.filter(pk__any_of=list(mentee_ids)).order_by("waiting_since", "id")
        rows = list(
            qs.values_list(
                "id",
                "person_id",
                *_PERSON_FIELDS,
                "family_id",
                "interpreter_arranged",
                "preferred_mentor_gender",
                "waiting_since",
            )
        )
        mentees = _People([row[0] for row in rows])
        self.mentees = mentees
        self.mentee_ids = mentees.ids
        vocab = self.vocab
        attrs = _load_people(
            [row[:7] for row in rows],
            vocab=vocab,
            grow_vocab=False,
            on_gender=lambda text: -1,
        )
        n = len(rows)
        nl = len(vocab.languages)
        self.mentee_consent = attrs["consent"]
        self.mentee_pref = np.full(n, nl, dtype=np.int32)
        self.mentee_pref_code = [""] * n
        self.mentee_language_codes: list[list[str]] = []
        usable, other = [], []
        for k, langs in enumerate(attrs["languages"]):
            pref = next((code for code, _level, preferred in langs if preferred), "")
            self.mentee_pref_code[k] = pref
            if pref in vocab.languages:
                self.mentee_pref[k] = vocab.languages[pref]
            bits_usable = [
                vocab.languages[code]
                for code, level, preferred in langs
                if code in vocab.languages and (level >= USABLE_LEVEL or preferred)
            ]
            usable.append(bits_usable)
            other.append([b for b in bits_usable if b != self.mentee_pref[k]])
            self.mentee_language_codes.append([code for code, _level, _preferred in langs])
        words = vocab.words(vocab.languages)
        self.mentee_usable = _mask(usable, words)
        self.mentee_other = _mask(other, words)
        self.mentee_bg_ids = attrs["backgrounds"]
        self.mentee_bg = _mask(
            [[vocab.backgrounds[b] for b in bgs if b in vocab.backgrounds] for bgs in attrs["backgrounds"]],
            vocab.words(vocab.backgrounds),
        )
        self.mentee_needs = _mask(
            [[vocab.needs[x] for x in ns if x in vocab.needs] for ns in attrs["needs"]],
            vocab.words(vocab.needs),
        )
        self.mentee_pref_scored = np.where(self.mentee_consent, self.mentee_pref, nl).astype(np.int32)
        self.mentee_needs_language = self.mentee_consent & ~np.asarray([row[8] for row in rows], dtype=bool)
        self.mentee_avail = attrs["avail"]
        self.mentee_modes = attrs["modes"]
        self.mentee_modes_stated = attrs["modes_stated"]
        self.mentee_has_xy = attrs["has_xy"]
        self.mentee_x, self.mentee_y = _planar_km(attrs["lat"], attrs["lon"], self.reference_latitude)
        self.mentee_family = np.asarray([row[7] for row in rows], dtype=np.int64)
        self.mentee_interpreter = np.asarray([row[8] for row in rows], dtype=bool)
        self.mentee_pref_gender = np.asarray(
            [vocab.genders.get(_gender_key(row[9]), -2) if _gender_key(row[9]) else -1 for row in rows],
            dtype=np.int32,
        )
        self.mentee_wait_weeks = np.asarray(
            [min(WAIT_WEEKS_CAP, max(0, (on - row[10]).days // 7)) if row[10] else 0 for row in rows],
            dtype=np.int32,
        )

    def mentor_rule_texts(self, j: int) -> list[str]:
        """The rules that keep mentor ``j`` from being matched, in the active language."""
        texts = _texts()
        out = []
        for rule, value in self.mentor_rules[j]:
            if rule == "no_capacity":
                taken, capacity = value
                out.append(texts.counted("no_capacity", capacity) % {"taken": taken, "capacity": capacity})
            elif rule == "record_check_expired":
                out.append(texts.mentor_rules[rule] % {"date": dateformat.format(value, "d M Y")})
            else:
                out.append(texts.mentor_rules[rule])
        return out

    def _load_pair_rules(self, forbidden: Iterable[tuple[int, int]]) -> None:
        """Pairs that may never be proposed, with the reason in the coordinator's words (in the
        active language: these are read for the mentees at hand, never cached)."""
        mentee_index, mentor_index = self.mentees.index, self.mentors.index
        pairs: dict[int, dict[int, str]] = defaultdict(dict)

        def add(mentee_id: int, mentor_id: int, reason: str) -> None:
            i, j = mentee_index.get(mentee_id), mentor_index.get(mentor_id)
            if i is not None and j is not None:
                pairs[i].setdefault(j, reason)

        mentee_ids = [int(x) for x in self.mentee_ids]
        if mentee_ids:
            reasons = {value: str(label).lower() for value, label in MatchExclusion.Reason.choices}
            on_list = gettext("On the programme's exclusion list: %(reason)s.")
            for mentee_id, mentor_id, reason in MatchExclusion.objects.filter(
                programme_id=self.programme_id, mentee_id__any_of=mentee_ids
            ).values_list("mentee_id", "mentor_id", "reason"):
                add(mentee_id, mentor_id, on_list % {"reason": reasons.get(reason, reason.lower())})
            declines = {value: str(label).lower() for value, label in Match.DeclineReason.choices}
            closures = {value: str(label).lower() for value, label in Match.ClosureReason.choices}
            declined_before = gettext("The mentor declined this mentee before (%(reason)s).")
            closed_before = gettext("An earlier match of the two closed: %(reason)s.")
            for mentee_id, mentor_id, status, decline, closure in Match.objects.filter(
                Q(status=Match.Status.DECLINED)
                | Q(status=Match.Status.CLOSED, closure_reason__in=NO_REMATCH_REASONS),
                programme_id=self.programme_id,
                mentee_id__any_of=mentee_ids,
            ).values_list("mentee_id", "mentor_id", "status", "decline_reason", "closure_reason"):
                if status == Match.Status.DECLINED:
                    add(mentee_id, mentor_id, declined_before % {"reason": declines.get(decline, "")})
                else:
                    add(mentee_id, mentor_id, closed_before % {"reason": closures.get(closure, "")})
        forbidden_here = gettext("Forbidden by the coordinator in this batch run.")
        for mentee_id, mentor_id in forbidden:
            add(int(mentee_id), int(mentor_id), forbidden_here)
        self.excluded_pairs = {i: dict(js) for i, js in pairs.items()}
        self._excluded_arrays = {
            i: np.fromiter(js.keys(), dtype=np.int64, count=len(js)) for i, js in self.excluded_pairs.items()
        }

    # -- scoring ----------------------------------------------------------------------------

    def score_block(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (int32) and feasibility of mentees ``rows`` against every mentor."""
        rows = np.asarray(rows, dtype=np.int64)
        scores = np.empty((len(rows), len(self.mentor_ids)), dtype=np.int32)
        feasible = np.empty((len(rows), len(self.mentor_ids)), dtype=bool)
        # A few hundred mentees at a time keep the working arrays in the processor's cache.
        for start in range(0, len(rows), SCORE_CHUNK):
            part = slice(start, start + SCORE_CHUNK)
            scores[part], feasible[part] = self._score(rows[part], None, None)
        return scores, feasible

    def _score(self, rows: np.ndarray, cols: np.ndarray | None, parts: dict | None):
        """Scores and feasibility of mentees ``rows`` against mentors ``cols`` (all if None).
        With ``parts`` (a dict), every named part and rule is also returned in it: the one code
        path behind both the batch matcher's totals and the coordinator's explanations.

        Language and background masks are empty for people without consent, so the parts that
        use them are 0 for such pairs without a test per pair."""
        w = self.weights
        if cols is None:
            take = _all
            m = len(self.mentor_ids)
        else:
            take = _picker(cols)
            m = len(cols)
        r = len(rows)
        # Parts are small integers (weights up to 1,000, see ScoringConfig): int16 halves the
        # memory traffic of a 20,000 × 10,000 pass.
        total = np.zeros((r, m), dtype=np.int16)
        feasible = np.broadcast_to((take(self.mentor_free) > 0)[None, :], (r, m)).copy()

        def add(code: str, values) -> None:
            np.add(total, values, out=total, casting="unsafe")
            if parts is not None:
                parts[code] = np.broadcast_to(values, (r, m)).astype(np.int32)

        # Language: the mentee's preferred language at the mentor's level; other shared languages.
        pref = self.mentee_pref_scored[rows]
        if cols is None:
            add("preferred_language", self.mentor_pref_points[pref])
        else:
            add("preferred_language", self.mentor_pref_points[pref[:, None], cols[None, :]])
        mentor_usable = take(self.mentor_usable)
        if w.shared_language:
            lut = (np.minimum(np.arange(65), PART_CAP) * w.shared_language).astype(np.int16)
            add("shared_language", _by_profile(self.mentee_other[rows], mentor_usable, lambda c: lut[c]))
        if w.shared_background and len(self.vocab.backgrounds):
            lut = np.asarray([0] + [w.shared_background] * 64, dtype=np.int16)
            add(
                "shared_background", _by_profile(self.mentee_bg[rows], take(self.mentor_bg), lambda c: lut[c])
            )
        # Hard rule: a common language at a usable level, unless an interpreter is arranged (and
        # only where both consented: without consent languages cannot be used at all).
        needs_language = self.mentee_needs_language[rows]
        if needs_language.any():
            speaks = _by_profile(self.mentee_usable[rows], mentor_usable, lambda c: c > 0)
            language_ok = ~(needs_language[:, None] & take(self.mentor_consent)[None, :]) | speaks
            feasible &= language_ok
        else:
            language_ok = None
        if parts is not None:
            parts["_language_ok"] = np.ones((r, m), dtype=bool) if language_ok is None else language_ok

        if w.availability_slot:
            lut = (np.minimum(np.arange(33), PART_CAP) * w.availability_slot).astype(np.int16)
            slots = np.bitwise_count(self.mentee_avail[rows][:, None] & take(self.mentor_avail)[None, :])
            add("availability", lut[slots])

        common_modes = self.mentee_modes[rows][:, None] & take(self.mentor_modes)[None, :]
        mode_ok = common_modes != 0
        feasible &= mode_ok
        if w.session_mode:
            stated = self.mentee_modes_stated[rows][:, None] & take(self.mentor_modes_stated)[None, :]
            stated &= mode_ok
            add("session_mode", stated * np.int16(w.session_mode))
        if parts is not None:
            parts["_mode_ok"] = mode_ok
            parts["_common_modes"] = common_modes

        located_rows = self.mentee_has_xy[rows]
        if located_rows.any() and self.mentor_has_xy.any():
            km = self.mentee_x[rows][:, None] - take(self.mentor_x)[None, :]
            km *= km
            dy = self.mentee_y[rows][:, None] - take(self.mentor_y)[None, :]
            dy *= dy
            km += dy
            np.sqrt(km, out=km)
            in_person = (common_modes & IN_PERSON) != 0
            in_person &= located_rows[:, None]
            in_person &= take(self.mentor_has_xy)[None, :]
            # One point off per started step: truncation of a non-negative number is its floor.
            steps = km * np.float32(1 / float(w.km_per_penalty_point))
            np.minimum(steps, MAX_DISTANCE_PENALTY, out=steps)
            steps *= in_person
            add("distance", -steps.astype(np.int16))
            too_far = km > np.float32(w.max_distance_km)
            too_far &= in_person
            too_far &= common_modes == IN_PERSON
            feasible &= ~too_far
            if parts is not None:
                parts["_km"] = km
                parts["_too_far"] = too_far
                parts["_in_person"] = in_person

        if w.need_strength and len(self.vocab.needs):
            lut = (np.minimum(np.arange(65), PART_CAP) * w.need_strength).astype(np.int16)
            add("needs", _by_profile(self.mentee_needs[rows], take(self.mentor_needs), lambda c: lut[c]))

        if w.gender_preference:
            wish = self.mentee_pref_gender[rows]
            if (wish >= 0).any():
                wanted = (wish[:, None] >= 0) & (wish[:, None] == take(self.mentor_gender)[None, :])
                add("gender_preference", wanted * np.int16(w.gender_preference))

        if w.family_continuity and self.family_mentors:
            continuity = np.zeros((r, m), dtype=np.int16)
            for k, family in enumerate(self.mentee_family[rows]):
                mentors = self.family_mentors.get(int(family))
                if not mentors:
                    continue
                if cols is None:
                    continuity[k, mentors] = w.family_continuity
                else:
                    # A mentor may stand in several columns (explaining many pairs at once).
                    continuity[k, np.isin(cols, mentors)] = w.family_continuity
            add("family_continuity", continuity)

        if self.wait_priority and w.wait_week:
            add("wait", (self.mentee_wait_weeks[rows] * w.wait_week)[:, None])

        if self.excluded_pairs:
            pair_ok = np.ones((r, m), dtype=bool)
            for k, i in enumerate(rows):
                js = self._excluded_arrays.get(int(i))
                if js is None:
                    continue
                if cols is None:
                    pair_ok[k, js] = False
                else:
                    pair_ok[k] &= ~np.isin(cols, js)
            feasible &= pair_ok
        return total, feasible

    # -- explaining -------------------------------------------------------------------------

    def explain(self, i: int, j: int) -> Explanation:
        """Mentee ``i`` and mentor ``j``'s score as its named parts, and the rules excluding them."""
        return self.explain_many([i], [j])[0]

    def explain_many(self, rows: Sequence[int], cols: Sequence[int]) -> list[Explanation]:
        """``explain`` for many pairs (mentee ``rows[k]``, mentor ``cols[k]``), scored together a
        chunk at a time: a batch proposal of 20,000 pairs is explained in about a second."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        out: list[Explanation] = []
        texts = _texts()
        for start in range(0, len(rows), EXPLAIN_CHUNK):
            chunk_rows, chunk_cols = rows[start : start + EXPLAIN_CHUNK], cols[start : start + EXPLAIN_CHUNK]
            parts: dict[str, np.ndarray] = {}
            total, _ = self._score(chunk_rows, chunk_cols, parts)
            for a, (i, j) in enumerate(zip(chunk_rows.tolist(), chunk_cols.tolist(), strict=True)):
                out.append(self._explanation(i, j, a, total, parts, texts))
        return out

    def _explanation(
        self, i: int, j: int, a: int, total: np.ndarray, parts: dict, texts: _Texts
    ) -> Explanation:
        """The explanation of the pair on the diagonal entry ``a`` of a scored chunk."""
        value = {code: int(arr[a, a]) for code, arr in parts.items() if not code.startswith("_")}
        out: list[Part] = []

        def add(code: str, args: dict, **names) -> None:
            reason = texts.part_reason(code, args, **names)
            out.append(Part(code, value.get(code, 0), reason, args))

        if not (self.mentee_consent[i] and self.mentor_consent[j]):
            add("consent_missing", {})
        if value.get("preferred_language"):
            level = int(self.mentor_level[self.mentee_pref[i], j])
            add("preferred_language", {"language": self.mentee_pref_code[i], "level": level})
        if value.get("shared_language"):
            bits = set(_bits(self.mentee_other[i] & self.mentor_usable[j]))
            spoken = [c for c in self.mentee_language_codes[i] if self.vocab.languages.get(c, -1) in bits]
            add("shared_language", {"languages": spoken})
        if value.get("shared_background"):
            pks = self._background_pks()
            bits = _bits(self.mentee_bg[i] & self.mentor_bg[j])
            add(
                "shared_background",
                {"backgrounds": [pks[b] for b in bits]},
                backgrounds=self._background_names(texts),
            )
        if value.get("availability"):
            common = int(self.mentee_avail[i]) & int(self.mentor_avail[j])
            add("availability", {"slots": [slot for slot in AVAILABILITY_SLOTS if SLOT_BITS[slot] & common]})
        if value.get("session_mode"):
            common = int(parts["_common_modes"][a, a])
            add("session_mode", {"modes": [str(mode) for mode, bit in MODE_BITS.items() if common & bit]})
        if "_in_person" in parts and parts["_in_person"][a, a]:
            add("distance", {"km": float(parts["_km"][a, a])})
        if value.get("needs"):
            pks = self._need_pks()
            bits = _bits(self.mentee_needs[i] & self.mentor_needs[j])
            add("needs", {"needs": [pks[b] for b in bits]}, needs=self._need_names(texts))
        if value.get("gender_preference"):
            add("gender_preference", {})
        if value.get("family_continuity"):
            add("family_continuity", {})
        if value.get("wait"):
            add("wait", {"weeks": int(self.mentee_wait_weeks[i])})

        excluded = self.mentor_rule_texts(j) if self.mentor_rules[j] else []
        if not excluded and self.mentor_free[j] <= 0:
            excluded.append(texts.no_free_capacity)
        if "_language_ok" in parts and not parts["_language_ok"][a, a]:
            spoken = texts.any_of([texts.language(c) for c in self.mentee_language_codes[i]])
            excluded.append(texts.no_common_language % {"languages": spoken})
        if not parts["_mode_ok"][a, a]:
            excluded.append(texts.no_common_mode)
        if "_too_far" in parts and parts["_too_far"][a, a]:
            km = round(float(parts["_km"][a, a]))
            excluded.append(texts.too_far % {"km": km, "limit": self.weights.max_distance_km})
        pair_rule = self.excluded_pairs.get(i, {}).get(j)
        if pair_rule:
            excluded.append(pair_rule)
        score = int(total[a, a])
        return Explanation(
            mentee_id=int(self.mentee_ids[i]),
            mentor_id=int(self.mentor_ids[j]),
            score=score,
            parts=out,
            excluded_by=excluded,
            language_concordant=self.is_language_concordant(i, j),
            mentor_free=int(self.mentor_free[j]),
        )

    def is_language_concordant(self, i: int, j: int) -> bool:
        """The mentor speaks the mentee's preferred language (the reports' concordance)."""
        pref = self.mentee_pref[i]
        return bool(self.mentee_consent[i] and self.mentor_consent[j] and self.mentor_level[pref, j] > 0)

    def concordant_count(self, mentor_of: np.ndarray) -> int:
        assigned = np.flatnonzero(mentor_of >= 0)
        if not len(assigned):
            return 0
        js = mentor_of[assigned]
        levels = self.mentor_level[self.mentee_pref[assigned], js]
        return int(np.count_nonzero((levels > 0) & self.mentee_consent[assigned] & self.mentor_consent[js]))

    def unmatched_reason(self, i: int, assigned_mentor_of: np.ndarray | None = None) -> tuple[str, str]:
        """Why mentee ``i`` is left unmatched: the reason's code and the reason in words."""
        reason, args = self.unmatched_cause(i, assigned_mentor_of)
        return reason, _texts().unmatched_detail(reason, args)

    def unmatched_cause(self, i: int, assigned_mentor_of: np.ndarray | None = None) -> tuple[str, dict]:
        """Why mentee ``i`` is left unmatched: the first rule that leaves no mentor, else that
        the suitable mentors went to others. The reason's code, and what its words are made of
        (``_Texts.unmatched_detail``)."""
        return self.unmatched_causes([i], assigned_mentor_of)[0]

    def unmatched_causes(
        self, rows: Sequence[int], assigned_mentor_of: np.ndarray | None = None
    ) -> list[tuple[str, dict]]:
        """``unmatched_cause`` for each mentee in ``rows``, scored a chunk of mentees at a time
        on two threads (the scoring is numpy's, which releases the GIL)."""
        rows = np.asarray(rows, dtype=np.int64)
        free = self.mentor_free > 0
        if not free.any():
            return [("no_mentor", {}) for _ in rows]

        def summary(chunk: np.ndarray):
            parts: dict = {}
            total, feasible = self._score(chunk, None, parts)
            language_ok = parts.get("_language_ok", np.ones_like(feasible)) & free[None, :]
            mode_ok = parts["_mode_ok"] & language_ok
            near_ok = mode_ok & ~parts["_too_far"] if "_too_far" in parts else mode_ok
            return (
                chunk,
                language_ok.any(axis=1),
                mode_ok.any(axis=1),
                near_ok.any(axis=1),
                feasible.any(axis=1),
                np.where(feasible, total, np.iinfo(np.int16).min).max(axis=1),
                np.count_nonzero(feasible, axis=1),
            )

        chunks = [rows[start : start + EXPLAIN_CHUNK] for start in range(0, len(rows), EXPLAIN_CHUNK)]
        if len(chunks) <= 1:  # one mentee's cause (a page): no threads to start
            return [cause for c in chunks for cause in self._causes(*summary(c))]
        out: list[tuple[str, dict]] = []
        with ThreadPoolExecutor(max_workers=2) as pool:
            for chunk, *figures in pool.map(summary, chunks):
                out.extend(self._causes(chunk, *figures))
        return out

    def _causes(self, chunk, any_language, any_mode, any_near, any_feasible, best, count):
        """The causes for the mentees ``chunk`` from the summary of their scoring."""
        out: list[tuple[str, dict]] = []
        for a, i in enumerate(chunk.tolist()):
            language = self.mentee_pref_code[i]
            if not any_language[a]:
                out.append(
                    (
                        "no_language",
                        {"languages": list(self.mentee_language_codes[i]), "language": language},
                    )
                )
            elif not any_mode[a]:
                wanted = [str(mode) for mode, bit in MODE_BITS.items() if int(self.mentee_modes[i]) & bit]
                out.append(("no_mode", {"modes": wanted}))
            elif not any_near[a]:
                out.append(("too_far", {"language": language, "km": self.weights.max_distance_km}))
            elif not any_feasible[a]:
                out.append(("excluded", {}))
            elif int(best[a]) <= 0:
                out.append(("not_worth", {}))
            else:
                out.append(("outscored", {"count": int(count[a])}))
        return out

    def mentee_language(self, i: int) -> str:
        return self.mentee_pref_code[i] if self.mentee_consent[i] else ""

    def mentee_background_id(self, i: int) -> int | None:
        bgs = self.mentee_bg_ids[i]
        return bgs[0] if bgs and self.mentee_consent[i] else None

    # -- names (read once per data set, only when explaining) -------------------------------

    def _background_pks(self) -> list[int]:
        """The id of the background at each bit of the masks."""
        if "background_pks" not in self._pks:
            self._pks["background_pks"] = _pks_by_bit(self.vocab.backgrounds)
        return self._pks["background_pks"]

    def _need_pks(self) -> list[int]:
        if "need_pks" not in self._pks:
            self._pks["need_pks"] = _pks_by_bit(self.vocab.needs)
        return self._pks["need_pks"]

    def _background_names(self, texts: _Texts) -> dict[int, str]:
        """Background names by id, in the language of ``texts`` (the active one)."""
        key = ("backgrounds", texts.language_code)
        if key not in self._names:
            self._names[key] = _names_of(CulturalBackground, self.vocab.backgrounds)
        return self._names[key]

    def _need_names(self, texts: _Texts) -> dict[int, str]:
        key = ("needs", texts.language_code)
        if key not in self._names:
            self._names[key] = _names_of(Need, self.vocab.needs)
        return self._names[key]

    # -- a copy with other mentees and the same mentors ---------------------------------------

    def with_mentees(
        self, mentee_ids: Sequence[int] | None, *, on: datetime.date, forbidden=()
    ) -> MatchingData:
        other = object.__new__(MatchingData)
        other.__dict__.update({k: v for k, v in self.__dict__.items() if not k.startswith("mentee")})
        other._load_mentees(mentee_ids, on)
        other._load_pair_rules(forbidden)
        return other


def _all(a: np.ndarray) -> np.ndarray:
    return a


def _picker(cols: np.ndarray):
    return lambda a: a[cols]


def _by_profile(row_masks: np.ndarray, col_masks: np.ndarray, values) -> np.ndarray:
    """``values(bits in common)`` for every (row, column): computed once per distinct row mask
    (a block of mentees shares few language, background or need profiles) and gathered."""
    profiles, inverse = np.unique(row_masks, axis=0, return_inverse=True)
    common = np.bitwise_count(profiles[:, None, 0] & col_masks[None, :, 0]).astype(np.int32)
    for word in range(1, profiles.shape[1]):
        common += np.bitwise_count(profiles[:, None, word] & col_masks[None, :, word])
    return values(common)[inverse.reshape(-1)]


def _pks_by_bit(table: dict[int, int]) -> list[int]:
    pks = [0] * len(table)
    for pk, bit in table.items():
        pks[bit] = pk
    return pks


def _names_of(model, pks: Iterable[int]) -> dict[int, str]:
    """``{id: name}`` of vocabulary entries (backgrounds, needs) in the active language."""
    pks = list(pks)
    if not pks:
        return {}
    return dict(model.objects.filter(pk__in=pks).values_list("id", "name"))


def _bits(mask: np.ndarray) -> list[int]:
    out = []
    for w, value in enumerate(mask):
        value = int(value)
        while value:
            low = value & -value
            out.append(w * 64 + low.bit_length() - 1)
            value ^= low
    return out


# Entry points ---------------------------------------------------------------------------------


def load_matching_data(
    programme_id: int,
    *,
    mentee_ids: Sequence[int] | None = None,
    wait_priority: bool = False,
    forbidden: Iterable[tuple[int, int]] = (),
    on: datetime.date | None = None,
) -> MatchingData:
    """The programme's approved and active mentors and its waiting list (or ``mentee_ids``)."""
    on = on or timezone.localdate()
    data = MatchingData(programme_id, ScoringConfig.for_programme(programme_id))
    data.wait_priority = wait_priority
    data._load_mentors(on)
    data._load_mentees(mentee_ids, on)
    data._load_pair_rules(forbidden)
    return data


# Suggestions read the programme's arrays from a per-process cache. Any change to the people,
# matches, exclusions or weights of a programme moves its version (``matching.signals``), and an
# entry older than ``CACHE_SECONDS`` is rebuilt anyway.
CACHE_SECONDS = 60
_cache: dict[int, tuple[str, float, MatchingData]] = {}
_cache_lock = threading.Lock()


def version_key(programme_id: int) -> str:
    return f"matching:version:{programme_id}"


def bump_version(programme_id: int) -> None:
    key = version_key(programme_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=None)
    _cache.pop(programme_id, None)


def programme_data(programme_id: int) -> MatchingData:
    """The programme's mentors (and waiting list), from the cache when still current."""
    today = timezone.localdate()
    version = f"{cache.get(version_key(programme_id), 0)}:{today.isoformat()}"
    entry = _cache.get(programme_id)
    if entry and entry[0] == version and time.monotonic() - entry[1] < CACHE_SECONDS:
        return entry[2]
    data = load_matching_data(programme_id, mentee_ids=[], on=today)
    with _cache_lock:
        _cache[programme_id] = (version, time.monotonic(), data)
    return data


RULE_FAMILIES = (RULE_NOT_MATCHABLE, RULE_LANGUAGE, RULE_MODE, RULE_DISTANCE, RULE_PAIR)


def _rule_families(
    parts: dict, blocked: np.ndarray, not_matchable: np.ndarray, along: int
) -> list[tuple[str, int]]:
    """How many of the ``blocked`` pairs (indices along axis ``along`` of the scored parts) each
    family of rules excluded, most first: the first rule that applies, in ``RULE_FAMILIES``
    order. ``not_matchable`` says, per blocked pair, whether its mentor cannot take anyone."""

    def flag(name: str, default: bool) -> np.ndarray:
        if name not in parts:
            return np.full(len(blocked), default)
        values = parts[name][0] if along == 1 else parts[name][:, 0]
        return values[blocked]

    family = np.select(
        [not_matchable, ~flag("_language_ok", True), ~flag("_mode_ok", True), flag("_too_far", False)],
        [0, 1, 2, 3],
        default=4,
    )
    counts = np.bincount(family, minlength=len(RULE_FAMILIES))
    ranked = sorted(((str(RULE_FAMILIES[k]), int(c)) for k, c in enumerate(counts) if c), key=lambda x: -x[1])
    return ranked


def mentor_suggestions(*, mentee: Mentee, limit: int = 10) -> Suggestions:
    """The best mentors for ``mentee``, each explained, and how many each rule excluded."""
    base = programme_data(mentee.programme_id)
    data = base.with_mentees([mentee.pk], on=timezone.localdate())
    if not len(data.mentee_ids):
        return Suggestions(items=[], excluded=[], considered=0)
    parts: dict = {}
    total, feasible = data._score(np.asarray([0]), None, parts)
    total, feasible = total[0], feasible[0]
    candidates = np.flatnonzero(feasible)
    # Best score first; ties to the mentor with the most free places, then the longest-approved.
    order = np.lexsort(
        (
            data.mentor_ids[candidates],
            data.mentor_since[candidates],
            -data.mentor_free[candidates],
            -total[candidates].astype(np.int32),
        )
    )
    top = candidates[order[:limit]]
    items = data.explain_many(np.zeros(len(top), dtype=np.int64), top)
    blocked = np.flatnonzero(~feasible)
    excluded = _rule_families(parts, blocked, (data.mentor_free <= 0)[blocked], along=1)
    return Suggestions(items=items, excluded=excluded, considered=len(data.mentor_ids))


def mentee_suggestions(*, mentor: Mentor, limit: int = 10) -> Suggestions:
    """The best waiting mentees for ``mentor``, each explained."""
    data = load_matching_data(mentor.programme_id)
    j = data.mentors.index.get(mentor.pk)
    if j is None or not len(data.mentee_ids):
        rule = [(str(RULE_NOT_MATCHABLE), len(data.mentee_ids))] if j is None and len(data.mentee_ids) else []
        return Suggestions(items=[], excluded=rule, considered=len(data.mentee_ids))
    rows = np.arange(len(data.mentee_ids))
    parts: dict = {}
    total, feasible = data._score(rows, np.asarray([j]), parts)
    total, feasible = total[:, 0], feasible[:, 0]
    candidates = np.flatnonzero(feasible)
    order = np.lexsort((candidates, -total[candidates].astype(np.int32)))
    top = candidates[order[:limit]]
    items = data.explain_many(top, np.full(len(top), j, dtype=np.int64))
    blocked = np.flatnonzero(~feasible)
    excluded = _rule_families(parts, blocked, np.full(len(blocked), data.mentor_free[j] <= 0), along=0)
    return Suggestions(items=items, excluded=excluded, considered=len(data.mentee_ids))


def explain_pair(*, mentee: Mentee, mentor: Mentor) -> Explanation:
    """One pair's score and parts, or the rules that exclude it (any mentor of the programme)."""
    data = load_matching_data(mentee.programme_id, mentee_ids=[mentee.pk])
    j = data.mentors.index.get(mentor.pk)
    if j is None:
        return Explanation(
            mentee_id=mentee.pk,
            mentor_id=mentor.pk,
            score=0,
            parts=[],
            excluded_by=[
                gettext("Not approved yet (status: %(status)s).")
                % {"status": mentor.get_status_display().lower()}
            ],
            language_concordant=False,
        )
    return data.explain(0, j)


# Stored texts, worded for their reader ------------------------------------------------------


def reword_parts(parts_lists: Iterable[list[dict]]) -> None:
    """Word the stored parts of scores (``Part.as_dict``, as a batch run keeps them) in the
    active language, in place: each part's ``reason`` is made again from its code and ``args``,
    with the names of the backgrounds and needs read in one query each. A part stored without
    ``args`` keeps the reason it was stored with."""
    parts_lists = list(parts_lists)
    background_ids: set[int] = set()
    need_ids: set[int] = set()
    for parts in parts_lists:
        for part in parts:
            args = part.get("args")
            if isinstance(args, dict):
                background_ids.update(args.get("backgrounds") or ())
                need_ids.update(args.get("needs") or ())
    backgrounds = _names_of(CulturalBackground, background_ids)
    needs = _names_of(Need, need_ids)
    texts = _texts()
    for parts in parts_lists:
        for part in parts:
            args = part.get("args")
            if not isinstance(args, dict):
                continue
            # A part the code no longer words as stored (or malformed) keeps its stored reason.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                part["reason"] = texts.part_reason(part["code"], args, backgrounds=backgrounds, needs=needs)


def unmatched_detail(reason: str, args: dict | None, stored: str) -> str:
    """Why a mentee was left unmatched, worded in the active language from the reason's code
    and ``args`` (``MatchingData.unmatched_cause``); ``stored`` when they do not say enough (a
    row kept before its ``args`` were)."""
    if not isinstance(args, dict):
        return stored
    try:
        return _texts().unmatched_detail(reason, args)
    except (KeyError, TypeError, ValueError):
        return stored
