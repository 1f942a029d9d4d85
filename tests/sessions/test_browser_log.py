"""The mentor logs a session on a 360-px phone: defaults, a draft that survives a reload, and
a double submission that stores one log."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from mentoring.models import LanguageLevel
from sessions.models import SessionLog
from tests.factories import MatchFactory, MentorFactory, ProgrammeFactory

pytestmark = pytest.mark.browser
PASSWORD = "tandem-test-pass"


@pytest.fixture
def phone(page: Page) -> Page:
    page.set_viewport_size({"width": 360, "height": 740})
    return page


@pytest.fixture
def olenas_match(transactional_db):
    programme = ProgrammeFactory()
    olena = MentorFactory(
        programme=programme,
        approved=True,
        user__username="olena.mentor",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
    )
    return MatchFactory(
        programme=programme,
        mentor=olena,
        mentee__person__first_name="Iryna",
        mentee__person__last_name="Shevchenko",
        mentee__person__languages=[("uk", LanguageLevel.NATIVE)],
    )


def _open_log_form(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("olena.mentor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Log a session with Iryna Shevchenko").click()
    expect(page.get_by_role("heading", name="Log a session")).to_be_visible()


def test_mentor_logs_a_session_on_a_phone_with_the_defaults_and_a_note(live_server, phone, olenas_match):
    _open_log_form(phone, live_server.url)

    expect(phone.get_by_label("Language used")).to_have_value("uk")
    expect(phone.get_by_role("radio", name="In person")).to_be_checked()
    expect(phone.get_by_role("checkbox", name="Parent", exact=True)).to_be_checked()
    phone.get_by_label("Duration in minutes").fill("45")
    phone.get_by_label("Notes").fill("Set up the school's homework platform on her phone.")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.get_by_role("button", name="Save session").click()

    expect(phone.get_by_text("Session saved. Thank you!")).to_be_visible()
    log = SessionLog.objects.get()
    assert (log.duration_minutes, log.mode, log.language, log.participants) == (
        45,
        "in_person",
        "uk",
        ["parent"],
    )
    assert phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tandem:'))") == []


def test_a_mistake_is_pointed_out_beside_its_field_while_typing(live_server, phone, olenas_match):
    _open_log_form(phone, live_server.url)

    duration = phone.get_by_label("Duration in minutes")
    duration.fill("2")
    duration.blur()

    message = phone.locator("#id_duration_minutes_client_error")
    expect(message).to_be_visible()
    assert "id_duration_minutes_client_error" in duration.get_attribute("aria-describedby")
    duration.fill("30")
    expect(message).to_have_count(0)


def test_a_draft_survives_a_reload_and_can_be_discarded(live_server, phone, olenas_match):
    _open_log_form(phone, live_server.url)
    phone.get_by_label("Duration in minutes").fill("50")
    phone.get_by_label("Notes").fill("She asked about the parents' evening.")
    key = phone.locator("input[name=idempotency_key]").input_value()

    phone.reload()

    expect(phone.get_by_text("Draft restored")).to_be_visible()
    expect(phone.get_by_label("Notes")).to_have_value("She asked about the parents' evening.")
    expect(phone.get_by_label("Duration in minutes")).to_have_value("50")
    assert phone.locator("input[name=idempotency_key]").input_value() == key

    phone.get_by_role("button", name="Discard draft").click()
    expect(phone.get_by_label("Notes")).to_have_value("")
    expect(phone.get_by_text("Draft restored")).to_be_hidden()


def test_a_submission_sent_again_after_a_dropped_connection_stores_one_log(live_server, phone, olenas_match):
    _open_log_form(phone, live_server.url)
    phone.get_by_label("Duration in minutes").fill("40")
    phone.get_by_label("Notes").fill("Practised the bus route to school.")

    # The server saves the log but the answer never reaches the phone.
    def drop_answer(route):
        route.fetch()
        route.abort("connectionreset")

    phone.route(
        "**/sessions/matches/*/new/",
        lambda route: drop_answer(route) if route.request.method == "POST" else route.continue_(),
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - the browser reports the dropped connection
        phone.get_by_role("button", name="Save session").click()
        phone.wait_for_url("**/matching/mine/", timeout=3000)
    phone.unroute("**/sessions/matches/*/new/")
    assert SessionLog.objects.count() == 1

    # Back on the form, the draft (with its key) is restored; saving again answers with the log.
    phone.goto(f"{live_server.url}/sessions/matches/{olenas_match.pk}/new/")
    expect(phone.get_by_label("Notes")).to_have_value("Practised the bus route to school.")
    phone.get_by_role("button", name="Save session").click()

    expect(phone.get_by_text("This session was already saved")).to_be_visible()
    assert SessionLog.objects.count() == 1


def test_a_double_tap_on_save_stores_one_log(live_server, phone, olenas_match):
    _open_log_form(phone, live_server.url)
    phone.get_by_label("Duration in minutes").fill("30")

    phone.get_by_role("button", name="Save session").dblclick()

    expect(phone.get_by_role("heading", name="My matches")).to_be_visible()
    assert SessionLog.objects.count() == 1
