"""Optional two-step sign-in for staff: a time-based one-time code (TOTP, RFC 6238) from an
authenticator app, after the password (issue "Trust": "optional TOTP for staff").

django-otp holds the device (``TOTPDevice``: the key, the last code used so none is accepted
twice, and a back-off after each wrong code). Here live the rules around it:

- who may turn it on (staff: coordinators, managers, administrators; mentors are volunteers and
  sign in with their password only);
- turning it on (``two_step_enrol`` keeps one unconfirmed device whose key the page shows;
  ``two_step_confirm`` confirms it with a code) and off (``two_step_disable``, with a code),
  each audited;
- the sign-in between the password and the code (``pending_sign_in_*``): the session holds only
  the user's id, the time and where to go next, for ``TANDEM_TWO_STEP_PENDING_SECONDS``; after
  ``TANDEM_TWO_STEP_MAX_WRONG_CODES`` wrong codes the attempt ends.

Nothing here logs a key, a code or a name.
"""

from __future__ import annotations

import datetime
from base64 import b32encode
from dataclasses import dataclass

import qrcode
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from mentoring.audit import audit_record
from mentoring.models import AuditEvent, User

PENDING_SESSION_KEY = "tandem_two_step_pending"
DEVICE_NAME = "Authenticator app"


def two_step_allowed(*, user: User) -> bool:
    """Staff may turn two-step sign-in on; mentors (volunteers) do not see it."""
    return user.is_authenticated and (
        user.is_admin or user.role in (User.Role.COORDINATOR, User.Role.MANAGER)
    )


# --- Devices ------------------------------------------------------------------------------------


def two_step_device(*, user: User) -> TOTPDevice | None:
    """The user's confirmed device, if two-step sign-in is on."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def two_step_enrol(*, user: User) -> TOTPDevice:
    """The unconfirmed device whose key the set-up page shows: the same one on every visit until
    it is confirmed, so that reloading the page does not invalidate a key already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a code: accepted, or why not (``throttled``: django-otp's back-off after
    wrong codes is running, and the code was not even compared)."""

    accepted: bool
    throttled: bool = False


def _check(device: TOTPDevice, *, user: User, code: str) -> CodeCheck:
    # A fresh read: the back-off may have started in another request since ``device`` was read.
    allowed, _details = TOTPDevice.objects.get(pk=device.pk).verify_is_allowed()
    if not allowed:
        return CodeCheck(accepted=False, throttled=True)
    # Locks the device's row: a code is accepted once, however many requests bring it at once.
    verified = verify_token(user, device.persistent_id, "".join(code.split()))
    return CodeCheck(accepted=verified is not None)


def two_step_confirm(
    *, user: User, device: TOTPDevice, code: str, request: HttpRequest | None = None
) -> CodeCheck:
    """Turn two-step sign-in on: ``code`` must come from the app that read the device's key.
    Any other device of the user (an earlier, abandoned set-up) is removed."""
    if device.user_id != user.pk or device.confirmed:
        return CodeCheck(accepted=False)
    check = _check(device, user=user, code=code)
    if check.accepted:
        with transaction.atomic():
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            audit_record(user=user, action=AuditEvent.Action.CREATE, obj=device, request=request)
        device.confirmed = True
    return check


def two_step_disable(
    *, user: User, device: TOTPDevice, code: str, request: HttpRequest | None = None
) -> CodeCheck:
    """Turn two-step sign-in off: only with a current code, so a session left open on a shared
    computer cannot switch it off."""
    check = _check(device, user=user, code=code)
    if check.accepted:
        with transaction.atomic():
            audit_record(user=user, action=AuditEvent.Action.ERASE, obj=device, request=request)
            TOTPDevice.objects.filter(user=user).delete()
    return check


def secret_for_reading(device: TOTPDevice) -> str:
    """The key as an authenticator app takes it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(data: str, *, label: str) -> SafeString:
    """``data`` as a QR code in inline SVG markup: the Content Security Policy allows neither
    images from ``data:`` addresses nor inline script, and this needs neither. Each dark run of a
    row is one rectangle of the path."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    size = len(matrix)
    return format_html(
        '<svg class="qr-code" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        'role="img" aria-label="{label}" shape-rendering="crispEdges">'
        '<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>',
        size=size,
        label=label,
        path="".join(runs),
    )


# --- The sign-in between the password and the code ----------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    user: User
    device: TOTPDevice
    redirect_to: str
    wrong_codes: int


def pending_sign_in_start(*, request: HttpRequest, user: User, redirect_to: str) -> None:
    """After the right password of a user with two-step sign-in on: remember who, not signed
    in. The session key is rotated here as ``login()`` will rotate it again."""
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,  # set by authenticate(); login() needs it
        "auth_hash": user.get_session_auth_hash(),
        "at": timezone.now().isoformat(),
        "next": redirect_to,
        "wrong_codes": 0,
    }


def pending_sign_in_end(*, request: HttpRequest) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def pending_sign_in_exists(*, request: HttpRequest) -> bool:
    return PENDING_SESSION_KEY in request.session


def pending_sign_in_get(*, request: HttpRequest) -> PendingSignIn | None:
    """The sign-in waiting for its code, or ``None`` (none, expired, or no longer valid: the
    user was deactivated, changed their password or turned two-step sign-in off); an invalid
    one is ended."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.datetime.fromisoformat(pending["at"])
        backend = str(pending["backend"])
        user = get_user_model().objects.get(pk=pending["user_id"], is_active=True)
    except (KeyError, TypeError, ValueError, get_user_model().DoesNotExist):
        pending_sign_in_end(request=request)
        return None
    device = two_step_device(user=user)
    age = timezone.now() - started
    if (
        age > datetime.timedelta(seconds=settings.TANDEM_TWO_STEP_PENDING_SECONDS)
        or age < datetime.timedelta(0)
        or device is None
        or user.get_session_auth_hash() != pending.get("auth_hash")
    ):
        pending_sign_in_end(request=request)
        return None
    user.backend = backend
    return PendingSignIn(
        user=user, device=device, redirect_to=pending.get("next", ""), wrong_codes=pending["wrong_codes"]
    )


def pending_sign_in_check(*, request: HttpRequest, pending: PendingSignIn, code: str) -> CodeCheck:
    """Check the code of a pending sign-in; a wrong one is counted (a code refused during the
    back-off was not compared, and is not)."""
    check = _check(pending.device, user=pending.user, code=code)
    if not check.accepted and not check.throttled:
        request.session[PENDING_SESSION_KEY] = {
            **request.session[PENDING_SESSION_KEY],
            "wrong_codes": pending.wrong_codes + 1,
        }
    return check


def pending_sign_in_refused(*, request: HttpRequest, pending: PendingSignIn) -> None:
    """Too many wrong codes: the attempt ends, and the refusal is audited."""
    pending_sign_in_end(request=request)
    audit_record(user=pending.user, action=AuditEvent.Action.DENIED, obj=pending.device, request=request)
