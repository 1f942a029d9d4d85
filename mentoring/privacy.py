"""Data-subject rights: export everything held about one person, erase it, and apply each
programme's retention period.

``REGISTRY`` names, for every model with a path to a ``Person`` (a chain of foreign keys, or a
foreign key to the login of a mentor), how to find the person's rows and what erasure does to
them. ``NO_PERSONAL_DATA`` lists the models that reach a person but hold nothing about them, each
with its reason. ``tests/mentoring/test_privacy.py`` fails when a new model is in neither.

Erasure keeps a **tombstone** so that the other person's history and the programme's
aggregates stay whole: the ``Person`` row (id, programme, ``erased_at``; no names, contacts or
attributes), and the role rows (``Mentor``/``Mentee``) reduced to their statuses and lifecycle
dates, moved to the programme's "erased" family so no household can be traced back. Rows that
are about the person alone are deleted; rows shared with another person (a match, its session
logs, concerns, check-ins, goals, outcome measures) keep their figures and dates and lose every
free text, which may name the person. The mentor's login is deleted with its django-guardian
object permissions and its sessions. Audit events hold ids only and are kept (append-only).

Nothing of a person is held outside the database: Celery tasks take ids, the result backend is
off (``CELERY_TASK_IGNORE_RESULT``), and the cache holds no records. Report snapshots hold
aggregates only; erasure requests a fresh snapshot of the programme so the figures are
recomputed without the person's attributes.
"""

from __future__ import annotations

import calendar
import datetime
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from mentoring.audit import audit_record, audited_get
from mentoring.errors import NotFound
from mentoring.models import AuditEvent, Family, Mentee, Mentor, Person, Programme, ReferralSource, User
from mentoring.permissions import coordinated_programmes

DELETE = "delete"
ANONYMISE = "anonymise"  # free texts blanked, figures and dates kept
TOMBSTONE = "tombstone"  # the person's own rows: see the module's docs
KEEP = "keep"  # nothing personal left once the login is gone (audit rows: ids only)
# The reference of each programme's family that holds the role rows of erased people.
ERASED_FAMILY = "ERASED"


@dataclass(frozen=True)
class Holding:
    """Where a model holds data about a person. ``lookups`` are ORM paths from the model to
    the ``Person`` (OR-ed; ``"pk"`` for the person's own row); ``blank`` the free-text fields
    an anonymisation clears; ``secret`` fields never exported (password hashes, link tokens)."""

    label: str
    title: str  # a lazy translation: shown on the export page and in the download
    lookups: tuple[str, ...]
    erasure: str
    blank: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    note: str = ""

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def rows(self, person: Person) -> QuerySet:
        condition = Q()
        for lookup in self.lookups:
            condition |= Q(**{lookup: person.pk})
        return self.model._default_manager.filter(condition).distinct().order_by("pk")


_MATCH = ("mentor__person", "mentee__person")


def _via_match(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}__{lookup}" for lookup in _MATCH)


REGISTRY: tuple[Holding, ...] = (
    Holding("mentoring.Person", gettext_lazy("Person"), ("pk",), TOMBSTONE),
    Holding("mentoring.PersonLanguage", gettext_lazy("Languages"), ("person",), DELETE),
    Holding("mentoring.Consent", gettext_lazy("Consents"), ("person",), DELETE),
    Holding(
        "mentoring.Family",
        gettext_lazy("Household"),
        ("members", "mentees__person"),
        ANONYMISE,
        blank=("referrer_name", "referrer_organisation", "municipality"),
        note="Anonymised only once no member of the household is left; the person's role rows "
        "move to the programme's 'erased' family.",
    ),
    Holding(
        "mentoring.Mentor",
        gettext_lazy("Mentor record"),
        ("person",),
        TOMBSTONE,
        blank=("record_check_reference", "leaving_reason"),
        note="Statuses and lifecycle dates stay for the mentor funnel and the matches.",
    ),
    Holding("mentoring.MentorReference", gettext_lazy("Mentor references"), ("mentor__person",), DELETE),
    Holding("mentoring.TrainingRecord", gettext_lazy("Training records"), ("mentor__person",), DELETE),
    Holding("mentoring.SelfAssessment", gettext_lazy("Self-assessments"), ("mentor__person",), DELETE),
    Holding(
        "mentoring.MentorStatusChange",
        gettext_lazy("Mentor status history"),
        ("mentor__person",),
        ANONYMISE,
        blank=("note",),
        note="Statuses and dates feed the mentor funnel.",
    ),
    Holding(
        "mentoring.Mentee",
        gettext_lazy("Mentee record"),
        ("person",),
        TOMBSTONE,
        blank=("grade", "needs_assessment"),
        note="Statuses and lifecycle dates stay for the mentee funnel and the matches.",
    ),
    Holding(
        "mentoring.User",
        gettext_lazy("Login"),
        ("mentor__person",),
        DELETE,
        secret=("password",),
        note="The mentor's login, with its object permissions and sessions.",
    ),
    Holding(
        "mentoring.AuditEvent",
        gettext_lazy("Audit trail of the login"),
        ("user__mentor__person",),
        KEEP,
        note="Append-only, ids only; the login is detached when it is deleted.",
    ),
    Holding(
        "matching.Match",
        gettext_lazy("Matches"),
        _MATCH,
        ANONYMISE,
        blank=("closure_note", "pause_reason", "decline_note"),
    ),
    Holding(
        "matching.MatchExclusion",
        gettext_lazy("Pairs never to be matched"),
        _MATCH,
        DELETE,
        note="The reason may name the relationship between the two people.",
    ),
    Holding(
        "matching.BatchPair",
        gettext_lazy("Batch matching proposals"),
        _MATCH,
        DELETE,
        note="A proposal's explanation names the person's languages and background.",
    ),
    Holding(
        "matching.BatchUnmatched",
        gettext_lazy("Batch matching: left unmatched"),
        ("mentee__person",),
        DELETE,
        note="The reason names the person's preferred language.",
    ),
    Holding(
        "mentoring_sessions.SessionLog",
        gettext_lazy("Session logs"),
        (*_via_match("match"), "author__mentor__person"),
        ANONYMISE,
        blank=("notes", "follow_ups"),
    ),
    Holding(
        "mentoring_sessions.SessionLogRevision",
        gettext_lazy("Session log revisions"),
        (*_via_match("log__match"), "changed_by__mentor__person"),
        DELETE,
        note="Revisions hold the before and after of notes.",
    ),
    Holding(
        "mentoring_sessions.Concern",
        gettext_lazy("Concerns"),
        ("mentee__person", *_via_match("match"), "raised_by__mentor__person"),
        ANONYMISE,
        blank=("description", "referral_note", "closure_note"),
    ),
    Holding(
        "mentoring_sessions.CheckIn",
        gettext_lazy("Check-ins"),
        _via_match("match"),
        ANONYMISE,
        blank=("comment", "private_note"),
        secret=("token",),
    ),
    Holding(
        "mentoring_sessions.Goal",
        gettext_lazy("Goals"),
        ("mentee__person",),
        ANONYMISE,
        blank=("description",),
    ),
    Holding(
        "mentoring_sessions.GoalProgress",
        gettext_lazy("Goal progress"),
        ("goal__mentee__person", "recorded_by__mentor__person"),
        ANONYMISE,
        blank=("note",),
    ),
    Holding(
        "mentoring_sessions.OutcomeMeasure",
        gettext_lazy("Outcome measures"),
        ("mentee__person", "recorded_by__mentor__person"),
        KEEP,
        note="Figures only, tied to the tombstone; they feed the programme's outcome change.",
    ),
    Holding(
        "mentoring_sessions.AttentionFlag",
        gettext_lazy("Attention flags"),
        (*_via_match("match"), "mentor__person", "concern__mentee__person"),
        DELETE,
        note="Raised again by the match-health job while the condition holds.",
    ),
    Holding(
        "mentoring_sessions.Notification",
        gettext_lazy("Notifications"),
        ("recipient__mentor__person",),
        DELETE,
    ),
)

# Models that can reach a person (through a staff or mentor login) but hold nothing about them.
NO_PERSONAL_DATA: dict[str, str] = {
    "reports.ReportSnapshot": "Aggregates only, small-cell suppressed; requested_by is staff. "
    "Erasure requests a fresh snapshot of the programme.",
    "reports.ReportSnapshotPart": "Aggregates of one population of a snapshot, suppressed.",
    "matching.ScoringConfig": "A programme's matching weights; updated_by is staff.",
    "matching.BatchRun": "Figures of a batch run; pins and exclusions are ids; created_by is staff.",
}

_BY_LABEL = {holding.label: holding for holding in REGISTRY}


# --- Access ----------------------------------------------------------------------------------


def person_get_for_privacy(*, user: User, person_id: int, request: HttpRequest | None = None) -> Person:
    """The person, for an admin or a coordinator of their programme; anyone else: not found.
    The read itself is not audited here: the export or erasure writes its own row."""
    queryset = Person.objects.filter(programme__in=coordinated_programmes(user=user))
    return audited_get(queryset, pk=person_id, user=user, request=request, audit_read=False)


def _check_may_handle(*, user: User, person: Person) -> None:
    if not coordinated_programmes(user=user).filter(pk=person.programme_id).exists():
        raise NotFound(_("Person not found."))


# --- Export ----------------------------------------------------------------------------------


def _row(obj: models.Model, holding: Holding) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name not in holding.secret:
            data[f.attname if f.is_relation else f.name] = f.value_from_object(obj)
    for f in obj._meta.many_to_many:
        data[f.name] = [str(related) for related in getattr(obj, f.name).all()]
    # Dates, decimals and UUIDs as DjangoJSONEncoder writes them, so the page and the download
    # show the same values.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _field_names(model: type[models.Model], row: dict[str, Any]) -> dict[str, str]:
    """Each key of a row with its field's name in the reader's language ("first_name":
    "first name"), for the readable page."""
    names = {}
    for key in row:
        try:
            field = model._meta.get_field(key)
        except FieldDoesNotExist:
            field = next((f for f in model._meta.concrete_fields if f.attname == key), None)
        if field is not None and field.primary_key and field.auto_created:
            names[key] = pgettext("a record's number", "ID")
        else:
            names[key] = str(getattr(field, "verbose_name", key))
    return names


def person_data_collect(*, person: Person) -> dict[str, Any]:
    """Everything held about ``person``, grouped by record type (no access check, no audit:
    ``person_data_export`` is the public door). The tombstone of an erased person holds
    nothing: its export is empty."""
    records: dict[str, dict[str, Any]] = {}
    if person.erased_at is None:
        for holding in REGISTRY:
            rows = [_row(obj, holding) for obj in holding.rows(person)]
            if rows:
                records[holding.label] = {
                    "title": str(holding.title),
                    "fields": _field_names(holding.model, rows[0]),
                    "rows": rows,
                }
    return {
        "person_id": person.pk,
        "programme_id": person.programme_id,
        "erased_at": person.erased_at.isoformat() if person.erased_at else None,
        "generated_at": timezone.now().isoformat(),
        "records": records,
    }


def person_data_export(*, person: Person, requested_by: User, request: HttpRequest | None = None) -> dict:
    """The data-subject access export: coordinators of the person's programme and admins
    only; one audit row (action ``export``)."""
    _check_may_handle(user=requested_by, person=person)
    export = person_data_collect(person=person)
    audit_record(user=requested_by, action=AuditEvent.Action.EXPORT, obj=person, request=request)
    return export


# --- Erasure ---------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    person_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)


def _erased_family(programme_id: int) -> Family:
    family, _created = Family.objects.get_or_create(
        programme_id=programme_id,
        reference=ERASED_FAMILY,
        defaults={"referral_source": ReferralSource.SELF},
    )
    return family


def _drop_object_permissions(model: type[models.Model], pks: list) -> None:
    """Object permissions granted on rows that are about to be deleted would be orphans."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    if not pks:
        return
    content_type = ContentType.objects.get_for_model(model)
    object_pks = [str(pk) for pk in pks]
    UserObjectPermission.objects.filter(content_type=content_type, object_pk__in=object_pks).delete()
    GroupObjectPermission.objects.filter(content_type=content_type, object_pk__in=object_pks).delete()


def _delete_login(user_ids: list[int]) -> None:
    from django.contrib.sessions.models import Session
    from guardian.models import UserObjectPermission

    if not user_ids:
        return
    UserObjectPermission.objects.filter(user_id__in=user_ids).delete()
    wanted = {str(pk) for pk in user_ids}
    stale = [s.pk for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") in wanted]
    Session.objects.filter(pk__in=stale).delete()


def _tombstone(person: Person, now: datetime.datetime) -> None:
    family = _erased_family(person.programme_id)
    Mentor.objects.filter(person=person).update(
        user=None,
        interviewed_by=None,
        record_check_reference="",
        leaving_reason="",
    )
    Mentee.objects.filter(person=person).update(family=family, school=None, grade="", needs_assessment="")
    person.cultural_backgrounds.clear()
    person.needs.clear()
    Person.objects.filter(pk=person.pk).update(
        first_name="",
        last_name="",
        email="",
        phone="",
        gender="",
        age_band="",
        country_of_birth="",
        migrant_background="unknown",
        municipality="",
        postcode="",
        latitude=None,
        longitude=None,
        availability=[],
        session_modes=[],
        household=None,
        erased_at=now,
    )


def person_erase(
    *, person: Person, erased_by: User | None, reason: str, request: HttpRequest | None = None
) -> ErasureResult:
    """Erase everything held about ``person`` (see the module's docs), in one transaction.

    ``erased_by`` is an admin or a coordinator of the person's programme; ``None`` is the
    retention job. ``reason`` is required but not stored: it could name the person; the audit
    row says who erased which id when."""
    if erased_by is not None:
        _check_may_handle(user=erased_by, person=person)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the erasure.")})
    if person.erased_at is not None:
        raise ValidationError(_("This person has already been erased."), code="already_erased")
    from matching.models import Match

    if Match.objects.filter(
        Q(mentor__person=person) | Q(mentee__person=person), status__in=Match.OPEN_STATUSES
    ).exists():
        raise ValidationError(_("Close the person's open matches before erasing them."), code="open_matches")

    from reports.services import snapshot_request

    result = ErasureResult(person_id=person.pk)
    now = timezone.now()
    with transaction.atomic():
        # Households the person belongs to, before the tombstone detaches them.
        families = list(
            _BY_LABEL["mentoring.Family"]
            .rows(person)
            .exclude(reference=ERASED_FAMILY)
            .values_list("pk", flat=True)
        )
        login_ids = list(User.objects.filter(mentor__person=person).values_list("pk", flat=True))
        # Resolve every holding's rows first: deleting one changes the paths to the next.
        plan = [(holding, list(holding.rows(person).values_list("pk", flat=True))) for holding in REGISTRY]
        for holding, pks in plan:
            # Households are anonymised below, once it is known whether anyone is left in them.
            if not pks or holding.erasure != ANONYMISE or holding.label == "mentoring.Family":
                continue
            changes: dict[str, Any] = dict.fromkeys(holding.blank, "")
            if holding.label == "mentoring_sessions.CheckIn":
                # A new token each: the family's old link must not open the check-in again.
                for pk in pks:
                    holding.model._default_manager.filter(pk=pk).update(
                        comment="", private_note="", token=secrets.token_urlsafe(32)
                    )
            else:
                holding.model._default_manager.filter(pk__in=pks).update(**changes)
            result.anonymised[holding.label] = len(pks)
        _tombstone(person, now)
        for holding, pks in reversed(plan):
            if not pks or holding.erasure != DELETE or holding.label == "mentoring.User":
                continue
            _drop_object_permissions(holding.model, pks)
            holding.model._default_manager.filter(pk__in=pks).delete()
            result.deleted[holding.label] = len(pks)
        if login_ids:
            _delete_login(login_ids)
            User.objects.filter(pk__in=login_ids).delete()
            result.deleted["mentoring.User"] = len(login_ids)
        for family in Family.objects.filter(pk__in=families):
            if not family.members.exists() and not family.mentees.exists():
                family.delete()
                result.deleted["mentoring.Family"] = result.deleted.get("mentoring.Family", 0) + 1
            elif (
                not family.members.filter(erased_at__isnull=True).exists()
                and not family.mentees.filter(person__erased_at__isnull=True).exists()
            ):
                Family.objects.filter(pk=family.pk).update(
                    **dict.fromkeys(_BY_LABEL["mentoring.Family"].blank, "")
                )
        audit_record(
            user=erased_by,
            action=AuditEvent.Action.ERASE,
            object_type=Person._meta.label,
            object_id=person.pk,
            programme_id=person.programme_id,
            request=request,
        )
        snapshot_request(programme=person.programme, requested_by=erased_by)
    person.refresh_from_db()
    return result


# --- Retention -------------------------------------------------------------------------------


def _months_before(day: datetime.date, months: int) -> datetime.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def retention_months(programme: Programme) -> int:
    return programme.retention_months or settings.TANDEM_RETENTION_MONTHS


def retention_due(*, today: datetime.date | None = None) -> list[Person]:
    """People whose every role ended more than their programme's retention period ago: a
    closed mentee (``closed_on``) or a withdrawn or inactive mentor (``left_on``), with no
    open role and no open match. People never mentored (other household members) are left
    to the coordinator."""
    from matching.models import Match

    today = today or timezone.localdate()
    due: list[Person] = []
    for programme in Programme.objects.all():
        cutoff = _months_before(today, retention_months(programme))
        # Roles not yet past retention: open, or closed (left) less than the period ago.
        mentees_kept = Mentee.objects.filter(programme=programme).exclude(
            status=Mentee.Status.CLOSED, closed_on__lte=cutoff
        )
        mentors_kept = Mentor.objects.filter(programme=programme).exclude(
            status__in=[Mentor.Status.INACTIVE, Mentor.Status.WITHDRAWN], left_on__lte=cutoff
        )
        open_matches = Match.objects.filter(programme=programme, status__in=Match.OPEN_STATUSES)
        people = (
            Person.objects.filter(programme=programme, erased_at__isnull=True)
            .filter(Q(mentee__isnull=False) | Q(mentor__isnull=False))
            .exclude(pk__in=mentees_kept.values("person"))
            .exclude(pk__in=mentors_kept.values("person"))
            .exclude(pk__in=open_matches.values("mentor__person"))
            .exclude(pk__in=open_matches.values("mentee__person"))
        )
        due.extend(people.order_by("pk"))
    return due


def retention_apply(*, dry_run: bool, today: datetime.date | None = None) -> dict[str, dict[str, int]]:
    """Erase everyone ``retention_due``; with ``dry_run``, erase nothing. Returns counts only
    (per programme slug: mentees, mentors, people), never names."""
    counts: dict[str, dict[str, int]] = {}
    people = retention_due(today=today)
    slugs = dict(Programme.objects.values_list("pk", "slug"))
    for person in people:
        row = counts.setdefault(slugs[person.programme_id], {"people": 0, "mentees": 0, "mentors": 0})
        row["people"] += 1
        row["mentees"] += int(hasattr(person, "mentee"))
        row["mentors"] += int(hasattr(person, "mentor"))
    if not dry_run:
        for person in people:
            person_erase(person=person, erased_by=None, reason="retention period passed")
    return counts
