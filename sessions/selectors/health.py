"""Reads of match health: the one definition of a match's last session and of drifting, and the
coordinator's open attention flags.

Pages, reminders and (later) reports ask these functions rather than writing their own
``Max("session_logs__held_on")``, so "quiet for 25 days" means the same everywhere.
"""

from __future__ import annotations

import datetime

from django.db.models import F, Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from matching.models import Match
from mentoring.models import AuditEvent, Programme, User
from mentoring.permissions import coordinated_programmes
from sessions.models import AttentionFlag

# The audit rows the match-health job writes, one per programme per run (``match_health_run``);
# the latest is the page's "last checked at".
HEALTH_RUN_OBJECT_TYPE = AttentionFlag._meta.label


def matches_with_last_session(qs: QuerySet[Match]) -> QuerySet[Match]:
    """``qs`` annotated with ``last_session_on`` (the latest ``held_on`` of its session logs,
    None without any) and ``quiet_since`` (the last session, else the start date: a match that
    never met has been quiet since it started)."""
    return qs.annotate(last_session_on=Max("session_logs__held_on")).annotate(
        quiet_since=Coalesce(F("last_session_on"), F("started_on"))
    )


def drifting_matches(*, programme: Programme, today: datetime.date) -> QuerySet[Match]:
    """The programme's active matches quiet for ``programme.drift_days`` days or more.

    Paused matches are quiet by agreement and proposed ones have not started, so only active
    matches drift."""
    return quiet_active_matches(programme=programme, today=today, days=programme.drift_days)


def quiet_active_matches(*, programme: Programme, today: datetime.date, days: int) -> QuerySet[Match]:
    """The programme's active matches whose ``quiet_since`` is at least ``days`` days before
    ``today`` (the rule behind drifting matches and overdue session logs)."""
    cutoff = today - datetime.timedelta(days=days)
    return matches_with_last_session(
        Match.objects.filter(programme=programme, status=Match.Status.ACTIVE, started_on__isnull=False)
    ).filter(quiet_since__lte=cutoff)


def attention_flags_visible_to(*, user: User, kind: str | None = None) -> QuerySet[AttentionFlag]:
    """The open attention flags of the programmes the user coordinates (every programme for
    admins), oldest condition first. Mentors and managers see none: flags are case work."""
    qs = AttentionFlag.objects.filter(resolved_at__isnull=True).select_related(
        "programme",
        "match__mentee__family",
        "match__mentor__person",
        "mentor__person",
        "concern",
    )
    if not user.is_authenticated:
        return qs.none()
    if not user.is_admin:
        if user.role != User.Role.COORDINATOR:
            return qs.none()
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("since", "raised_at", "id")


def attention_flag_get_for_user(*, user: User, flag_id: int) -> AttentionFlag:
    """One open flag of the user's programmes; any other is not found."""
    from mentoring.errors import NotFound

    try:
        return attention_flags_visible_to(user=user).get(pk=flag_id)
    except AttentionFlag.DoesNotExist as exc:
        raise NotFound(_("Attention flag not found.")) from exc


def match_health_last_checked_at(*, user: User) -> datetime.datetime | None:
    """When the match-health job last checked any of the user's programmes."""
    qs = AuditEvent.objects.filter(object_type=HEALTH_RUN_OBJECT_TYPE, user__isnull=True, role="system")
    if not user.is_admin:
        qs = qs.filter(programme_id__in=coordinated_programmes(user=user).values("pk"))
    return qs.aggregate(last=Max("at"))["last"]
