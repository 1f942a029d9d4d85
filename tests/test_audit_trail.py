"""The audit trail walks every detail view and export, through the API and the pages: a read of
a person's case record writes exactly one audit row, in the request's own transaction; what is
not a case record (lists, vocabularies, aggregates, settings) writes none. A route that is in
neither table fails ``test_every_read_is_classified`` until someone decides which it is."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mentoring.models import AuditEvent
from tests.mentoring.test_permission_matrix import ACTORS
from tests.mentoring.test_permission_matrix import MATRIX as MENTORING_MATRIX
from tests.test_authorization_matrix import (
    MATRIX,
    PAGE_ACTORS,
    PAGES,
    _client,
    _computed_snapshot,
    _request,
    page_world,  # noqa: F401 - the fixture the pages run in
    world,  # noqa: F401 - the fixture the API rows run in
)

API = {**MENTORING_MATRIX, **MATRIX}

# API reads of one case record: exactly one row, naming that record's type.
API_RECORD_READS = {
    "api-mentee-detail": "mentoring.Mentee",
    "api-mentor-detail": "mentoring.Mentor",
    "api-family-detail": "mentoring.Family",
    "api-match-detail": "matching.Match",
    "api-match-exclusion-detail": "matching.MatchExclusion",
    "api-mentee-suggestions": "mentoring.Mentee",
    "api-mentee-suggestion-detail": "mentoring.Mentee",
    "api-mentor-suggestions": "mentoring.Mentor",
    "api-session-log-detail": "mentoring_sessions.SessionLog",
    "api-session-log-history": "mentoring_sessions.SessionLog",
    "api-concern-detail": "mentoring_sessions.Concern",
    "api-goal-detail": "mentoring_sessions.Goal",
    "api-checkin-detail": "mentoring_sessions.CheckIn",
    "api-person-data-export": "mentoring.Person",
    "api-batch-run-detail": "matching.BatchRun",
    "api-batch-run-pairs": "matching.BatchRun",
    "api-batch-run-unmatched": "matching.BatchRun",
    "api-batch-run-recruitment-needs": "matching.BatchRun",
}
# API reads that are not of one person's case record, and why they write no row.
API_OTHER_READS = {
    "api-programme-detail": "a programme's settings",
    "api-programme-scoring": "a programme's matching weights",
    "api-report-snapshot-detail": "aggregates, small-cell suppressed",
    "api-report-snapshot-figures": "aggregates, small-cell suppressed",
    "api-report-snapshot-latest": "aggregates, small-cell suppressed",
}

# Pages about one case record: exactly one row.
PAGE_RECORD_READS = {
    "mentee-detail": "mentoring.Mentee",
    "mentor-detail": "mentoring.Mentor",
    "family-detail": "mentoring.Family",
    "person-data": "mentoring.Person",
    "matching:match-manage": "matching.Match",
    "matching:match-close": "matching.Match",
    "matching:match-create": "mentoring.Mentee",
    "matching:batch-detail": "matching.BatchRun",
    "matching:batch-recruitment": "matching.BatchRun",
    # Polled while a run computes: only the answer that shows the finished proposal is a read.
    "matching:batch-progress": "matching.BatchRun",
    "sessions:concern-detail": "mentoring_sessions.Concern",
    "sessions:concern-raise": "matching.Match",
    "sessions:session-log-create": "matching.Match",
    "sessions:session-log-edit": "mentoring_sessions.SessionLog",
    "sessions:mentee-timeline": "mentoring.Mentee",
    "sessions:checkin-mentor": "mentoring_sessions.CheckIn",
    "reports:export-csv": "reports.ReportSnapshot",
    "reports:export-xlsx": "reports.ReportSnapshot",
}
# Pages that are not about one case record.
PAGE_OTHER_READS = {
    "home": "a redirect to the user's start page",
    "login": "the sign-in form",
    "login-code": "the sign-in's second step",
    "two-step": "the user's own two-step sign-in (turning it on or off is audited)",
    "family-list": "a list",
    "family-refer": "an empty form",
    "mentee-waiting-list": "a list",
    "mentor-list": "a list",
    "mentor-pipeline": "a list",
    "mentor-apply": "an empty form",
    "people-import": "an empty form",
    "matching:my-matches": "the mentor's own list",
    "matching:batch-list": "a list of runs (figures only)",
    "matching:exclusion-list": "a list",
    "matching:scoring-config": "a programme's matching weights",
    "reports:dashboard": "aggregates, small-cell suppressed",
    "reports:print": "aggregates, small-cell suppressed",
    "reports:snapshot-status": "a snapshot's progress",
    "sessions:attention": "a list",
    "sessions:concern-list": "a list",
    "sessions:concern-mine": "the mentor's own list",
    "sessions:inbox": "the user's own notifications",
    "sessions:checkin-family": "the family's own form, reached by its token",
    "sessions:checkin-mentor-list": "the mentor's own list",
}


def _is_list(name: str) -> bool:
    return name.endswith("-list")


API_READS = sorted(name for name, method in API if method == "get" and not _is_list(name))
PAGE_READS = sorted(name for name, row in PAGES.items() if row[0] == "get")


def test_every_read_is_classified():
    assert set(API_READS) - set(API_RECORD_READS) - set(API_OTHER_READS) == set()
    assert set(PAGE_READS) - set(PAGE_RECORD_READS) - set(PAGE_OTHER_READS) == set()
    assert set(API_RECORD_READS) | set(API_OTHER_READS) <= set(API_READS)
    assert set(PAGE_RECORD_READS) | set(PAGE_OTHER_READS) <= set(PAGE_READS)


def _new_events(before: int) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(pk__gt=before).values_list("action", "object_type", "role"))


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", API_READS)
def test_an_api_read_writes_one_audit_row_per_case_record(world, name):  # noqa: F811
    build, expected = API[(name, "get")]
    target = build(world)
    coordinator_reads = expected[ACTORS.index("coordinator")] not in (403, 404)
    user = world.users["coordinator"] if coordinator_reads else target.owner()
    before = _last_event_id()

    response = _request(_client(user), name, "get", target)

    assert response.status_code == 200, response.content
    events = _new_events(before)
    if name in API_RECORD_READS:
        assert len(events) == 1, events
        action, object_type, role = events[0]
        assert action in (AuditEvent.Action.READ, AuditEvent.Action.EXPORT)
        assert (object_type, role) == (API_RECORD_READS[name], user.role)
    else:
        assert events == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_READS)
def test_a_page_writes_one_audit_row_per_case_record(client, page_world, name):  # noqa: F811
    _method, kwargs, expected_row, *query = PAGES[name]
    coordinator_reads = expected_row[PAGE_ACTORS.index("coordinator")] not in (403, 404)
    user = page_world.users["coordinator" if coordinator_reads else "own_mentor"]
    if name.startswith("reports:"):
        page_world.page["snapshot_id"] = _computed_snapshot(page_world.programme)
    client.force_login(user)
    before = _last_event_id()

    response = client.get(
        reverse(name, kwargs=kwargs(page_world.page)), query[0](page_world.page) if query else {}
    )

    assert response.status_code in (200, 302), response.status_code
    events = _new_events(before)
    if name in PAGE_RECORD_READS:
        assert len(events) == 1, events
        action, object_type, _role = events[0]
        assert action in (AuditEvent.Action.READ, AuditEvent.Action.EXPORT)
        assert object_type == PAGE_RECORD_READS[name]
    else:
        assert events == []
