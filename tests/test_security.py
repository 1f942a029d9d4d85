"""Hardened sign-in and responses, through Django's test client: lockout, session lifetime,
caching of personal data and the Content Security Policy."""

from __future__ import annotations

import datetime
import html

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

PASSWORD = "tandem-test-pass"  # tests.factories.UserFactory's password
ATTACKER_IP = "203.0.113.7"
OFFICE_IP = "198.51.100.20"
LOCKOUT_MESSAGE = "Too many failed attempts; try again in 15 minutes"


@pytest.fixture(autouse=True)
def axes_enabled(settings):
    """django-axes is off in the test settings (see config/settings/test.py); on here."""
    settings.AXES_ENABLED = True


def _log_in(client, username: str, password: str = PASSWORD, ip: str = OFFICE_IP):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client, username: str, times: int, ip: str = ATTACKER_IP) -> None:
    for _ in range(times):
        _log_in(client, username, password="wrong-guess", ip=ip)


def _page(client):
    return client.get(reverse("mentee-waiting-list"))


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("login"))


# Lockout (django-axes)


def test_four_failures_do_not_lock_the_account(client, coordinator):
    _fail(client, coordinator.username, times=4)

    response = _log_in(client, coordinator.username, ip=ATTACKER_IP)

    assert response.status_code == 302
    assert _signed_in(client)


def test_fifth_failure_shows_the_lockout_message(client, coordinator):
    _fail(client, coordinator.username, times=4)

    response = _log_in(client, coordinator.username, password="wrong-guess", ip=ATTACKER_IP)

    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in html.unescape(response.content.decode())


def test_right_password_is_refused_during_the_lockout(client, coordinator):
    _fail(client, coordinator.username, times=5)

    response = _log_in(client, coordinator.username, ip=ATTACKER_IP)

    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in html.unescape(response.content.decode())
    assert not _signed_in(client)


def test_admin_login_is_refused_during_the_lockout_too(client, admin_user):
    _fail(client, admin_user.username, times=5)

    credentials = {"username": admin_user.username, "password": PASSWORD}
    response = client.post(reverse("admin:login"), credentials, REMOTE_ADDR=ATTACKER_IP)

    assert response.status_code == 429
    assert not _signed_in(client)


def test_lockout_does_not_affect_the_same_username_from_another_address(client, coordinator):
    _fail(client, coordinator.username, times=5, ip=ATTACKER_IP)

    response = _log_in(client, coordinator.username, ip=OFFICE_IP)

    assert response.status_code == 302
    assert _signed_in(client)


def test_lockout_does_not_affect_another_username_from_the_same_address(client, coordinator, manager):
    _fail(client, coordinator.username, times=5, ip=ATTACKER_IP)

    response = _log_in(client, manager.username, ip=ATTACKER_IP)

    assert response.status_code == 302
    assert _signed_in(client)


def test_lockout_ends_fifteen_minutes_after_the_last_attempt(client, coordinator):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _fail(client, coordinator.username, times=5)
        frozen.tick(datetime.timedelta(minutes=14, seconds=59))
        assert _log_in(client, coordinator.username, ip=ATTACKER_IP).status_code == 429

        # That refused attempt started the 15 minutes again.
        frozen.tick(datetime.timedelta(minutes=15, seconds=1))
        response = _log_in(client, coordinator.username, ip=ATTACKER_IP)

        assert response.status_code == 302
        assert _signed_in(client)  # inside the frozen clock: the session lasts 30 minutes


# Sessions


def test_login_rotates_the_session_key(client, coordinator):
    session = client.session
    session["language_hint"] = "ro"
    session.save()
    key_before = session.session_key

    _log_in(client, coordinator.username)

    key_after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key_after != key_before
    assert not SessionStore().exists(key_before)
    assert _signed_in(client)


def test_session_cookie_is_http_only_and_same_site_lax(client, coordinator):
    _log_in(client, coordinator.username)

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_session_ends_after_thirty_idle_minutes(client, coordinator):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _log_in(client, coordinator.username)
        frozen.tick(datetime.timedelta(minutes=29))
        assert _page(client).status_code == 200

        frozen.tick(datetime.timedelta(minutes=30, seconds=1))
        response = _page(client)

    assert _is_login_redirect(response)


def test_activity_keeps_the_session_alive_past_thirty_minutes(client, coordinator):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _log_in(client, coordinator.username)
        for _ in range(4):
            frozen.tick(datetime.timedelta(minutes=20))
            response = _page(client)

    assert response.status_code == 200


def test_requests_within_a_minute_do_not_rewrite_the_session(client, coordinator):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _log_in(client, coordinator.username)
        frozen.tick(datetime.timedelta(seconds=30))
        with CaptureQueriesContext(connection) as queries:
            assert _page(client).status_code == 200

    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "django_session"')]


def test_session_ends_twelve_hours_after_login_however_active(client, coordinator):
    with freeze_time("2026-03-02 08:00:00") as frozen:
        _log_in(client, coordinator.username)
        for _ in range(35):  # a request every 20 minutes, up to 11 h 40 min after login
            frozen.tick(datetime.timedelta(minutes=20))
            assert _page(client).status_code == 200

        frozen.tick(datetime.timedelta(minutes=20))
        response = _page(client)
        follow_up = client.get(response.url)

        assert _is_login_redirect(response)
        assert not _signed_in(client)
        assert "Your session has ended" in html.unescape(follow_up.content.decode())


def test_session_cookie_replayed_after_logout_is_refused(client, coordinator):
    _log_in(client, coordinator.username)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))

    client.cookies[settings.SESSION_COOKIE_NAME] = stolen
    page = _page(client)
    api = client.get(reverse("api-programme-list"))

    assert _is_login_redirect(page)
    assert api.status_code in (401, 403)


# Caching of personal data


def test_pages_to_a_signed_in_user_are_not_stored(client, coordinator):
    client.force_login(coordinator)

    response = _page(client)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_api_responses_are_not_stored(client, coordinator):
    client.force_login(coordinator)

    response = client.get(reverse("api-programme-list"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_api_refusals_are_not_stored_either(client):
    response = client.get(reverse("api-programme-list"))

    assert response.status_code in (401, 403)
    assert "no-store" in response["Cache-Control"]


def test_static_files_keep_their_caching(client, coordinator):
    client.force_login(coordinator)

    response = client.get(static("css/tandem.css"))

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# Content Security Policy


def test_pages_carry_a_content_security_policy_without_inline_script(client, coordinator):
    client.force_login(coordinator)

    policy = _page(client)["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_login_page_carries_the_content_security_policy(client):
    response = client.get(reverse("login"))

    assert "default-src 'self'" in response["Content-Security-Policy"]
