"""Writes of a mentee's goals and their progress; each checks its rule, writes atomically and
is audited.

Who (``domain.md``, "outcome measures, goals"): the programme's coordinators (and admins) may do
everything; a mentor may read and add for the mentees they mentor now (an active or paused
match): add a goal and record its progress. Dropping a goal changes what was agreed with the
family, so it is the coordinator's decision.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from matching.selectors import is_current_mentor_of
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, User
from mentoring.permissions import is_coordinator_of
from sessions.models import Goal, GoalProgress


def _coordinates(user: User, mentee: Mentee) -> bool:
    return user.is_admin or is_coordinator_of(user=user, programme_id=mentee.programme_id)


def goal_user_may_add(*, user: User, mentee: Mentee) -> bool:
    """The mentee's coordinators, and the mentor of the mentee's active or paused match."""
    if not user.is_authenticated:
        return False
    return _coordinates(user, mentee) or is_current_mentor_of(user=user, mentee=mentee)


def goal_create(
    *,
    mentee: Mentee,
    description: str,
    agreed_on: datetime.date,
    target_on: datetime.date | None = None,
    created_by: User,
    request: HttpRequest | None = None,
) -> Goal:
    """Add a goal agreed with the mentee's family."""
    if not goal_user_may_add(user=created_by, mentee=mentee):
        raise PermissionDenied(_("Only the mentee's coordinators and mentor can add goals."))
    description = (description or "").strip()
    errors: dict[str, str] = {}
    if not description:
        errors["description"] = _("Describe the goal.")
    elif len(description) > 300:
        errors["description"] = _("Keep the goal under 300 characters.")
    if agreed_on > timezone.localdate():
        errors["agreed_on"] = _("The date cannot be in the future.")
    if target_on is not None and target_on < agreed_on:
        errors["target_on"] = _("The target date cannot be before the date the goal was agreed.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        goal = Goal(
            mentee=mentee,
            description=description,
            agreed_on=agreed_on,
            target_on=target_on,
            created_by=created_by,
        )
        goal.full_clean()
        goal.save()
        audit_record(
            user=created_by,
            action=AuditEvent.Action.CREATE,
            obj=goal,
            programme_id=mentee.programme_id,
            request=request,
        )
    return goal


def goal_progress_record(
    *,
    goal: Goal,
    progress: int,
    note: str = "",
    recorded_on: datetime.date,
    recorded_by: User,
    request: HttpRequest | None = None,
) -> GoalProgress:
    """Record how far a goal has come (0–100 %). The goal takes the new progress; at 100 % it is
    achieved, and a later lower figure reopens it. A dropped goal takes no progress."""
    mentee = goal.mentee
    if not goal_user_may_add(user=recorded_by, mentee=mentee):
        raise PermissionDenied(_("Only the mentee's coordinators and mentor can record progress."))
    errors: dict[str, str] = {}
    if goal.status == Goal.Status.DROPPED:
        errors["goal"] = _("This goal was dropped; it takes no more progress.")
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        errors["progress"] = _("Give the progress as a whole number from 0 to 100.")
    if recorded_on > timezone.localdate():
        errors["recorded_on"] = _("The date cannot be in the future.")
    elif recorded_on < goal.agreed_on:
        errors["recorded_on"] = _("Progress cannot be dated before the goal was agreed.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        update = GoalProgress(
            goal=goal,
            progress=progress,
            note=(note or "").strip(),
            recorded_on=recorded_on,
            recorded_by=recorded_by,
        )
        update.full_clean()
        update.save()
        goal.progress = progress
        goal.status = Goal.Status.ACHIEVED if progress == 100 else Goal.Status.OPEN
        goal.save(update_fields=["progress", "status", "updated_at"])
        audit_record(
            user=recorded_by,
            action=AuditEvent.Action.CREATE,
            obj=update,
            programme_id=mentee.programme_id,
            request=request,
        )
    return update


def goal_drop(*, goal: Goal, dropped_by: User, request: HttpRequest | None = None) -> Goal:
    """Drop a goal that no longer fits (coordinators only). Its progress history is kept."""
    if not _coordinates(dropped_by, goal.mentee):
        raise PermissionDenied(_("Only the mentee's coordinators can drop a goal."))
    if goal.status == Goal.Status.DROPPED:
        raise ValidationError(_("This goal is already dropped."), code="already_dropped")
    with transaction.atomic():
        goal.status = Goal.Status.DROPPED
        goal.save(update_fields=["status", "updated_at"])
        audit_record(
            user=dropped_by,
            action=AuditEvent.Action.UPDATE,
            obj=goal,
            programme_id=goal.mentee.programme_id,
            request=request,
        )
    return goal
