"""Writes about people: the mentor lifecycle, family intake and consent.

Each service checks its preconditions, writes inside one transaction, records who did it
(``MentorStatusChange`` for lifecycle moves) and writes the audit row. Refusals raise
``ValidationError`` with the field or step that is missing, in the coordinator's words.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from mentoring.audit import audit_record
from mentoring.models import (
    AuditEvent,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    Need,
    Person,
    PersonLanguage,
    Programme,
    School,
    SelfAssessment,
    SelfAssessmentQuestion,
    TrainingRecord,
    User,
)

# How long before expiry a record check is flagged to the coordinator.
RECORD_CHECK_WARNING = datetime.timedelta(days=60)
REFERENCES_NEEDED = 2


# People -------------------------------------------------------------------------------------


@dataclass
class LanguageSpec:
    language: str
    level: str = LanguageLevel.FLUENT
    is_preferred: bool = False


@dataclass
class PersonSpec:
    """What intake forms, the API and imports say about a person."""

    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    gender: str = ""
    age_band: str = ""
    country_of_birth: str = ""
    migrant_background: str = "unknown"
    municipality: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None
    availability: list[str] = field(default_factory=list)
    session_modes: list[str] = field(default_factory=list)
    languages: list[LanguageSpec] = field(default_factory=list)
    cultural_backgrounds: list[str] = field(default_factory=list)  # vocabulary codes
    needs: list[str] = field(default_factory=list)  # vocabulary codes
    consents: list[str] = field(default_factory=list)  # purposes consented to at intake
    consent_given_by: str = ""
    consent_language: str = ""


def _prefixed(errors: dict[str, list[str]], prefix: str) -> dict[str, list[str]]:
    return {
        f"{prefix}{key}" if key != "__all__" else prefix.rstrip("."): value for key, value in errors.items()
    }


def _vocabulary(model, *, programme: Programme, codes: Iterable[str], field_name: str) -> list:
    codes = list(dict.fromkeys(codes))
    found = {item.code: item for item in model.objects.filter(programme=programme, code__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationError(
            {field_name: _("Not in the programme's list: %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    return [found[code] for code in codes]


def person_create(
    *,
    programme: Programme,
    spec: PersonSpec,
    recorded_by: User | None,
    prefix: str = "",
    household: Family | None = None,
) -> Person:
    """Create a person with languages, backgrounds, needs and consents. Call inside a
    transaction: it raises ``ValidationError`` with field names under ``prefix``."""
    languages = [
        LanguageSpec(lang.language.lower(), lang.level, lang.is_preferred) for lang in spec.languages
    ]
    errors: dict[str, list[str]] = {}
    preferred = [lang for lang in languages if lang.is_preferred]
    if len(preferred) > 1:
        errors.setdefault(f"{prefix}languages", []).append(_("Choose one preferred language."))
    if len({lang.language for lang in languages}) != len(languages):
        errors.setdefault(f"{prefix}languages", []).append(_("A language is listed twice."))
    background_fields = (
        spec.cultural_backgrounds or spec.country_of_birth or spec.migrant_background not in ("unknown", "")
    )
    if (
        background_fields
        and ConsentPurpose.STATISTICS not in spec.consents
        and (ConsentPurpose.BACKGROUND_MATCHING not in spec.consents)
    ):
        errors.setdefault(f"{prefix}consents", []).append(
            _(
                "Background data (country of birth, migrant background, cultural background) is "
                "recorded only with consent to matching on it or to anonymous statistics."
            )
        )
    person = Person(
        programme=programme,
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
        phone=spec.phone,
        gender=spec.gender,
        age_band=spec.age_band,
        country_of_birth=(spec.country_of_birth or "").upper(),
        migrant_background=spec.migrant_background or "unknown",
        municipality=spec.municipality,
        postcode=spec.postcode,
        latitude=spec.latitude,
        longitude=spec.longitude,
        availability=spec.availability,
        session_modes=spec.session_modes,
        household=household,
    )
    try:
        person.full_clean()
    except ValidationError as exc:
        errors.update(_prefixed(exc.message_dict, prefix))
    for i, lang in enumerate(languages):
        try:
            PersonLanguage(person=person, language=lang.language, level=lang.level).clean_fields(
                exclude=["person"]
            )
        except ValidationError as exc:
            errors.update(_prefixed(exc.message_dict, f"{prefix}languages.{i}."))
    unknown_purposes = [p for p in spec.consents if p not in ConsentPurpose.values]
    if unknown_purposes:
        errors.setdefault(f"{prefix}consents", []).append(
            _("Unknown purpose(s): %(purposes)s.") % {"purposes": ", ".join(unknown_purposes)}
        )
    consents = [
        Consent(
            purpose=purpose,
            given_by=spec.consent_given_by or person.full_name,
            language=(spec.consent_language or programme.local_language).lower(),
            recorded_by=recorded_by,
        )
        for purpose in dict.fromkeys(spec.consents)
        if purpose in ConsentPurpose.values
    ]
    for consent in consents[:1]:
        try:
            consent.clean_fields(exclude=["person", "recorded_by"])
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                name = {"given_by": "consent_given_by", "language": "consent_language"}.get(key, key)
                errors.setdefault(f"{prefix}{name}", []).extend(messages)
    try:
        backgrounds = _vocabulary(
            CulturalBackground,
            programme=programme,
            codes=spec.cultural_backgrounds,
            field_name=f"{prefix}cultural_backgrounds",
        )
        needs = _vocabulary(Need, programme=programme, codes=spec.needs, field_name=f"{prefix}needs")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    person.save()
    PersonLanguage.objects.bulk_create(
        PersonLanguage(
            person=person, language=lang.language, level=lang.level, is_preferred=lang.is_preferred
        )
        for lang in languages
    )
    person.cultural_backgrounds.set(backgrounds)
    person.needs.set(needs)
    for consent in consents:
        consent.person = person
    Consent.objects.bulk_create(consents)
    return person


# Consent ------------------------------------------------------------------------------------


def consent_record(
    *, person: Person, purpose: str, given_by: str, language: str, recorded_by: User
) -> Consent:
    with transaction.atomic():
        if Consent.objects.filter(person=person, purpose=purpose, withdrawn_at__isnull=True).exists():
            raise ValidationError({"purpose": _("This consent is already recorded and active.")})
        consent = Consent(
            person=person, purpose=purpose, given_by=given_by, language=language, recorded_by=recorded_by
        )
        consent.full_clean()
        consent.save()
        audit_record(
            user=recorded_by, action=AuditEvent.Action.CREATE, obj=consent, programme_id=person.programme_id
        )
    return consent


def consent_withdraw(*, consent: Consent, withdrawn_by: User) -> Consent:
    """Withdrawal stops further processing for that purpose from now on."""
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        if consent.withdrawn_at is not None:
            raise ValidationError({"consent": _("This consent was already withdrawn.")})
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit_record(
            user=withdrawn_by,
            action=AuditEvent.Action.UPDATE,
            obj=consent,
            programme_id=consent.person.programme_id,
        )
    return consent


# Mentor lifecycle ---------------------------------------------------------------------------


def mentor_apply(
    *,
    programme: Programme,
    person: PersonSpec,
    capacity: int = 1,
    applied_on: datetime.date | None = None,
    recorded_by: User,
) -> Mentor:
    """A volunteer's application: the mentor starts at "applied"."""
    with transaction.atomic():
        created = person_create(programme=programme, spec=person, recorded_by=recorded_by, prefix="person.")
        mentor = Mentor(
            programme=programme,
            person=created,
            capacity=capacity,
            applied_on=applied_on or timezone.localdate(),
        )
        mentor.full_clean()
        mentor.save()
        MentorStatusChange.objects.create(
            mentor=mentor, from_status="", to_status=Mentor.Status.APPLIED, changed_by=recorded_by
        )
        audit_record(user=recorded_by, action=AuditEvent.Action.CREATE, obj=mentor)
    return mentor


def mentor_missing_for(*, mentor: Mentor, stage: str, on: datetime.date | None = None) -> list[str]:
    """What the mentor still lacks to enter ``stage`` (training or approved), in the order a
    coordinator works through it. Empty when nothing is missing."""
    on = on or timezone.localdate()
    missing: list[str] = []
    if stage in (Mentor.Status.TRAINING, Mentor.Status.APPROVED):
        if mentor.interviewed_on is None:
            missing.append(_("Screening interview"))
        satisfactory = sum(1 for ref in mentor.references.all() if ref.satisfactory)
        if satisfactory < REFERENCES_NEEDED:
            missing.append(
                _("References: %(count)s of %(needed)s satisfactory")
                % {"count": satisfactory, "needed": REFERENCES_NEEDED}
            )
        if mentor.record_check_expires_on is None:
            missing.append(_("Criminal-record check"))
        elif mentor.record_check_expires_on < on:
            missing.append(
                _("Criminal-record check expired on %(date)s")
                % {"date": dateformat.format(mentor.record_check_expires_on, "d M Y")}
            )
    if stage == Mentor.Status.APPROVED:
        records = list(mentor.training_records.all())
        if not any(record.passed for record in records):
            best = max((record.test_score for record in records), default=None)
            if best is None:
                text = _("Training course and end-of-course test (pass mark %(mark)s %%)")
            else:
                text = _(
                    "Training course and end-of-course test (pass mark %(mark)s %%; best so far %(best)s %%)"
                )
            missing.append(text % {"mark": TrainingRecord.PASS_MARK, "best": best})
        if not any(sa.stage == SelfAssessment.Stage.START for sa in mentor.self_assessments.all()):
            missing.append(_("Competence self-assessment (start of service)"))
    return missing


_ALLOWED_MOVES = {
    Mentor.Status.SCREENING: {Mentor.Status.APPLIED},
    Mentor.Status.TRAINING: {Mentor.Status.SCREENING},
    Mentor.Status.APPROVED: {Mentor.Status.TRAINING, Mentor.Status.INACTIVE},
    Mentor.Status.INACTIVE: {Mentor.Status.APPROVED, Mentor.Status.ACTIVE},
    Mentor.Status.WITHDRAWN: {
        Mentor.Status.APPLIED,
        Mentor.Status.SCREENING,
        Mentor.Status.TRAINING,
        Mentor.Status.APPROVED,
        Mentor.Status.ACTIVE,
        Mentor.Status.INACTIVE,
    },
}


def _move(*, mentor: Mentor, to: str, by: User, note: str = "") -> Mentor:
    """Lock, check the move is allowed and its preconditions hold, save and record it."""
    with transaction.atomic():
        locked = Mentor.objects.select_for_update().get(pk=mentor.pk)
        if locked.status not in _ALLOWED_MOVES[to]:
            raise ValidationError(
                {
                    "status": _("A mentor who is %(current)s cannot move to %(next)s.")
                    % {
                        "current": locked.get_status_display().lower(),
                        "next": str(Mentor.Status(to).label).lower(),
                    }
                }
            )
        missing = mentor_missing_for(mentor=locked, stage=to)
        if missing:
            raise ValidationError({"status": [_("Missing: %(item)s.") % {"item": item} for item in missing]})
        if (
            to in (Mentor.Status.INACTIVE, Mentor.Status.WITHDRAWN)
            and locked.matches.filter(status__in=["proposed", "active", "paused"]).exists()
        ):
            raise ValidationError({"status": _("Close or hand over the mentor's open matches first.")})
        previous = locked.status
        locked.status = to
        update = ["status"]
        today = timezone.localdate()
        if to == Mentor.Status.APPROVED and locked.approved_on is None:
            locked.approved_on = today
            update.append("approved_on")
        if to == Mentor.Status.WITHDRAWN:
            locked.left_on, locked.leaving_reason = today, note
            update += ["left_on", "leaving_reason"]
        locked.save(update_fields=update)
        MentorStatusChange.objects.create(
            mentor=locked, from_status=previous, to_status=to, changed_by=by, note=note[:200]
        )
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=locked)
    mentor.refresh_from_db()
    return mentor


def mentor_screening_start(*, mentor: Mentor, by: User) -> Mentor:
    return _move(mentor=mentor, to=Mentor.Status.SCREENING, by=by)


def mentor_training_start(*, mentor: Mentor, by: User) -> Mentor:
    """Screening complete: interview held, two satisfactory references, a valid check."""
    return _move(mentor=mentor, to=Mentor.Status.TRAINING, by=by)


def mentor_approve(*, mentor: Mentor, by: User) -> Mentor:
    """Training passed and the start self-assessment filled in, with screening still valid."""
    return _move(mentor=mentor, to=Mentor.Status.APPROVED, by=by)


def mentor_deactivate(*, mentor: Mentor, by: User, note: str = "") -> Mentor:
    return _move(mentor=mentor, to=Mentor.Status.INACTIVE, by=by, note=note)


def mentor_reactivate(*, mentor: Mentor, by: User) -> Mentor:
    return _move(mentor=mentor, to=Mentor.Status.APPROVED, by=by)


def mentor_withdraw(*, mentor: Mentor, by: User, reason: str) -> Mentor:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the mentor is leaving.")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("Keep the reason to 200 characters.")})
    return _move(mentor=mentor, to=Mentor.Status.WITHDRAWN, by=by, note=reason)


def _check_in_screening(mentor: Mentor, *allowed: str) -> None:
    if mentor.status not in allowed:
        raise ValidationError(
            {
                "status": _("Not possible while the mentor is %(status)s.")
                % {"status": mentor.get_status_display().lower()}
            }
        )


def mentor_interview_record(*, mentor: Mentor, interviewed_on: datetime.date, by: User) -> Mentor:
    _check_in_screening(mentor, Mentor.Status.SCREENING)
    if interviewed_on > timezone.localdate():
        raise ValidationError({"interviewed_on": _("The interview date cannot be in the future.")})
    with transaction.atomic():
        mentor.interviewed_on, mentor.interviewed_by = interviewed_on, by
        mentor.save(update_fields=["interviewed_on", "interviewed_by"])
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentor)
    return mentor


def mentor_reference_record(
    *,
    mentor: Mentor,
    referee_name: str,
    relationship: str,
    received_on: datetime.date,
    satisfactory: bool,
    by: User,
) -> MentorReference:
    _check_in_screening(mentor, Mentor.Status.SCREENING)
    reference = MentorReference(
        mentor=mentor,
        referee_name=referee_name,
        relationship=relationship,
        received_on=received_on,
        satisfactory=satisfactory,
        recorded_by=by,
    )
    reference.full_clean()
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("The date cannot be in the future.")})
    with transaction.atomic():
        reference.save()
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentor)
    return reference


def mentor_record_check_record(
    *, mentor: Mentor, checked_on: datetime.date, expires_on: datetime.date, reference: str = "", by: User
) -> Mentor:
    """A criminal-record check with its date and expiry. Can be renewed at any stage."""
    errors = {}
    if checked_on > timezone.localdate():
        errors["checked_on"] = _("The check date cannot be in the future.")
    if expires_on <= checked_on:
        errors["expires_on"] = _("The expiry must come after the check date.")
    if len(reference) > Mentor._meta.get_field("record_check_reference").max_length:
        errors["reference"] = _("Keep the certificate number to 60 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        mentor.record_check_on, mentor.record_check_expires_on = checked_on, expires_on
        mentor.record_check_reference = reference
        mentor.save(update_fields=["record_check_on", "record_check_expires_on", "record_check_reference"])
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentor)
    return mentor


def mentor_training_record(
    *, mentor: Mentor, course: str, completed_on: datetime.date, test_score: int, by: User
) -> TrainingRecord:
    """A completed course and its test; a pass (80 % or more) completes the training."""
    _check_in_screening(mentor, Mentor.Status.TRAINING)
    record = TrainingRecord(
        mentor=mentor, course=course, completed_on=completed_on, test_score=test_score, recorded_by=by
    )
    record.full_clean()
    if completed_on > timezone.localdate():
        raise ValidationError({"completed_on": _("The date cannot be in the future.")})
    with transaction.atomic():
        record.save()
        if record.passed and mentor.training_completed_on is None:
            mentor.training_completed_on = completed_on
            mentor.save(update_fields=["training_completed_on"])
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentor)
    return record


def mentor_self_assessment_record(
    *, mentor: Mentor, stage: str, answers: dict, by: User, completed_on: datetime.date | None = None
) -> SelfAssessment:
    """Answers to every active question of the programme, each 1–5."""
    questions = {
        str(q.pk)
        for q in SelfAssessmentQuestion.objects.filter(programme=mentor.programme_id, is_active=True)
    }
    answers = {str(key): value for key, value in (answers or {}).items()}
    errors = []
    if not questions:
        errors.append(_("The programme has no self-assessment questions yet."))
    if missing := questions - set(answers):
        errors.append(_("Answer every question (%(count)s unanswered).") % {"count": len(missing)})
    if unknown := set(answers) - questions:
        errors.append(_("Unknown question(s): %(questions)s.") % {"questions": ", ".join(sorted(unknown))})
    if any(not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 5 for v in answers.values()):
        errors.append(_("Each answer is a whole number from 1 to 5."))
    if stage not in SelfAssessment.Stage.values:
        raise ValidationError(
            {"stage": _("Choose one of: %(values)s.") % {"values": ", ".join(SelfAssessment.Stage.values)}}
        )
    # The start self-assessment belongs to training; the end one to a mentor who has served.
    allowed = {
        SelfAssessment.Stage.START: (
            Mentor.Status.SCREENING,
            Mentor.Status.TRAINING,
            Mentor.Status.APPROVED,
            Mentor.Status.ACTIVE,
        ),
        SelfAssessment.Stage.END: (Mentor.Status.APPROVED, Mentor.Status.ACTIVE, Mentor.Status.INACTIVE),
    }[stage]
    _check_in_screening(mentor, *allowed)
    if errors:
        raise ValidationError({"answers": errors})
    with transaction.atomic():
        if SelfAssessment.objects.filter(mentor=mentor, stage=stage).exists():
            raise ValidationError({"stage": _("This self-assessment is already filled in.")})
        assessment = SelfAssessment.objects.create(
            mentor=mentor, stage=stage, answers=answers, completed_on=completed_on or timezone.localdate()
        )
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentor)
    return assessment


# Families and intake ------------------------------------------------------------------------


@dataclass
class MemberSpec:
    """A parent or pupil of a family at referral; ``mentored`` makes them a mentee."""

    kind: str
    person: PersonSpec
    mentored: bool = True
    school: str = ""  # school name, pupils only
    grade: str = ""


def family_refer(
    *,
    programme: Programme,
    reference: str,
    referral_source: str,
    members: list[MemberSpec],
    recorded_by: User,
    referrer_name: str = "",
    referrer_organisation: str = "",
    referred_on: datetime.date | None = None,
    municipality: str = "",
) -> Family:
    """Record a referred family with its parents and pupils; each mentored member becomes a
    mentee at "referred". All or nothing: any bad member writes nothing."""
    if not any(member.mentored for member in members):
        raise ValidationError({"members": _("Refer at least one parent or pupil to be mentored.")})
    if Family.objects.filter(programme=programme, reference=reference).exists():
        raise ValidationError({"reference": _("A family with this reference is already in the programme.")})
    with transaction.atomic():
        family = Family(
            programme=programme,
            reference=reference,
            referral_source=referral_source,
            referrer_name=referrer_name,
            referrer_organisation=referrer_organisation,
            referred_on=referred_on or timezone.localdate(),
            municipality=municipality,
        )
        family.full_clean()
        family.save()
        errors: dict[str, list[str]] = {}
        for i, member in enumerate(members):
            prefix = f"members.{i}."
            if member.kind not in Mentee.Kind.values:
                errors[f"{prefix}kind"] = [
                    _("Choose one of: %(values)s.") % {"values": ", ".join(Mentee.Kind.values)}
                ]
                continue
            try:
                with transaction.atomic():
                    person = person_create(
                        programme=programme,
                        spec=member.person,
                        recorded_by=recorded_by,
                        prefix=f"{prefix}person.",
                        household=family,
                    )
                    if not member.mentored:
                        continue
                    school = None
                    if member.school:
                        school, _created = School.objects.get_or_create(
                            programme=programme, name=member.school
                        )
                    mentee = Mentee(
                        programme=programme,
                        family=family,
                        person=person,
                        kind=member.kind,
                        status=Mentee.Status.REFERRED,
                        school=school,
                        grade=member.grade,
                        referred_on=family.referred_on,
                    )
                    try:
                        mentee.full_clean()
                    except ValidationError as exc:
                        raise ValidationError(_prefixed(exc.message_dict, prefix)) from exc
                    mentee.save()
            except ValidationError as exc:
                errors.update(
                    exc.message_dict if hasattr(exc, "error_dict") else {prefix.rstrip("."): exc.messages}
                )
        if errors:
            raise ValidationError(errors)
        audit_record(user=recorded_by, action=AuditEvent.Action.CREATE, obj=family)
    return family


def mentee_intake_start(*, mentee: Mentee, by: User) -> Mentee:
    return _mentee_move(mentee=mentee, allowed=(Mentee.Status.REFERRED,), to=Mentee.Status.INTAKE, by=by)


def mentee_intake_complete(*, mentee: Mentee, needs_assessment: str, by: User) -> Mentee:
    """Consent to case management recorded and the needs assessed: the mentee waits for a
    mentor from today."""
    if not needs_assessment.strip():
        raise ValidationError(
            {"needs_assessment": _("Write down what the family hopes the mentoring brings.")}
        )
    if not Consent.objects.filter(
        person=mentee.person_id, purpose=ConsentPurpose.CASE_MANAGEMENT, withdrawn_at__isnull=True
    ).exists():
        raise ValidationError(
            {"consent": _("Record consent to case management before the intake is complete.")}
        )
    mentee.needs_assessment = needs_assessment
    return _mentee_move(
        mentee=mentee,
        allowed=(Mentee.Status.REFERRED, Mentee.Status.INTAKE),
        to=Mentee.Status.WAITING,
        by=by,
        extra=("needs_assessment",),
    )


def mentee_close(*, mentee: Mentee, by: User) -> Mentee:
    """Close a mentee who is not in an open match (e.g. the family left before a match)."""
    if mentee.matches.filter(status__in=["proposed", "active", "paused"]).exists():
        raise ValidationError({"status": _("Close the mentee's match first.")})
    return _mentee_move(
        mentee=mentee,
        allowed=(Mentee.Status.REFERRED, Mentee.Status.INTAKE, Mentee.Status.WAITING, Mentee.Status.MATCHED),
        to=Mentee.Status.CLOSED,
        by=by,
    )


def _mentee_move(*, mentee: Mentee, allowed: tuple, to: str, by: User, extra: tuple = ()) -> Mentee:
    with transaction.atomic():
        current = Mentee.objects.select_for_update().values_list("status", flat=True).get(pk=mentee.pk)
        if current not in allowed:
            raise ValidationError(
                {
                    "status": _("A mentee who is %(current)s cannot move to %(next)s.")
                    % {
                        "current": str(Mentee.Status(current).label).lower(),
                        "next": str(Mentee.Status(to).label).lower(),
                    }
                }
            )
        today = timezone.localdate()
        mentee.status = to
        fields = ["status", *extra]
        if to == Mentee.Status.WAITING:
            mentee.intake_completed_on = mentee.intake_completed_on or today
            mentee.waiting_since = today
            fields += ["intake_completed_on", "waiting_since"]
        if to == Mentee.Status.CLOSED:
            mentee.closed_on = today
            fields.append("closed_on")
        mentee.save(update_fields=fields)
        audit_record(user=by, action=AuditEvent.Action.UPDATE, obj=mentee)
    return mentee
