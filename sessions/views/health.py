"""The coordinator's "Needs attention" page: the open attention flags of their programmes,
grouped by kind, oldest first, as the match-health job (``sessions.services.health``) left them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mentoring.models import User
from mentoring.views import role_required
from sessions.models import AttentionFlag, Concern
from sessions.selectors.concerns import concern_list_visible_to
from sessions.selectors.health import (
    attention_flag_get_for_user,
    attention_flags_visible_to,
    match_health_last_checked_at,
)
from sessions.services.health import attention_flag_dismiss


@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def attention_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    now = timezone.now()
    groups = {kind: [] for kind in AttentionFlag.Kind.values}
    for flag in attention_flags_visible_to(user=request.user):
        flag.days = (today - flag.since).days
        if flag.concern_id:
            flag.hours = int((now - flag.concern.created_at).total_seconds() // 3600)
        groups[flag.kind].append(flag)
    sections = [
        {"kind": kind, "label": label, "flags": groups[kind]} for kind, label in AttentionFlag.Kind.choices
    ]
    # Every concern still open, beside the flags: the most severe first.
    overdue = {flag.concern_id for flag in groups[AttentionFlag.Kind.UNACKNOWLEDGED_CONCERN]}
    open_concerns = list(concern_list_visible_to(user=request.user).exclude(status=Concern.Status.CLOSED))
    for concern in open_concerns:
        concern.overdue = concern.pk in overdue
        concern.days = (today - timezone.localdate(concern.created_at)).days
    return render(
        request,
        "sessions/attention.html",
        {
            "section": "attention",
            "sections": sections,
            "open_concerns": open_concerns,
            "total": sum(len(flags) for flags in groups.values()) + len(open_concerns),
            "last_checked_at": match_health_last_checked_at(user=request.user),
        },
    )


@require_POST
@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def attention_flag_dismiss_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = attention_flag_get_for_user(user=request.user, flag_id=flag_id)
    try:
        attention_flag_dismiss(flag=flag, user=request.user, request=request)
    except (ValidationError, PermissionDenied) as exc:
        for message in getattr(exc, "messages", [str(exc)]):
            messages.error(request, message)
    else:
        messages.success(request, _("Flag dismissed."))
    return redirect("sessions:attention")
