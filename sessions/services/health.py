"""The match-health job: it raises, keeps and resolves the coordinators' attention flags and
sends each flag's reminder once.

Four conditions, each with its programme's threshold (``Programme.drift_days`` and friends):

- **drifting match** (``match:<id>``): an active match with no session for ``drift_days``;
  the coordinators are reminded.
- **overdue logs** (``mentor:<id>``): a mentor with an active match quiet for
  ``log_reminder_days``; one flag per mentor however many of their matches are quiet, and the
  mentor is reminded.
- **unacknowledged concern** (``concern:<id>``): a concern still open ``concern_ack_hours``
  after it was raised; the coordinators are reminded.
- **family uncertain** (``checkin:<id>``): a family answered a check-in saying they feel
  uncertain. It does not end by itself: it stays until a coordinator dismisses it
  (``attention_flag_dismiss``), or the match closes. No reminder: ``checkin_answer`` already
  told the coordinators at once.

A flag is raised once per spell of its condition (the database allows one open flag per kind
and subject) and its reminder carries ``dedupe_key="flag:<id>"``, so running the job again
sends nothing new. A flag resolves by itself when its condition ends (a session is logged, the
concern is acknowledged); if the condition comes back later, a new flag (and reminder) is raised.

Each programme is checked in one transaction holding a lock on the programme row, so two runs
at once (beat and a manual run) cannot raise the same flag twice. Reading the conditions takes
a fixed handful of queries per programme; only newly raised flags cost a query each (their
reminders). Flags are derived state, so they are not audited one by one: each run writes one
audit row per programme (a system "update" of attention flags), which is also the page's
"last checked at".

Messages name records by reference only ("Match M-12"), never a person: e-mail leaves the system.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Programme, User
from mentoring.permissions import is_coordinator_of, programme_coordinators
from sessions.models import AttentionFlag, CheckIn, Concern
from sessions.selectors.health import HEALTH_RUN_OBJECT_TYPE, drifting_matches, quiet_active_matches
from sessions.services.notifications import notification_send

logger = logging.getLogger(__name__)

Kind = AttentionFlag.Kind


@dataclass
class _Condition:
    """One thing that needs attention now, as the job found it."""

    subject: str
    since: datetime.date
    match_id: int | None = None
    mentor_id: int | None = None
    concern_id: int | None = None
    recipient_id: int | None = None  # who is reminded, when not the coordinators
    details: dict = field(default_factory=dict)


# --- Finding the conditions (one query each) ---------------------------------------------------


def _drifting(programme: Programme, today: datetime.date, now: datetime.datetime) -> dict[str, _Condition]:
    rows = drifting_matches(programme=programme, today=today).values_list("pk", "quiet_since")
    return {
        f"match:{pk}": _Condition(
            subject=f"match:{pk}", since=since, match_id=pk, details={"days": (today - since).days}
        )
        for pk, since in rows
    }


def _overdue_logs(
    programme: Programme, today: datetime.date, now: datetime.datetime
) -> dict[str, _Condition]:
    rows = quiet_active_matches(
        programme=programme, today=today, days=programme.log_reminder_days
    ).values_list("mentor_id", "mentor__user_id", "quiet_since")
    found: dict[str, _Condition] = {}
    for mentor_id, user_id, since in rows:  # in memory: one mentor may have several quiet matches
        subject = f"mentor:{mentor_id}"
        condition = found.get(subject)
        if condition is None:
            found[subject] = _Condition(
                subject=subject,
                since=since,
                mentor_id=mentor_id,
                recipient_id=user_id,
                details={"matches": 1, "days": (today - since).days},
            )
        else:
            condition.since = min(condition.since, since)
            condition.details = {
                "matches": condition.details["matches"] + 1,
                "days": (today - condition.since).days,
            }
    return found


def _unacknowledged_concerns(
    programme: Programme, today: datetime.date, now: datetime.datetime
) -> dict[str, _Condition]:
    cutoff = now - datetime.timedelta(hours=programme.concern_ack_hours)
    rows = Concern.objects.filter(
        programme=programme, status=Concern.Status.OPEN, created_at__lte=cutoff
    ).values_list("pk", "match_id", "created_at")
    return {
        f"concern:{pk}": _Condition(
            subject=f"concern:{pk}",
            since=timezone.localdate(created_at),
            match_id=match_id,
            concern_id=pk,
            details={"hours": int((now - created_at).total_seconds() // 3600)},
        )
        for pk, match_id, created_at in rows
    }


def _uncertain_families(
    programme: Programme, today: datetime.date, now: datetime.datetime
) -> dict[str, _Condition]:
    rows = CheckIn.objects.filter(
        match__programme=programme,
        match__status__in=Match.OPEN_STATUSES,
        respondent=CheckIn.Respondent.FAMILY,
        uncertain=True,
        answered_at__isnull=False,
    ).values_list("pk", "match_id", "answered_at")
    return {
        f"checkin:{pk}": _Condition(
            subject=f"checkin:{pk}", since=timezone.localdate(answered_at), match_id=match_id
        )
        for pk, match_id, answered_at in rows
    }


FINDERS = {
    Kind.DRIFTING_MATCH: _drifting,
    Kind.OVERDUE_LOGS: _overdue_logs,
    Kind.UNACKNOWLEDGED_CONCERN: _unacknowledged_concerns,
    Kind.FAMILY_UNCERTAIN: _uncertain_families,
}
# Conditions that never end by themselves: once dismissed, the same subject is not raised again.
DISMISSABLE_KINDS = (Kind.FAMILY_UNCERTAIN,)


# --- Reminders -------------------------------------------------------------------------------


def _remind(*, programme: Programme, flags: list[AttentionFlag], conditions: dict[str, _Condition]) -> None:
    if not flags:
        return
    attention_url = reverse("sessions:attention")
    coordinators: list[User] | None = None
    mentor_users = {
        user.pk: user
        for user in User.objects.filter(
            pk__in=[conditions[f.subject].recipient_id for f in flags if conditions[f.subject].recipient_id],
            is_active=True,
        )
    }
    for flag in flags:
        condition = conditions[flag.subject]
        if flag.kind == Kind.FAMILY_UNCERTAIN:
            continue  # the coordinators were told when the family answered
        if flag.kind == Kind.OVERDUE_LOGS:
            user = mentor_users.get(condition.recipient_id)
            if user is None:
                continue

            def overdue(days=condition.details["days"]) -> str:  # built in the mentor's language
                return ngettext(
                    "One of your matches has no session logged for %(days)s day. If you met, please "
                    "log the session; if you could not meet, let your coordinator know.",
                    "One of your matches has no session logged for %(days)s days. If you met, please "
                    "log the session; if you could not meet, let your coordinator know.",
                    days,
                ) % {"days": days}

            notification_send(
                recipients=[user],
                kind="overdue_logs",
                title=gettext_lazy("Please log your recent sessions"),
                body=overdue,
                url=reverse("matching:my-matches"),
                dedupe_key=f"flag:{flag.pk}",
            )
            continue
        if coordinators is None:
            coordinators = list(programme_coordinators(programme=programme))
        # Built for each coordinator, in their language (the defaults bind this flag's values).
        if flag.kind == Kind.DRIFTING_MATCH:

            def title(number=flag.match_id, days=condition.details["days"]) -> str:
                return ngettext(
                    "Match M-%(id)s has no session for %(days)s day",
                    "Match M-%(id)s has no session for %(days)s days",
                    days,
                ) % {"id": number, "days": days}

            def body(number=flag.match_id, since=flag.since) -> str:
                return _("No session has been logged for match M-%(id)s since %(date)s.") % {
                    "id": number,
                    "date": formats.date_format(since, "d M Y"),
                }
        else:

            def title(number=flag.concern_id, hours=condition.details["hours"]) -> str:
                return ngettext(
                    "Concern C-%(id)s not acknowledged after %(hours)s hour",
                    "Concern C-%(id)s not acknowledged after %(hours)s hours",
                    hours,
                ) % {"id": number, "hours": hours}

            def body(number=flag.concern_id) -> str:
                return _("Concern C-%(id)s is still waiting for a coordinator to acknowledge it.") % {
                    "id": number
                }

        notification_send(
            recipients=coordinators,
            kind=flag.kind,
            title=title,
            body=body,
            url=attention_url,
            dedupe_key=f"flag:{flag.pk}",
        )


# --- The job ---------------------------------------------------------------------------------


def _programme_check(*, programme: Programme, today: datetime.date, now: datetime.datetime) -> dict:
    counts = {kind.value: {"raised": 0, "resolved": 0} for kind in Kind}
    with transaction.atomic():
        # Serialises concurrent runs per programme (a no-op on SQLite, which locks the database).
        Programme.objects.select_for_update().filter(pk=programme.pk).first()
        open_flags: dict[tuple[str, str], AttentionFlag] = {
            (flag.kind, flag.subject): flag
            for flag in AttentionFlag.objects.filter(programme=programme, resolved_at__isnull=True)
        }
        for kind, finder in FINDERS.items():
            conditions = finder(programme, today, now)
            open_of_kind = {subject: flag for (k, subject), flag in open_flags.items() if k == kind}

            ended = [flag.pk for subject, flag in open_of_kind.items() if subject not in conditions]
            if ended:
                AttentionFlag.objects.filter(pk__in=ended).update(resolved_at=now)

            changed = []
            for subject, flag in open_of_kind.items():
                condition = conditions.get(subject)
                if condition and flag.since != condition.since:  # e.g. a session logged late
                    flag.since = condition.since
                    changed.append(flag)
            if changed:
                AttentionFlag.objects.bulk_update(changed, ["since"])

            new_subjects = [subject for subject in conditions if subject not in open_of_kind]
            if kind in DISMISSABLE_KINDS and new_subjects:
                dismissed = set(
                    AttentionFlag.objects.filter(
                        kind=kind, subject__in=new_subjects, resolved_at__isnull=False
                    ).values_list("subject", flat=True)
                )
                new_subjects = [subject for subject in new_subjects if subject not in dismissed]
            raised = AttentionFlag.objects.bulk_create(
                [
                    AttentionFlag(
                        programme=programme,
                        kind=kind,
                        subject=subject,
                        since=conditions[subject].since,
                        match_id=conditions[subject].match_id,
                        mentor_id=conditions[subject].mentor_id,
                        concern_id=conditions[subject].concern_id,
                        details=conditions[subject].details,
                        raised_at=now,
                    )
                    for subject in new_subjects
                ]
            )
            _remind(programme=programme, flags=raised, conditions=conditions)
            counts[kind.value] = {"raised": len(raised), "resolved": len(ended)}
        audit_record(
            user=None,
            action=AuditEvent.Action.UPDATE,
            object_type=HEALTH_RUN_OBJECT_TYPE,
            programme_id=programme.pk,
        )
    return counts


def _create_due_checkins(today: datetime.date) -> None:
    try:
        from sessions.services.checkins import checkins_create_due
    except ImportError:
        logger.warning("Check-ins are not available yet; match health runs without creating them.")
        return
    created = checkins_create_due(today=today)
    logger.info("Match health: %s check-ins fell due.", created)


def match_health_run(*, now: datetime.datetime | None = None) -> dict[str, dict[str, int]]:
    """Check every programme's matches, mentors, concerns and check-ins; raise, keep and resolve
    the attention flags; send each new flag's reminder once. Safe to run any number of times.
    Returns ``{kind: {"raised": n, "resolved": n}}`` over all programmes."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    _create_due_checkins(today)
    totals = {kind.value: {"raised": 0, "resolved": 0} for kind in Kind}
    for programme in Programme.objects.order_by("pk"):
        counts = _programme_check(programme=programme, today=today, now=now)
        for kind, numbers in counts.items():
            for key, value in numbers.items():
                totals[kind][key] += value
    logger.info("Match health: %s", totals)
    return totals


def attention_flag_dismiss(
    *, flag: AttentionFlag, user: User, request: HttpRequest | None = None
) -> AttentionFlag:
    """A coordinator has looked into a family's uncertainty and dismisses the flag. Only flags
    that cannot end by themselves can be dismissed: any other would simply be raised (and
    reminded) again by the next run while its condition holds."""
    if not (user.is_admin or is_coordinator_of(user=user, programme_id=flag.programme_id)):
        raise PermissionDenied(_("Only the programme's coordinators can dismiss attention flags."))
    if flag.kind not in DISMISSABLE_KINDS:
        raise ValidationError(
            {
                "kind": ValidationError(
                    _("This flag ends by itself when its condition ends; it cannot be dismissed."),
                    code="not_dismissable",
                )
            }
        )
    with transaction.atomic():
        locked = AttentionFlag.objects.select_for_update().get(pk=flag.pk)
        if locked.resolved_at is not None:
            raise ValidationError(_("This flag is already resolved."), code="already_resolved")
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["resolved_at"])
        audit_record(user=user, action=AuditEvent.Action.UPDATE, obj=locked, request=request)
    return locked
