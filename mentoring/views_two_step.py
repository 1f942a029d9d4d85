"""The pages of two-step sign-in (``mentoring.two_step``): the sign-in itself (the password at
``/login/``, then the code at ``/login/code/``) and a staff member's own page to turn it on and
off (``/account/two-step/``). The admin site signs in through the same two steps.

Thin: the rules, the audit rows and the session's pending sign-in live in ``mentoring.two_step``.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from mentoring.forms import LoginForm, OneTimeCodeForm
from mentoring.two_step import (
    CodeCheck,
    pending_sign_in_check,
    pending_sign_in_end,
    pending_sign_in_exists,
    pending_sign_in_get,
    pending_sign_in_refused,
    pending_sign_in_start,
    qr_code_svg,
    secret_for_reading,
    two_step_allowed,
    two_step_confirm,
    two_step_device,
    two_step_disable,
    two_step_enrol,
)


def _code_error(form: OneTimeCodeForm, check: CodeCheck) -> None:
    if check.throttled:
        form.add_error(
            "code",
            _("Too many wrong codes in a row: wait a few seconds, then enter the code your app shows now."),
        )
    else:
        form.add_error("code", _("That code is not right. Enter the code your app shows now."))


class TwoStepLoginView(auth_views.LoginView):
    """Step 1, the password. A user with two-step sign-in on is not signed in yet: the session
    remembers them for a few minutes and step 2 asks for the code. Everyone else is signed in
    here, as before."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if two_step_device(user=user) is None:
            return super().form_valid(form)
        pending_sign_in_start(request=self.request, user=user, redirect_to=self.get_redirect_url())
        return redirect("login-code")


login_page = TwoStepLoginView.as_view()


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin site's sign-in page is Tandem's, so the second step cannot be skipped there.
    A signed-in user gets the admin's own answer (its index, or its refusal to non-staff)."""
    if request.user.is_authenticated:
        return admin.site.login(request, extra_context)
    return login_page(request)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code_page(request: HttpRequest) -> HttpResponse:
    """Step 2, the code. Each wrong code counts as a failed sign-in for django-axes (its lockout
    of the username and address refuses this step too); after the fifth wrong code the
    attempt ends and the password is asked again."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    had_pending = pending_sign_in_exists(request=request)
    pending = pending_sign_in_get(request=request)
    if pending is None:
        if had_pending:
            messages.info(request, _("The time to enter the code has run out; please log in again."))
        return redirect("login")
    credentials = {"username": pending.user.get_username()}
    if settings.AXES_ENABLED and not AxesProxyHandler.is_allowed(request, credentials):
        pending_sign_in_end(request=request)
        return get_lockout_response(request, credentials=credentials)

    form = OneTimeCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        check = pending_sign_in_check(request=request, pending=pending, code=form.cleaned_data["code"])
        if check.accepted:
            pending_sign_in_end(request=request)
            auth_login(request, pending.user)  # rotates the session key, as every sign-in does
            otp_login(request, pending.device)
            return redirect(pending.redirect_to or resolve_url(settings.LOGIN_REDIRECT_URL))
        if not check.throttled:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if pending.wrong_codes + 1 >= settings.TANDEM_TWO_STEP_MAX_WRONG_CODES:
                pending_sign_in_refused(request=request, pending=pending)
                messages.error(request, _("Too many wrong codes. Log in again to try once more."))
                # If these failures locked the username out, django-axes answers its lock-out page.
                return redirect("login")
        _code_error(form, check)
    return render(request, "registration/login_code.html", {"form": form}, status=422 if form.errors else 200)


@sensitive_post_parameters("code")
@login_required
def two_step_page(request: HttpRequest) -> HttpResponse:
    """A staff member's own two-step sign-in: set up (the key as a QR code and as text, and a
    code to confirm it), or on (a code to turn it off). The key is never shown once confirmed."""
    user = request.user
    if not two_step_allowed(user=user):
        raise Http404
    device = two_step_device(user=user)
    action = request.POST.get("action") if request.method == "POST" else None
    # A form sent from a page that no longer matches (set up in another tab) does nothing.
    expected = "disable" if device is not None else "confirm"
    if action is not None and action != expected:
        return redirect("two-step")
    form = OneTimeCodeForm(request.POST if action == expected else None)
    if device is not None:
        if form.is_valid():
            check = two_step_disable(
                user=user, device=device, code=form.cleaned_data["code"], request=request
            )
            if check.accepted:
                messages.success(request, _("Two-step sign-in is off: your password alone now signs you in."))
                return redirect("two-step")
            _code_error(form, check)
        context = {"device": device, "form": form}
    else:
        device = two_step_enrol(user=user)
        if form.is_valid():
            check = two_step_confirm(
                user=user, device=device, code=form.cleaned_data["code"], request=request
            )
            if check.accepted:
                otp_login(request, device)
                messages.success(
                    request,
                    _(
                        "Two-step sign-in is on: from now on Tandem asks for a code from your app "
                        "after your password."
                    ),
                )
                return redirect("two-step")
            _code_error(form, check)
        context = {
            "device": device,
            "form": form,
            "secret": secret_for_reading(device),
            "config_url": device.config_url,
            "qr_code": qr_code_svg(
                device.config_url, label=_("QR code with the key for your authenticator app")
            ),
            "issuer": settings.OTP_TOTP_ISSUER,
        }
    return render(request, "mentoring/two_step.html", context, status=422 if form.errors else 200)
