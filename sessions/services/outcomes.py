"""Writes of outcome measures; each checks its rule, writes atomically and is audited."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from matching.selectors import is_current_mentor_of
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, Mentee, User
from mentoring.permissions import is_coordinator_of
from sessions.models import OutcomeInstrument, OutcomeMeasure, OutcomeStage


def outcome_measure_record(
    *,
    mentee: Mentee,
    instrument: OutcomeInstrument,
    stage: str,
    value: Decimal | float | int,
    measured_on: datetime.date,
    recorded_by: User,
    request: HttpRequest | None = None,
) -> OutcomeMeasure:
    """Record a mentee's score on one of the programme's instruments. The programme's
    coordinators may record any mentee's; a mentor, those of the mentees they mentor now
    (``domain.md``: "own mentees: read, add"). A stage is measured once; the baseline first."""
    allowed = recorded_by.is_admin or is_coordinator_of(user=recorded_by, programme_id=mentee.programme_id)
    allowed = allowed or is_current_mentor_of(user=recorded_by, mentee=mentee)
    if not allowed:
        raise PermissionDenied(_("Only the mentee's coordinators and mentor can record outcome measures."))

    errors: dict[str, str] = {}
    if instrument.programme_id != mentee.programme_id:
        errors["instrument"] = _("The instrument belongs to another programme.")
    if stage not in OutcomeStage.values:
        errors["stage"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(OutcomeStage.values)}
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors["value"] = _("Give a number.")
    else:
        if not instrument.scale_min <= value <= instrument.scale_max:
            errors["value"] = _("The scale runs from %(min)s to %(max)s.") % {
                "min": formats.localize(instrument.scale_min),
                "max": formats.localize(instrument.scale_max),
            }
    if measured_on > timezone.localdate():
        errors["measured_on"] = _("The date cannot be in the future.")
    existing = dict(
        OutcomeMeasure.objects.filter(mentee=mentee, instrument=instrument).values_list(
            "stage", "measured_on"
        )
    )
    if stage in existing:
        errors["stage"] = _("This stage is already measured for this instrument.")
    elif stage != OutcomeStage.BASELINE and OutcomeStage.BASELINE not in existing:
        errors["stage"] = _("Take the baseline first.")
    elif OutcomeStage.BASELINE in existing and measured_on < existing[OutcomeStage.BASELINE]:
        errors["measured_on"] = _("A later measure cannot be dated before the baseline.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        measure = OutcomeMeasure(
            mentee=mentee,
            instrument=instrument,
            stage=stage,
            value=value,
            measured_on=measured_on,
            recorded_by=recorded_by,
        )
        measure.full_clean()
        measure.save()
        audit_record(
            user=recorded_by,
            action=AuditEvent.Action.CREATE,
            obj=measure,
            programme_id=mentee.programme_id,
            request=request,
        )
    return measure
