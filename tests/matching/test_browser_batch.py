"""A coordinator matches a waiting list at once, on a 768-px tablet: starts a batch, watches a
real worker compute it without reloading, pins a pair and runs it again, then accepts pairs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from matching.models import BatchRun, Match
from mentoring.models import LanguageLevel
from tests.factories import CoordinatorFactory, MenteeFactory, MentorFactory, ProgrammeFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker]
PASSWORD = "tandem-test-pass"
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def waiting_list(transactional_db):
    """Two mentors with one place each and three waiting mothers, one of whom speaks only
    Tigrinya, which no mentor speaks."""
    programme = ProgrammeFactory(name="Parent mentoring, Baia Mare 2025–26")
    CoordinatorFactory(
        username="ioana.coordinator", first_name="Ioana", last_name="Marin", programmes=[programme]
    )
    mentors = {
        "olena": MentorFactory(
            programme=programme,
            approved=True,
            capacity=1,
            person__first_name="Olena",
            person__last_name="Kovalenko",
            person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
            person__backgrounds=["ukrainian"],
        ),
        "mihai": MentorFactory(
            programme=programme,
            approved=True,
            capacity=1,
            person__first_name="Mihai",
            person__last_name="Pop",
            person__languages=[("ro", LanguageLevel.NATIVE), ("en", LanguageLevel.FLUENT)],
            person__backgrounds=[],
        ),
    }
    mentees = {
        "iryna": MenteeFactory(
            programme=programme,
            person__first_name="Iryna",
            person__last_name="Shevchenko",
            person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
            person__backgrounds=["ukrainian"],
        ),
        "ana": MenteeFactory(
            programme=programme,
            person__first_name="Ana",
            person__last_name="Lakatos",
            person__languages=[("ro", LanguageLevel.NATIVE)],
            person__backgrounds=[],
        ),
        "saba": MenteeFactory(
            programme=programme,
            person__first_name="Saba",
            person__last_name="Tesfay",
            person__languages=[("ti", LanguageLevel.NATIVE)],
            person__backgrounds=["eritrean"],
        ),
    }
    return programme, mentors, mentees


def _fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]


def test_coordinator_reviews_a_batch_pins_a_pair_reruns_and_accepts(
    live_server, celery_worker_live, page: Page, waiting_list
):
    programme, mentors, mentees = waiting_list
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("ioana.coordinator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Start a batch of the waiting list.
    page.get_by_role("link", name="Batch matching").click()
    expect(page.get_by_role("heading", name="Batch matching", exact=True)).to_be_visible()
    expect(page.get_by_label("Programme")).to_have_value(str(programme.pk))
    page.get_by_role("radio", name="Highest total score").check()
    page.get_by_role("button", name="Start batch").click()

    # The worker computes it while the page polls: the proposal appears without a reload.
    expect(page).to_have_url(re.compile(r"/matching/batch/\d+/$"))
    first = BatchRun.objects.get()
    review = page.locator("#batch-review")
    expect(review).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.get_by_role("heading", name="The proposal")).to_be_visible()
    expect(page.locator("#batch-figures")).to_contain_text("2 of 3 waiting")
    iryna_row = page.locator("tr", has_text="Iryna Shevchenko")
    expect(iryna_row).to_contain_text("Olena Kovalenko")
    expect(iryna_row.locator(".reasons li").first).to_contain_text(re.compile(r"\([+−-]\d+\)"))
    expect(page.locator("#batch-unmatched")).to_contain_text("Saba Tesfay")
    expect(page.locator("#batch-unmatched")).to_contain_text("Tigrinya")
    assert _fits_the_screen(page)

    # Pin Ana with Mihai and run the batch again: the pin is kept and shown.
    page.get_by_role("button", name="Pin Ana Lakatos with Mihai Pop").click()
    expect(page.get_by_text("The batch is being computed again with your changes.")).to_be_visible()
    expect(review).to_have_attribute("data-status", "done", timeout=30_000)
    second = BatchRun.objects.exclude(pk=first.pk).get()
    assert second.previous == first
    expect(page).to_have_url(re.compile(rf"/matching/batch/{second.pk}/$"))
    expect(page.locator("#batch-pinned")).to_contain_text("Ana Lakatos with Mihai Pop")
    ana_row = page.locator("tr", has_text="Ana Lakatos")
    expect(ana_row).to_contain_text("Mihai Pop")
    expect(ana_row).to_contain_text("Pinned")
    expect(page.get_by_role("button", name="Unpin Ana Lakatos with Mihai Pop")).to_be_visible()

    # Select both pairs and accept them: they become proposed matches.
    page.get_by_label("Select Iryna Shevchenko with Olena Kovalenko").check()
    page.get_by_label("Select Ana Lakatos with Mihai Pop").check()
    expect(page.get_by_label("Select all pairs on this page")).to_be_checked()
    page.get_by_role("button", name="Accept selected").click()
    expect(page.get_by_text("2 pairs accepted: the matches are proposed.")).to_be_visible()
    expect(ana_row).to_contain_text(re.compile(r"Match M-\d+ · Proposed"))
    assert _fits_the_screen(page)
    # An accepted pair links to its match.
    ana_row.get_by_role("link", name=re.compile(r"Match M-\d+")).click()
    expect(page).to_have_url(re.compile(r"/matching/\d+/$"))
    expect(page.get_by_text("Ana Lakatos").first).to_be_visible()

    made = {
        (m.mentee_id, m.mentor_id, m.status, m.batch_run_id)
        for m in Match.objects.filter(programme=programme)
    }
    assert made == {
        (mentees["iryna"].pk, mentors["olena"].pk, Match.Status.PROPOSED, second.pk),
        (mentees["ana"].pk, mentors["mihai"].pk, Match.Status.PROPOSED, second.pk),
    }
