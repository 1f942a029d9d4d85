"""The scoring engine: each named part and hard rule on its own, explanations that sum to the
score, consent, and the block scorer agreeing with one-pair explanations."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from matching.engine import explain_pair, load_matching_data, mentor_suggestions
from matching.models import Match, MatchExclusion, ScoringConfig
from mentoring.models import LanguageLevel, Mentee, Need
from tests.factories import CulturalBackgroundFactory, MatchFactory, MenteeFactory, MentorFactory

NATIVE, FLUENT, BASIC = LanguageLevel.NATIVE, LanguageLevel.FLUENT, LanguageLevel.BASIC


def _mentor(programme, languages, **person):
    return MentorFactory(
        programme=programme,
        approved=True,
        person__languages=languages,
        **{f"person__{k}": v for k, v in person.items()},
    )


def _mentee(programme, languages, **person):
    extra = {
        k: person.pop(k)
        for k in list(person)
        if k in ("interpreter_arranged", "preferred_mentor_gender", "family")
    }
    return MenteeFactory(
        programme=programme,
        person__languages=languages,
        **extra,
        **{f"person__{k}": v for k, v in person.items()},
    )


def _parts(mentee, mentor) -> dict[str, int]:
    return {p.code: p.points for p in explain_pair(mentee=mentee, mentor=mentor).parts}


@pytest.mark.django_db
def test_preferred_language_counts_by_the_mentors_level(programme):
    mentee = _mentee(programme, [("ar", NATIVE), ("ro", BASIC)])
    native = _mentor(programme, [("ar", NATIVE), ("ro", NATIVE)])
    fluent = _mentor(programme, [("ar", FLUENT), ("ro", NATIVE)])
    basic = _mentor(programme, [("ar", BASIC), ("ro", NATIVE)])
    assert _parts(mentee, native)["preferred_language"] == 40
    assert _parts(mentee, fluent)["preferred_language"] == 30
    assert _parts(mentee, basic)["preferred_language"] == 10
    explanation = explain_pair(mentee=mentee, mentor=native)
    assert str(explanation.parts[0]) == "Speaks Arabic natively, the mentee's preferred language (+40)"
    assert explanation.language_concordant


@pytest.mark.django_db
def test_other_shared_languages_backgrounds_needs_slots_and_modes_each_add_their_weight(programme):
    roma = CulturalBackgroundFactory(programme=programme, name="Roma")
    homework = Need.objects.create(programme=programme, name="Homework support")
    mentee = _mentee(
        programme,
        [("ro", NATIVE), ("hu", FLUENT), ("en", FLUENT)],
        backgrounds=[],
        availability=["mon_evening", "wed_evening", "sat_morning"],
        session_modes=["video"],
    )
    mentee.person.cultural_backgrounds.add(roma)
    mentee.person.needs.add(homework)
    mentor = _mentor(
        programme,
        [("ro", NATIVE), ("hu", NATIVE), ("en", FLUENT)],
        backgrounds=[],
        availability=["mon_evening", "wed_evening"],
        session_modes=["video", "phone"],
    )
    mentor.person.cultural_backgrounds.add(roma)
    mentor.person.needs.add(homework)
    parts = _parts(mentee, mentor)
    assert parts == {
        "preferred_language": 40,
        "shared_language": 10,
        "shared_background": 25,
        "availability": 8,
        "session_mode": 5,
        "needs": 6,
    }
    reasons = [str(p) for p in explain_pair(mentee=mentee, mentor=mentor).parts]
    assert "Also speaks Hungarian and English (+10)" in reasons
    assert "Shares Roma background (+25)" in reasons
    assert "2 weekly time slots in common (Monday evening, Wednesday evening) (+8)" in reasons
    assert "Both can meet by video (+5)" in reasons


@pytest.mark.django_db
def test_weights_are_the_programmes_own(programme):
    ScoringConfig.objects.create(programme=programme, preferred_language_native=70, shared_language=0)
    mentee = _mentee(programme, [("ar", NATIVE), ("en", FLUENT)])
    mentor = _mentor(programme, [("ar", NATIVE), ("en", FLUENT)])
    assert _parts(mentee, mentor) == {"preferred_language": 70}


@pytest.mark.django_db
def test_distance_costs_a_point_per_step_and_rules_out_far_in_person_pairs(programme):
    # Brussels centre and about 9 km east; and Antwerp, about 41 km north.
    mentee = _mentee(
        programme, [("ro", NATIVE)], latitude=50.8467, longitude=4.3525, session_modes=["in_person"]
    )
    near = _mentor(
        programme, [("ro", NATIVE)], latitude=50.8467, longitude=4.4850, session_modes=["in_person"]
    )
    far = _mentor(
        programme, [("ro", NATIVE)], latitude=51.2194, longitude=4.4025, session_modes=["in_person"]
    )
    far_remote = _mentor(
        programme, [("ro", NATIVE)], latitude=51.2194, longitude=4.4025, session_modes=["in_person", "video"]
    )
    near_explanation = explain_pair(mentee=mentee, mentor=near)
    assert "9 km apart (−6)" in [str(p) for p in near_explanation.parts]
    assert near_explanation.feasible
    far_explanation = explain_pair(mentee=mentee, mentor=far)
    assert not far_explanation.feasible
    assert "beyond the programme's 30 km" in far_explanation.excluded_by[0]
    # No way of meeting in common with the one who also offers video: the mentee only meets in person.
    assert explain_pair(mentee=mentee, mentor=far_remote).feasible is False


@pytest.mark.django_db
def test_no_common_usable_language_excludes_unless_an_interpreter_is_arranged(programme):
    mentee = _mentee(programme, [("ti", NATIVE), ("ro", BASIC)])
    mentor = _mentor(programme, [("ro", NATIVE)])
    explanation = explain_pair(mentee=mentee, mentor=mentor)
    assert not explanation.feasible
    assert explanation.excluded_by[0].startswith("No common language at a usable level")
    mentee.interpreter_arranged = True
    mentee.save()
    assert explain_pair(mentee=mentee, mentor=mentor).feasible


@pytest.mark.django_db
def test_without_consent_language_and_background_are_not_used(programme):
    mentee = _mentee(programme, [("ti", NATIVE)], consents=[])
    mentor = _mentor(programme, [("ti", NATIVE)])
    explanation = explain_pair(mentee=mentee, mentor=mentor)
    assert [p.code for p in explanation.parts] == ["consent_missing"]
    assert explanation.score == 0
    assert not explanation.language_concordant
    assert explanation.feasible  # the language rule cannot be checked without consent


@pytest.mark.django_db
def test_unmatchable_mentors_exclusions_and_declines_name_their_rule(programme, coordinator):
    mentee = _mentee(programme, [("ro", NATIVE)])
    expired = _mentor(programme, [("ro", NATIVE)])
    expired.record_check_expires_on = datetime.date(2020, 1, 1)
    expired.save()
    assert explain_pair(mentee=mentee, mentor=expired).excluded_by == [
        "Criminal-record check expired on 01 Jan 2020."
    ]
    relative = _mentor(programme, [("ro", NATIVE)])
    MatchExclusion.objects.create(programme=programme, mentor=relative, mentee=mentee, reason="relative")
    assert explain_pair(mentee=mentee, mentor=relative).excluded_by == [
        "On the programme's exclusion list: relatives."
    ]
    decliner = _mentor(programme, [("ro", NATIVE)])
    MatchFactory(
        programme=programme,
        mentor=decliner,
        mentee=mentee,
        status=Match.Status.DECLINED,
        declined_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        decline_reason=Match.DeclineReason.NO_TIME,
    )
    assert explain_pair(mentee=mentee, mentor=decliner).excluded_by == [
        "The mentor declined this mentee before (no time at the moment)."
    ]
    suggested = [s.mentor_id for s in mentor_suggestions(mentee=mentee).items]
    assert expired.pk not in suggested and relative.pk not in suggested and decliner.pk not in suggested


@pytest.mark.django_db
def test_family_continuity_and_gender_wish(programme):
    sibling = _mentee(programme, [("ro", NATIVE)])
    mentor = _mentor(programme, [("ro", NATIVE)], gender="Female")
    MatchFactory(programme=programme, mentor=mentor, mentee=sibling, status=Match.Status.ACTIVE)
    mentee = _mentee(programme, [("ro", NATIVE)], family=sibling.family, preferred_mentor_gender="female")
    parts = _parts(mentee, mentor)
    assert parts["family_continuity"] == 20
    assert parts["gender_preference"] == 10


@pytest.mark.django_db
def test_block_scores_equal_the_sum_of_every_explanation(programme):
    rng = np.random.default_rng(7)
    codes = ["ro", "hu", "ar", "uk", "en"]
    slots = ["mon_evening", "tue_evening", "sat_morning", "sun_afternoon"]
    for _ in range(8):
        langs = [(c, [NATIVE, FLUENT, BASIC][rng.integers(3)]) for c in rng.choice(codes, 2, replace=False)]
        _mentor(
            programme,
            langs,
            availability=list(rng.choice(slots, 2, replace=False)),
            latitude=50.8 + rng.random() * 0.3,
            longitude=4.3 + rng.random() * 0.3,
        )
    for _ in range(10):
        langs = [(c, [NATIVE, FLUENT, BASIC][rng.integers(3)]) for c in rng.choice(codes, 2, replace=False)]
        mentee = _mentee(
            programme,
            langs,
            availability=list(rng.choice(slots, 2, replace=False)),
            latitude=50.8 + rng.random() * 0.3,
            longitude=4.3 + rng.random() * 0.3,
        )
        mentee.status = "waiting"
        mentee.save()
    # Two waiting siblings of a mentee one mentor already mentors: family continuity.
    mentor = programme.mentors.first()
    mentor.capacity = 3
    mentor.save()
    sibling = MatchFactory(programme=programme, mentor=mentor, status=Match.Status.ACTIVE).mentee
    for _ in range(2):
        _mentee(programme, [("ro", NATIVE)], family=sibling.family)
    Mentee.objects.filter(family=sibling.family).exclude(pk=sibling.pk).update(status=Mentee.Status.WAITING)
    data = load_matching_data(programme.pk)
    scores, feasible = data.score_block(np.arange(len(data.mentee_ids)))
    assert scores.shape == (len(data.mentee_ids), len(data.mentor_ids)) and scores.any()
    for i in range(len(data.mentee_ids)):
        for j in range(len(data.mentor_ids)):
            explanation = data.explain(i, j)
            assert explanation.score == scores[i, j] == sum(p.points for p in explanation.parts)
            assert explanation.feasible == feasible[i, j]
    # Explained together, each mentor standing in many pairs of a chunk: the same answers.
    rows, cols = np.indices(scores.shape).reshape(2, -1)
    together = data.explain_many(rows, cols)
    assert [e.score for e in together] == scores.ravel().tolist()
    assert any(p.code == "family_continuity" for e in together for p in e.parts)
    assert [e.feasible for e in together] == feasible.ravel().tolist()


@pytest.mark.django_db
def test_suggestions_rank_language_first_and_count_the_excluded(
    programme, mentor, other_mentor, waiting_mentee
):
    result = mentor_suggestions(mentee=waiting_mentee)
    assert [s.mentor_id for s in result.items][0] == mentor.pk  # speaks Ukrainian natively
    assert result.considered == 2
