"""The coordinator's record pages in a real browser, on a tablet-sized screen (768 px): a
volunteer taken from application to approved, and a family from referral to the waiting list."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mentoring.models import Mentee, Mentor, SelfAssessmentQuestion
from tests.factories import CoordinatorFactory, CulturalBackgroundFactory, ProgrammeFactory

PASSWORD = "tandem-test-pass"
QUESTIONS = ("I can explain how the school system works.", "I keep to my role and its boundaries.")


def _programme():
    programme = ProgrammeFactory(name="Parent mentoring, Baia Mare 2025–26")
    CulturalBackgroundFactory(programme=programme, code="syrian", name="Syrian")
    CulturalBackgroundFactory(programme=programme, code="ukrainian", name="Ukrainian")
    for i, text in enumerate(QUESTIONS):
        SelfAssessmentQuestion.objects.create(programme=programme, text=text, order=i)
    CoordinatorFactory(
        username="ioana.coordinator", first_name="Ioana", last_name="Marin", programmes=[programme]
    )
    return programme


def _log_in(page: Page, base_url: str) -> None:
    page.set_viewport_size({"width": 768, "height": 1000})
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("ioana.coordinator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Waiting list")).to_be_visible()


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 768


@pytest.mark.browser
def test_coordinator_takes_a_volunteer_from_application_to_approved(
    transactional_db, live_server, page: Page
):
    _programme()
    today = timezone.localdate()
    _log_in(page, live_server.url)

    # The application.
    page.get_by_role("link", name="Mentors").click()
    expect(page.get_by_role("heading", name="Mentor pipeline")).to_be_visible()
    page.get_by_role("link", name="New mentor application").first.click()
    page.get_by_label("First name").fill("Amal")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_label("E-mail").fill("amal.haddad@example.org")
    page.get_by_label("Preferred language for sessions").select_option("ar")
    page.get_by_label("Level of the preferred language").select_option("native")
    page.get_by_label("Second language", exact=True).select_option("ro")
    page.get_by_role("checkbox", name="Syrian").check()
    page.get_by_label("Country of birth", exact=True).select_option("SY")
    page.get_by_role("radio", name="First generation (born abroad)").check()
    page.get_by_role("checkbox", name="Tuesday evening").check()
    page.get_by_role("checkbox", name="Saturday morning").check()
    page.get_by_role("checkbox", name="In person").check()
    page.get_by_role("radio", name="2", exact=True).check()
    page.get_by_role("checkbox", name="Case management").check()
    page.get_by_role("checkbox", name="Matching on language and cultural background").check()
    _fits(page)
    page.get_by_role("button", name="Record the application").click()

    expect(
        page.get_by_text("The application of Amal Haddad is recorded. Next: start screening.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Amal Haddad")).to_be_visible()
    not_matchable = page.locator("#matchable")
    expect(not_matchable).to_contain_text("Not matchable yet")
    expect(not_matchable).to_contain_text("Not approved yet (status: applied).")
    mentor = Mentor.objects.get(person__last_name="Haddad")

    # Screening: interview, two references, the record check.
    page.get_by_role("button", name="Start screening").click()
    expect(page.get_by_text("Screening started.")).to_be_visible()
    next_step = page.get_by_role("region", name="Next: training")
    expect(next_step).to_contain_text("Screening interview")
    expect(next_step).to_contain_text("References: 0 of 2 satisfactory")
    _fits(page)

    page.get_by_label("Interview date").fill((today - datetime.timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Record interview").click()
    expect(page.get_by_text("Interview recorded.")).to_be_visible()
    expect(page.get_by_role("region", name="Next: training")).not_to_contain_text("Screening interview")

    for referee, relationship in (
        ("Former employer", "employer"),
        ("Imam of the community centre", "community"),
    ):
        reference = page.get_by_role("form", name="Add reference")
        reference.get_by_label("Referee").fill(referee)
        reference.get_by_label("Relationship").fill(relationship)
        reference.get_by_role("radio", name="Yes").check()
        reference.get_by_role("button", name="Add reference").click()
        expect(page.get_by_text("Reference recorded.")).to_be_visible()
    expect(page.get_by_role("heading", name="References (2 of 2 satisfactory)")).to_be_visible()
    expect(page.get_by_role("region", name="Next: training")).to_contain_text("Criminal-record check")

    check = page.get_by_role("form", name="Record check")
    check.get_by_label("Checked on").fill((today - datetime.timedelta(days=1)).isoformat())
    check.get_by_label("Valid until").fill((today + datetime.timedelta(days=730)).isoformat())
    check.get_by_role("button", name="Record check").click()
    expect(page.get_by_text("Record check recorded.")).to_be_visible()
    expect(page.get_by_text("Screening complete: ready to start training.")).to_be_visible()
    expect(page.locator("#matchable")).not_to_contain_text("No criminal-record check recorded.")

    # Training: approving too early says what is missing, next to the button.
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Screening complete: training started.")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    approve = page.get_by_role("form", name="Approve")
    expect(approve.get_by_role("alert")).to_contain_text("Missing: Training course and end-of-course test")
    expect(approve.get_by_role("alert")).to_contain_text(
        "Missing: Competence self-assessment (start of service)."
    )
    expect(page.locator("#matchable")).to_contain_text("Training not completed.")

    training = page.get_by_role("form", name="Add training record")
    training.get_by_label("Course", exact=True).fill("Parent mentoring basics")
    training.get_by_label("End-of-course test score (%)").fill("85")
    training.get_by_role("button", name="Add training record").click()
    expect(page.get_by_text("Training recorded: test passed with 85 %.")).to_be_visible()

    assessment = page.get_by_role("form", name="Save self-assessment")
    for question, score in zip(QUESTIONS, ("4", "5"), strict=True):
        assessment.get_by_role("group", name=question).get_by_role("radio", name=score).check()
    assessment.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_text("Self-assessment recorded.")).to_be_visible()
    expect(page.get_by_text("Training complete: ready to approve.")).to_be_visible()
    _fits(page)

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Amal Haddad is approved and can now be matched.")).to_be_visible()
    matchable = page.locator("#matchable")
    expect(matchable).to_contain_text("Can be matched")
    expect(matchable).to_contain_text("2 of 2 places free.")
    mentor.refresh_from_db()
    assert mentor.status == Mentor.Status.APPROVED and mentor.approved_on == today

    # The board shows her among the approved mentors.
    page.get_by_role("link", name="Mentors").first.click()
    approved = page.get_by_role("region", name="Approved")
    expect(approved.get_by_role("link", name="Amal Haddad")).to_be_visible()
    expect(approved).to_contain_text("2 of 2 places free")


@pytest.mark.browser
def test_coordinator_refers_a_family_and_takes_a_parent_to_the_waiting_list(
    transactional_db, live_server, page: Page
):
    _programme()
    _log_in(page, live_server.url)

    page.get_by_role("link", name="Families").click()
    page.get_by_role("link", name="Refer a family").click()
    page.get_by_label("Case reference").fill("BM-2025-0142")
    page.get_by_label("Referred by").select_option("school")
    page.get_by_label("Referrer", exact=True).fill("Doamna Pop, class teacher")
    page.get_by_label("Municipality").fill("Baia Mare")
    page.get_by_label("Language of the consent forms").select_option("uk")

    parent = page.get_by_role("group", name="Member 1")
    parent.get_by_label("First name").fill("Iryna")
    parent.get_by_label("Last name").fill("Shevchenko")
    parent.get_by_label("Preferred language").select_option("uk")
    parent.get_by_label("Migrant background", exact=True).select_option("first_generation")
    parent.get_by_role("checkbox", name="Case management").check()
    parent.get_by_role("checkbox", name="Anonymous participation statistics").check()

    pupil = page.get_by_role("group", name="Member 2 (optional)")
    pupil.get_by_label("First name").fill("Dmytro")
    pupil.get_by_label("Last name").fill("Shevchenko")
    expect(pupil.get_by_role("radio", name="Pupil")).to_be_checked()
    pupil.get_by_label("School").fill("Școala Gimnazială Nr. 5")
    pupil.get_by_label("Grade").fill("5")
    pupil.get_by_label("Preferred language").select_option("uk")
    _fits(page)
    page.get_by_role("button", name="Refer the family").click()

    expect(
        page.get_by_text("Family BM-2025-0142 is referred. Next: the intake of each member.")
    ).to_be_visible()
    iryna = page.get_by_role("article", name="Iryna Shevchenko")
    expect(iryna).to_contain_text("Referred")
    expect(page.get_by_role("article", name="Dmytro Shevchenko")).to_contain_text(
        "Școala Gimnazială Nr. 5, 5"
    )

    iryna.get_by_role("button", name="Start intake").click()
    expect(page.get_by_text("Intake started for Iryna Shevchenko.")).to_be_visible()
    iryna = page.get_by_role("article", name="Iryna Shevchenko")
    expect(iryna).to_contain_text("Intake")

    # Completing the intake needs the needs assessment; the refusal sits by the field.
    iryna.get_by_role("button", name="Complete intake").click()
    iryna = page.get_by_role("article", name="Iryna Shevchenko")
    expect(iryna.get_by_text("Write down what the family hopes the mentoring brings.")).to_be_visible()
    iryna.get_by_label("Needs assessment").fill("Wants to talk to the teachers without help.")
    iryna.get_by_role("button", name="Complete intake").click()
    expect(page.get_by_text("Intake complete: Iryna Shevchenko is on the waiting list.")).to_be_visible()
    expect(page.get_by_role("article", name="Iryna Shevchenko")).to_contain_text("0 days")
    mentee = Mentee.objects.get(person__first_name="Iryna")
    assert mentee.status == Mentee.Status.WAITING and mentee.waiting_since == timezone.localdate()

    # On the waiting list; the search answers as the coordinator types.
    page.get_by_role("link", name="Waiting list").click()
    page.get_by_label("Search").fill("Shevch")
    expect(page.get_by_role("status")).to_have_text("1 mentee waiting")
    expect(page.get_by_role("link", name="Iryna Shevchenko")).to_be_visible()
    page.get_by_label("Search").fill("nobody by that name")
    expect(page.get_by_text("Nobody waiting matches the search.")).to_be_visible()
    _fits(page)
