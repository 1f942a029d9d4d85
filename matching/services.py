"""Writes that change matches; each checks its rule, writes atomically and is audited.

The lifecycle (domain.md): a coordinator makes a match active at once (``match_create``) or
proposes it (``match_create(propose=True)``), and the mentor accepts (``match_accept``) or
declines it with a reason (``match_decline``); a coordinator may pause an active match and
resume it (``match_pause`` / ``match_resume``) and closes any open one (``match_close``).

Rules kept here, in one place:

- **Capacity.** A mentor's open matches (proposed, active, paused) never exceed their capacity.
  Every write that can add to a mentor's load locks the mentor's row first
  (``select_for_update``), so two coordinators matching the same mentor at once are served one
  after the other and the second sees the first's match. Locks are always taken in the same
  order (mentor, mentee, match) so two writers cannot deadlock.
- **The mentee while a match is proposed** keeps the status *waiting*: they are not matched
  until the mentor accepts, and keep their place (``waiting_since``) in the queue. The database
  allows one open match per mentee, so a proposed mentee cannot be proposed to a second mentor;
  the matching engine's waiting list leaves out mentees with an open match. When the mentor
  declines (or the proposal is closed), the mentee is simply back on the waiting list.
- **Pairs that must not be matched again**: a pair on the exclusion list (``MatchExclusion``), a
  pair the mentor declined before, and a pair whose match was closed as a mismatch or for
  safeguarding. ``match_create`` refuses them with a message on ``mentor``; the engine never
  suggests them.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from matching.models import Match, MatchExclusion, ScoringConfig
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, Mentor, MentorStatusChange, Programme, User
from mentoring.permissions import is_coordinator_of
from mentoring.selectors import mentor_unmatchable_reasons

# Closures after which the pair is never matched again.
CLOSURE_REASONS_ENDING_THE_PAIR = (Match.ClosureReason.MISMATCH, Match.ClosureReason.SAFEGUARDING)


def _coordinates(user: User, programme_id: int) -> bool:
    return user.is_admin or is_coordinator_of(user=user, programme_id=programme_id)


def _is_the_mentor(user: User, match: Match) -> bool:
    return user.is_authenticated and match.mentor.user_id is not None and match.mentor.user_id == user.pk


def match_reveals_family_to(*, user: User, match: Match) -> bool:
    """Whether ``user`` may see who the family is (last name, family reference) on ``match``.
    Staff who see the match may; a mentor only once the match has started: a proposal shows
    the mentor what they need to decide (first name, kind, needs, preferred language,
    municipality) and nothing that identifies or reaches the family. Contact details are read
    through the mentee's record, which a mentor reaches only for current matches
    (``Match.CURRENT_STATUSES``). Kept beside the lifecycle it follows; pages and API ask it."""
    if user.role != User.Role.MENTOR or user.is_admin:
        return True
    return match.started_on is not None and match.status not in (Match.Status.PROPOSED, Match.Status.DECLINED)


def match_pair_refusals(*, mentor: Mentor, mentee: Mentee) -> list[str]:
    """Why this mentor and mentee must never be matched (empty when they may be), in the
    coordinator's words."""
    reasons = []
    exclusion = MatchExclusion.objects.filter(mentor=mentor, mentee=mentee).first()
    if exclusion is not None:
        reasons.append(
            _("This pair is on the exclusion list (%(reason)s).")
            % {"reason": exclusion.get_reason_display().lower()}
        )
    declined = (
        Match.objects.filter(mentor=mentor, mentee=mentee, status=Match.Status.DECLINED)
        .order_by("-declined_at")
        .first()
    )
    if declined is not None:
        reasons.append(
            _("The mentor declined this mentee on %(date)s (%(reason)s); the pair is not proposed again.")
            % {
                "date": dateformat.format(timezone.localdate(declined.declined_at), "d M Y"),
                "reason": declined.get_decline_reason_display().lower(),
            }
        )
    ended = (
        Match.objects.filter(
            mentor=mentor,
            mentee=mentee,
            status=Match.Status.CLOSED,
            closure_reason__in=CLOSURE_REASONS_ENDING_THE_PAIR,
        )
        .order_by("-closed_on")
        .first()
    )
    if ended is not None:
        reasons.append(
            _("An earlier match of this pair was closed (%(reason)s).")
            % {"reason": ended.get_closure_reason_display().lower()}
        )
    return reasons


def _start_mentor(*, mentor: Mentor, changed_by: User) -> None:
    """A mentor's first started match makes an approved mentor active."""
    if mentor.status == Mentor.Status.APPROVED:
        mentor.status = Mentor.Status.ACTIVE
        mentor.save(update_fields=["status"])
        MentorStatusChange.objects.create(
            mentor=mentor,
            from_status=Mentor.Status.APPROVED,
            to_status=Mentor.Status.ACTIVE,
            changed_by=changed_by,
            note=_("First match started"),
        )


def match_create(
    *,
    mentee: Mentee,
    mentor: Mentor,
    created_by: User,
    started_on: datetime.date | None = None,
    score: int | None = None,
    propose: bool = False,
    batch_run=None,
    request: HttpRequest | None = None,
) -> Match:
    """Match a waiting mentee with a matchable mentor. By default the match is active from
    ``started_on`` (today by default) and the mentee is matched; with ``propose`` it is
    proposed to the mentor, who accepts or declines it (``match_accept`` / ``match_decline``),
    and the mentee stays on the waiting list meanwhile. Either way the match holds one of the
    mentor's places at once. The mentor's row is locked so two coordinators matching the same
    mentor at once cannot exceed the mentor's capacity."""
    if not _coordinates(created_by, mentee.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can make matches."))
    today = timezone.localdate()
    started_on = None if propose else (started_on or today)
    with transaction.atomic():
        mentor = Mentor.objects.select_for_update().get(pk=mentor.pk)
        mentee = Mentee.objects.select_for_update().get(pk=mentee.pk)
        errors: dict[str, list[str]] = {}
        if mentor.programme_id != mentee.programme_id:
            errors.setdefault("mentor", []).append(_("The mentor belongs to another programme."))
        else:
            reasons = mentor_unmatchable_reasons(mentor=mentor, on=started_on or today)
            reasons += match_pair_refusals(mentor=mentor, mentee=mentee)
            if reasons:
                errors.setdefault("mentor", []).extend(reasons)
        if mentee.status != Mentee.Status.WAITING:
            errors.setdefault("mentee", []).append(_not_waiting(mentee))
        elif mentee.matches.filter(status__in=Match.OPEN_STATUSES).exists():
            errors.setdefault("mentee", []).append(
                _("The mentee already has a match proposed to a mentor; wait for the answer or close it.")
            )
        if errors:
            raise ValidationError(errors)

        match = Match(
            programme_id=mentee.programme_id,
            mentor=mentor,
            mentee=mentee,
            status=Match.Status.PROPOSED if propose else Match.Status.ACTIVE,
            proposed_by=created_by,
            started_on=started_on,
            score=score,
            batch_run=batch_run,
        )
        match.full_clean()
        match.save()
        if not propose:
            mentee.status = Mentee.Status.MATCHED
            mentee.save(update_fields=["status"])
            _start_mentor(mentor=mentor, changed_by=created_by)
        audit_record(user=created_by, action=AuditEvent.Action.CREATE, obj=match, request=request)
    return match


def _lock_match(match: Match) -> tuple[Match, Mentor, Mentee]:
    """The match, its mentor and its mentee, locked in the one order every writer uses."""
    mentor = Mentor.objects.select_for_update().get(pk=match.mentor_id)
    mentee = Mentee.objects.select_for_update().get(pk=match.mentee_id)
    match = Match.objects.select_for_update().select_related("mentor").get(pk=match.pk)
    return match, mentor, mentee


def _not_waiting(mentee: Mentee) -> str:
    return _("The mentee is not waiting for a match (status: %(status)s).") % {
        "status": mentee.get_status_display().lower()
    }


def _not_in(match: Match, message: str) -> ValidationError:
    """The match is not in the status ``message`` (with a ``%(status)s`` of the match's own) needs."""
    return ValidationError(
        {
            "match": ValidationError(
                message % {"status": match.get_status_display().lower()},
                code="invalid_status",
            )
        }
    )


def match_accept(
    *,
    match: Match,
    accepted_by: User,
    started_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> Match:
    """The mentor (or a coordinator on their behalf) accepts a proposed match: it is active
    from ``started_on`` (today by default), the mentee is matched, and an approved mentor
    becomes active. The mentor must still be matchable (a check valid on the start date,
    training done), and the mentor's current matches may not exceed their capacity: the
    proposal already holds a place, but a mentor who lowered their capacity since cannot accept
    more than it."""
    if not (_is_the_mentor(accepted_by, match) or _coordinates(accepted_by, match.programme_id)):
        raise PermissionDenied(_("Only the match's mentor or the programme's coordinators can accept it."))
    started_on = started_on or timezone.localdate()
    with transaction.atomic():
        match, mentor, mentee = _lock_match(match)
        if match.status != Match.Status.PROPOSED:
            raise _not_in(match, _("Only a proposed match can be accepted; this one is %(status)s."))
        # The proposal holds one of the mentor's places already, so the rule for accepting is
        # the current matches' (below), not the open places'.
        reasons = mentor_unmatchable_reasons(mentor=mentor, on=started_on, check_capacity=False)
        current = mentor.matches.filter(status__in=Match.CURRENT_STATUSES).exclude(pk=match.pk).count()
        if current >= mentor.capacity:
            reasons.append(
                ngettext(
                    "No free capacity (%(taken)d of %(capacity)d places taken by current matches).",
                    "No free capacity (%(taken)d of %(capacity)d places taken by current matches).",
                    mentor.capacity,
                )
                % {"taken": current, "capacity": mentor.capacity}
            )
        errors: dict[str, list[str]] = {}
        if reasons:
            errors["mentor"] = reasons
        if mentee.status != Mentee.Status.WAITING:
            errors["mentee"] = [_not_waiting(mentee)]
        if errors:
            raise ValidationError(errors)

        match.status = Match.Status.ACTIVE
        match.started_on = started_on
        match.full_clean(exclude=["proposed_by"])
        match.save(update_fields=["status", "started_on"])
        mentee.status = Mentee.Status.MATCHED
        mentee.save(update_fields=["status"])
        _start_mentor(mentor=mentor, changed_by=accepted_by)
        audit_record(user=accepted_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match


def match_decline(
    *,
    match: Match,
    declined_by: User,
    reason: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Match:
    """The mentor (or a coordinator on their behalf) declines a proposed match with a reason
    (``Match.DeclineReason``; "other" needs a note). The place is freed, the mentee is back on
    the waiting list with their waiting time kept, and the pair is never proposed again."""
    if not (_is_the_mentor(declined_by, match) or _coordinates(declined_by, match.programme_id)):
        raise PermissionDenied(_("Only the match's mentor or the programme's coordinators can decline it."))
    note = (note or "").strip()
    with transaction.atomic():
        match, _mentor, _mentee = _lock_match(match)
        errors: dict[str, list[ValidationError]] = {}
        if match.status != Match.Status.PROPOSED:
            raise _not_in(match, _("Only a proposed match can be declined; this one is %(status)s."))
        if reason not in Match.DeclineReason.values:
            errors["reason"] = [
                ValidationError(
                    _("Choose one of: %(choices)s.") % {"choices": ", ".join(Match.DeclineReason.values)},
                    code="invalid_choice",
                )
            ]
        elif reason == Match.DeclineReason.OTHER and not note:
            errors["note"] = [ValidationError(_("Say in a note why you decline."), code="required")]
        if errors:
            raise ValidationError(errors)
        match.status = Match.Status.DECLINED
        match.declined_at = timezone.now()
        match.decline_reason = reason
        match.decline_note = note
        match.full_clean(exclude=["proposed_by"])
        match.save(update_fields=["status", "declined_at", "decline_reason", "decline_note"])
        audit_record(user=declined_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match


PAUSE_REASON_MAX = Match._meta.get_field("pause_reason").max_length


def match_pause(
    *,
    match: Match,
    paused_by: User,
    reason: str,
    paused_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> Match:
    """A coordinator pauses an active match (illness, a long journey home, exams): it keeps
    its place in the mentor's capacity, and sessions are not expected until it resumes."""
    if not _coordinates(paused_by, match.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can pause matches."))
    reason = (reason or "").strip()
    paused_on = paused_on or timezone.localdate()
    with transaction.atomic():
        match, _mentor, _mentee = _lock_match(match)
        if match.status != Match.Status.ACTIVE:
            raise _not_in(match, _("Only an active match can be paused; this one is %(status)s."))
        errors: dict[str, list[ValidationError]] = {}
        if not reason:
            errors["reason"] = [ValidationError(_("Say why the match is paused."), code="required")]
        elif len(reason) > PAUSE_REASON_MAX:
            errors["reason"] = [
                ValidationError(
                    _("Keep the reason under %(count)d characters.") % {"count": PAUSE_REASON_MAX},
                    code="max_length",
                )
            ]
        if paused_on > timezone.localdate():
            errors["paused_on"] = [ValidationError(_("The pause cannot start in the future."), code="future")]
        elif match.started_on and paused_on < match.started_on:
            errors["paused_on"] = [
                ValidationError(_("The pause cannot start before the match started."), code="before_start")
            ]
        if errors:
            raise ValidationError(errors)
        match.status = Match.Status.PAUSED
        match.paused_on = paused_on
        match.pause_reason = reason
        match.save(update_fields=["status", "paused_on", "pause_reason"])
        audit_record(user=paused_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match


def match_resume(*, match: Match, resumed_by: User, request: HttpRequest | None = None) -> Match:
    """A coordinator resumes a paused match; the pause's date and reason stay in the audit
    trail and are cleared from the match, which is active again."""
    if not _coordinates(resumed_by, match.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can resume matches."))
    with transaction.atomic():
        match, _mentor, _mentee = _lock_match(match)
        if match.status != Match.Status.PAUSED:
            raise _not_in(match, _("Only a paused match can be resumed; this one is %(status)s."))
        match.status = Match.Status.ACTIVE
        match.paused_on = None
        match.pause_reason = ""
        match.save(update_fields=["status", "paused_on", "pause_reason"])
        audit_record(user=resumed_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match


# Closure reasons that need a note saying what happened.
CLOSURE_REASONS_NEEDING_NOTE = (Match.ClosureReason.OTHER, Match.ClosureReason.SAFEGUARDING)


def match_close(
    *,
    match: Match,
    closed_by: User,
    reason: str,
    closed_on: datetime.date,
    note: str = "",
    closure_measures: dict[int, Decimal] | None = None,
    request: HttpRequest | None = None,
) -> Match:
    """Close a proposed, active or paused match with its reason, and record the mentee's
    closure outcome measures (``{instrument id: value}``) in the same transaction. Every error
    (of the match and of each measure) is reported at once and nothing is written unless all is
    well. The mentee's status becomes closed (domain.md: a closed mentee can be rematched), and
    the match's open attention flags resolve. Whether it was an early closure is derived from
    the dates (``Match.is_early_closure``), never chosen."""
    from sessions.models import AttentionFlag, OutcomeInstrument, OutcomeStage
    from sessions.services.outcomes import outcome_measure_record

    if not _coordinates(closed_by, match.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can close matches."))
    note = (note or "").strip()
    closure_measures = closure_measures or {}

    with transaction.atomic():
        match, _mentor, mentee = _lock_match(match)
        errors: dict[str, list[ValidationError]] = {}

        def error(field: str, message: str, code: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message, code=code))

        if match.status not in Match.OPEN_STATUSES:
            error(
                "match",
                _("The match is already %(status)s.") % {"status": match.get_status_display().lower()},
                "not_open",
            )
        if reason not in Match.ClosureReason.values:
            error(
                "reason",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(Match.ClosureReason.values)},
                "invalid_choice",
            )
        elif reason in CLOSURE_REASONS_NEEDING_NOTE and not note:
            error("note", _("Say in a closure note what happened."), "required")
        if closed_on > timezone.localdate():
            error("closed_on", _("The closing date cannot be in the future."), "future")
        start = match.started_on or timezone.localdate(match.proposed_at)
        if closed_on < start:
            error(
                "closed_on",
                _("The closing date cannot be before the match started (%(date)s).")
                % {"date": dateformat.format(start, "d M Y")},
                "before_start",
            )

        instruments = OutcomeInstrument.objects.filter(
            programme_id=match.programme_id, pk__in=list(closure_measures)
        ).in_bulk()
        for instrument_id, value in closure_measures.items():
            field = f"closure_measures.{instrument_id}"
            instrument = instruments.get(instrument_id)
            if instrument is None:
                error(field, _("No such instrument in this programme."), "not_found")
                continue
            try:
                # Written now and rolled back below if anything else is wrong: the service's own
                # checks (scale, baseline first, once per stage) stay in one place.
                outcome_measure_record(
                    mentee=match.mentee,
                    instrument=instrument,
                    stage=OutcomeStage.CLOSURE,
                    value=value,
                    measured_on=closed_on,
                    recorded_by=closed_by,
                    request=request,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    error(field, message, "invalid")
        if errors:
            raise ValidationError(errors)

        match.status = Match.Status.CLOSED
        match.closed_on = closed_on
        match.closure_reason = reason
        match.closure_note = note
        # ``proposed_by`` is emptied when its user is deleted (SET_NULL); that must not block closure.
        match.full_clean(exclude=["proposed_by"])
        match.save(update_fields=["status", "closed_on", "closure_reason", "closure_note"])
        # A proposal that is closed (withdrawn) never matched the mentee: they stay waiting.
        if mentee.status == Mentee.Status.MATCHED:
            mentee.status = Mentee.Status.CLOSED
            mentee.closed_on = closed_on
            mentee.save(update_fields=["status", "closed_on"])
        AttentionFlag.objects.filter(match=match, resolved_at__isnull=True).update(resolved_at=timezone.now())
        audit_record(user=closed_by, action=AuditEvent.Action.UPDATE, obj=match, request=request)
    return match


# --- Exclusions --------------------------------------------------------------------------------


def match_exclusion_create(
    *,
    mentor: Mentor,
    mentee: Mentee,
    reason: str,
    created_by: User,
    note: str = "",
    request: HttpRequest | None = None,
) -> MatchExclusion:
    """Put a pair on the programme's exclusion list (relatives, a conflict of interest): the
    pair is never suggested, proposed nor matched. A pair with an open match is refused: close
    the match first, so nobody is left in a match the programme has ruled out."""
    if not _coordinates(created_by, mentee.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can exclude pairs."))
    note = (note or "").strip()
    with transaction.atomic():
        errors: dict[str, list[ValidationError]] = {}

        def error(field: str, message: str, code: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message, code=code))

        if mentor.programme_id != mentee.programme_id:
            error("mentor", _("The mentor belongs to another programme."), "other_programme")
        if reason not in MatchExclusion.Reason.values:
            error(
                "reason",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(MatchExclusion.Reason.values)},
                "invalid_choice",
            )
        elif reason == MatchExclusion.Reason.OTHER and not note:
            error("note", _("Say in a note why the pair is excluded."), "required")
        if MatchExclusion.objects.filter(mentor=mentor, mentee=mentee).exists():
            error("mentee", _("This pair is already on the exclusion list."), "unique")
        elif Match.objects.filter(mentor=mentor, mentee=mentee, status__in=Match.OPEN_STATUSES).exists():
            error(
                "mentee", _("This pair has an open match; close it before excluding the pair."), "open_match"
            )
        if errors:
            raise ValidationError(errors)
        exclusion = MatchExclusion(
            programme_id=mentee.programme_id,
            mentor=mentor,
            mentee=mentee,
            reason=reason,
            note=note,
            created_by=created_by,
        )
        exclusion.full_clean(exclude=["created_by"])
        exclusion.save()
        audit_record(user=created_by, action=AuditEvent.Action.CREATE, obj=exclusion, request=request)
    return exclusion


def match_exclusion_delete(
    *, exclusion: MatchExclusion, deleted_by: User, request: HttpRequest | None = None
) -> None:
    """Take a pair off the exclusion list; the audit trail keeps that it was there."""
    if not _coordinates(deleted_by, exclusion.programme_id):
        raise PermissionDenied(_("Only the programme's coordinators can change the exclusion list."))
    with transaction.atomic():
        # The audit log has no "delete" action: removing a row is recorded as a change to it.
        audit_record(user=deleted_by, action=AuditEvent.Action.UPDATE, obj=exclusion, request=request)
        exclusion.delete()


# --- Scoring weights ---------------------------------------------------------------------------

# The weights and limits a coordinator sets, in the order the form and the API show them.
SCORING_FIELDS = (
    "preferred_language_native",
    "preferred_language_fluent",
    "preferred_language_basic",
    "shared_language",
    "shared_background",
    "availability_slot",
    "session_mode",
    "need_strength",
    "gender_preference",
    "family_continuity",
    "km_per_penalty_point",
    "max_distance_km",
    "wait_week",
)


# What a careful programme would allow: a part's points from 0 (the part is not used) to 100,
# so no single part can swamp the others; a distance limit a volunteer can travel.
SCORING_LIMITS: dict[str, tuple[Decimal | int, Decimal | int]] = {
    **dict.fromkeys(SCORING_FIELDS[:10], (0, 100)),
    "km_per_penalty_point": (Decimal("0.10"), Decimal("100")),
    "max_distance_km": (1, 500),
    "wait_week": (0, 20),
}


def _scoring_errors(config: ScoringConfig) -> dict[str, list[ValidationError]]:
    errors: dict[str, list[ValidationError]] = {}
    for name, (low, high) in SCORING_LIMITS.items():
        value = getattr(config, name)
        if value is not None and not low <= value <= high:
            errors[name] = [
                ValidationError(
                    _("Give a value from %(low)s to %(high)s.") % {"low": low, "high": high},
                    code="out_of_range",
                )
            ]
    if not errors and not (
        config.preferred_language_native
        >= config.preferred_language_fluent
        >= config.preferred_language_basic
    ):
        errors["preferred_language_fluent"] = [
            ValidationError(
                _(
                    "Speaking the preferred language natively should score at least as much as fluently, "
                    "and fluently at least as much as at a basic level."
                ),
                code="order",
            )
        ]
    return errors


def scoring_config_update(
    *,
    programme: Programme,
    updated_by: User,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> ScoringConfig:
    """Save the programme's matching weights (the fields of ``SCORING_FIELDS`` given in
    ``values``; the others keep their saved or default value). Suggestions and batch runs
    made from now on use them."""
    if not _coordinates(updated_by, programme.pk):
        raise PermissionDenied(_("Only the programme's coordinators can change the scoring weights."))
    unknown = set(values) - set(SCORING_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), _("Not a scoring weight.")))
    with transaction.atomic():
        config = ScoringConfig.objects.select_for_update().filter(
            programme=programme
        ).first() or ScoringConfig(programme=programme)
        created = config.pk is None
        for name, value in values.items():
            setattr(config, name, value)
        config.updated_by = updated_by
        config.full_clean(exclude=["updated_by"])
        if errors := _scoring_errors(config):
            raise ValidationError(errors)
        config.save()
        audit_record(
            user=updated_by,
            action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            obj=config,
            programme_id=programme.pk,
            request=request,
        )
    return config
