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

import datetime
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

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
LEVEL_WORDS = {1: "at a basic level", 2: "fluently", 3: "natively"}
USABLE_LEVEL = 2
MODE_BITS = {SessionMode.IN_PERSON: 1, SessionMode.PHONE: 2, SessionMode.VIDEO: 4}
MODE_PHRASES = {
    SessionMode.IN_PERSON: "in person",
    SessionMode.PHONE: "by phone",
    SessionMode.VIDEO: "by video",
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
RULE_NOT_MATCHABLE = "The mentor cannot take a mentee now"
RULE_LANGUAGE = "No common language at a usable level"
RULE_MODE = "No way of meeting in common"
RULE_DISTANCE = "Too far apart for in-person sessions"
RULE_PAIR = "Excluded pair, declined before or forbidden"


@dataclass(frozen=True)
class Part:
    code: str
    points: int
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} ({self.points:+d})".replace("(-", "(−")

    def as_dict(self) -> dict:
        return {"code": self.code, "points": self.points, "reason": self.reason}


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
        person_id__in=person_ids, purpose=ConsentPurpose.BACKGROUND_MATCHING, withdrawn_at__isnull=True
    ).values_list("person_id"):
        consent[position[pid]] = True

    languages: list[list[tuple[str, int, bool]]] = [[] for _ in range(n)]
    backgrounds: list[list[int]] = [[] for _ in range(n)]
    needs: list[list[int]] = [[] for _ in range(n)]
    consented = [pid for pid in person_ids if consent[position[pid]]]
    if consented:
        for pid, code, level, preferred in (
            PersonLanguage.objects.filter(person_id__in=consented)
            .order_by("person_id", "id")
            .values_list("person_id", "language", "level", "is_preferred")
        ):
            languages[position[pid]].append((code, LEVEL_CODES.get(level, 0), preferred))
            if grow_vocab:
                vocab._index(vocab.languages, code)
        through = Person.cultural_backgrounds.through
        for pid, bg in through.objects.filter(person_id__in=consented).values_list(
            "person_id", "culturalbackground_id"
        ):
            backgrounds[position[pid]].append(bg)
            if grow_vocab:
                vocab._index(vocab.backgrounds, bg)
    for pid, need in Person.needs.through.objects.filter(person_id__in=person_ids).values_list(
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
        # Names of backgrounds and needs, read once and shared with ``with_mentees`` copies.
        self._names: dict[str, dict[int, str]] = {}

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
        self.mentor_rules: list[list[str]] = []
        self.mentor_since = np.zeros(m, dtype=np.int64)
        for k, row in enumerate(rows):
            mentor_id, capacity, _status, expires, trained, approved, applied = (row[0], *row[7:])
            rules = []
            if expires is None:
                rules.append("No criminal-record check recorded.")
            elif expires < on:
                rules.append(f"Criminal-record check expired on {expires:%d %b %Y}.")
            if trained is None:
                rules.append("Training not completed.")
            taken = load[mentor_id]
            if taken >= capacity:
                rules.append(f"No free capacity ({taken} of {capacity} places taken).")
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
            qs = qs.filter(pk__in=list(mentee_ids)).order_by("waiting_since", "id")
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

    def _load_pair_rules(self, forbidden: Iterable[tuple[int, int]]) -> None:
        """Pairs that may never be proposed, with the reason in the coordinator's words."""
        mentee_index, mentor_index = self.mentees.index, self.mentors.index
        pairs: dict[int, dict[int, str]] = defaultdict(dict)

        def add(mentee_id: int, mentor_id: int, reason: str) -> None:
            i, j = mentee_index.get(mentee_id), mentor_index.get(mentor_id)
            if i is not None and j is not None:
                pairs[i].setdefault(j, reason)

        mentee_ids = [int(x) for x in self.mentee_ids]
        if mentee_ids:
            reasons = dict(MatchExclusion.Reason.choices)
            for mentee_id, mentor_id, reason in MatchExclusion.objects.filter(
                programme_id=self.programme_id, mentee_id__in=mentee_ids
            ).values_list("mentee_id", "mentor_id", "reason"):
                add(
                    mentee_id,
                    mentor_id,
                    f"On the programme's exclusion list: {reasons.get(reason, reason).lower()}.",
                )
            declines = dict(Match.DeclineReason.choices)
            closures = dict(Match.ClosureReason.choices)
            for mentee_id, mentor_id, status, decline, closure in Match.objects.filter(
                Q(status=Match.Status.DECLINED)
                | Q(status=Match.Status.CLOSED, closure_reason__in=NO_REMATCH_REASONS),
                programme_id=self.programme_id,
                mentee_id__in=mentee_ids,
            ).values_list("mentee_id", "mentor_id", "status", "decline_reason", "closure_reason"):
                if status == Match.Status.DECLINED:
                    add(
                        mentee_id,
                        mentor_id,
                        f"The mentor declined this mentee before ({declines.get(decline, '').lower()}).",
                    )
                else:
                    add(
                        mentee_id,
                        mentor_id,
                        f"An earlier match of the two closed: {closures.get(closure, '').lower()}.",
                    )
        for mentee_id, mentor_id in forbidden:
            add(int(mentee_id), int(mentor_id), "Forbidden by the coordinator in this batch run.")
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
        for start in range(0, len(rows), EXPLAIN_CHUNK):
            chunk_rows, chunk_cols = rows[start : start + EXPLAIN_CHUNK], cols[start : start + EXPLAIN_CHUNK]
            parts: dict[str, np.ndarray] = {}
            total, _ = self._score(chunk_rows, chunk_cols, parts)
            for a, (i, j) in enumerate(zip(chunk_rows.tolist(), chunk_cols.tolist(), strict=True)):
                out.append(self._explanation(i, j, a, total, parts))
        return out

    def _explanation(self, i: int, j: int, a: int, total: np.ndarray, parts: dict) -> Explanation:
        """The explanation of the pair on the diagonal entry ``a`` of a scored chunk."""
        value = {code: int(arr[a, a]) for code, arr in parts.items() if not code.startswith("_")}
        out: list[Part] = []
        both = bool(self.mentee_consent[i] and self.mentor_consent[j])
        if not both:
            out.append(
                Part(
                    "consent_missing",
                    0,
                    "Language and background not used: consent to matching on them is missing",
                )
            )
        if value.get("preferred_language"):
            level = int(self.mentor_level[self.mentee_pref[i], j])
            out.append(
                Part(
                    "preferred_language",
                    value["preferred_language"],
                    f"Speaks {language_name(self.mentee_pref_code[i])} {LEVEL_WORDS[level]}, "
                    "the mentee's preferred language",
                )
            )
        if value.get("shared_language"):
            bits = set(_bits(self.mentee_other[i] & self.mentor_usable[j]))
            spoken = [c for c in self.mentee_language_codes[i] if self.vocab.languages.get(c, -1) in bits]
            out.append(
                Part(
                    "shared_language",
                    value["shared_language"],
                    "Also speaks " + _and_list([language_name(c) for c in spoken]),
                )
            )
        if value.get("shared_background"):
            bg_names = self._background_names()
            bits = _bits(self.mentee_bg[i] & self.mentor_bg[j])
            out.append(
                Part(
                    "shared_background",
                    value["shared_background"],
                    "Shares " + _and_list([bg_names[b] for b in bits]) + " background",
                )
            )
        if value.get("availability"):
            slots = [
                s
                for s in AVAILABILITY_SLOTS
                if SLOT_BITS[s] & int(self.mentee_avail[i]) & int(self.mentor_avail[j])
            ]
            label = "weekly time slot" if len(slots) == 1 else "weekly time slots"
            out.append(
                Part(
                    "availability",
                    value["availability"],
                    f"{len(slots)} {label} in common ({', '.join(_slot_label(s) for s in slots)})",
                )
            )
        if value.get("session_mode"):
            common = int(parts["_common_modes"][a, a])
            modes = [MODE_PHRASES[mode] for mode, bit in MODE_BITS.items() if common & bit]
            out.append(Part("session_mode", value["session_mode"], "Both can meet " + _or_list(modes)))
        if "_in_person" in parts and parts["_in_person"][a, a]:
            km = float(parts["_km"][a, a])
            out.append(
                Part(
                    "distance", value["distance"], f"{km:.0f} km apart" if km >= 1 else "Less than 1 km apart"
                )
            )
        if value.get("needs"):
            need_names = self._need_names()
            bits = _bits(self.mentee_needs[i] & self.mentor_needs[j])
            out.append(
                Part("needs", value["needs"], "Strong in " + _and_list([need_names[b] for b in bits]).lower())
            )
        if value.get("gender_preference"):
            out.append(
                Part("gender_preference", value["gender_preference"], "The gender the family asked for")
            )
        if value.get("family_continuity"):
            out.append(
                Part(
                    "family_continuity", value["family_continuity"], "Already mentors someone in this family"
                )
            )
        if value.get("wait"):
            weeks = int(self.mentee_wait_weeks[i])
            out.append(Part("wait", value["wait"], f"Waiting {weeks} week{'s' if weeks != 1 else ''}"))

        excluded = list(self.mentor_rules[j])
        if not excluded and self.mentor_free[j] <= 0:
            excluded.append("No free capacity.")
        if "_language_ok" in parts and not parts["_language_ok"][a, a]:
            excluded.append(
                "No common language at a usable level, and no interpreter arranged "
                f"(the mentee speaks {_or_list([language_name(c) for c in self.mentee_language_codes[i]])})."
            )
        if not parts["_mode_ok"][a, a]:
            excluded.append("No way of meeting in common.")
        if "_too_far" in parts and parts["_too_far"][a, a]:
            km, limit = float(parts["_km"][a, a]), self.weights.max_distance_km
            excluded.append(
                f"{km:.0f} km apart, beyond the programme's {limit} km for pairs who can only meet in person."
            )
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
        """Why mentee ``i`` is left unmatched: the first rule that leaves no mentor, else that
        the suitable mentors went to others."""
        free = self.mentor_free > 0
        if not free.any():
            return "no_mentor", "No matchable mentor in the programme."
        parts: dict = {}
        total, feasible = self._score(np.asarray([i]), None, parts)
        language_ok = parts.get("_language_ok", np.ones_like(feasible))[0] & free
        mode_ok = parts["_mode_ok"][0] & language_ok
        near_ok = mode_ok & ~parts["_too_far"][0] if "_too_far" in parts else mode_ok
        pref = self.mentee_pref_code[i]
        language = language_name(pref) if pref else ""
        if not language_ok.any():
            spoken = _or_list([language_name(c) for c in self.mentee_language_codes[i]]) or language
            return "no_language", f"No matchable mentor speaks {spoken} at a usable level."
        if not mode_ok.any():
            wanted = [
                str(mode.label).lower() for mode, bit in MODE_BITS.items() if int(self.mentee_modes[i]) & bit
            ]
            return "no_mode", f"No matchable mentor who shares a language offers {_or_list(wanted)} sessions."
        if not near_ok.any():
            within = f"within {self.weights.max_distance_km} km"
            who = f"speaks {language}" if language else "shares a language"
            return "too_far", f"No matchable mentor who {who} is {within} for in-person sessions."
        if not feasible[0].any():
            return (
                "excluded",
                "Every suitable mentor is excluded for this mentee (exclusion list, declined or forbidden).",
            )
        if int(total[0][feasible[0]].max()) <= 0:
            return "not_worth", "No suitable mentor scores above zero for this mentee."
        count = int(np.count_nonzero(feasible[0]))
        return (
            "outscored",
            f"The {count} suitable mentor{'s' if count != 1 else ''} were all proposed to other mentees.",
        )

    def mentee_language(self, i: int) -> str:
        return self.mentee_pref_code[i] if self.mentee_consent[i] else ""

    def mentee_background_id(self, i: int) -> int | None:
        bgs = self.mentee_bg_ids[i]
        return bgs[0] if bgs and self.mentee_consent[i] else None

    # -- names (read once per data set, only when explaining) -------------------------------

    def _background_names(self) -> dict[int, str]:
        if "backgrounds" not in self._names:
            names = dict(
                CulturalBackground.objects.filter(pk__in=list(self.vocab.backgrounds)).values_list(
                    "id", "name"
                )
            )
            self._names["backgrounds"] = {
                idx: names.get(pk, "") for pk, idx in self.vocab.backgrounds.items()
            }
        return self._names["backgrounds"]

    def _need_names(self) -> dict[int, str]:
        if "needs" not in self._names:
            names = dict(Need.objects.filter(pk__in=list(self.vocab.needs)).values_list("id", "name"))
            self._names["needs"] = {idx: names.get(pk, "") for pk, idx in self.vocab.needs.items()}
        return self._names["needs"]

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


def _bits(mask: np.ndarray) -> list[int]:
    return [w * 64 + b for w, value in enumerate(mask) for b in range(64) if int(value) >> b & 1]


def _slot_label(slot: str) -> str:
    day, part = slot.split("_")
    days = {
        "mon": "Monday",
        "tue": "Tuesday",
        "wed": "Wednesday",
        "thu": "Thursday",
        "fri": "Friday",
        "sat": "Saturday",
        "sun": "Sunday",
    }
    return f"{days[day]} {part}"


def _and_list(items: list[str]) -> str:
    items = [x for x in items if x]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _or_list(items: list[str]) -> str:
    items = [x for x in items if x]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1] if items else ""


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
    ranked = sorted(((RULE_FAMILIES[k], int(c)) for k, c in enumerate(counts) if c), key=lambda x: -x[1])
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
        rule = [(RULE_NOT_MATCHABLE, len(data.mentee_ids))] if j is None and len(data.mentee_ids) else []
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
            excluded_by=[f"Not approved yet (status: {mentor.get_status_display().lower()})."],
            language_concordant=False,
        )
    return data.explain(0, j)
