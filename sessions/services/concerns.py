"""Writes of concerns: raising one (routed at once to the programme's coordinators) and its
transitions open → acknowledged → (referred) → closed.

Mentors are not social workers: whoever raises a concern hands it to the coordinators, who
acknowledge it, may refer it (social services, school, health, police) and close it. Each step
is checked, written atomically and audited, and the raising mentor hears about each one in
their inbox. Notification texts name the concern's number, severity and programme and link to
it; they never carry the description nor anything about the family, because e-mail leaves the
system.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, User
from mentoring.permissions import is_coordinator_of, programme_coordinators
from sessions.models import Concern, SessionLog
from sessions.services.notifications import notification_send, notification_text

# A mentor raises concerns about the mentees of their current matches (a paused match still
# has a family the mentor may worry about).
RAISABLE_MATCH_STATUSES = Match.CURRENT_STATUSES

# The severity as one word, for the title of the coordinators' notification.
SEVERITY_WORDS = {
    Concern.Severity.LOW: pgettext_lazy("concern severity", "low"),
    Concern.Severity.MEDIUM: pgettext_lazy("concern severity", "medium"),
    Concern.Severity.HIGH: pgettext_lazy("concern severity", "high"),
    Concern.Severity.URGENT: pgettext_lazy("concern severity", "urgent"),
}
COORDINATORS_ONLY = gettext_lazy("Only the programme's coordinators can handle a concern.")


def concern_url(concern: Concern) -> str:
    return reverse("sessions:concern-detail", args=[concern.pk])


def _may_handle(*, user: User, concern: Concern) -> bool:
    return user.is_authenticated and (
        user.is_admin or is_coordinator_of(user=user, programme_id=concern.programme_id)
    )


def concern_raise(
    *,
    raised_by: User,
    mentee: Mentee,
    severity: str,
    description: str,
    kind: str = Concern.Kind.WELL_BEING,
    match: Match | None = None,
    session_log: SessionLog | None = None,
    request: HttpRequest | None = None,
) -> Concern:
    """Raise a concern about ``mentee`` and route it at once to every coordinator of the
    mentee's programme (inbox and e-mail, sent after commit).

    A mentor raises one about the mentee of their own active or paused match (``match``
    defaults to it); a coordinator about any mentee of their programme (``match`` defaults to
    the mentee's current match, if any); an administrator about anyone. Every field error is
    reported at once; nothing is saved when any is found.
    """
    is_coordinator = raised_by.is_authenticated and (
        raised_by.is_admin or is_coordinator_of(user=raised_by, programme_id=mentee.programme_id)
    )
    is_mentor = raised_by.is_authenticated and raised_by.role == User.Role.MENTOR and not raised_by.is_admin
    if not (is_coordinator or is_mentor):
        raise PermissionDenied(
            _("Only the mentee's mentor or the programme's coordinators can raise a concern.")
        )

    errors: dict[str, str] = {}
    if is_mentor:
        own = Match.objects.filter(
            mentor__user=raised_by, mentee=mentee, status__in=RAISABLE_MATCH_STATUSES
        ).order_by("-started_on", "-pk")
        if match is not None:
            own = own.filter(pk=match.pk)
        match = own.first()
        if match is None:
            errors["mentee"] = _(
                "You can raise a concern only about a mentee of your own active or paused match."
            )
    elif match is not None:
        if match.mentee_id != mentee.pk:
            errors["match"] = _("This match is not the mentee's.")
    else:
        match = (
            Match.objects.filter(mentee=mentee, status__in=RAISABLE_MATCH_STATUSES).order_by("-pk").first()
        )
    if session_log is not None and (match is None or session_log.match_id != match.pk):
        errors["session_log"] = _("This session log is not of the mentee's match.")
    if not (description or "").strip():
        errors["description"] = _("Describe what worries you.")
    if severity not in Concern.Severity.values:
        errors["severity"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Concern.Severity.values)
        }
    if kind not in Concern.Kind.values:
        errors["kind"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(Concern.Kind.values)}
    if errors:
        raise ValidationError(errors)

    concern = Concern(
        programme_id=mentee.programme_id,
        mentee=mentee,
        match=match,
        session_log=session_log,
        raised_by=raised_by,
        kind=kind,
        severity=severity,
        description=description.strip(),
    )
    concern.full_clean()
    with transaction.atomic():
        concern.save()
        audit_record(user=raised_by, action=AuditEvent.Action.CREATE, obj=concern, request=request)
        programme = mentee.programme
        notification_send(
            # Whoever raised it knows already.
            recipients=programme_coordinators(programme=programme).exclude(pk=raised_by.pk),
            kind="concern_raised",
            # Each coordinator reads it in their own language.
            title=notification_text(
                gettext_lazy("New %(severity)s concern C-%(id)s in %(programme)s"),
                severity=SEVERITY_WORDS.get(concern.severity, concern.severity),
                id=concern.pk,
                programme=programme.name,
            ),
            body=lambda: (
                _(
                    "A concern of %(severity)s severity was raised in %(programme)s. "
                    "Open it in Tandem to read it and acknowledge it."
                )
                % {"severity": concern.get_severity_display().lower(), "programme": programme.name}
            ),
            url=concern_url(concern),
            dedupe_key=f"concern:{concern.pk}:raised",
        )
    return concern


def _transition(
    *,
    concern: Concern,
    user: User,
    allowed_from: tuple[str, ...],
    refusal: dict[str, str],
    request: HttpRequest | None,
    apply,
    notice: tuple[str, str],
) -> Concern:
    """Check the user and the current status (read under a row lock, so two coordinators
    acting at once can't both move it), apply the change, audit it and tell the raiser.
    ``notice``: the raiser's notification (title, body), lazily translated texts with the
    placeholders ``id`` and ``programme``."""
    if not _may_handle(user=user, concern=concern):
        raise PermissionDenied(COORDINATORS_ONLY)
    with transaction.atomic():
        locked = Concern.objects.select_for_update().get(pk=concern.pk)
        if locked.status not in allowed_from:
            raise ValidationError(
                refusal.get(locked.status)
                or _("The concern is %(status)s.") % {"status": locked.get_status_display().lower()},
                code="invalid_transition",
            )
        apply(locked)
        locked.full_clean()
        locked.save()
        audit_record(user=user, action=AuditEvent.Action.UPDATE, obj=locked, request=request)
        if locked.raised_by_id and locked.raised_by_id != user.pk:
            params = {"id": locked.pk, "programme": locked.programme.name}
            notification_send(
                recipients=[locked.raised_by],
                kind=f"concern_{locked.status}",
                title=notification_text(notice[0], **params),
                body=notification_text(notice[1], **params),
                url=concern_url(locked),
                email=False,
            )
    concern.refresh_from_db()
    return concern


def concern_acknowledge(
    *, concern: Concern, acknowledged_by: User, request: HttpRequest | None = None
) -> Concern:
    """A coordinator has read the concern and takes it on (open → acknowledged)."""

    def apply(c: Concern) -> None:
        c.status = Concern.Status.ACKNOWLEDGED
        c.acknowledged_by = acknowledged_by
        c.acknowledged_at = timezone.now()

    return _transition(
        concern=concern,
        user=acknowledged_by,
        allowed_from=(Concern.Status.OPEN,),
        refusal={
            Concern.Status.ACKNOWLEDGED: _("The concern is already acknowledged."),
            Concern.Status.REFERRED: _("The concern is already acknowledged and referred."),
            Concern.Status.CLOSED: _("The concern is closed."),
        },
        request=request,
        apply=apply,
        notice=(
            gettext_lazy("Your concern C-%(id)s was acknowledged"),
            gettext_lazy("A coordinator of %(programme)s acknowledged the concern you raised."),
        ),
    )


def concern_refer(
    *,
    concern: Concern,
    referred_by: User,
    referred_to: str,
    referral_note: str,
    request: HttpRequest | None = None,
) -> Concern:
    """The coordinator has referred the concern to another service (acknowledged → referred).
    The note records whom they spoke to and when, for whoever picks the case up next."""
    errors: dict[str, str] = {}
    if referred_to not in Concern.ReferredTo.values:
        errors["referred_to"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Concern.ReferredTo.values)
        }
    if not (referral_note or "").strip():
        errors["referral_note"] = _("Note whom the concern was referred to and how.")
    if errors:
        if not _may_handle(user=referred_by, concern=concern):
            raise PermissionDenied(COORDINATORS_ONLY)
        raise ValidationError(errors)

    def apply(c: Concern) -> None:
        c.status = Concern.Status.REFERRED
        c.referred_to = referred_to
        c.referral_note = referral_note.strip()
        c.referred_at = timezone.now()

    return _transition(
        concern=concern,
        user=referred_by,
        allowed_from=(Concern.Status.ACKNOWLEDGED,),
        refusal={
            Concern.Status.OPEN: _("Acknowledge the concern before referring it."),
            Concern.Status.REFERRED: _("The concern is already referred."),
            Concern.Status.CLOSED: _("The concern is closed."),
        },
        request=request,
        apply=apply,
        notice=(
            gettext_lazy("Your concern C-%(id)s was referred"),
            gettext_lazy("A coordinator of %(programme)s referred the concern you raised."),
        ),
    )


def concern_close(
    *, concern: Concern, closed_by: User, closure_note: str, request: HttpRequest | None = None
) -> Concern:
    """Close an acknowledged or referred concern. An open one must be acknowledged first, so
    the record always shows that someone took it on before it was closed."""
    if not (closure_note or "").strip():
        if not _may_handle(user=closed_by, concern=concern):
            raise PermissionDenied(COORDINATORS_ONLY)
        raise ValidationError({"closure_note": _("Say why the concern can be closed.")})

    def apply(c: Concern) -> None:
        c.status = Concern.Status.CLOSED
        c.closed_by = closed_by
        c.closed_at = timezone.now()
        c.closure_note = closure_note.strip()

    return _transition(
        concern=concern,
        user=closed_by,
        allowed_from=(Concern.Status.ACKNOWLEDGED, Concern.Status.REFERRED),
        refusal={
            Concern.Status.OPEN: _("Acknowledge the concern before closing it."),
            Concern.Status.CLOSED: _("The concern is already closed."),
        },
        request=request,
        apply=apply,
        notice=(
            gettext_lazy("Your concern C-%(id)s was closed"),
            gettext_lazy("A coordinator of %(programme)s closed the concern you raised."),
        ),
    )
