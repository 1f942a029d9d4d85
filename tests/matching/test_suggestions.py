"""Explained suggestions: the best mentors for a waiting mentee and the best waiting mentees for a
mentor through the API, the explanation of one pair ("why not this mentor?"), and the
coordinator's matching page that shows them and makes the match in one action."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from matching.models import Match, MatchExclusion
from mentoring.models import AuditEvent, ConsentPurpose, LanguageLevel, Mentee, Mentor
from tests.factories import MatchFactory, MenteeFactory, MentorFactory

pytestmark = pytest.mark.django_db

NO_COMMON_LANGUAGE = "No common language at a usable level"
CANNOT_TAKE_A_MENTEE = "The mentor cannot take a mentee now"
EXCLUDED_PAIR = "Excluded pair, declined before or forbidden"
LANGUAGE_AND_BACKGROUND = {"preferred_language", "shared_language", "shared_background"}


def _mentor_suggestions(mentee, limit: int | None = None) -> str:
    url = reverse("api-mentee-suggestions", kwargs={"mentee_id": mentee.pk})
    return url if limit is None else f"{url}?limit={limit}"


def _mentee_suggestions(mentor) -> str:
    return reverse("api-mentor-suggestions", kwargs={"mentor_id": mentor.pk})


def _pair(mentee, mentor) -> str:
    return reverse("api-mentee-suggestion-detail", kwargs={"mentee_id": mentee.pk, "mentor_id": mentor.pk})


def _mentor_ids(response) -> list[int]:
    return [row["mentor"]["id"] for row in response.json()["results"]]


def _excluded(response) -> dict[str, int]:
    return {row["rule"]: row["count"] for row in response.json()["excluded"]}


def _codes(row) -> set[str]:
    return {part["code"] for part in row["parts"]}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def ukrainian_speaker(programme):
    """Speaks the mentee's preferred language natively, shares nothing else."""
    return MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Oksana",
        person__last_name="Melnyk",
        person__languages=[("uk", LanguageLevel.NATIVE)],
        person__backgrounds=[],
    )


@pytest.fixture
def romanian_ukrainian(programme):
    """Shares the mentee's background and her second language, not her preferred one."""
    return MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Andrei",
        person__last_name="Moldovan",
        person__languages=[("ro", LanguageLevel.NATIVE)],
        person__backgrounds=["ukrainian"],
    )


@pytest.fixture
def bilingual_mentee(programme):
    """A Ukrainian mother who prefers Ukrainian and also speaks Romanian fluently."""
    return MenteeFactory(
        programme=programme,
        person__first_name="Halyna",
        person__last_name="Bondar",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
        person__backgrounds=["ukrainian"],
    )


# --- The mentors suggested for a mentee -------------------------------------------------------


def test_suggestions_answer_each_mentor_with_score_parts_concordance_and_free_places(
    client_for, coordinator, mentor, waiting_mentee
):
    response = client_for(coordinator).get(_mentor_suggestions(waiting_mentee))

    assert response.status_code == 200
    body = response.json()
    assert body["mentee"] == waiting_mentee.pk
    assert body["considered"] == 1
    (row,) = body["results"]
    assert row["mentor"] == {"id": mentor.pk, "first_name": "Olena", "last_name": "Kovalenko", "capacity": 2}
    assert row["language_concordant"] is True
    assert row["free_places"] == 2
    assert {"code": "shared_background", "points": 25, "reason": "Shares Ukrainian background"} in row[
        "parts"
    ]
    preferred = next(part for part in row["parts"] if part["code"] == "preferred_language")
    assert preferred["points"] == 40
    assert "Ukrainian" in preferred["reason"]


def test_the_mentor_who_speaks_the_preferred_language_is_suggested_first(
    client_for, coordinator, ukrainian_speaker, romanian_ukrainian, bilingual_mentee
):
    response = client_for(coordinator).get(_mentor_suggestions(bilingual_mentee))

    first, second = response.json()["results"]
    assert [first["mentor"]["id"], second["mentor"]["id"]] == [ukrainian_speaker.pk, romanian_ukrainian.pk]
    assert first["score"] > second["score"]
    assert (first["language_concordant"], second["language_concordant"]) == (True, False)
    assert _codes(first) == {"preferred_language"}
    assert _codes(second) == {"shared_language", "shared_background"}


def test_every_score_is_the_sum_of_its_parts(
    client_for, coordinator, mentor, ukrainian_speaker, romanian_ukrainian, bilingual_mentee
):
    api = client_for(coordinator)

    rows = api.get(_mentor_suggestions(bilingual_mentee)).json()["results"]
    rows += api.get(_mentee_suggestions(mentor)).json()["results"]

    assert len(rows) == 4
    for row in rows:
        assert row["score"] == sum(part["points"] for part in row["parts"]), row


def test_limit_keeps_only_the_best(
    client_for, coordinator, ukrainian_speaker, romanian_ukrainian, bilingual_mentee
):
    response = client_for(coordinator).get(_mentor_suggestions(bilingual_mentee, limit=1))

    assert _mentor_ids(response) == [ukrainian_speaker.pk]
    assert response.json()["considered"] == 2


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1", "2.5"])
def test_a_bad_limit_is_refused_with_a_message_on_the_field(client_for, coordinator, waiting_mentee, limit):
    response = client_for(coordinator).get(f"{_mentor_suggestions(waiting_mentee)}?limit={limit}")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "limit"
    assert error["message"]


def test_the_excluded_summary_counts_the_mentors_each_hard_rule_left_out(
    client_for, coordinator, programme, mentor, waiting_mentee
):
    for _ in range(2):  # speak neither of the mentee's languages
        MentorFactory(programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)])
    full = MentorFactory(programme=programme, approved=True, capacity=1)
    MatchFactory(programme=programme, mentor=full)
    MentorFactory(programme=programme, status=Mentor.Status.TRAINING)  # not a candidate at all

    response = client_for(coordinator).get(_mentor_suggestions(waiting_mentee))

    assert _mentor_ids(response) == [mentor.pk]
    assert _excluded(response) == {NO_COMMON_LANGUAGE: 2, CANNOT_TAKE_A_MENTEE: 1}
    assert response.json()["considered"] == 4
    counts = [row["count"] for row in response.json()["excluded"]]
    assert counts == sorted(counts, reverse=True)


def test_an_excluded_pair_and_a_declined_pair_are_not_suggested(
    client_for, coordinator, programme, mentor, waiting_mentee
):
    relative = MentorFactory(
        programme=programme, approved=True, person__languages=[("uk", LanguageLevel.NATIVE)]
    )
    declined = MentorFactory(
        programme=programme, approved=True, person__languages=[("uk", LanguageLevel.NATIVE)]
    )
    MatchExclusion.objects.create(
        programme=programme, mentor=relative, mentee=waiting_mentee, reason=MatchExclusion.Reason.RELATIVE
    )
    MatchFactory(
        programme=programme,
        mentor=declined,
        mentee=waiting_mentee,
        status=Match.Status.DECLINED,
        started_on=None,
        declined_at=timezone.now(),
        decline_reason=Match.DeclineReason.NO_TIME,
    )
    api = client_for(coordinator)

    response = api.get(_mentor_suggestions(waiting_mentee))

    assert _mentor_ids(response) == [mentor.pk]
    assert _excluded(response) == {EXCLUDED_PAIR: 2}
    why_not = api.get(_pair(waiting_mentee, relative)).json()
    assert why_not["feasible"] is False
    assert any("exclusion list" in rule for rule in why_not["excluded_by"])
    assert any("declined" in rule for rule in api.get(_pair(waiting_mentee, declined)).json()["excluded_by"])


def test_language_and_background_are_not_used_without_the_mentees_consent(
    client_for, coordinator, programme, mentor
):
    mentee = MenteeFactory(
        programme=programme,
        person__languages=[("uk", LanguageLevel.NATIVE)],
        person__backgrounds=["ukrainian"],
        person__consents=[ConsentPurpose.CASE_MANAGEMENT],
    )

    (row,) = client_for(coordinator).get(_mentor_suggestions(mentee)).json()["results"]

    assert row["score"] == 0
    assert row["language_concordant"] is False
    assert not _codes(row) & LANGUAGE_AND_BACKGROUND
    consent = row["parts"][0]
    assert (consent["code"], consent["points"]) == ("consent_missing", 0)


def test_a_mentor_who_withdrew_consent_is_scored_without_language_or_background(
    client_for, coordinator, mentor, waiting_mentee
):
    mentor.person.consents.filter(purpose=ConsentPurpose.BACKGROUND_MATCHING).update(
        withdrawn_at=timezone.now()
    )
    mentor.person.save()  # any change to the person refreshes the programme's suggestions

    (row,) = client_for(coordinator).get(_mentor_suggestions(waiting_mentee)).json()["results"]

    assert not _codes(row) & LANGUAGE_AND_BACKGROUND
    assert "consent_missing" in _codes(row)


def test_reading_suggestions_audits_the_mentee_read(client_for, coordinator, mentor, waiting_mentee):
    client_for(coordinator).get(_mentor_suggestions(waiting_mentee))

    assert AuditEvent.objects.filter(
        user=coordinator, action="read", object_type="mentoring.Mentee", object_id=str(waiting_mentee.pk)
    ).exists()


def test_suggestions_cost_the_same_queries_for_3_and_for_30_mentors(
    client_for, coordinator, programme, waiting_mentee, django_assert_max_num_queries
):
    api = client_for(coordinator)

    def add_mentors(count: int) -> None:
        for k in range(count):
            MentorFactory(
                programme=programme,
                approved=True,
                person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
                person__backgrounds=["ukrainian" if k % 2 else "roma"],
            )

    add_mentors(3)
    # Adding mentors moves the programme's version: both requests build its arrays afresh.
    with CaptureQueriesContext(connection) as three:
        assert len(api.get(_mentor_suggestions(waiting_mentee)).json()["results"]) == 3
    add_mentors(27)
    with django_assert_max_num_queries(len(three)):
        assert len(api.get(_mentor_suggestions(waiting_mentee, limit=30)).json()["results"]) == 30
    with django_assert_max_num_queries(15):  # from the cache: the request's own reads and writes
        assert len(api.get(_mentor_suggestions(waiting_mentee, limit=30)).json()["results"]) == 30


# --- The waiting mentees suggested for a mentor ----------------------------------------------


def test_a_mentors_suggestions_are_the_waiting_mentees_best_first(
    client_for, coordinator, programme, mentor, waiting_mentee
):
    romanian = MenteeFactory(programme=programme, person__languages=[("ro", LanguageLevel.NATIVE)])
    MenteeFactory(programme=programme, person__languages=[("ti", LanguageLevel.NATIVE)])  # Tigrinya only
    MatchFactory(programme=programme)  # a matched mentee is not waiting

    response = client_for(coordinator).get(_mentee_suggestions(mentor))

    assert response.status_code == 200
    body = response.json()
    assert body["mentor"] == mentor.pk
    assert [row["mentee"]["id"] for row in body["results"]] == [waiting_mentee.pk, romanian.pk]
    first = body["results"][0]
    assert first["mentee"]["first_name"] == "Iryna"
    assert first["language_concordant"] is True
    assert body["results"][0]["score"] > body["results"][1]["score"]
    assert {row["rule"]: row["count"] for row in body["excluded"]} == {NO_COMMON_LANGUAGE: 1}


# --- One pair: why (not) this mentor ----------------------------------------------------------


def test_the_explanation_of_a_suggested_pair_matches_its_suggestion(
    client_for, coordinator, mentor, waiting_mentee
):
    api = client_for(coordinator)

    pair = api.get(_pair(waiting_mentee, mentor)).json()
    (suggested,) = api.get(_mentor_suggestions(waiting_mentee)).json()["results"]

    assert pair["feasible"] is True and pair["excluded_by"] == []
    assert pair["mentor"]["id"] == mentor.pk
    assert (pair["score"], pair["parts"]) == (suggested["score"], suggested["parts"])
    assert pair["free_places"] == 2


def test_why_not_names_the_rules_that_exclude_the_mentor(client_for, coordinator, programme, waiting_mentee):
    applicant = MentorFactory(programme=programme)
    hungarian = MentorFactory(
        programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)]
    )
    api = client_for(coordinator)

    not_approved = api.get(_pair(waiting_mentee, applicant)).json()
    no_language = api.get(_pair(waiting_mentee, hungarian)).json()

    assert not_approved["feasible"] is False
    assert any("Not approved yet" in rule for rule in not_approved["excluded_by"])
    assert no_language["feasible"] is False
    assert any(rule.startswith(NO_COMMON_LANGUAGE) for rule in no_language["excluded_by"])


# --- Who may ask ------------------------------------------------------------------------------


def test_another_programmes_coordinator_is_told_not_found(
    client_for, other_coordinator, mentor, waiting_mentee
):
    api = client_for(other_coordinator)

    for url in (
        _mentor_suggestions(waiting_mentee),
        _mentee_suggestions(mentor),
        _pair(waiting_mentee, mentor),
    ):
        assert api.get(url).status_code == 404, url


def test_a_mentor_of_another_programme_is_not_found_for_a_pair(
    client_for, coordinator, other_programme, waiting_mentee
):
    foreign = MentorFactory(programme=other_programme, approved=True)

    response = client_for(coordinator).get(_pair(waiting_mentee, foreign))

    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Mentor not found."


@pytest.mark.parametrize("who", ["own_mentor", "manager"])
def test_mentors_and_managers_cannot_browse_suggestions(client_for, manager, programme, mentor, who):
    match = MatchFactory(programme=programme, mentor=mentor)
    user = mentor.user if who == "own_mentor" else manager
    api = client_for(user)

    for url in (_mentor_suggestions(match.mentee), _mentee_suggestions(mentor), _pair(match.mentee, mentor)):
        response = api.get(url)
        assert response.status_code == 404, url
    assert AuditEvent.objects.filter(user=user, action="denied").count() == 3


def test_an_admin_reads_suggestions(client_for, admin_user, mentor, waiting_mentee):
    response = client_for(admin_user).get(_mentor_suggestions(waiting_mentee))

    assert response.status_code == 200
    assert _mentor_ids(response) == [mentor.pk]


# --- The coordinator's matching page ----------------------------------------------------------


def _page(mentee, **query) -> str:
    url = reverse("matching:match-create", args=[mentee.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_matching_page_shows_each_suggestion_with_its_explanation(
    client, coordinator, programme, mentor, waiting_mentee
):
    MentorFactory(programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)])
    client.force_login(coordinator)

    response = client.get(_page(waiting_mentee))

    assert response.status_code == 200
    text = _text(response)
    assert mentor.person.full_name in text
    assert "Shares Ukrainian background (+25)" in text
    assert "Speaks Ukrainian natively" in text
    assert "Propose to mentor" in text and "Match now" in text
    assert f"{NO_COMMON_LANGUAGE} 1" in text  # the excluded-rules summary
    assert "2 mentors considered" in text


def test_one_click_on_propose_proposes_the_match_to_the_mentor(client, coordinator, mentor, waiting_mentee):
    client.force_login(coordinator)

    response = client.post(
        _page(waiting_mentee), {"mentor": mentor.pk, "action": "propose", "back": "matching"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("mentee-waiting-list")
    assert "is proposed to Olena Kovalenko" in _text(response)
    match = Match.objects.get(mentee=waiting_mentee)
    assert (match.mentor, match.status, match.proposed_by) == (mentor, Match.Status.PROPOSED, coordinator)
    assert match.score == 65


def test_one_click_on_match_now_starts_the_match(client, coordinator, mentor, waiting_mentee):
    client.force_login(coordinator)

    client.post(_page(waiting_mentee), {"mentor": mentor.pk, "action": "match", "back": "matching"})

    match = Match.objects.get(mentee=waiting_mentee)
    assert match.status == Match.Status.ACTIVE
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.MATCHED


def test_a_refused_match_is_explained_back_on_the_matching_page(
    client, coordinator, programme, mentor, waiting_mentee
):
    MatchExclusion.objects.create(
        programme=programme, mentor=mentor, mentee=waiting_mentee, reason=MatchExclusion.Reason.RELATIVE
    )
    client.force_login(coordinator)

    response = client.post(
        _page(waiting_mentee), {"mentor": mentor.pk, "action": "match", "back": "matching"}, follow=True
    )

    assert response.redirect_chain[-1][0] == _page(waiting_mentee)
    assert "exclusion list" in _text(response)
    assert not Match.objects.filter(mentee=waiting_mentee).exists()


def test_checking_a_mentor_shows_the_rules_that_exclude_them(client, coordinator, programme, waiting_mentee):
    hungarian = MentorFactory(
        programme=programme, approved=True, person__languages=[("hu", LanguageLevel.NATIVE)]
    )
    client.force_login(coordinator)

    response = client.get(_page(waiting_mentee, mentor=hungarian.pk))

    text = _text(response)
    assert "This mentor cannot be matched with this mentee" in text
    assert NO_COMMON_LANGUAGE in text
    assert 'data-feasible="no"' in response.content.decode()


def test_checking_a_mentor_who_fits_offers_the_match(client, coordinator, mentor, waiting_mentee):
    client.force_login(coordinator)

    response = client.get(_page(waiting_mentee, mentor=mentor.pk))

    assert 'data-feasible="yes"' in response.content.decode()
    assert "Shares Ukrainian background (+25)" in _text(response)


def test_checking_a_mentor_of_another_programme_is_a_form_error(
    client, coordinator, other_programme, waiting_mentee
):
    foreign = MentorFactory(programme=other_programme, approved=True)
    client.force_login(coordinator)

    response = client.get(_page(waiting_mentee, mentor=foreign.pk))

    assert response.status_code == 422
    assert "Choose a mentor of this programme." in _text(response)


def test_a_mentee_with_a_proposed_match_gets_no_new_suggestions(
    client, coordinator, programme, mentor, waiting_mentee
):
    MatchFactory(programme=programme, mentee=waiting_mentee, status=Match.Status.PROPOSED, started_on=None)
    client.force_login(coordinator)

    text = _text(client.get(_page(waiting_mentee)))

    assert "already has a match with" in text
    assert "Propose to mentor" not in text


@pytest.mark.parametrize("who", ["other_coordinator", "manager", "mentor"])
def test_the_matching_page_is_not_found_for_anyone_but_the_programmes_coordinators(
    client, other_coordinator, manager, mentor, waiting_mentee, who
):
    user = {"other_coordinator": other_coordinator, "manager": manager, "mentor": mentor.user}[who]
    client.force_login(user)

    assert client.get(_page(waiting_mentee)).status_code == 404
    assert client.post(_page(waiting_mentee), {"mentor": mentor.pk, "action": "match"}).status_code == 404
    assert not Match.objects.exists()
