"""Two-step sign-in for staff (issue "Trust": optional TOTP): turning it on and off on the
staff member's own page, and signing in with the password and then a code from the app,
through Django's test client. Codes are computed from the device's key, as the app would."""

from __future__ import annotations

import datetime
import html
import logging
import re

import pytest
import qrcode
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from mentoring.models import AuditEvent
from mentoring.two_step import qr_code_svg, secret_for_reading
from tests.test_i18n_pseudo import (  # noqa: F401 - the fixtures of the pseudo language
    PSEUDO,
    _stored_texts,
    escaped_text,
    in_pseudo_language,
    pseudo_locale,
    visible_texts,
)

PASSWORD = "tandem-test-pass"  # tests.factories.UserFactory's password
OFFICE_IP = "198.51.100.20"
START = "2026-03-02 09:00:00"
NEXT_STEP = datetime.timedelta(seconds=31)  # a new code, and past django-otp's back-off
DEVICE_TYPE = "otp_totp.TOTPDevice"


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{code:06d}"


def _wrong(device: TOTPDevice) -> str:
    return f"{(int(_code(device)) + 500_000) % 1_000_000:06d}"


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _password(client, user, next_url: str = ""):
    data = {"username": user.username, "password": PASSWORD}
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {**data, "next": next_url}, REMOTE_ADDR=OFFICE_IP)


def _send_code(client, code: str):
    return client.post(reverse("login-code"), {"code": code}, REMOTE_ADDR=OFFICE_IP)


def _enrol(client, user) -> TOTPDevice:
    """Turn two-step sign-in on through the page, signed in as ``user``; then sign out."""
    client.force_login(user)
    client.get(reverse("two-step"))
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("two-step"), {"action": "confirm", "code": _code(device)})
    assert response.status_code == 302, _text(response)
    client.logout()
    device.refresh_from_db()
    assert device.confirmed
    return device


@pytest.fixture
def frozen():
    with freeze_time(START) as clock:
        yield clock


@pytest.fixture
def enrolled(client, coordinator, frozen):
    """P's coordinator with two-step sign-in on, signed out, a new code ahead."""
    device = _enrol(client, coordinator)
    frozen.tick(NEXT_STEP)
    return device


# --- Turning it on and off ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_set_up_page_shows_the_key_as_a_qr_code_and_as_text(client, coordinator):
    client.force_login(coordinator)

    response = client.get(reverse("two-step"))

    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    page = _text(response)
    assert response.status_code == 200
    assert '<svg class="qr-code"' in page and 'role="img"' in page
    assert secret_for_reading(device) in page
    assert "otpauth://totp/Tandem%3Aioana.coordinator?secret=" in page
    assert "issuer=Tandem" in page


@pytest.mark.django_db
def test_reloading_the_set_up_page_keeps_the_same_key(client, coordinator):
    client.force_login(coordinator)

    client.get(reverse("two-step"))
    client.get(reverse("two-step"))

    assert TOTPDevice.objects.filter(user=coordinator).count() == 1


@pytest.mark.django_db
def test_a_code_from_the_app_turns_two_step_sign_in_on_and_is_audited(client, coordinator, frozen):
    client.force_login(coordinator)
    client.get(reverse("two-step"))
    device = TOTPDevice.objects.get(user=coordinator)

    response = client.post(reverse("two-step"), {"action": "confirm", "code": _code(device)}, follow=True)

    device.refresh_from_db()
    assert device.confirmed
    assert "Two-step sign-in is on" in _text(response)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id  # this session counts as verified
    event = AuditEvent.objects.get(object_type=DEVICE_TYPE)
    assert (event.action, event.user, event.object_id) == (
        AuditEvent.Action.CREATE,
        coordinator,
        str(device.pk),
    )


@pytest.mark.django_db
def test_a_wrong_code_does_not_turn_it_on(client, coordinator, frozen):
    client.force_login(coordinator)
    client.get(reverse("two-step"))
    device = TOTPDevice.objects.get(user=coordinator)

    response = client.post(reverse("two-step"), {"action": "confirm", "code": _wrong(device)})

    device.refresh_from_db()
    assert response.status_code == 422
    assert "That code is not right" in _text(response)
    assert not device.confirmed
    assert not AuditEvent.objects.filter(object_type=DEVICE_TYPE).exists()


@pytest.mark.django_db
def test_the_key_is_never_shown_once_confirmed(client, coordinator, enrolled):
    client.force_login(coordinator)

    page = _text(client.get(reverse("two-step")))

    assert "Two-step sign-in is on." in page
    assert secret_for_reading(enrolled) not in page
    assert secret_for_reading(enrolled).replace(" ", "") not in page
    assert "otpauth://" not in page and "<svg" not in page


@pytest.mark.django_db
def test_turning_it_off_needs_a_valid_code(client, coordinator, enrolled, frozen):
    client.force_login(coordinator)

    refused = client.post(reverse("two-step"), {"action": "disable", "code": _wrong(enrolled)})
    assert refused.status_code == 422
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()

    frozen.tick(NEXT_STEP)
    response = client.post(reverse("two-step"), {"action": "disable", "code": _code(enrolled)}, follow=True)

    assert "Two-step sign-in is off" in _text(response)
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    event = AuditEvent.objects.filter(object_type=DEVICE_TYPE).order_by("-pk").first()
    assert (event.action, event.user, event.object_id) == (
        AuditEvent.Action.ERASE,
        coordinator,
        str(enrolled.pk),
    )


@pytest.mark.django_db
def test_a_form_from_a_stale_page_does_nothing(client, coordinator, enrolled):
    """The set-up form sent after the set-up was finished in another tab does not turn it off."""
    client.force_login(coordinator)

    response = client.post(reverse("two-step"), {"action": "confirm", "code": _code(enrolled)})

    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()


@pytest.mark.django_db
def test_a_mentor_gets_404_on_the_page(client, mentor):
    client.force_login(mentor.user)

    assert client.get(reverse("two-step")).status_code == 404
    assert not TOTPDevice.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "admin_user"])
def test_managers_and_administrators_may_turn_it_on(client, request, role):
    client.force_login(request.getfixturevalue(role))

    assert client.get(reverse("two-step")).status_code == 200


@pytest.mark.django_db
def test_staff_see_the_page_in_the_header_and_mentors_do_not(client, coordinator, mentor):
    client.force_login(coordinator)
    assert reverse("two-step") in _text(client.get(reverse("sessions:inbox")))

    client.force_login(mentor.user)
    assert reverse("two-step") not in _text(client.get(reverse("sessions:inbox")))


# --- Signing in ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_password_alone_does_not_sign_in_a_user_with_two_step_sign_in_on(client, coordinator, enrolled):
    response = _password(client, coordinator)

    assert response.status_code == 302
    assert response.url == reverse("login-code")
    assert not _signed_in(client)
    assert client.get(reverse("mentee-waiting-list")).status_code == 302


@pytest.mark.django_db
def test_password_and_code_sign_in_and_keep_next(client, coordinator, enrolled):
    _password(client, coordinator, next_url=reverse("sessions:inbox"))

    response = _send_code(client, _code(enrolled))

    assert response.status_code == 302
    assert response.url == reverse("sessions:inbox")
    assert _signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == enrolled.persistent_id
    assert client.get(reverse("mentee-waiting-list")).status_code == 200


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_nothing_is_signed_in(client, coordinator, enrolled):
    _password(client, coordinator)

    response = _send_code(client, _wrong(enrolled))

    assert response.status_code == 422
    assert "That code is not right" in _text(response)
    assert not _signed_in(client)


@pytest.mark.django_db
def test_a_code_that_is_not_six_digits_is_a_form_error(client, coordinator, enrolled):
    _password(client, coordinator)

    response = _send_code(client, "12ab56")

    assert response.status_code == 422
    assert "Enter the 6 digits" in _text(response)
    assert not _signed_in(client)


@pytest.mark.django_db
def test_five_wrong_codes_end_the_pending_sign_in(client, coordinator, enrolled, frozen):
    _password(client, coordinator)
    for _ in range(4):
        assert _send_code(client, _wrong(enrolled)).status_code == 422
        frozen.tick(NEXT_STEP)

    response = _send_code(client, _wrong(enrolled))
    follow_up = client.get(response.url)

    assert response.url == reverse("login")
    assert "Too many wrong codes" in _text(follow_up)
    assert not _signed_in(client)
    # The attempt is over: even the right code now leads back to the password.
    assert _send_code(client, _code(enrolled)).url == reverse("login")
    assert not _signed_in(client)
    denied = AuditEvent.objects.get(action=AuditEvent.Action.DENIED, object_type=DEVICE_TYPE)
    assert denied.user == coordinator


@pytest.mark.django_db
def test_wrong_codes_count_as_failed_sign_ins_for_the_lockout(
    client, coordinator, enrolled, frozen, settings
):
    settings.AXES_ENABLED = True
    _password(client, coordinator)
    for _ in range(4):
        _send_code(client, _wrong(enrolled))
        frozen.tick(NEXT_STEP)

    locked = _send_code(client, _wrong(enrolled))
    frozen.tick(NEXT_STEP)
    again = _password(client, coordinator)

    assert locked.status_code == 429
    assert again.status_code == 429  # even the right password, for 15 minutes
    assert not _signed_in(client)


@pytest.mark.django_db
def test_a_locked_out_username_cannot_finish_a_pending_sign_in(client, coordinator, enrolled, settings):
    settings.AXES_ENABLED = True
    _password(client, coordinator)
    attacker = Client()
    for _ in range(5):
        attacker.post(
            reverse("login"), {"username": coordinator.username, "password": "guess"}, REMOTE_ADDR=OFFICE_IP
        )

    response = _send_code(client, _code(enrolled))

    assert response.status_code == 429
    assert not _signed_in(client)


@pytest.mark.django_db
def test_the_pending_sign_in_expires_after_five_minutes(client, coordinator, enrolled, frozen):
    _password(client, coordinator)
    frozen.tick(datetime.timedelta(minutes=5, seconds=1))

    response = _send_code(client, _code(enrolled))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "The time to enter the code has run out" in _text(client.get(response.url))
    assert not _signed_in(client)


@pytest.mark.django_db
def test_a_code_is_accepted_only_once(client, coordinator, enrolled):
    _password(client, coordinator)
    code = _code(enrolled)
    _send_code(client, code)
    client.post(reverse("logout"))

    _password(client, coordinator)
    response = _send_code(client, code)

    assert response.status_code == 422
    assert not _signed_in(client)


@pytest.mark.django_db
def test_a_user_without_two_step_sign_in_signs_in_in_one_step(client, coordinator):
    response = _password(client, coordinator)

    assert response.status_code == 302
    assert response.url == reverse(settings.LOGIN_REDIRECT_URL)
    assert _signed_in(client)


@pytest.mark.django_db
def test_the_code_page_without_a_pending_sign_in_goes_to_the_password(client):
    response = client.get(reverse("login-code"))

    assert response.status_code == 302
    assert response.url == reverse("login")


@pytest.mark.django_db
def test_each_step_rotates_the_session_key(client, coordinator, enrolled):
    session = client.session
    session["language_hint"] = "ro"
    session.save()
    keys = [session.session_key]

    _password(client, coordinator)
    keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    _send_code(client, _code(enrolled))
    keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)

    assert len(set(keys)) == 3
    assert _signed_in(client)


@pytest.mark.django_db
def test_the_session_still_ends_after_thirty_idle_minutes(client, coordinator, enrolled, frozen):
    _password(client, coordinator)
    _send_code(client, _code(enrolled))
    frozen.tick(datetime.timedelta(minutes=30, seconds=1))

    response = client.get(reverse("mentee-waiting-list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_the_admin_site_asks_for_the_code_too(client, admin_user, frozen):
    device = _enrol(client, admin_user)
    frozen.tick(NEXT_STEP)

    credentials = {"username": admin_user.username, "password": PASSWORD, "next": "/admin/"}
    response = client.post(reverse("admin:login"), credentials)

    assert response.url == reverse("login-code")
    assert not _signed_in(client)
    assert _send_code(client, _code(device)).url == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_neither_the_key_nor_a_code_is_logged(client, coordinator, enrolled, caplog):
    caplog.set_level(logging.DEBUG)
    _password(client, coordinator)
    wrong, right = _wrong(enrolled), _code(enrolled)

    _send_code(client, wrong)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (enrolled.key, secret_for_reading(enrolled).replace(" ", ""), wrong, right):
        assert secret not in logged


@pytest.mark.django_db
def test_the_code_page_speaks_the_readers_language(client, coordinator, enrolled, in_pseudo_language):  # noqa: F811
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = PSEUDO
    _password(client, coordinator)

    for response in (
        client.get(reverse("login-code")),
        _send_code(client, "12ab56"),
        _send_code(client, _wrong(enrolled)),
    ):
        assert response["Content-Language"] == PSEUDO
        assert escaped_text(visible_texts(response), _stored_texts()) == []


@pytest.mark.django_db
def test_the_page_of_a_staff_member_with_two_step_sign_in_on_speaks_their_language(
    client,
    coordinator,
    enrolled,
    in_pseudo_language,  # noqa: F811
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = PSEUDO
    client.force_login(coordinator)

    response = client.post(reverse("two-step"), {"action": "disable", "code": _wrong(enrolled)})

    assert response.status_code == 422
    assert response["Content-Language"] == PSEUDO
    assert escaped_text(visible_texts(response), _stored_texts()) == []


def test_the_qr_code_draws_exactly_the_dark_modules_of_the_code():
    data = "otpauth://totp/Tandem%3Aioana.coordinator?secret=2OERGLWB4I5FKBTI&issuer=Tandem"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    dark = {(x, y) for y, row in enumerate(code.get_matrix()) for x, on in enumerate(row) if on}

    svg = qr_code_svg(data, label="QR code")

    drawn = {
        (int(x) + i, int(y))
        for x, y, width in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\d+z", svg)
        for i in range(int(width))
    }
    assert drawn == dark
    assert 'aria-label="QR code"' in svg and "<script" not in svg
