"""The walking skeleton in a real browser: the coordinator matches, the mentor logs a session,
the manager refreshes the report and a real Celery worker computes the new figures."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mentoring.models import LanguageLevel, Mentee, MigrantBackground
from reports.models import ReportSnapshot
from reports.services import parameters_key, snapshot_compute
from sessions.models import SessionLog
from tests.factories import (
    CoordinatorFactory,
    ManagerFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    ProgrammeFactory,
)

PASSWORD = "tandem-test-pass"
FIRST = MigrantBackground.FIRST_GENERATION
NONE = MigrantBackground.NONE


def _build_programme():
    """k = 5. First-generation mentees: 14 (Iryna among them), of whom 8 matched; the 6 waiting
    stay more than the 5 needed and fewer than the matched, so that after Iryna's match the
    matched count (8, then 9) is published both times and the change shows (the funnel's
    suppression withholds a row's smallest count when its empty "referred only" cell needs a
    complement). Non-migrant mentees: 13, 8 matched. Eight non-migrant mentors hold those 16
    matches; Olena is free."""
    programme = ProgrammeFactory(name="Parent mentoring, Baia Mare 2025–26", small_cell_k=5)
    CoordinatorFactory(
        username="ioana.coordinator", first_name="Ioana", last_name="Marin", programmes=[programme]
    )
    ManagerFactory(username="maria.manager", first_name="Maria", last_name="Ilie", programmes=[programme])
    olena = MentorFactory(
        programme=programme,
        approved=True,
        user__username="olena.mentor",
        user__first_name="Olena",
        user__last_name="Kovalenko",
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
        person__backgrounds=["ukrainian"],
    )
    iryna = MenteeFactory(
        programme=programme,
        person__first_name="Iryna",
        person__last_name="Shevchenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
        person__backgrounds=["ukrainian"],
        waiting_since=timezone.localdate() - datetime.timedelta(days=60),
    )
    pool = MentorFactory.create_batch(
        8, programme=programme, approved=True, capacity=2, person__migrant_background=NONE
    )
    for i in range(8):
        MatchFactory(programme=programme, mentor=pool[i], mentee__person__migrant_background=FIRST)
    for i in range(8):
        MatchFactory(programme=programme, mentor=pool[i], mentee__person__migrant_background=NONE)
    MenteeFactory.create_batch(5, programme=programme, person__migrant_background=FIRST)
    MenteeFactory.create_batch(5, programme=programme, person__migrant_background=NONE)

    # Yesterday's figures, computed here rather than by the worker the test starts.
    snapshot = ReportSnapshot.objects.create(
        programme=programme,
        parameters_key=parameters_key(kind=ReportSnapshot.Kind.PARTICIPATION, parameters={}),
        small_cell_k=programme.small_cell_k,
    )
    snapshot_compute(snapshot_id=snapshot.pk)
    return programme, olena, iryna


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Tandem")).to_be_visible()


@pytest.mark.browser
@pytest.mark.worker
def test_coordinator_matches_mentor_logs_a_session_and_manager_sees_fresh_figures(
    transactional_db, live_server, celery_worker_live, page: Page
):
    programme, olena, iryna = _build_programme()

    # The coordinator matches Iryna with the best suggestion, Olena.
    _log_in(page, live_server.url, "ioana.coordinator")
    expect(page.get_by_role("heading", name="Waiting list")).to_be_visible()
    page.get_by_role("link", name="Iryna Shevchenko").click()
    suggestion = page.get_by_role("listitem", name="Olena Kovalenko")
    expect(suggestion).to_contain_text("Shares Ukrainian background (+25)")
    suggestion.get_by_role("button", name="Match with Olena Kovalenko").click()
    expect(page.get_by_text("Iryna Shevchenko is now matched with Olena Kovalenko.")).to_be_visible()
    iryna.refresh_from_db()
    assert iryna.status == Mentee.Status.MATCHED
    _log_out(page)

    # Olena logs their first session on her phone.
    page.set_viewport_size({"width": 360, "height": 780})
    _log_in(page, live_server.url, "olena.mentor")
    expect(page.get_by_role("heading", name="My matches")).to_be_visible()
    page.get_by_role("link", name="Log a session with Iryna Shevchenko").click()
    expect(page.get_by_label("Language used")).to_have_value("uk")
    expect(page.get_by_role("checkbox", name="Parent", exact=True)).to_be_checked()
    page.get_by_label("Duration in minutes").fill("45")
    page.get_by_role("radio", name="In person").check()
    page.get_by_role("checkbox", name="Homework support").check()
    page.get_by_label("Notes").fill("Set up the school's homework platform on her phone.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_text("Session saved. Thank you!")).to_be_visible()
    log = SessionLog.objects.get(match__mentee=iryna)
    assert (log.duration_minutes, log.topics, log.language) == (45, ["homework"], "uk")
    _log_out(page)

    # The manager refreshes the report; the worker computes it while the page polls.
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server.url, "maria.manager")
    mentees = page.get_by_role("table", name="Mentees by migrant background: people at each stage")
    first_generation = mentees.locator("tr[data-group='first_generation']")
    matched_first_generation = first_generation.locator("td[data-stage='matched']")
    expect(matched_first_generation).to_have_text("8")
    expect(
        page.get_by_role("img", name="Mentees: how far each group gets, by migrant background")
    ).to_be_visible()
    page.get_by_role("button", name=f"Refresh the figures of {programme.name}").click()
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=30_000)
    expect(matched_first_generation).to_have_text("9", timeout=30_000)
    expect(first_generation.locator("td[data-stage='referred']")).to_have_text("14")
    expect(page.get_by_text("The figures are up to date.")).to_be_visible()
    # The trend now holds yesterday's snapshot and today's.
    expect(page.get_by_role("img", name="Matched share per group over the last 2 snapshots")).to_be_visible()
    assert ReportSnapshot.objects.filter(programme=programme, status=ReportSnapshot.Status.DONE).count() == 2
    expect(page.get_by_text("Iryna")).to_have_count(0)
