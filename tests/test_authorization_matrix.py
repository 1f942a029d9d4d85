"""Who may do what through every API operation and every page, against ``domain.md``'s "Roles
and permissions" table: the issue "Trust"'s authorization matrix.

The operations and pages are read from the URL resolver, so a new one fails
``test_every_api_operation_has_a_row`` / ``test_every_page_has_a_row`` until it has a row. The
endpoints of ``mentoring.api`` have their rows in ``tests/mentoring/test_permission_matrix.py``
(its columns, helpers and conventions are reused here); every other app's rows are below.

Each row builds its own record in programme P and says what each user gets: a status code, or
for lists ``SEES`` / ``HIDDEN`` (200 and the record is / is not a row). The users: anonymous,
admin, P's coordinator, Q's coordinator, P's manager, Q's manager, the record's own mentor and
another mentor of P. The rules: another programme's record answers 404 exactly like a
nonexistent id; managers read no individual record; a mentor reads their own only.

Beside the matrix: ``test_another_programmes_record_answers_like_a_nonexistent_one`` compares
the two answers byte for byte; ``test_no_list_shows_another_programmes_rows`` reads every list
as Q's staff with all rows' records built in P; the page matrix checks the sign-in redirect,
wrong roles and other programmes' records for every page; the field-level tests check what a
mentor's own responses withhold (backgrounds, the intake assessment, the family's check-in,
concerns others raised, other mentees).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone

from mentoring.models import Mentee
from sessions.models import AttentionFlag, CheckIn, Concern, Goal, Notification, OutcomeInstrument
from tests.factories import (
    ConcernFactory,
    MatchExclusionFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    ProposedMatchFactory,
    SessionLogFactory,
)
from tests.harness import api_operations, page_names
from tests.mentoring.test_permission_matrix import (
    ACTORS,
    HIDDEN,
    LIST_OWN,
    LIST_PROGRAMME,
    LIST_STAFF,
    READ_OWN,
    READ_STAFF,
    SEES,
    Target,
    _client,
    _new_mentor_user,
    world,  # noqa: F401 - the fixture the rows run in
)

TODAY = datetime.date.today
NONEXISTENT = 2_000_000_000
SCORES = {"frequency": 4, "openness": 4, "school": 3, "respect": 5, "overall": 4}

# Columns: anonymous, admin, coordinator, other_coordinator, manager, other_manager, own_mentor,
# other_mentor.
COORDINATE = (403, 200, 200, 404, 404, 404, 403, 404)  # a coordinator's action on a record
COORDINATOR_ONLY = (403, 200, 200, 404, 403, 403, 403, 403)  # refused by role first
COORDINATE_UNSEEN = (403, 200, 200, 404, 404, 404, 404, 404)  # on what a mentor does not read
MENTOR_ADDS = (403, 201, 201, 404, 404, 404, 201, 404)  # goals' progress: the own mentor adds too
CREATE_FOR_MENTEE = (403, 201, 201, 400, 400, 400, 201, 400)  # the mentee field: not_found
COORDINATOR_CREATES = (403, 201, 201, 400, 403, 403, 403, 403)
REPORT_LIST = LIST_PROGRAMME
REPORT_READ = (403, 200, 200, 404, 200, 404, 404, 404)
REPORT_REQUEST = (403, 202, 202, 400, 202, 400, 400, 400)


# --- The records each row is about ------------------------------------------------------------


def _match(w) -> Target:
    match = MatchFactory(programme=w.programme)
    return Target(kwargs={"pk": match.pk}, row_id=match.pk, owner=lambda: match.mentor.user)


def _match_to_close(w) -> Target:
    target = _match(w)
    target.body = {"closure_reason": "planned_completion", "closure_note": "", "closure_measures": {}}
    return target


def _suggestions(w) -> Target:
    match = MatchFactory(programme=w.programme)
    MentorFactory(programme=w.programme, approved=True)
    return Target(kwargs={"mentee_id": match.mentee.pk}, owner=lambda: match.mentor.user)


def _pair_explanation(w) -> Target:
    match = MatchFactory(programme=w.programme)
    mentor = MentorFactory(programme=w.programme, approved=True)
    return Target(
        kwargs={"mentee_id": match.mentee.pk, "mentor_id": mentor.pk}, owner=lambda: match.mentor.user
    )


def _mentor_suggestions(w) -> Target:
    mentor = MentorFactory(programme=w.programme, approved=True)
    MenteeFactory(programme=w.programme, status=Mentee.Status.WAITING)
    return Target(kwargs={"mentor_id": mentor.pk}, owner=lambda: mentor.user)


def _proposal(w) -> Target:
    match = ProposedMatchFactory(programme=w.programme)
    return Target(kwargs={"pk": match.pk}, body={"reason": "no_time"}, owner=lambda: match.mentor.user)


def _match_to_pause(w) -> Target:
    target = _match(w)
    target.body = {"reason": "The family is abroad until March."}
    return target


def _paused_match(w) -> Target:
    match = MatchFactory(programme=w.programme, status="paused", paused_on=TODAY(), pause_reason="Exams")
    return Target(kwargs={"pk": match.pk}, owner=lambda: match.mentor.user)


def _exclusion(w) -> Target:
    exclusion = MatchExclusionFactory(programme=w.programme)
    return Target(kwargs={"pk": exclusion.pk}, row_id=exclusion.pk, owner=lambda: exclusion.mentor.user)


def _new_exclusion(w) -> Target:
    mentee = MenteeFactory(programme=w.programme, status=Mentee.Status.WAITING)
    mentor = MentorFactory(programme=w.programme, approved=True)
    return Target(
        body={"mentee": mentee.pk, "mentor": mentor.pk, "reason": "relative"}, owner=lambda: mentor.user
    )


def _scoring(w) -> Target:
    return Target(
        kwargs={"programme_id": w.programme.pk},
        body={"shared_background": 30},
        owner=lambda: _new_mentor_user(w),
    )


def _new_match(w) -> Target:
    mentee = MenteeFactory(programme=w.programme, status=Mentee.Status.WAITING)
    mentor = MentorFactory(programme=w.programme, approved=True)
    return Target(body={"mentee": mentee.pk, "mentor": mentor.pk}, owner=lambda: mentor.user)


def _log(w) -> Target:
    log = SessionLogFactory(match=MatchFactory(programme=w.programme))
    return Target(
        kwargs={"pk": log.pk},
        body={"notes": "Corrected: the pupil came too."},
        row_id=log.pk,
        owner=lambda: log.author,
    )


def _new_log(w) -> Target:
    match = MatchFactory(programme=w.programme)
    body = {
        "match": match.pk,
        "held_on": str(TODAY() - datetime.timedelta(days=1)),
        "duration_minutes": 60,
        "mode": "in_person",
        "language": "uk",
        "participants": ["parent"],
        "topics": ["homework"],
    }
    return Target(body=body, owner=lambda: match.mentor.user)


def _instrument(programme) -> OutcomeInstrument:
    return OutcomeInstrument.objects.get_or_create(
        programme=programme,
        code="parent_engagement",
        defaults={"name": "Parent engagement in schooling", "scale_min": 1, "scale_max": 5},
    )[0]


def _instrument_row(w) -> Target:
    return Target(row_id=_instrument(w.programme).pk, owner=lambda: _new_mentor_user(w))


def _measure(w) -> Target:
    from sessions.services import outcome_measure_record

    match = MatchFactory(programme=w.programme)
    measure = outcome_measure_record(
        mentee=match.mentee,
        instrument=_instrument(w.programme),
        recorded_by=match.mentor.user,
        stage="baseline",
        value=3,
        measured_on=TODAY(),
    )
    return Target(row_id=measure.pk, owner=lambda: match.mentor.user)


def _new_measure(w) -> Target:
    match = MatchFactory(programme=w.programme)
    body = {
        "mentee": match.mentee.pk,
        "instrument": _instrument(w.programme).pk,
        "stage": "baseline",
        "value": "3.00",
        "measured_on": str(TODAY()),
    }
    return Target(body=body, owner=lambda: match.mentor.user)


def _goal(w) -> Target:
    match = MatchFactory(programme=w.programme)
    goal = Goal.objects.create(
        mentee=match.mentee, description="Join the parents' evening", agreed_on=TODAY()
    )
    return Target(
        kwargs={"pk": goal.pk},
        body={"progress": 50, "recorded_on": str(TODAY())},
        row_id=goal.pk,
        owner=lambda: match.mentor.user,
    )


def _new_goal(w) -> Target:
    match = MatchFactory(programme=w.programme)
    body = {"mentee": match.mentee.pk, "description": "Read with the pupil weekly", "agreed_on": str(TODAY())}
    return Target(body=body, owner=lambda: match.mentor.user)


def _checkin(respondent: str) -> Callable:
    def build(w) -> Target:
        match = MatchFactory(programme=w.programme)
        checkin = CheckIn.objects.create(
            match=match,
            respondent=respondent,
            due_on=TODAY(),
            token=f"t-{respondent}-{match.pk}",
            language="uk",
        )
        return Target(
            kwargs={"pk": checkin.pk},
            body={"answers": SCORES},
            row_id=checkin.pk,
            owner=lambda: match.mentor.user,
        )

    return build


def _flag(w) -> Target:
    match = MatchFactory(programme=w.programme)
    flag = AttentionFlag.objects.create(
        programme=w.programme,
        kind=AttentionFlag.Kind.FAMILY_UNCERTAIN,
        match=match,
        subject=f"checkin:{match.pk}",
        since=TODAY(),
    )
    return Target(kwargs={"pk": flag.pk}, row_id=flag.pk, owner=lambda: match.mentor.user)


def _concern(w) -> Target:
    concern = ConcernFactory(programme=w.programme)
    return Target(kwargs={"pk": concern.pk}, row_id=concern.pk, owner=lambda: concern.raised_by)


def _concern_with(body: dict, status: str = Concern.Status.OPEN) -> Callable:
    def build(w) -> Target:
        target = _concern(w)
        acknowledged_at = None if status == Concern.Status.OPEN else timezone.now()
        Concern.objects.filter(pk=target.row_id).update(status=status, acknowledged_at=acknowledged_at)
        target.body = body
        return target

    return build


def _new_concern(w) -> Target:
    match = MatchFactory(programme=w.programme)
    body = {
        "mentee": match.mentee.pk,
        "severity": "medium",
        "description": "The pupil seems afraid of school.",
    }
    return Target(body=body, owner=lambda: match.mentor.user)


def _notification(w) -> Target:
    user = MatchFactory(programme=w.programme).mentor.user
    note = Notification.objects.create(recipient=user, kind="checkin_due", title="A check-in is due")
    return Target(body={"all": True}, row_id=note.pk, owner=lambda: user)


def _snapshot(w) -> Target:
    from reports.services import snapshot_compute, snapshot_request

    MatchFactory(programme=w.programme)
    snapshot, _ = snapshot_request(programme=w.programme, requested_by=None)
    snapshot = snapshot_compute(snapshot_id=snapshot.pk)
    return Target(kwargs={"pk": snapshot.pk}, row_id=snapshot.pk, owner=lambda: _new_mentor_user(w))


def _latest_snapshot(w) -> Target:
    target = _snapshot(w)
    target.query = {"programme": w.programme.pk}
    return target


def _snapshot_request(w) -> Target:
    return Target(body={"programme": w.programme.pk}, owner=lambda: _new_mentor_user(w))


def _person(w) -> Target:
    match = MatchFactory(programme=w.programme)
    return Target(
        kwargs={"person_id": match.mentee.person_id},
        body={"reason": "The family asked to be forgotten."},
        owner=lambda: match.mentor.user,
    )


def _person_to_erase(w) -> Target:
    mentee = MenteeFactory(programme=w.programme, status=Mentee.Status.WAITING)
    return Target(
        kwargs={"person_id": mentee.person_id},
        body={"reason": "The family asked to be forgotten."},
        owner=lambda: _new_mentor_user(w),
    )


def _batch_run(w) -> Target:
    """A computed batch run of P with one pair (a mentor and a mentee who share Ukrainian)."""
    from matching.batch import batch_run_compute
    from matching.models import BatchRun

    MentorFactory(programme=w.programme, approved=True)
    MenteeFactory(programme=w.programme, status=Mentee.Status.WAITING)
    run = batch_run_compute(run_id=BatchRun.objects.create(programme=w.programme).pk)
    return Target(kwargs={"pk": run.pk}, body={}, row_id=run.pk, owner=lambda: _new_mentor_user(w))


def _batch_run_to_accept(w) -> Target:
    target = _batch_run(w)
    target.body = {"all": True}
    return target


def _new_batch_run(w) -> Target:
    return Target(body={"programme": w.programme.pk}, owner=lambda: _new_mentor_user(w))


# --- The matrix -------------------------------------------------------------------------------

MATRIX: dict[tuple[str, str], tuple[Callable, tuple]] = {
    # Matching: coordinators make and close matches; a mentor reads their own.
    ("api-mentee-suggestions", "get"): (_suggestions, READ_STAFF),
    ("api-mentee-suggestion-detail", "get"): (_pair_explanation, READ_STAFF),
    ("api-mentor-suggestions", "get"): (_mentor_suggestions, READ_STAFF),
    ("api-match-list", "get"): (_match, LIST_OWN),
    ("api-match-list", "post"): (_new_match, COORDINATOR_CREATES),
    ("api-match-detail", "get"): (_match, READ_OWN),
    ("api-match-close", "post"): (_match_to_close, COORDINATE),
    # The mentor answers a proposal (a coordinator may on their behalf); coordinators pause.
    ("api-match-accept", "post"): (_proposal, READ_OWN),
    ("api-match-decline", "post"): (_proposal, READ_OWN),
    ("api-match-pause", "post"): (_match_to_pause, COORDINATE),
    ("api-match-resume", "post"): (_paused_match, COORDINATE),
    # Exclusions: the programme's coordinators; the scoring weights: its staff read, coordinators write.
    ("api-match-exclusion-list", "get"): (_exclusion, LIST_STAFF),
    ("api-match-exclusion-list", "post"): (_new_exclusion, COORDINATOR_CREATES),
    ("api-match-exclusion-detail", "get"): (_exclusion, READ_STAFF),
    ("api-match-exclusion-detail", "delete"): (_exclusion, (403, 204, 204, 404, 404, 404, 404, 404)),
    ("api-programme-scoring", "get"): (_scoring, REPORT_READ),
    ("api-programme-scoring", "put"): (_scoring, (403, 200, 200, 404, 403, 404, 404, 404)),
    # Session logs: the author writes and reads; coordinators read and correct.
    ("api-session-log-list", "get"): (_log, LIST_OWN),
    ("api-session-log-list", "post"): (_new_log, (403, 400, 400, 400, 400, 400, 201, 400)),
    ("api-session-log-detail", "get"): (_log, READ_OWN),
    ("api-session-log-detail", "patch"): (_log, READ_OWN),
    ("api-session-log-history", "get"): (_log, READ_OWN),
    # Outcome measures and goals: coordinators all; a mentor reads and adds for own mentees.
    ("api-outcome-instrument-list", "get"): (
        _instrument_row,
        (403, SEES, SEES, HIDDEN, HIDDEN, HIDDEN, SEES, SEES),
    ),
    ("api-outcome-measure-list", "get"): (_measure, LIST_OWN),
    ("api-outcome-measure-list", "post"): (_new_measure, CREATE_FOR_MENTEE),
    ("api-goal-list", "get"): (_goal, LIST_OWN),
    ("api-goal-list", "post"): (_new_goal, CREATE_FOR_MENTEE),
    ("api-goal-detail", "get"): (_goal, READ_OWN),
    ("api-goal-progress", "post"): (_goal, MENTOR_ADDS),
    # Check-ins: a mentor reads and answers their own mentor check-in, never the family's.
    ("api-checkin-list", "get"): (_checkin(CheckIn.Respondent.MENTOR), LIST_OWN),
    ("api-checkin-detail", "get"): (_checkin(CheckIn.Respondent.MENTOR), READ_OWN),
    ("api-checkin-answer", "post"): (
        _checkin(CheckIn.Respondent.MENTOR),
        (403, 403, 403, 404, 404, 404, 200, 404),
    ),
    # Attention flags: the programme's coordinators.
    ("api-attention-flag-list", "get"): (_flag, LIST_STAFF),
    ("api-attention-flag-dismiss", "post"): (_flag, COORDINATE_UNSEEN),
    # Concerns: a mentor raises and reads their own; coordinators act on them.
    ("api-concern-list", "get"): (_concern, LIST_OWN),
    ("api-concern-list", "post"): (_new_concern, (403, 201, 201, 400, 400, 400, 201, 400)),
    ("api-concern-detail", "get"): (_concern, READ_OWN),
    ("api-concern-acknowledge", "post"): (_concern, COORDINATE),
    ("api-concern-refer", "post"): (
        _concern_with(
            {"referred_to": "school", "referral_note": "Told the class teacher."}, Concern.Status.ACKNOWLEDGED
        ),
        COORDINATE,
    ),
    ("api-concern-close", "post"): (
        _concern_with({"closure_note": "Resolved with the school."}, Concern.Status.ACKNOWLEDGED),
        COORDINATE,
    ),
    # Notifications: each user their own only.
    ("api-notification-list", "get"): (
        _notification,
        (403, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, SEES, HIDDEN),
    ),
    ("api-notification-mark-read", "post"): (_notification, (403, 200, 200, 200, 200, 200, 200, 200)),
    # Data-subject rights: admins and the person's programme's coordinators; other roles are
    # refused by role (403, nothing about the person is looked up), Q's coordinator: not found.
    ("api-person-data-export", "get"): (_person, COORDINATOR_ONLY),
    ("api-person-erase", "post"): (_person_to_erase, COORDINATOR_ONLY),
    # Reports: aggregates for the programme's staff; never for mentors.
    ("api-report-snapshot-list", "get"): (_snapshot, REPORT_LIST),
    ("api-report-snapshot-list", "post"): (_snapshot_request, REPORT_REQUEST),
    ("api-report-snapshot-latest", "get"): (_latest_snapshot, REPORT_READ),
    ("api-report-snapshot-detail", "get"): (_snapshot, REPORT_READ),
    ("api-report-snapshot-figures", "get"): (_snapshot, REPORT_READ),
    # Batch matching: the programme's coordinators only (a run lists a waiting list's people).
    ("api-batch-run-list", "get"): (_batch_run, LIST_STAFF),
    ("api-batch-run-list", "post"): (_new_batch_run, (403, 202, 202, 400, 403, 403, 403, 403)),
    ("api-batch-run-detail", "get"): (_batch_run, READ_STAFF),
    ("api-batch-run-pairs", "get"): (_batch_run, READ_STAFF),
    ("api-batch-run-unmatched", "get"): (_batch_run, READ_STAFF),
    ("api-batch-run-recruitment-needs", "get"): (_batch_run, READ_STAFF),
    ("api-batch-run-rerun", "post"): (_batch_run, (403, 202, 202, 404, 404, 404, 404, 404)),
    ("api-batch-run-accept", "post"): (_batch_run_to_accept, COORDINATE_UNSEEN),
}

# Pages: anonymous, admin, coordinator, other_coordinator, manager, other_manager, own_mentor,
# other_mentor; ``LOGIN`` is a redirect to the sign-in page.
LOGIN = "login"
COLLECTIONS = ("-list", "-latest", "-mark-read")


def test_every_api_operation_has_a_row():
    from tests.mentoring.test_permission_matrix import MATRIX as MENTORING_MATRIX

    served = {(name, method) for name, method, _module in api_operations()}
    assert served - set(MATRIX) - set(MENTORING_MATRIX) == set(), "operations without a matrix row"
    assert set(MATRIX) - served == set(), "rows of operations no longer served"


def test_every_row_names_what_each_user_gets():
    assert {len(expected) for _, expected in MATRIX.values()} == {len(ACTORS)}


# --- Running the API matrix -------------------------------------------------------------------


def _request(client, name: str, method: str, target: Target, kwargs: dict | None = None):
    detail = kwargs if kwargs is not None else target.kwargs
    url = reverse(name) if name.endswith(COLLECTIONS) else reverse(name, kwargs=detail)
    if method == "get":
        return client.get(url, getattr(target, "query", None) or {})
    return getattr(client, method)(url, target.body, format="json")


CASES = [
    pytest.param(name, method, actor, id=f"{name}-{method}-{actor}")
    for (name, method) in sorted(MATRIX)
    for actor in ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "actor"), CASES)
def test_authorization_matrix(world, name, method, actor):  # noqa: F811
    build, expected_row = MATRIX[(name, method)]
    expected = expected_row[ACTORS.index(actor)]
    target = build(world)
    user = target.owner() if actor == "own_mentor" else world.users[actor]

    response = _request(_client(user), name, method, target)

    if expected in (SEES, HIDDEN):
        assert response.status_code == 200, response.content
        rows = {row["id"] for row in response.json()["results"]}
        assert (target.row_id in rows) == (expected == SEES), rows
        return
    assert response.status_code == expected, response.content


DETAIL_ROWS = [
    key
    for key, (build, _) in sorted(MATRIX.items())
    if key[0] != "api-mentee-suggestions" and not key[0].endswith(("-list", "-latest", "-mark-read"))
]
DETAIL_ROWS.append(("api-mentee-suggestions", "get"))


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), DETAIL_ROWS, ids=[f"{n}-{m}" for n, m in DETAIL_ROWS])
def test_another_programmes_record_answers_like_a_nonexistent_one(world, name, method):  # noqa: F811
    """Q's coordinator asking for P's record gets the very answer P's coordinator gets for an
    id that does not exist: same status, same body."""
    build, _ = MATRIX[(name, method)]
    target = build(world)
    missing = dict.fromkeys(target.kwargs, NONEXISTENT)

    foreign = _request(_client(world.users["other_coordinator"]), name, method, target)
    nonexistent = _request(_client(world.users["coordinator"]), name, method, target, kwargs=missing)

    assert nonexistent.status_code == 404, nonexistent.content
    assert (foreign.status_code, foreign.json()) == (nonexistent.status_code, nonexistent.json())


# --- Pages ------------------------------------------------------------------------------------
# Columns: anonymous, admin, coordinator, other_coordinator, manager, own_mentor, other_mentor.
# ``LOGIN``: a redirect to the sign-in page. A wrong role is refused (403) or told "not found"
# (404); another programme's record is always 404. ``OK`` is 200 or a redirect after a POST.

PAGE_ACTORS = (
    "anonymous",
    "admin",
    "coordinator",
    "other_coordinator",
    "manager",
    "own_mentor",
    "other_mentor",
)
OK = "ok"
STAFF_PAGE = (LOGIN, OK, OK, OK, 404, 404, 404)  # a coordinator's list: Q's sees their own
STAFF_RECORD = (LOGIN, OK, OK, 404, 404, 404, 404)  # a coordinator's page about one of P's records
MENTOR_PAGE = (LOGIN, 404, 404, 404, 404, OK, OK)  # a mentor's own list
MENTOR_RECORD = (LOGIN, 404, 404, 404, 404, OK, 404)  # a mentor's page about their own record
SHARED_RECORD = (LOGIN, OK, OK, 404, 404, OK, 404)  # coordinators and the record's own mentor
REPORT_PAGE = (LOGIN, OK, OK, OK, OK, 404, 404)
REPORT_RECORD = (LOGIN, OK, OK, 404, OK, 404, 404)
EVERYONE = (LOGIN, OK, OK, OK, OK, OK, OK)


def _computed_snapshot(programme) -> int:
    from reports.services import snapshot_compute, snapshot_request

    snapshot, _ = snapshot_request(programme=programme, requested_by=None)
    return snapshot_compute(snapshot_id=snapshot.pk).pk


@pytest.fixture
def page_world(world):  # noqa: F811
    p = world.programme
    match = MatchFactory(programme=p)
    family_checkin = CheckIn.objects.create(
        match=match, respondent=CheckIn.Respondent.FAMILY, due_on=TODAY(), token="page-family", language="uk"
    )
    mentor_checkin = CheckIn.objects.create(
        match=match, respondent=CheckIn.Respondent.MENTOR, due_on=TODAY(), token="page-mentor", language="uk"
    )
    waiting = MenteeFactory(programme=p)
    referred = MenteeFactory(programme=p, status=Mentee.Status.REFERRED)
    world.page = {
        "match": match,
        "mentee_id": match.mentee_id,
        "waiting_id": waiting.pk,
        "referred_id": referred.pk,
        "person_id": match.mentee.person_id,
        "waiting_person_id": waiting.person_id,
        "referred_family_id": referred.family_id,
        "mentor_id": MentorFactory(programme=p).pk,
        "family_id": match.mentee.family_id,
        "log_id": SessionLogFactory(match=match).pk,
        "concern_id": ConcernFactory(programme=p, match=match).pk,
        "flag_id": _flag(world).kwargs["pk"],
        "checkin_id": mentor_checkin.pk,
        "family_token": family_checkin.token,
        "programme_id": p.pk,
    }
    world.users["own_mentor"] = match.mentor.user
    return world


def _k(**keys: str) -> Callable[[dict], dict]:
    """URL kwargs from the page world: ``_k(mentee_id="waiting_id")``."""
    return lambda page: {kwarg: page[source] for kwarg, source in keys.items()}


NONE = _k()
PAGES: dict[str, tuple] = {  # name: (method, URL kwargs, expected[, query])
    "home": ("get", NONE, (LOGIN, 302, 302, 302, 302, 302, 302)),
    "login": ("get", NONE, (200, OK, OK, OK, OK, OK, OK)),
    # The sign-in's second step: without a pending sign-in, back to the password; signed in, home.
    "login-code": ("get", NONE, EVERYONE),
    # Two-step sign-in is offered to staff; mentors (volunteers) do not have it.
    "two-step": ("get", NONE, (LOGIN, OK, OK, OK, OK, 404, 404)),
    "logout": ("post", NONE, (302, 302, 302, 302, 302, 302, 302)),
    # Open to all; without a language it names the six it speaks.
    "set-language": ("post", NONE, (400, 400, 400, 400, 400, 400, 400)),
    "mentee-waiting-list": ("get", NONE, STAFF_PAGE),
    "mentee-detail": ("get", _k(mentee_id="mentee_id"), STAFF_RECORD),
    "mentor-pipeline": ("get", NONE, STAFF_PAGE),
    "mentor-list": ("get", NONE, STAFF_PAGE),
    "mentor-apply": ("get", NONE, STAFF_PAGE),
    "mentor-detail": ("get", _k(mentor_id="mentor_id"), STAFF_RECORD),
    "mentor-step": (
        "post",
        lambda page: {"mentor_id": page["mentor_id"], "step": "start-screening"},
        STAFF_RECORD,
    ),
    "family-list": ("get", NONE, STAFF_PAGE),
    "family-refer": ("get", NONE, STAFF_PAGE),
    "family-detail": ("get", _k(family_id="family_id"), STAFF_RECORD),
    "family-member-step": (
        "post",
        lambda page: {
            "family_id": page["referred_family_id"],
            "mentee_id": page["referred_id"],
            "step": "intake-start",
        },
        STAFF_RECORD,
    ),
    "matching:my-matches": ("get", NONE, MENTOR_PAGE),
    "matching:match-manage": ("get", lambda page: {"match_id": page["match"].pk}, STAFF_RECORD),
    # The page world's match is active: accepting it is refused with a message (a redirect).
    "matching:match-accept": ("post", lambda page: {"match_id": page["match"].pk}, SHARED_RECORD),
    # Posted empty, the forms answer their errors (422) to those who may use them.
    "matching:match-decline": (
        "post",
        lambda page: {"match_id": page["match"].pk},
        (LOGIN, 422, 422, 404, 404, 422, 404),
    ),
    "matching:match-pause": (
        "post",
        lambda page: {"match_id": page["match"].pk},
        (LOGIN, 422, 422, 404, 404, 404, 404),
    ),
    "matching:match-resume": ("post", lambda page: {"match_id": page["match"].pk}, STAFF_RECORD),
    "matching:exclusion-list": ("get", _k(programme_id="programme_id"), STAFF_RECORD),
    "matching:exclusion-remove": (
        "post",
        lambda page: {
            "programme_id": page["programme_id"],
            "exclusion_id": MatchExclusionFactory(programme=page["match"].programme).pk,
        },
        STAFF_RECORD,
    ),
    "matching:scoring-config": ("get", _k(programme_id="programme_id"), STAFF_RECORD),
    # The matching page (GET) and its Match buttons (POST; tests/matching/test_suggestions.py).
    "matching:match-create": ("get", _k(mentee_id="waiting_id"), STAFF_RECORD),
    "matching:match-close": ("get", lambda page: {"match_id": page["match"].pk}, STAFF_RECORD),
    "sessions:concern-list": ("get", NONE, STAFF_PAGE),
    "sessions:concern-raise": ("get", NONE, MENTOR_RECORD, lambda page: {"match": page["match"].pk}),
    "sessions:concern-mine": ("get", NONE, MENTOR_PAGE),
    "sessions:concern-detail": ("get", _k(concern_id="concern_id"), SHARED_RECORD),
    "sessions:inbox": ("get", NONE, EVERYONE),
    "sessions:inbox-mark-read": ("post", NONE, EVERYONE),
    "sessions:session-log-create": ("get", lambda page: {"match_id": page["match"].pk}, MENTOR_RECORD),
    "sessions:session-log-edit": ("get", _k(log_id="log_id"), SHARED_RECORD),
    "sessions:attention": ("get", NONE, STAFF_PAGE),
    "sessions:attention-dismiss": ("post", _k(flag_id="flag_id"), STAFF_RECORD),
    # The family's check-in link needs no account: the token is the credential.
    "sessions:checkin-family": ("get", _k(token="family_token"), (200, 200, 200, 200, 200, 200, 200)),
    "sessions:checkin-mentor-list": ("get", NONE, MENTOR_PAGE),
    "sessions:checkin-mentor": ("get", _k(checkin_id="checkin_id"), MENTOR_RECORD),
    "sessions:mentee-timeline": ("get", _k(mentee_id="mentee_id"), SHARED_RECORD),
    "reports:dashboard": ("get", NONE, REPORT_PAGE),
    "reports:snapshot-refresh": ("post", _k(programme_id="programme_id"), REPORT_RECORD),
    "reports:snapshot-status": ("get", _k(programme_id="programme_id"), REPORT_RECORD),
    "reports:print": ("get", _k(snapshot_id="snapshot_id"), REPORT_RECORD),
    "reports:export-csv": ("get", _k(snapshot_id="snapshot_id"), REPORT_RECORD),
    "reports:export-xlsx": ("get", _k(snapshot_id="snapshot_id"), REPORT_RECORD),
    "people-import": ("get", NONE, STAFF_PAGE),
    "person-data": ("get", _k(person_id="person_id"), STAFF_RECORD),
    "person-erase": ("post", _k(person_id="waiting_person_id"), STAFF_RECORD),
    "people-import-commit": ("post", NONE, (LOGIN, OK, OK, OK, 404, 404, 404)),
    "matching:batch-list": ("get", NONE, STAFF_PAGE),
    **{
        f"matching:batch-{name}": (
            method,
            lambda page: {"run_id": page["match"].programme.batch_runs.create(status="done").pk},
            STAFF_RECORD,
        )
        for name, method in (
            ("detail", "get"),
            ("progress", "get"),
            ("recruitment", "get"),
            ("rerun", "post"),
            ("accept", "post"),
        )
    },
}


def test_every_page_has_a_row():
    assert page_names() - set(PAGES) == set(), "pages without a matrix row"
    assert set(PAGES) - page_names() == set(), "rows of pages no longer served"


PAGE_CASES = [
    pytest.param(name, actor, id=f"{name}-{actor}") for name in sorted(PAGES) for actor in PAGE_ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "actor"), PAGE_CASES)
def test_page_matrix(client, page_world, name, actor):
    method, kwargs, expected_row, *query = PAGES[name]
    expected = expected_row[PAGE_ACTORS.index(actor)]
    user = page_world.users[actor]
    if name.startswith("reports:"):  # computing a snapshot is slow: only for the report pages
        page_world.page["snapshot_id"] = _computed_snapshot(page_world.programme)
    if user is not None:
        client.force_login(user)

    url = reverse(name, kwargs=kwargs(page_world.page))
    params = query[0](page_world.page) if query else {}
    response = client.get(url, params) if method == "get" else client.post(url, {})

    if expected == LOGIN:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith(reverse("login")), response["Location"]
    elif expected == OK:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("login")), response["Location"]
    else:
        assert response.status_code == expected, response.status_code


# --- Field level: what a mentor's own responses withhold --------------------------------------

WITHHELD_FROM_MENTORS = ("cultural_backgrounds", "country_of_birth", "migrant_background", "needs_assessment")


@pytest.fixture
def mentors_match(programme):
    """A mentor's active match with a Roma mother who declared her background and consented."""
    return MatchFactory(programme=programme, mentee__person__backgrounds=["roma"])


@pytest.mark.django_db
def test_a_mentors_mentee_carries_no_background_or_intake_assessment(client_for, mentors_match):
    api = client_for(mentors_match.mentor.user)

    detail = api.get(reverse("api-mentee-detail", kwargs={"pk": mentors_match.mentee_id})).json()
    (listed,) = api.get(reverse("api-mentee-list")).json()["results"]

    for row in (detail, listed):
        assert {field: row.get(field) for field in WITHHELD_FROM_MENTORS} == dict.fromkeys(
            WITHHELD_FROM_MENTORS
        )


@pytest.mark.django_db
def test_a_mentors_lists_hold_their_own_mentees_only(client_for, programme, mentors_match):
    other = MatchFactory(programme=programme)
    Goal.objects.create(mentee=other.mentee, description="Someone else's goal", agreed_on=TODAY())
    SessionLogFactory(match=other)
    api = client_for(mentors_match.mentor.user)

    mentees = {row["id"] for row in api.get(reverse("api-mentee-list")).json()["results"]}
    matches = {row["id"] for row in api.get(reverse("api-match-list")).json()["results"]}
    goals = {row["mentee"] for row in api.get(reverse("api-goal-list")).json()["results"]}
    logs = {row["match"] for row in api.get(reverse("api-session-log-list")).json()["results"]}

    assert mentees == {mentors_match.mentee_id}
    assert matches == {mentors_match.pk}
    assert goals <= {mentors_match.mentee_id}
    assert logs <= {mentors_match.pk}
    assert (
        api.get(reverse("api-mentee-suggestions", kwargs={"mentee_id": mentors_match.mentee_id})).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_mentor_never_reads_the_familys_checkin(client_for, mentors_match):
    family = CheckIn.objects.create(
        match=mentors_match,
        respondent=CheckIn.Respondent.FAMILY,
        due_on=TODAY(),
        token="family-secret",
        language="uk",
        answers=SCORES,
        uncertain=True,
        private_note="The mentor often cancels.",
        answered_at=timezone.now(),
    )
    own = CheckIn.objects.create(
        match=mentors_match,
        respondent=CheckIn.Respondent.MENTOR,
        due_on=TODAY(),
        token="mentor-own",
        language="uk",
    )
    api = client_for(mentors_match.mentor.user)

    rows = api.get(reverse("api-checkin-list")).json()["results"]
    filtered = api.get(reverse("api-checkin-list"), {"respondent": "family"}).json()["results"]

    assert [row["id"] for row in rows] == [own.pk]
    assert filtered == []
    assert "often cancels" not in str(rows) and "family-secret" not in str(rows)
    assert rows[0]["family_link"] is None
    assert api.get(reverse("api-checkin-detail", kwargs={"pk": family.pk})).status_code == 404


@pytest.mark.django_db
def test_a_mentor_never_reads_a_concern_someone_else_raised(client_for, coordinator, mentors_match):
    others = ConcernFactory(
        programme=mentors_match.programme,
        match=mentors_match,
        raised_by=coordinator,
        description="The school reported bruises; social services informed.",
    )
    own = ConcernFactory(programme=mentors_match.programme, match=mentors_match)
    api = client_for(mentors_match.mentor.user)

    rows = api.get(reverse("api-concern-list")).json()["results"]

    assert [row["id"] for row in rows] == [own.pk]
    assert "bruises" not in str(rows)
    assert api.get(reverse("api-concern-detail", kwargs={"pk": others.pk})).status_code == 404


@pytest.mark.django_db
def test_a_mentor_reads_no_report(client_for, mentors_match):
    api = client_for(mentors_match.mentor.user)

    assert api.get(reverse("api-report-snapshot-list")).json()["results"] == []
    latest = api.get(reverse("api-report-snapshot-latest"), {"programme": mentors_match.programme_id})
    assert latest.status_code == 404


# --- Lists: no foreign ids ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["other_coordinator", "other_manager"])
def test_no_list_shows_another_programmes_rows(world, other_programme, actor):  # noqa: F811
    """With every row's record built in P (and nothing in Q), each list Q's staff read holds
    nothing but Q itself: no row of P, whatever its type."""
    from tests.mentoring.test_permission_matrix import MATRIX as MENTORING_MATRIX

    lists = sorted(
        {
            name
            for name, method in [*MATRIX, *MENTORING_MATRIX]
            if method == "get" and name.endswith(COLLECTIONS)
        }
    )
    for name, method in [*MATRIX, *MENTORING_MATRIX]:
        if method == "get" and name.endswith("-list"):
            (MATRIX.get((name, method)) or MENTORING_MATRIX[(name, method)])[0](world)
    api = _client(world.users[actor])

    for name in lists:
        if name.endswith("-latest"):
            response = api.get(reverse(name), {"programme": world.programme.pk})
            assert response.status_code == 404, (name, response.content)
            continue
        rows = api.get(reverse(name)).json()["results"]
        foreign = [
            row
            for row in rows
            if not (name == "api-programme-list" and row["id"] == other_programme.pk)
            and row.get("programme", other_programme.pk) != other_programme.pk
            or "programme" not in row
            and name != "api-programme-list"
        ]
        assert foreign == [], (name, foreign)
