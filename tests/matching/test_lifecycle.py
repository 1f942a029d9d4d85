"""The match lifecycle: proposed → active (accepted) or declined; active ⇄ paused; closed.
Each transition allowed and refused per role, through the services, the API and the pages;
what a mentor sees of a family before and after accepting; capacity under concurrent writes."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.urls import reverse

from matching.models import Match
from matching.services import (
    match_accept,
    match_close,
    match_create,
    match_decline,
    match_pause,
    match_resume,
)
from mentoring.models import AuditEvent, LanguageLevel, Mentee, Mentor, MentorStatusChange, Need
from tests.factories import (
    CoordinatorFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    ProgrammeFactory,
    ProposedMatchFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today


def _errors(response) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


@pytest.fixture
def proposal(coordinator, mentor, waiting_mentee):
    return match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator, propose=True)


# --- Proposing ------------------------------------------------------------------------------------


def test_a_proposed_match_holds_a_place_and_leaves_the_mentee_waiting(proposal, mentor, waiting_mentee):
    assert proposal.status == Match.Status.PROPOSED
    assert proposal.started_on is None
    waiting_mentee.refresh_from_db()
    mentor.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING
    assert mentor.status == Mentor.Status.APPROVED
    assert mentor.matches.filter(status__in=Match.OPEN_STATUSES).count() == 1
    assert AuditEvent.objects.filter(
        action="create", object_type="matching.Match", object_id=str(proposal.pk)
    ).exists()


def test_a_proposal_takes_the_mentors_last_place(coordinator, programme):
    mentor = MentorFactory(programme=programme, approved=True, capacity=1)
    match_create(
        mentee=MenteeFactory(programme=programme), mentor=mentor, created_by=coordinator, propose=True
    )

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=MenteeFactory(programme=programme), mentor=mentor, created_by=coordinator)

    assert any("No free capacity" in m for m in excinfo.value.message_dict["mentor"])


def test_a_mentee_with_a_proposal_cannot_be_proposed_to_a_second_mentor(
    coordinator, proposal, other_mentor, waiting_mentee
):
    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=other_mentor, created_by=coordinator, propose=True)

    assert "already has a match proposed" in excinfo.value.message_dict["mentee"][0]


def test_only_the_programmes_coordinators_propose(other_coordinator, manager, mentor, waiting_mentee):
    for user in (other_coordinator, manager, mentor.user):
        with pytest.raises(PermissionDenied):
            match_create(mentee=waiting_mentee, mentor=mentor, created_by=user, propose=True)


# --- Accepting ------------------------------------------------------------------------------------


def test_the_mentor_accepts_and_the_match_starts(proposal, mentor, waiting_mentee):
    match = match_accept(match=proposal, accepted_by=mentor.user)

    assert match.status == Match.Status.ACTIVE
    assert match.started_on == TODAY()
    waiting_mentee.refresh_from_db()
    mentor.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.MATCHED
    assert mentor.status == Mentor.Status.ACTIVE
    assert MentorStatusChange.objects.filter(mentor=mentor, to_status=Mentor.Status.ACTIVE).exists()
    assert AuditEvent.objects.filter(
        action="update", object_type="matching.Match", object_id=str(match.pk), user=mentor.user
    ).exists()


def test_a_coordinator_accepts_on_the_mentors_behalf(proposal, coordinator, admin_user):
    assert match_accept(match=proposal, accepted_by=coordinator).status == Match.Status.ACTIVE


def test_nobody_else_accepts(proposal, programme, other_coordinator, manager):
    another_mentor = MentorFactory(programme=programme, approved=True)
    for user in (another_mentor.user, other_coordinator, manager):
        with pytest.raises(PermissionDenied):
            match_accept(match=proposal, accepted_by=user)
    proposal.refresh_from_db()
    assert proposal.status == Match.Status.PROPOSED


def test_only_a_proposed_match_can_be_accepted(programme, coordinator):
    active = MatchFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        match_accept(match=active, accepted_by=coordinator)

    assert "Only a proposed match can be accepted" in excinfo.value.message_dict["match"][0]


def test_a_mentor_whose_check_expired_since_the_proposal_cannot_accept(proposal, mentor):
    Mentor.objects.filter(pk=mentor.pk).update(record_check_expires_on=TODAY() - datetime.timedelta(days=1))

    with pytest.raises(ValidationError) as excinfo:
        match_accept(match=proposal, accepted_by=mentor.user)

    assert any("check expired" in m for m in excinfo.value.message_dict["mentor"])


def test_a_mentor_who_lowered_their_capacity_cannot_accept_more_than_it(coordinator, programme):
    mentor = MentorFactory(programme=programme, approved=True, capacity=2)
    first, second = (
        match_create(
            mentee=MenteeFactory(programme=programme), mentor=mentor, created_by=coordinator, propose=True
        )
        for _ in range(2)
    )
    Mentor.objects.filter(pk=mentor.pk).update(capacity=1)

    match_accept(match=first, accepted_by=mentor.user)
    with pytest.raises(ValidationError) as excinfo:
        match_accept(match=second, accepted_by=mentor.user)

    assert any("No free capacity" in m for m in excinfo.value.message_dict["mentor"])


# --- Declining ------------------------------------------------------------------------------------


def test_the_mentor_declines_and_the_mentee_is_back_on_the_waiting_list(proposal, mentor, waiting_mentee):
    match = match_decline(match=proposal, declined_by=mentor.user, reason=Match.DeclineReason.NO_TIME)

    assert match.status == Match.Status.DECLINED
    assert match.declined_at is not None
    assert match.decline_reason == "no_time"
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING
    assert not waiting_mentee.matches.filter(status__in=Match.OPEN_STATUSES).exists()
    assert mentor.matches.filter(status__in=Match.OPEN_STATUSES).count() == 0


def test_declining_for_another_reason_needs_a_note(proposal, mentor):
    with pytest.raises(ValidationError) as excinfo:
        match_decline(match=proposal, declined_by=mentor.user, reason=Match.DeclineReason.OTHER, note="  ")

    assert excinfo.value.message_dict == {"note": ["Say in a note why you decline."]}
    with pytest.raises(ValidationError) as excinfo:
        match_decline(match=proposal, declined_by=mentor.user, reason="bored")
    assert "reason" in excinfo.value.message_dict
    proposal.refresh_from_db()
    assert proposal.status == Match.Status.PROPOSED


def test_a_coordinator_declines_on_the_mentors_behalf_and_nobody_else_can(
    proposal, programme, coordinator, other_coordinator, manager
):
    another_mentor = MentorFactory(programme=programme, approved=True)
    for user in (another_mentor.user, other_coordinator, manager):
        with pytest.raises(PermissionDenied):
            match_decline(match=proposal, declined_by=user, reason="no_time")

    match = match_decline(match=proposal, declined_by=coordinator, reason="another_mentor")

    assert match.status == Match.Status.DECLINED


def test_an_active_match_cannot_be_declined(programme):
    active = MatchFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        match_decline(match=active, declined_by=active.mentor.user, reason="no_time")

    assert "match" in excinfo.value.message_dict


@pytest.mark.parametrize("propose", [True, False])
def test_a_declined_pair_is_not_proposed_or_matched_again(
    proposal, coordinator, mentor, waiting_mentee, propose
):
    match_decline(match=proposal, declined_by=mentor.user, reason=Match.DeclineReason.NOT_A_GOOD_FIT)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator, propose=propose)

    (message,) = excinfo.value.message_dict["mentor"]
    assert "declined this mentee" in message and "not a good fit" in message


def test_a_declined_mentee_can_be_proposed_to_another_mentor(
    proposal, coordinator, mentor, other_mentor, waiting_mentee
):
    match_decline(match=proposal, declined_by=mentor.user, reason="no_time")

    again = match_create(mentee=waiting_mentee, mentor=other_mentor, created_by=coordinator, propose=True)

    assert again.status == Match.Status.PROPOSED


def test_a_pair_closed_as_a_mismatch_is_not_matched_again(coordinator, mentor, waiting_mentee):
    match = match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator)
    match_close(match=match, closed_by=coordinator, reason="mismatch", closed_on=TODAY())
    Mentee.objects.filter(pk=waiting_mentee.pk).update(status=Mentee.Status.WAITING)

    with pytest.raises(ValidationError) as excinfo:
        match_create(mentee=waiting_mentee, mentor=mentor, created_by=coordinator)

    assert "closed (mismatch)" in excinfo.value.message_dict["mentor"][0]


# --- Pausing and resuming ------------------------------------------------------------------------


def test_a_coordinator_pauses_and_resumes_an_active_match(programme, coordinator):
    match = MatchFactory(programme=programme)

    paused = match_pause(match=match, paused_by=coordinator, reason="The family is abroad until March.")
    assert (paused.status, paused.paused_on, paused.pause_reason) == (
        Match.Status.PAUSED,
        TODAY(),
        "The family is abroad until March.",
    )
    resumed = match_resume(match=match, resumed_by=coordinator)
    assert (resumed.status, resumed.paused_on, resumed.pause_reason) == (Match.Status.ACTIVE, None, "")
    assert AuditEvent.objects.filter(action="update", object_id=str(match.pk)).count() == 2


def test_a_pause_needs_a_reason_and_an_active_match(programme, coordinator):
    match = MatchFactory(programme=programme)
    proposed = ProposedMatchFactory(programme=programme)

    with pytest.raises(ValidationError) as excinfo:
        match_pause(match=match, paused_by=coordinator, reason=" ")
    assert "reason" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        match_pause(match=proposed, paused_by=coordinator, reason="Exams")
    assert "Only an active match can be paused" in excinfo.value.message_dict["match"][0]
    with pytest.raises(ValidationError):
        match_resume(match=match, resumed_by=coordinator)


def test_mentors_and_managers_neither_pause_nor_resume(programme, manager, other_coordinator):
    match = MatchFactory(programme=programme)
    for user in (match.mentor.user, manager, other_coordinator):
        with pytest.raises(PermissionDenied):
            match_pause(match=match, paused_by=user, reason="Exams")
    Match.objects.filter(pk=match.pk).update(status=Match.Status.PAUSED)
    for user in (match.mentor.user, manager, other_coordinator):
        with pytest.raises(PermissionDenied):
            match_resume(match=match, resumed_by=user)


# --- Closing a proposal -------------------------------------------------------------------------


def test_closing_a_proposal_withdraws_it_and_the_mentee_keeps_waiting(
    proposal, coordinator, waiting_mentee, mentor
):
    match = match_close(
        match=proposal, closed_by=coordinator, reason="other", note="Withdrawn", closed_on=TODAY()
    )

    assert match.status == Match.Status.CLOSED
    assert not match.is_early_closure
    waiting_mentee.refresh_from_db()
    assert waiting_mentee.status == Mentee.Status.WAITING
    assert mentor.matches.filter(status__in=Match.OPEN_STATUSES).count() == 0


# --- Reports ------------------------------------------------------------------------------------


def test_declined_matches_are_not_counted_as_matched_in_the_reports(coordinator):
    from reports import metrics

    programme = ProgrammeFactory(small_cell_k=5)
    CoordinatorFactory(programmes=[programme])
    for _ in range(5):
        MatchFactory(programme=programme)
        declined = ProposedMatchFactory(programme=programme)
        declined.status, declined.declined_at, declined.decline_reason = (
            "declined",
            declined.proposed_at,
            "no_time",
        )
        declined.save()

    mentees = metrics.compute_population(
        programme_ids=[programme.pk], population="mentees", k=5, period_start=None, period_end=None
    )

    assert mentees["breakdowns"]["migrant_background"]["total"]["funnel"]["matched"]["value"] == 5


# --- The API ------------------------------------------------------------------------------------


def _url(match, action: str) -> str:
    return f"/api/v1/matches/{match.pk}/{action}/"


def test_api_proposes_a_match(client_for, coordinator, mentor, waiting_mentee):
    response = client_for(coordinator).post(
        "/api/v1/matches/", {"mentee": waiting_mentee.pk, "mentor": mentor.pk, "propose": True}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "proposed"
    assert response.json()["started_on"] is None


def test_api_refuses_a_declined_pair_with_a_field_message(
    client_for, coordinator, proposal, mentor, waiting_mentee
):
    match_decline(match=proposal, declined_by=mentor.user, reason="no_time")

    response = client_for(coordinator).post(
        "/api/v1/matches/", {"mentee": waiting_mentee.pk, "mentor": mentor.pk, "propose": True}, format="json"
    )

    assert response.status_code == 400
    assert "declined this mentee" in _errors(response)["mentor"][0]


def test_api_the_mentor_accepts(client_for, proposal, mentor):
    response = client_for(mentor.user).post(_url(proposal, "accept"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    assert response.json()["started_on"] == str(TODAY())


def test_api_accept_is_not_found_for_anyone_who_cannot_see_the_match(
    client_for, api_client, proposal, programme, other_coordinator, manager
):
    another_mentor = MentorFactory(programme=programme, approved=True)
    for user in (another_mentor.user, other_coordinator, manager):
        assert client_for(user).post(_url(proposal, "accept")).status_code == 404
    assert api_client.post(_url(proposal, "accept")).status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == Match.Status.PROPOSED


def test_api_decline_answers_its_errors_in_the_one_shape(client_for, proposal, mentor):
    api = client_for(mentor.user)

    missing_note = api.post(_url(proposal, "decline"), {"reason": "other"}, format="json")
    unknown = api.post(_url(proposal, "decline"), {"reason": "bored"}, format="json")
    declined = api.post(
        _url(proposal, "decline"), {"reason": "other", "note": "Moving abroad"}, format="json"
    )

    assert missing_note.status_code == 400 and _errors(missing_note) == {
        "note": ["Say in a note why you decline."]
    }
    assert unknown.status_code == 400 and "reason" in _errors(unknown)
    assert declined.status_code == 200
    assert (
        declined.json()["status"],
        declined.json()["decline_reason"],
        declined.json()["decline_note"],
    ) == (
        "declined",
        "other",
        "Moving abroad",
    )
    again = api.post(_url(proposal, "accept"))
    assert again.status_code == 400 and "match" in _errors(again)


def test_api_pause_and_resume_are_for_coordinators(client_for, coordinator, programme):
    match = MatchFactory(programme=programme)

    assert client_for(match.mentor.user).post(_url(match, "pause"), {"reason": "Exams"}).status_code == 403
    no_reason = client_for(coordinator).post(_url(match, "pause"), {}, format="json")
    paused = client_for(coordinator).post(_url(match, "pause"), {"reason": "Exams"}, format="json")
    assert client_for(match.mentor.user).post(_url(match, "resume")).status_code == 403
    resumed = client_for(coordinator).post(_url(match, "resume"))

    assert no_reason.status_code == 400 and "reason" in _errors(no_reason)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["pause_reason"] == "Exams"
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"


# --- What the mentor sees of a family before accepting --------------------------------------------


@pytest.fixture
def detailed_proposal(coordinator, programme, mentor):
    need = Need.objects.create(programme=programme, code="homework", name="Homework support")
    mentee = MenteeFactory(
        programme=programme,
        kind=Mentee.Kind.PARENT,
        person__first_name="Iryna",
        person__last_name="Shevchenko",
        person__email="iryna.shevchenko@example.org",
        person__phone="+40 712 345 678",
        person__municipality="Baia Sprie",
        person__languages=[("uk", LanguageLevel.NATIVE)],
    )
    mentee.person.needs.add(need)
    return match_create(mentee=mentee, mentor=mentor, created_by=coordinator, propose=True)


SECRETS = ("Shevchenko", "iryna.shevchenko@example.org", "+40 712 345 678")


def test_api_a_proposal_shows_the_mentor_only_what_they_need_to_decide(client_for, detailed_proposal, mentor):
    api = client_for(mentor.user)

    detail = api.get(f"/api/v1/matches/{detailed_proposal.pk}/")
    listed = api.get("/api/v1/matches/")
    mentee_record = api.get(f"/api/v1/mentees/{detailed_proposal.mentee_id}/")

    mentee = detail.json()["mentee"]
    assert mentee["first_name"] == "Iryna"
    assert (mentee["kind"], mentee["preferred_language"], mentee["municipality"]) == (
        "parent",
        "uk",
        "Baia Sprie",
    )
    assert mentee["needs"] == ["Homework support"]
    assert mentee["last_name"] is None and mentee["family_reference"] is None
    assert not any(secret in detail.content.decode() + listed.content.decode() for secret in SECRETS)
    assert mentee_record.status_code == 404


def test_api_the_family_reaches_the_mentor_once_they_accept(client_for, detailed_proposal, mentor):
    api = client_for(mentor.user)
    api.post(_url(detailed_proposal, "accept"))

    detail = api.get(f"/api/v1/matches/{detailed_proposal.pk}/").json()
    mentee_record = api.get(f"/api/v1/mentees/{detailed_proposal.mentee_id}/")

    assert detail["mentee"]["last_name"] == "Shevchenko"
    assert mentee_record.status_code == 200


def test_api_coordinators_see_the_whole_proposal(client_for, coordinator, detailed_proposal):
    mentee = client_for(coordinator).get(f"/api/v1/matches/{detailed_proposal.pk}/").json()["mentee"]

    assert mentee["last_name"] == "Shevchenko" and mentee["family_reference"]


def test_api_match_list_with_proposals_keeps_its_query_count(
    client_for, coordinator, programme, django_assert_max_num_queries
):
    for _ in range(3):
        ProposedMatchFactory(programme=programme)
        MatchFactory(programme=programme)
    api = client_for(coordinator)

    with django_assert_max_num_queries(12):
        response = api.get("/api/v1/matches/")

    assert response.status_code == 200 and response.json()["count"] == 6


# --- Pages ----------------------------------------------------------------------------------------


def test_mentor_home_lists_a_proposal_without_the_familys_contact_details(client, detailed_proposal, mentor):
    client.force_login(mentor.user)

    page = client.get(reverse("matching:my-matches")).content.decode()

    assert "Proposed to you" in page and "Iryna" in page and "Homework support" in page
    assert "Baia Sprie" in page and "Ukrainian" in page
    assert not any(secret in page for secret in SECRETS)
    assert reverse("matching:match-accept", args=[detailed_proposal.pk]) in page
    assert reverse("matching:match-decline", args=[detailed_proposal.pk]) in page


def test_mentor_accepts_from_their_home_page(client, detailed_proposal, mentor):
    client.force_login(mentor.user)

    response = client.post(reverse("matching:match-accept", args=[detailed_proposal.pk]), follow=True)

    page = response.content.decode()
    assert "Shevchenko" in page and "Log a session" in page
    detailed_proposal.refresh_from_db()
    assert detailed_proposal.status == Match.Status.ACTIVE


def test_mentor_declining_for_another_reason_without_a_note_sees_the_error(client, detailed_proposal, mentor):
    client.force_login(mentor.user)
    url = reverse("matching:match-decline", args=[detailed_proposal.pk])
    prefix = f"decline-{detailed_proposal.pk}"

    refused = client.post(url, {f"{prefix}-reason": "other", f"{prefix}-note": ""})
    declined = client.post(url, {f"{prefix}-reason": "no_time"}, follow=True)

    assert refused.status_code == 422
    assert "Say in a note why you decline." in refused.content.decode()
    assert declined.status_code == 200 and "Iryna" not in declined.content.decode()
    detailed_proposal.refresh_from_db()
    assert detailed_proposal.status == Match.Status.DECLINED


def test_another_mentor_cannot_answer_a_proposal(client, programme, detailed_proposal):
    client.force_login(MentorFactory(programme=programme, approved=True).user)

    assert client.post(reverse("matching:match-accept", args=[detailed_proposal.pk])).status_code == 404
    assert client.post(reverse("matching:match-decline", args=[detailed_proposal.pk])).status_code == 404


def test_coordinator_pauses_and_resumes_on_the_match_page(client, coordinator, programme):
    match = MatchFactory(programme=programme)
    client.force_login(coordinator)
    manage = reverse("matching:match-manage", args=[match.pk])

    assert "Pause the match" in client.get(manage).content.decode()
    refused = client.post(reverse("matching:match-pause", args=[match.pk]), {"reason": ""})
    paused = client.post(reverse("matching:match-pause", args=[match.pk]), {"reason": "Exams"}, follow=True)
    match.refresh_from_db()
    assert match.status == Match.Status.PAUSED
    resumed = client.post(reverse("matching:match-resume", args=[match.pk]), follow=True)

    assert refused.status_code == 422 and "field--error" in refused.content.decode()
    assert "Resume the match" in paused.content.decode()
    assert "Pause the match" in resumed.content.decode()
    match.refresh_from_db()
    assert match.status == Match.Status.ACTIVE


def test_coordinator_declines_on_the_mentors_behalf_on_the_match_page(client, coordinator, detailed_proposal):
    client.force_login(coordinator)
    prefix = f"decline-{detailed_proposal.pk}"

    response = client.post(
        reverse("matching:match-decline", args=[detailed_proposal.pk]),
        {f"{prefix}-reason": "no_time"},
        follow=True,
    )

    assert "Declined" in response.content.decode()
    detailed_proposal.refresh_from_db()
    assert detailed_proposal.status == Match.Status.DECLINED


def test_the_match_page_is_not_found_for_another_programmes_coordinator(client, other_coordinator, programme):
    match = MatchFactory(programme=programme)
    client.force_login(other_coordinator)

    assert client.get(reverse("matching:match-manage", args=[match.pk])).status_code == 404
    assert client.post(reverse("matching:match-pause", args=[match.pk]), {"reason": "x"}).status_code == 404


# --- Capacity under concurrent writes (PostgreSQL) -----------------------------------------------


def _race(*calls) -> list[object]:
    """Run each call in its own thread and database connection, all released at once; return
    what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the result under test
            results[index] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Row locks (select_for_update) need PostgreSQL; SQLite locks the whole database.")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("propose", [False, True])
def test_two_coordinators_matching_a_mentors_last_place_at_once_cannot_exceed_capacity(propose):
    _needs_postgresql()
    programme = ProgrammeFactory()
    first, second = CoordinatorFactory(programmes=[programme]), CoordinatorFactory(programmes=[programme])
    mentor = MentorFactory(programme=programme, approved=True, capacity=2)
    MatchFactory(programme=programme, mentor=mentor)  # one of two places taken
    mentees = [MenteeFactory(programme=programme) for _ in range(2)]

    results = _race(
        *(
            lambda user=user, mentee=mentee: match_create(
                mentee=mentee, mentor=mentor, created_by=user, propose=propose
            )
            for user, mentee in zip((first, second), mentees, strict=True)
        )
    )

    made = [r for r in results if isinstance(r, Match)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(made), len(refused)) == (1, 1), results
    assert any("No free capacity" in m for m in refused[0].message_dict["mentor"])
    assert mentor.matches.filter(status__in=Match.OPEN_STATUSES).count() == mentor.capacity


@pytest.mark.django_db(transaction=True)
def test_two_accepts_for_a_mentors_last_current_place_at_once_cannot_exceed_capacity():
    _needs_postgresql()
    programme = ProgrammeFactory()
    coordinator = CoordinatorFactory(programmes=[programme])
    mentor = MentorFactory(programme=programme, approved=True, capacity=2)
    proposals = [
        match_create(
            mentee=MenteeFactory(programme=programme), mentor=mentor, created_by=coordinator, propose=True
        )
        for _ in range(2)
    ]
    Mentor.objects.filter(pk=mentor.pk).update(capacity=1)  # the mentor has less time now

    results = _race(
        lambda: match_accept(match=proposals[0], accepted_by=mentor.user),
        lambda: match_accept(match=proposals[1], accepted_by=coordinator),
    )

    made = [r for r in results if isinstance(r, Match)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(made), len(refused)) == (1, 1), results
    assert mentor.matches.filter(status__in=Match.CURRENT_STATUSES).count() == 1
