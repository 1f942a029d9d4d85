"""Quality check-ins of a match: creating the ones that fall due, and answering them.

A check-in is due on day ``Programme.checkin_first_day`` of a match (counted from its start
date) and every ``checkin_interval_days`` after. Each due date gets two: one the mentor answers
in the app, one the family answers through a personal, unguessable link in their own language,
without an account.

What a family says is for the coordinators only: the mentor never sees the family's answers,
comment, uncertainty or note (``sessions.selectors.followup`` never hands a mentor a family
check-in). A family that feels uncertain about the match reaches every coordinator of the
programme at once, by a notification that names no details.
"""

from __future__ import annotations

import datetime
import secrets

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from matching.models import Match
from mentoring.audit import audit_record
from mentoring.models import AuditEvent, PersonLanguage, User
from mentoring.permissions import programme_coordinators
from sessions.models import CheckIn
from sessions.services.notifications import notification_send

# The questionnaire: five statements, each scored 1 (not at all) to 5 (fully). The same five for
# mentor and family, so the two views of one match can be read side by side.
QUESTIONS: list[tuple[str, str]] = [
    ("frequency", _("We meet as often as we agreed.")),
    ("openness", _("I can talk openly in our meetings.")),
    ("school", _("Our meetings help with school.")),
    ("respect", _("I feel understood and respected.")),
    ("overall", _("Overall, I am happy with how the mentoring is going.")),
]
QUESTION_CODES = [code for code, _label in QUESTIONS]
SCORE_MIN, SCORE_MAX = 1, 5
TEXT_MAX = 2000


def checkin_due_on(*, match: Match, today: datetime.date) -> datetime.date | None:
    """The latest due date of ``match`` on or before ``today`` (None before the first one).
    Only the latest counts: a match whose check-ins were missed (the job did not run, the
    match was paused) gets one pair now, not a backlog of them."""
    if match.started_on is None:
        return None
    programme = match.programme
    elapsed = (today - match.started_on).days
    if elapsed < programme.checkin_first_day:
        return None
    periods = (elapsed - programme.checkin_first_day) // programme.checkin_interval_days
    return match.started_on + datetime.timedelta(
        days=programme.checkin_first_day + periods * programme.checkin_interval_days
    )


def _preferred_language(languages, fallback: str) -> str:
    for person_language in languages:
        if person_language.is_preferred:
            return person_language.language
    return fallback


def checkins_create_due(*, today: datetime.date) -> int:
    """Create the check-ins due up to ``today`` for every active match, one for the mentor and
    one for the family, and tell each mentor in the app. Idempotent: a due date that has its
    check-in gets nothing new, however often this runs. Returns how many were created."""
    matches = (
        Match.objects.filter(status=Match.Status.ACTIVE, started_on__isnull=False, started_on__lte=today)
        .select_related("programme", "mentor__user", "mentor__person", "mentee__person")
        .prefetch_related(
            Prefetch("mentee__person__languages", queryset=PersonLanguage.objects.filter(is_preferred=True)),
            Prefetch("mentor__person__languages", queryset=PersonLanguage.objects.filter(is_preferred=True)),
        )
        .order_by("pk")
    )
    created = 0
    for match in matches:
        due_on = checkin_due_on(match=match, today=today)
        if due_on is None:
            continue
        existing = set(
            CheckIn.objects.filter(match=match, due_on=due_on).values_list("respondent", flat=True)
        )
        local = match.programme.local_language
        languages = {
            CheckIn.Respondent.MENTOR: _preferred_language(match.mentor.person.languages.all(), local),
            # The family reads the page in the mentee's preferred language.
            CheckIn.Respondent.FAMILY: _preferred_language(match.mentee.person.languages.all(), local),
        }
        for respondent in (CheckIn.Respondent.MENTOR, CheckIn.Respondent.FAMILY):
            if respondent in existing:
                continue
            with transaction.atomic():
                checkin = CheckIn(
                    match=match,
                    respondent=respondent,
                    due_on=due_on,
                    token=secrets.token_urlsafe(32),
                    language=languages[respondent],
                )
                checkin.full_clean()
                checkin.save()
                audit_record(
                    user=None, action=AuditEvent.Action.CREATE, obj=checkin, programme_id=match.programme_id
                )
                if respondent == CheckIn.Respondent.MENTOR and match.mentor.user is not None:
                    notification_send(
                        recipients=[match.mentor.user],
                        kind="checkin_due",
                        title=_("A check-in about your match is due"),
                        body=_("Five short questions about how the mentoring is going."),
                        url=reverse("sessions:checkin-mentor", args=[checkin.pk]),
                        dedupe_key=f"checkin:{checkin.pk}",
                    )
            created += 1
    return created


def _validate_answers(answers: object) -> tuple[dict[str, int], dict[str, str]]:
    errors: dict[str, str] = {}
    if not isinstance(answers, dict):
        return {}, {"answers": gettext("Give the answers as {question: score}.")}
    clean: dict[str, int] = {}
    for code in QUESTION_CODES:
        value = answers.get(code)
        if value is None or value == "":
            errors[f"answers.{code}"] = gettext("Choose a score from 1 to 5.")
            continue
        try:
            score = int(value) if not isinstance(value, bool | float) else None
        except (TypeError, ValueError):
            score = None
        if score is None or not SCORE_MIN <= score <= SCORE_MAX:
            errors[f"answers.{code}"] = gettext("Choose a score from 1 to 5.")
        else:
            clean[code] = score
    unknown = sorted(str(key) for key in answers if key not in QUESTION_CODES)
    if unknown:
        errors["answers"] = gettext("Unknown question: %(codes)s.") % {"codes": ", ".join(unknown)}
    return clean, errors


def checkin_answer(
    *,
    checkin: CheckIn,
    answers: dict,
    comment: str = "",
    uncertain: bool = False,
    private_note: str = "",
    user: User | None = None,
    request: HttpRequest | None = None,
) -> CheckIn:
    """Answer a check-in once. A mentor check-in is answered by the match's own mentor
    (``user``); a family check-in only through its link, so ``user`` stays None (nobody answers
    for the family from an account). Every error is reported at once. An uncertain answer
    notifies the programme's coordinators, without any of its content."""
    if checkin.respondent == CheckIn.Respondent.MENTOR:
        if user is None or user.pk is None or checkin.match.mentor.user_id != user.pk:
            raise PermissionDenied(gettext("Only the match's mentor answers this check-in."))
    elif user is not None:
        raise PermissionDenied(gettext("A family's check-in is answered through the family's own link."))
    if checkin.answered_at is not None:
        raise ValidationError(gettext("This check-in has already been answered."), code="already_answered")

    clean, errors = _validate_answers(answers)
    comment = (comment or "").strip()
    private_note = (private_note or "").strip()
    if len(comment) > TEXT_MAX:
        errors["comment"] = gettext("Keep the comment under %(max)s characters.") % {"max": TEXT_MAX}
    if len(private_note) > TEXT_MAX:
        errors["private_note"] = gettext("Keep the note under %(max)s characters.") % {"max": TEXT_MAX}
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        # Locked, so two submissions at the same moment cannot both be saved.
        locked = CheckIn.objects.select_for_update().get(pk=checkin.pk)
        if locked.answered_at is not None:
            raise ValidationError(
                gettext("This check-in has already been answered."), code="already_answered"
            )
        locked.answers = clean
        locked.comment = comment
        locked.uncertain = bool(uncertain)
        locked.private_note = private_note
        locked.answered_at = timezone.now()
        locked.full_clean()
        locked.save(update_fields=["answers", "comment", "uncertain", "private_note", "answered_at"])
        programme = checkin.match.programme
        audit_record(
            # A family has no account: its answer is recorded as an anonymous visitor's.
            user=user if user is not None else AnonymousUser(),
            action=AuditEvent.Action.UPDATE,
            obj=locked,
            programme_id=programme.pk,
            request=request,
        )
        if locked.uncertain:
            if locked.respondent == CheckIn.Respondent.FAMILY:
                title = _("A family would like to talk about their match")
            else:
                title = _("A mentor would like to talk about their match")
            notification_send(
                recipients=programme_coordinators(programme=programme),
                kind="checkin_uncertain",
                title=title,
                body=_("A check-in was answered with 'uncertain'. Open the mentee's timeline to read it."),
                url=reverse("sessions:mentee-timeline", args=[checkin.match.mentee_id]),
                dedupe_key=f"checkin-uncertain:{locked.pk}",
            )
    checkin.refresh_from_db()
    return checkin
