"""Every page of the three users' paths, in a real browser, held to WCAG 2.1 AA by axe-core (no
serious or critical violation), on the screen each user has: the mentor's pages on a 360-px
phone, the coordinator's and the manager's on a 768-px tablet. On each page nothing scrolls
sideways and every form control has an accessible name.

The pages come from the URL resolver: ``test_every_page_is_walked`` fails when a page is served
that no path below visits (or that is listed as not being a page of its own)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from matching.models import BatchRun
from mentoring.models import LanguageLevel, Mentee
from sessions.models import AttentionFlag, CheckIn, Goal, Notification
from tests.a11y import page_problems, require_axe
from tests.factories import (
    ConcernFactory,
    CoordinatorFactory,
    CulturalBackgroundFactory,
    ManagerFactory,
    MatchExclusionFactory,
    MatchFactory,
    MenteeFactory,
    MentorFactory,
    ProgrammeFactory,
    ProposedMatchFactory,
    SessionLogFactory,
)
from tests.harness import page_names
from tests.mentoring.test_imports import csv_bytes, mentor_row

pytestmark = pytest.mark.browser
PASSWORD = "tandem-test-pass"
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 768, "height": 1024}
TODAY = datetime.date.today

# Served, but not a page a person reads on its own: actions (POST), fragments htmx swaps into a
# page, files to download, and the start page (a redirect to each user's first page).
NOT_PAGES = {
    "home",
    "logout",
    "set-language",
    "mentor-step",
    "family-member-step",
    "person-erase",
    "people-import-commit",
    "matching:match-accept",
    "matching:match-decline",
    "matching:match-pause",
    "matching:match-resume",
    "matching:exclusion-remove",
    "matching:batch-progress",
    "matching:batch-rerun",
    "matching:batch-accept",
    "sessions:inbox-mark-read",
    "sessions:attention-dismiss",
    "reports:snapshot-refresh",
    "reports:snapshot-status",
    "reports:export-csv",
    "reports:export-xlsx",
}

Url = Callable[[SimpleNamespace], str]


def _url(name: str, query: str = "", **keys: str) -> tuple[str, Url]:
    """A page's URL name and how to build its address from the world (``keys``: kwarg → attribute)."""
    return name, lambda w: reverse(name, kwargs={k: getattr(w, v) for k, v in keys.items()}) + query


MENTOR_PATH = [
    _url("matching:my-matches"),
    _url("sessions:session-log-create", match_id="match_id"),
    _url("sessions:session-log-edit", log_id="log_id"),
    _url("sessions:mentee-timeline", mentee_id="mentee_id"),
    _url("sessions:concern-raise", query="?match={match}"),
    _url("sessions:concern-mine"),
    _url("sessions:concern-detail", concern_id="concern_id"),
    _url("sessions:inbox"),
    _url("sessions:checkin-mentor-list"),
    _url("sessions:checkin-mentor", checkin_id="checkin_id"),
]
COORDINATOR_PATH = [
    _url("mentee-waiting-list"),
    _url("mentee-detail", mentee_id="waiting_id"),
    _url("mentee-detail", mentee_id="mentee_id"),
    _url("matching:match-create", mentee_id="waiting_id"),
    _url("mentor-pipeline"),
    _url("mentor-list"),
    _url("mentor-apply"),
    _url("mentor-detail", mentor_id="applicant_id"),
    _url("mentor-detail", mentor_id="mentor_id"),
    _url("family-list"),
    _url("family-refer"),
    _url("family-detail", family_id="family_id"),
    _url("family-detail", family_id="referred_family_id"),
    _url("matching:batch-list"),
    _url("matching:batch-detail", run_id="run_id"),
    _url("matching:batch-recruitment", run_id="run_id"),
    _url("matching:exclusion-list", programme_id="programme_id"),
    _url("matching:scoring-config", programme_id="programme_id"),
    _url("matching:match-manage", match_id="match_id"),
    _url("matching:match-manage", match_id="proposal_id"),
    _url("matching:match-close", match_id="match_id"),
    _url("sessions:attention"),
    _url("sessions:concern-list"),
    _url("sessions:concern-detail", concern_id="concern_id"),
    _url("sessions:session-log-edit", log_id="log_id"),
    _url("sessions:mentee-timeline", mentee_id="mentee_id"),
    _url("sessions:inbox"),
    _url("people-import"),
    _url("person-data", person_id="person_id"),
    _url("reports:dashboard"),
    _url("reports:print", snapshot_id="snapshot_id"),
    _url("two-step"),
]
MANAGER_PATH = [
    _url("reports:dashboard"),
    _url("reports:print", snapshot_id="snapshot_id"),
    _url("sessions:inbox"),
    _url("two-step"),
]
ANONYMOUS_PATH = [
    _url("login"),
    _url("sessions:checkin-family", token="family_token"),
    _url("sessions:checkin-family", token="family_token_hu"),
]
# Reached only in the middle of a sign-in: test_the_two_step_sign_in_on_a_tablet walks it.
SIGN_IN_STEPS = {"login-code"}


def test_every_page_is_walked():
    walked = {
        name for path in (MENTOR_PATH, COORDINATOR_PATH, MANAGER_PATH, ANONYMOUS_PATH) for name, _ in path
    } | SIGN_IN_STEPS
    served = page_names()
    assert served - walked - NOT_PAGES == set(), "pages no path visits"
    assert (walked | NOT_PAGES) - served == set(), "listed pages no longer served"


# --- The world the users walk through ---------------------------------------------------------


@pytest.fixture
def world(transactional_db):
    from matching.batch import batch_run_compute
    from reports.services import snapshot_compute, snapshot_request

    programme = ProgrammeFactory(name="Parent mentoring, Baia Mare 2025–26")
    CulturalBackgroundFactory(programme=programme, code="ukrainian", name="Ukrainian")
    CoordinatorFactory(
        username="ioana.coordinator", first_name="Ioana", last_name="Marin", programmes=[programme]
    )
    ManagerFactory(username="maria.manager", first_name="Maria", last_name="Ilie", programmes=[programme])
    olena = MentorFactory(
        programme=programme,
        approved=True,
        capacity=3,
        user__username="olena.mentor",
        user__first_name="Olena",
        user__last_name="Kovalenko",
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.FLUENT)],
        person__backgrounds=["ukrainian"],
    )
    match = MatchFactory(
        programme=programme,
        mentor=olena,
        mentee__person__first_name="Iryna",
        mentee__person__last_name="Shevchenko",
        mentee__person__languages=[("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)],
    )
    proposal = ProposedMatchFactory(
        programme=programme,
        mentor=olena,
        mentee__person__first_name="Ana",
        mentee__person__last_name="Lakatos",
    )
    log = SessionLogFactory(match=match)
    SessionLogFactory(match=match, held_on=TODAY() - datetime.timedelta(days=10), mode="phone")
    Goal.objects.create(mentee=match.mentee, description="Join the parents' evening", agreed_on=TODAY())
    concern = ConcernFactory(programme=programme, match=match)
    mentor_checkin = CheckIn.objects.create(
        match=match, respondent=CheckIn.Respondent.MENTOR, due_on=TODAY(), token="a11y-mentor", language="uk"
    )
    CheckIn.objects.create(
        match=match, respondent=CheckIn.Respondent.FAMILY, due_on=TODAY(), token="a11y-family", language="en"
    )
    # The family's questions come in the family's language.
    CheckIn.objects.create(
        match=match,
        respondent=CheckIn.Respondent.FAMILY,
        due_on=TODAY() - datetime.timedelta(days=28),
        token="a11y-family-hu",
        language="hu",
    )
    Notification.objects.create(recipient=olena.user, kind="checkin_due", title="A check-in is due")
    AttentionFlag.objects.create(
        programme=programme,
        kind=AttentionFlag.Kind.FAMILY_UNCERTAIN,
        match=match,
        subject=f"checkin:{match.pk}",
        since=TODAY(),
    )
    MentorFactory(programme=programme, approved=True, person__backgrounds=["ukrainian"])
    waiting = MenteeFactory(
        programme=programme,
        person__first_name="Saba",
        person__last_name="Tesfay",
        waiting_since=timezone.localdate() - datetime.timedelta(days=45),
    )
    MenteeFactory.create_batch(2, programme=programme)
    referred = MenteeFactory(programme=programme, status=Mentee.Status.REFERRED)
    applicant = MentorFactory(programme=programme)
    MatchExclusionFactory(programme=programme)
    run = batch_run_compute(run_id=BatchRun.objects.create(programme=programme).pk)
    snapshot, _ = snapshot_request(programme=programme, requested_by=None)
    snapshot = snapshot_compute(snapshot_id=snapshot.pk)
    return SimpleNamespace(
        programme_id=programme.pk,
        match_id=match.pk,
        match=match.pk,
        proposal_id=proposal.pk,
        log_id=log.pk,
        mentee_id=match.mentee_id,
        person_id=match.mentee.person_id,
        family_id=match.mentee.family_id,
        concern_id=concern.pk,
        checkin_id=mentor_checkin.pk,
        family_token="a11y-family",
        family_token_hu="a11y-family-hu",
        waiting_id=waiting.pk,
        referred_family_id=referred.family_id,
        mentor_id=olena.pk,
        applicant_id=applicant.pk,
        run_id=run.pk,
        snapshot_id=snapshot.pk,
    )


@pytest.fixture
def screen(browser):
    """``screen(viewport)``: a page of a fresh browser context of that size."""
    require_axe()
    contexts = []

    def open_page(viewport: dict) -> Page:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _log_in(page: Page, base_url: str, username: str) -> list[str]:
    page.goto(f"{base_url}/login/")
    problems = page_problems(page, "login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return problems


def _walk(page: Page, base_url: str, path: list[tuple[str, Url]], world) -> list[str]:
    problems = []
    for name, url in path:
        address = url(world).format(**vars(world))
        response = page.goto(base_url + address)
        assert response is not None and response.ok, (name, address, response and response.status)
        assert page.url == base_url + address or name == "login", (name, address, page.url)
        problems += page_problems(page, f"{name} ({address})")
    return problems


def _no_problems(problems: list[str]) -> None:
    assert not problems, "\n\n" + "\n\n".join(problems)


# --- The paths --------------------------------------------------------------------------------


def test_the_mentors_pages_on_a_phone(live_server, screen, world):
    phone = screen(PHONE)
    problems = _log_in(phone, live_server.url, "olena.mentor")
    problems += _walk(phone, live_server.url, MENTOR_PATH, world)

    # A form sent with mistakes: the errors, tied to their fields, pass too.
    phone.goto(live_server.url + reverse("sessions:session-log-create", kwargs={"match_id": world.match_id}))
    phone.get_by_label("Duration in minutes").fill("")
    phone.get_by_label("Duration in minutes").evaluate("el => el.removeAttribute('required')")
    phone.get_by_role("button", name="Save session").click()
    phone.wait_for_load_state()
    assert phone.locator("[aria-invalid=true]").count() > 0
    problems += page_problems(phone, "session-log-create with errors")
    phone.goto(live_server.url + reverse("sessions:concern-raise") + f"?match={world.match_id}")
    phone.locator("main form.form [type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("[aria-invalid=true]").count() > 0
    problems += page_problems(phone, "concern-raise with errors")
    _no_problems(problems)


@pytest.mark.parametrize("language", ["hu", "ro"])
def test_the_mentors_pages_on_a_phone_in_longer_words(live_server, screen, world, language):
    """Hungarian and Romanian run longer than English: still nothing scrolls sideways."""
    from mentoring.models import User

    User.objects.filter(username="olena.mentor").update(interface_language=language)
    phone = screen(PHONE)
    problems = _log_in(phone, live_server.url, "olena.mentor")
    assert phone.locator("html").get_attribute("lang") == language
    problems += _walk(phone, live_server.url, MENTOR_PATH, world)
    _no_problems(problems)


def test_the_coordinators_pages_on_a_tablet(live_server, screen, world):
    tablet = screen(TABLET)
    problems = _log_in(tablet, live_server.url, "ioana.coordinator")
    problems += _walk(tablet, live_server.url, COORDINATOR_PATH, world)

    tablet.goto(live_server.url + reverse("mentor-apply"))
    tablet.locator("form").evaluate_all("forms => forms.forEach(f => f.noValidate = true)")
    tablet.get_by_role("button", name="Record the application").click()
    tablet.wait_for_load_state()
    assert tablet.locator("[aria-invalid=true]").count() > 0
    problems += page_problems(tablet, "mentor-apply with errors")

    # The check of an import file, with a bad row: its problems table and the import buttons.
    rows = [
        mentor_row(cultural_backgrounds="", needs=""),
        mentor_row(first_name="Oksana", email="not-an-email"),
    ]
    tablet.goto(live_server.url + reverse("people-import"))
    tablet.locator("input[type=file]").set_input_files(
        {"name": "mentors.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}
    )
    tablet.get_by_role("button", name="Check the file").click()
    tablet.locator("#import-problems").wait_for()
    problems += page_problems(tablet, "people-import with a checked file")
    _no_problems(problems)


def test_the_staff_pages_in_hungarian_on_a_tablet(live_server, screen, world):
    """Longer words again, and names that must still hold the visible text (a button's
    ``aria-label`` has to contain the words on the button in every language)."""
    from mentoring.models import User

    User.objects.filter(username__in=["ioana.coordinator", "maria.manager"]).update(interface_language="hu")
    tablet = screen(TABLET)
    problems = _log_in(tablet, live_server.url, "ioana.coordinator")
    assert tablet.locator("html").get_attribute("lang") == "hu"
    problems += _walk(tablet, live_server.url, COORDINATOR_PATH, world)
    manager = screen(TABLET)
    problems += _log_in(manager, live_server.url, "maria.manager")
    problems += _walk(manager, live_server.url, MANAGER_PATH, world)
    _no_problems(problems)


def test_the_managers_pages_on_a_tablet(live_server, screen, world):
    tablet = screen(TABLET)
    problems = _log_in(tablet, live_server.url, "maria.manager")
    problems += _walk(tablet, live_server.url, MANAGER_PATH, world)
    _no_problems(problems)


def test_the_pages_without_an_account_on_a_phone(live_server, screen, world, settings):
    phone = screen(PHONE)
    problems = _walk(phone, live_server.url, ANONYMOUS_PATH, world)
    assert phone.locator("html").get_attribute("lang") == "hu"  # the family's check-in, last

    # A wrong password, then the lock-out after too many.
    phone.goto(f"{live_server.url}/login/")
    phone.get_by_label("Username").fill("olena.mentor")
    phone.get_by_label("Password").fill("not the password")
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_load_state()
    problems += page_problems(phone, "login with a wrong password")

    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        phone.goto(f"{live_server.url}/login/")
        phone.get_by_label("Username").fill("olena.mentor")
        phone.get_by_label("Password").fill("not the password")
        phone.get_by_role("button", name="Log in").click()
        phone.wait_for_load_state()
    assert phone.locator("#lockout").count() == 1, "the lock-out page was not shown"
    problems += page_problems(phone, "locked out")
    _no_problems(problems)


def test_the_two_step_sign_in_on_a_tablet(live_server, screen, world):
    """A coordinator with two-step sign-in on: the code step (and its error), then their page
    with it on."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from mentoring.models import User

    device = TOTPDevice.objects.create(user=User.objects.get(username="ioana.coordinator"), confirmed=True)
    tablet = screen(TABLET)
    tablet.goto(f"{live_server.url}/login/")
    tablet.get_by_label("Username").fill("ioana.coordinator")
    tablet.get_by_label("Password").fill(PASSWORD)
    tablet.get_by_role("button", name="Log in").click()
    tablet.wait_for_url(f"{live_server.url}{reverse('login-code')}")
    problems = page_problems(tablet, "login-code")

    tablet.get_by_label("Code from your authenticator app").fill("12ab56")
    tablet.get_by_role("button", name="Log in").click()
    tablet.wait_for_load_state()
    assert tablet.locator("[aria-invalid=true]").count() > 0
    problems += page_problems(tablet, "login-code with a wrong code")

    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    tablet.get_by_label("Code from your authenticator app").fill(f"{code:06d}")
    tablet.get_by_role("button", name="Log in").click()
    tablet.wait_for_url(lambda url: "/login/" not in url)
    tablet.goto(live_server.url + reverse("two-step"))
    assert tablet.get_by_text("Two-step sign-in is on.").count() == 1
    problems += page_problems(tablet, "two-step, on")
    _no_problems(problems)
