"""Who may do what with the programme's records through the API: every endpoint of
``mentoring.api`` × every kind of user, against ``domain.md``'s "Roles and permissions" table.

The endpoints are read from the URL resolver, so a new endpoint without a row in ``MATRIX``
fails ``test_every_mentoring_endpoint_has_a_row``. Each row builds the record the request is
about (in the coordinator's programme, at the lifecycle stage the action needs, so an allowed
request succeeds) and says what each user gets:

- a status code, or for lists ``SEES`` / ``HIDDEN``: 200, and the record is / is not a row;
- ``own_mentor`` is the mentor the record belongs to (their own profile or consent, the mentee
  of their active match, the family of that mentee); ``other_mentor`` is a mentor of the same
  programme with a mentee of their own, unrelated to the record;
- ``other_coordinator`` and ``other_manager`` are staff of another programme only.

The rules the rows follow: staff of another programme get 404 for a record (never 403);
managers read no rows (empty lists, 404 for a record) and are refused changes in their own
programme with 403; a mentor is refused changes to what they can read with 403 and gets 404
for anything else; creating in a programme (or for a person) the user may not change answers
400 ``not_found`` on that field; anonymous requests get DRF's 403 (session authentication
comes first, so no 401 challenge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from mentoring.models import AuditEvent, Consent, ConsentPurpose, Mentee, Mentor, User
from tests.factories import (
    CulturalBackgroundFactory,
    ManagerFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    PersonFactory,
)
from tests.mentoring.builders import DAY, answers_for, mentor_at, needs, self_assessment_questions, today

SEES, HIDDEN = "sees", "hidden"
ACTORS = (
    "anonymous",
    "admin",
    "coordinator",
    "other_coordinator",
    "manager",
    "other_manager",
    "own_mentor",
    "other_mentor",
)


# --- The endpoints, from the URL resolver ----------------------------------------------------


def _patterns(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def mentoring_endpoints() -> set[tuple[str, str]]:
    """(URL name, HTTP method) of every endpoint served by ``mentoring.api``."""
    endpoints = set()
    for _route, pattern in _patterns(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        if view is None or view.__module__ != "mentoring.api":
            continue
        # A viewset's actions ({"get": "list", ...}); DRF adds "head" to them once served.
        actions = getattr(pattern.callback, "actions", None)
        methods = actions if actions is not None else [m for m in view.http_method_names if hasattr(view, m)]
        endpoints |= {(pattern.name, method) for method in methods if method not in ("head", "options")}
    return endpoints


# --- The records each row is about -----------------------------------------------------------


@dataclass
class Target:
    """The request of one row: the record's URL kwargs (unused by lists), the body, the record
    a list should (not) show, and who owns the record (made only when ``own_mentor`` asks)."""

    kwargs: dict = field(default_factory=dict)
    body: dict | None = None
    row_id: int | None = None
    owner: Callable[[], User] | None = None


def _new_mentor_user(w) -> User:
    """A mentor of the programme with a mentee of their own."""
    return MatchFactory(programme=w.programme).mentor.user


def _mentor_of(mentee: Mentee) -> Callable[[], User]:
    def owner() -> User:
        return MatchFactory(programme=mentee.programme, mentee=mentee).mentor.user

    return owner


def _mentor_target(stage: str, body: Callable | None = None) -> Callable:
    def build(w) -> Target:
        mentor = mentor_at(w.programme, stage)
        return Target(
            kwargs={"pk": mentor.pk},
            body=body(w) if body else None,
            row_id=mentor.pk,
            owner=lambda: mentor.user,
        )

    return build


def _mentee_target(status: str, body: dict | None = None) -> Callable:
    def build(w) -> Target:
        mentee = MenteeFactory(programme=w.programme, status=status)
        return Target(kwargs={"pk": mentee.pk}, body=body, row_id=mentee.pk, owner=_mentor_of(mentee))

    return build


def _matched_mentee(w) -> Target:
    match = MatchFactory(programme=w.programme)
    return Target(kwargs={"pk": match.mentee.pk}, row_id=match.mentee.pk, owner=lambda: match.mentor.user)


def _family(w) -> Target:
    mentee = MenteeFactory(programme=w.programme)
    return Target(kwargs={"pk": mentee.family.pk}, row_id=mentee.family.pk, owner=_mentor_of(mentee))


def _mentors_consent(w) -> Target:
    mentor = MentorFactory(programme=w.programme, approved=True)
    consent = Consent.objects.get(person=mentor.person, purpose=ConsentPurpose.STATISTICS)
    return Target(kwargs={"pk": consent.pk}, row_id=consent.pk, owner=lambda: mentor.user)


def _programme(w) -> Target:
    return Target(kwargs={"pk": w.programme.pk}, row_id=w.programme.pk, owner=lambda: _new_mentor_user(w))


def _vocabulary(make: Callable) -> Callable:
    def build(w) -> Target:
        return Target(row_id=make(w.programme).pk, owner=lambda: _new_mentor_user(w))

    return build


def _create(body: Callable) -> Callable:
    def build(w) -> Target:
        return Target(body=body(w), owner=lambda: _new_mentor_user(w))

    return build


def _application(w) -> dict:
    return {"programme": w.programme.pk, "person": {"first_name": "Amal", "last_name": "Haddad"}}


def _referral(w) -> dict:
    return {
        "programme": w.programme.pk,
        "reference": "BM-2025-077",
        "referral_source": "school",
        "members": [{"kind": "parent", "person": {"first_name": "Iryna", "last_name": "Shevchenko"}}],
    }


def _consent(w) -> dict:
    person = PersonFactory(programme=w.programme, consents=[])
    return {"person": person.pk, "purpose": "case_management", "given_by": "Iryna", "language": "uk"}


def _reference(w) -> dict:
    return {
        "referee_name": "Ana Pop",
        "relationship": "employer",
        "received_on": str(today()),
        "satisfactory": True,
    }


def _training(w) -> dict:
    return {"course": "Parent mentoring basics", "completed_on": str(today()), "test_score": 90}


def _self_assessment(w) -> dict:
    return {"stage": "start", "answers": answers_for(w.programme)}


def _record_check(w) -> dict:
    return {"checked_on": str(today()), "expires_on": str(today() + 365 * DAY)}


# --- The matrix ------------------------------------------------------------------------------
# Columns: anonymous, admin, coordinator, other_coordinator, manager, other_manager, own_mentor,
# other_mentor.

LIST_OWN = (403, SEES, SEES, HIDDEN, HIDDEN, HIDDEN, SEES, HIDDEN)  # a mentor's own rows
LIST_STAFF = (403, SEES, SEES, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)  # coordinators only
LIST_PROGRAMME = (403, SEES, SEES, HIDDEN, SEES, HIDDEN, HIDDEN, HIDDEN)  # the programme's staff
READ_OWN = (403, 200, 200, 404, 404, 404, 200, 404)
READ_STAFF = (403, 200, 200, 404, 404, 404, 404, 404)
CREATE = (403, 201, 201, 400, 403, 403, 403, 403)
CHANGE = (403, 200, 200, 404, 403, 404, 403, 404)
ADD = (403, 201, 201, 404, 403, 404, 403, 404)

MATRIX: dict[tuple[str, str], tuple[Callable, tuple]] = {
    # Programmes: staff read their own.
    ("api-programme-list", "get"): (_programme, LIST_PROGRAMME),
    ("api-programme-detail", "get"): (_programme, (403, 200, 200, 404, 200, 404, 404, 404)),
    # Mentors: a mentor reads their own profile only.
    ("api-mentor-list", "get"): (_mentor_target("approved"), LIST_OWN),
    ("api-mentor-list", "post"): (_create(_application), CREATE),
    ("api-mentor-detail", "get"): (_mentor_target("approved"), READ_OWN),
    ("api-mentor-start-screening", "post"): (_mentor_target("applied"), CHANGE),
    ("api-mentor-record-interview", "post"): (
        _mentor_target("screening", lambda w: {"interviewed_on": str(today())}),
        CHANGE,
    ),
    ("api-mentor-references", "post"): (_mentor_target("screening", _reference), ADD),
    ("api-mentor-record-check", "post"): (_mentor_target("screening", _record_check), CHANGE),
    ("api-mentor-start-training", "post"): (_mentor_target("screened"), CHANGE),
    ("api-mentor-training-records", "post"): (_mentor_target("training", _training), ADD),
    ("api-mentor-self-assessments", "post"): (_mentor_target("training", _self_assessment), ADD),
    ("api-mentor-approve", "post"): (_mentor_target("trained"), CHANGE),
    ("api-mentor-deactivate", "post"): (_mentor_target("approved"), CHANGE),
    ("api-mentor-reactivate", "post"): (_mentor_target("inactive"), CHANGE),
    ("api-mentor-withdraw", "post"): (_mentor_target("approved", lambda w: {"reason": "Moved away"}), CHANGE),
    # Mentees: a mentor reads the mentees of their active matches, and changes none.
    ("api-mentee-list", "get"): (_matched_mentee, LIST_OWN),
    ("api-mentee-detail", "get"): (_matched_mentee, READ_OWN),
    ("api-mentee-start-intake", "post"): (_mentee_target(Mentee.Status.REFERRED), CHANGE),
    ("api-mentee-complete-intake", "post"): (
        _mentee_target(Mentee.Status.INTAKE, {"needs_assessment": "Homework support in Romanian."}),
        CHANGE,
    ),
    ("api-mentee-close", "post"): (_mentee_target(Mentee.Status.WAITING), CHANGE),
    # Families: coordinators' case files; a mentor reads their mentee, not the family's file.
    ("api-family-list", "get"): (_family, LIST_STAFF),
    ("api-family-list", "post"): (_create(_referral), CREATE),
    ("api-family-detail", "get"): (_family, READ_STAFF),
    # Consent: a mentor reads their own (part of their profile) and records or withdraws none.
    ("api-consent-list", "get"): (_mentors_consent, LIST_OWN),
    ("api-consent-list", "post"): (_create(_consent), CREATE),
    ("api-consent-withdraw", "post"): (_mentors_consent, CHANGE),
    # Vocabularies: the programme's staff.
    ("api-cultural-background-list", "get"): (
        _vocabulary(lambda p: CulturalBackgroundFactory(programme=p, code="roma", name="Roma")),
        LIST_PROGRAMME,
    ),
    ("api-need-list", "get"): (_vocabulary(lambda p: needs(p)[0]), LIST_PROGRAMME),
    ("api-self-assessment-question-list", "get"): (
        _vocabulary(lambda p: self_assessment_questions(p)[0]),
        LIST_PROGRAMME,
    ),
}


def test_every_mentoring_endpoint_has_a_row():
    assert mentoring_endpoints() == set(MATRIX)


def test_every_row_names_what_each_user_gets():
    assert {len(expected) for _, expected in MATRIX.values()} == {len(ACTORS)}


# --- Running the matrix ----------------------------------------------------------------------


@pytest.fixture
def world(programme, other_programme, coordinator, other_coordinator, manager, admin_user):
    return SimpleNamespace(
        programme=programme,
        users={
            "anonymous": None,
            "admin": admin_user,
            "coordinator": coordinator,
            "other_coordinator": other_coordinator,
            "manager": manager,
            "other_manager": ManagerFactory(programmes=[other_programme]),
            "other_mentor": MatchFactory(programme=programme).mentor.user,
        },
    )


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


CASES = [
    pytest.param(name, method, actor, id=f"{name}-{method}-{actor}")
    for (name, method) in sorted(MATRIX)
    for actor in ACTORS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "actor"), CASES)
def test_permission_matrix(world, name, method, actor):
    build, expected_row = MATRIX[(name, method)]
    expected = expected_row[ACTORS.index(actor)]
    target = build(world)
    user = target.owner() if actor == "own_mentor" else world.users[actor]

    url = reverse(name) if name.endswith("-list") else reverse(name, kwargs=target.kwargs)
    client = _client(user)
    response = client.get(url) if method == "get" else client.post(url, target.body, format="json")

    if expected in (SEES, HIDDEN):
        assert response.status_code == 200, response.content
        rows = {row["id"] for row in response.json()["results"]}
        assert (target.row_id in rows) == (expected == SEES), rows
        return
    assert response.status_code == expected, response.content
    if expected >= 400:
        codes = {error["code"] for error in response.json()["errors"]}
        assert (
            codes
            == {
                400: {"not_found"},  # the programme or person of the body, not the input's shape
                403: {"not_authenticated" if actor == "anonymous" else "permission_denied"},
                404: {"not_found"},
            }[expected]
        )


@pytest.mark.django_db
def test_a_managers_refused_change_leaves_the_record_unchanged(client_for, manager, programme):
    mentor = mentor_at(programme, "trained")

    response = client_for(manager).post(reverse("api-mentor-approve", kwargs={"pk": mentor.pk}))

    assert response.status_code == 403
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.TRAINING


@pytest.mark.django_db
def test_a_refused_change_is_audited(client_for, other_coordinator, programme):
    mentee = MenteeFactory(programme=programme)

    client_for(other_coordinator).post(reverse("api-mentee-close", kwargs={"pk": mentee.pk}))

    assert AuditEvent.objects.filter(
        user=other_coordinator, action="denied", object_type="mentoring.Mentee", object_id=str(mentee.pk)
    ).exists()
