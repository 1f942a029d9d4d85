"""A mentor switches the interface to her language with the footer's switcher and walks her path
in it on a phone: My matches, log a session, save, the session history. The choice is kept on her
account, so it is there again when she logs in from a browser that has never seen it.

The expected texts come from the catalogues (``gettext`` in the language), so the test follows
the translators' wording; each must differ from the English, or the page was not translated."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from mentoring.models import User
from sessions.models import SessionLog
from tests.sessions.test_browser_log import olenas_match  # noqa: F401 - the mentor's match

pytestmark = pytest.mark.browser
PASSWORD = "tandem-test-pass"
PHONE = {"width": 360, "height": 740}


def _in(language: str):
    """``text(english, **values)``: the catalogue's translation, which must not be the English."""

    def text(english: str, *, same: bool = False, **values) -> str:
        with translation.override(language):
            translated = translation.gettext(english)
        if not same:  # ``same``: a word the language may well share with English ("min")
            assert translated != english, f"{english!r} has no {language} translation in the catalogue"
        return translated % values if values else translated

    return text


def _fits(page: Page) -> None:
    """Longer words than the English wrap; nothing scrolls sideways on the phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _log_in(page: Page, base_url: str) -> None:
    # By the fields' ids: the sign-in page speaks the browser's language, not the account's.
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill("olena.mentor")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}{reverse('matching:my-matches')}")


@pytest.mark.parametrize("language", ["ro", "hu"])
def test_a_mentor_switches_language_and_walks_her_path_in_it(live_server, page: Page, olenas_match, language):  # noqa: F811
    text = _in(language)
    heading = page.get_by_role("heading", level=1)
    page.set_viewport_size(PHONE)
    _log_in(page, live_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("My matches")

    # The footer's switcher: the page comes back in her language.
    page.locator("select#language-switch").select_option(language)
    page.locator("form.language-switch button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(heading).to_have_text(text("My matches"))
    expect(page.get_by_role("button", name=text("Log out"))).to_be_visible()
    _fits(page)

    # Log a session and save it.
    page.locator(f"a[href='{reverse('sessions:session-log-create', args=[olenas_match.pk])}']").click()
    expect(heading).to_have_text(text("Log a session"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#id_duration_minutes").fill("45")
    page.locator("#id_notes").fill("Am exersat drumul cu autobuzul până la școală.")
    _fits(page)
    page.get_by_role("button", name=text("Save session")).click()
    expect(page.get_by_text(text("Session saved. Thank you!"))).to_be_visible()
    expect(heading).to_have_text(text("My matches"))
    log = SessionLog.objects.get()
    assert (log.match_id, log.duration_minutes) == (olenas_match.pk, 45)

    # The session history.
    page.goto(live_server.url + reverse("sessions:mentee-timeline", args=[olenas_match.mentee_id]))
    expect(heading).to_have_text(text("Timeline of %(name)s", name="Iryna Shevchenko"))
    session = f"{text('Session')}: 45 {text('min', same=True)}, {text('In person').lower()}"
    expect(page.locator("main")).to_contain_text(session)
    _fits(page)

    # The choice is on her account: after logging out, in a browser without the language cookie,
    # she is back in her language as soon as she logs in.
    assert User.objects.get(username="olena.mentor").interface_language == language
    page.get_by_role("button", name=text("Log out")).click()
    page.context.clear_cookies()
    _log_in(page, live_server.url)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(heading).to_have_text(text("My matches"))
