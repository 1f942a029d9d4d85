"""Shared fixtures, built from the factories; and the rule that in CI nothing may skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from mentoring.models import LanguageLevel, MigrantBackground
from tests.factories import (
    AdminFactory,
    CoordinatorFactory,
    ManagerFactory,
    MenteeFactory,
    MentorFactory,
    ProgrammeFactory,
)

CHROMIUM = Path(os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium"))
# .ci/run sets TANDEM_NO_SKIP=1: a test that would skip there (no browser, no Redis) fails.
NO_SKIP = os.environ.get("TANDEM_NO_SKIP") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)  # the page fixture checks pages of passed tests
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped where nothing may skip (TANDEM_NO_SKIP=1): {report.longrepr}"


@pytest.fixture
def programme(db):
    return ProgrammeFactory(name="Parent mentoring, Baia Mare 2025–26", slug="baia-mare")


@pytest.fixture
def other_programme(db):
    return ProgrammeFactory(
        name="Ouderschapsmentoring Gent 2025–26", slug="gent", country="BE", local_language="nl"
    )


@pytest.fixture
def coordinator(programme):
    return CoordinatorFactory(username="ioana.coordinator", programmes=[programme])


@pytest.fixture
def other_coordinator(other_programme):
    return CoordinatorFactory(username="lien.coordinator", programmes=[other_programme])


@pytest.fixture
def manager(programme):
    return ManagerFactory(username="maria.manager", programmes=[programme])


@pytest.fixture
def admin_user(db):
    return AdminFactory(username="admin")


@pytest.fixture
def mentor(programme):
    """An approved Ukrainian-speaking mentor with two free places."""
    return MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
        person__backgrounds=["ukrainian"],
    )


@pytest.fixture
def other_mentor(programme):
    """A second approved mentor of the same programme, Romanian-speaking."""
    return MentorFactory(
        programme=programme,
        approved=True,
        person__first_name="Mihai",
        person__last_name="Pop",
        person__migrant_background=MigrantBackground.NONE,
        person__country_of_birth="RO",
        person__languages=[("ro", LanguageLevel.NATIVE), ("en", LanguageLevel.FLUENT)],
        person__backgrounds=[],
    )


@pytest.fixture
def waiting_mentee(programme):
    """A Ukrainian mother waiting for a mentor."""
    return MenteeFactory(
        programme=programme,
        person__first_name="Iryna",
        person__last_name="Shevchenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
        person__backgrounds=["ukrainian"],
    )


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """``client_for(user)``: an API client authenticated as ``user``."""
    return _client_for


@pytest.fixture
def celery_worker_live(transactional_db):
    """A real Celery worker consuming the configured broker (Redis when REDIS_URL is set)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ):
        yield app


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (``playwright install`` is not used)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A browser page whose pages are held to WCAG 2.1 AA: once the test has passed, axe-core
    checks the page's final state and every HTML document it received (replayed as shown), and
    any serious or critical violation fails the test."""
    from tests.a11y import DocumentRecorder, axe_problems, check_recorded, format_problems, require_axe

    require_axe()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    recorder = DocumentRecorder(page)
    yield page
    problems = []
    try:
        call = getattr(request.node, "report_call", None)
        if call is not None and call.passed:
            if not page.is_closed():
                page.wait_for_load_state()
                if violations := axe_problems(page):
                    problems.append(format_problems(f"{page.url} as the test left it", violations))
            problems += check_recorded(browser, recorder)
            # A document left before its body could be read is fetched again, as things now stand.
            for url in dict.fromkeys(recorder.unreadable):
                revisit = context.new_page()
                revisit.goto(url)
                if violations := axe_problems(revisit):
                    problems.append(format_problems(f"{url} (visited again)", violations))
    finally:
        context.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
