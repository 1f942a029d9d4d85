"""Reads of people, each scoped to what the asking user may see."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.utils import dateformat, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from matching.models import Match
from mentoring.audit import audit_record, audited_get
from mentoring.errors import NotFound
from mentoring.models import (
    AuditEvent,
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    Need,
    Person,
    PersonLanguage,
    Programme,
    SelfAssessmentQuestion,
    User,
)
from mentoring.permissions import coordinated_programmes, reported_programmes
from mentoring.services import RECORD_CHECK_WARNING


def programme_list_visible_to(*, user: User) -> QuerySet[Programme]:
    """Staff read the programmes they are assigned to; mentors read none."""
    return (
        (coordinated_programmes(user=user) | reported_programmes(user=user))
        .distinct()
        .select_related("organisation")
        .order_by("name")
    )


def programme_get_for_user(*, user: User, programme_id: int) -> Programme:
    try:
        return programme_list_visible_to(user=user).get(pk=programme_id)
    except Programme.DoesNotExist as exc:
        raise NotFound(_("Programme not found.")) from exc


def has_active_consent(purpose: str, person_ref: str = "person") -> Exists:
    """An ``Exists`` expression: the person has active consent to ``purpose``."""
    return Exists(
        Consent.objects.filter(person=OuterRef(person_ref), purpose=purpose, withdrawn_at__isnull=True)
    )


def _person_prefetches(prefix: str = "person") -> list:
    return [
        Prefetch(
            f"{prefix}__languages", queryset=PersonLanguage.objects.order_by("-is_preferred", "language")
        ),
        f"{prefix}__cultural_backgrounds",
    ]


def _mentees_visible_to(*, user: User) -> QuerySet[Mentee]:
    """The mentees ``user`` may see (the rule of :func:`mentee_list_visible_to`), undecorated."""
    if user.is_admin:
        return Mentee.objects.all()
    if user.role == User.Role.COORDINATOR:
        return Mentee.objects.filter(programme__in=coordinated_programmes(user=user))
    if user.role == User.Role.MENTOR:
        return Mentee.objects.filter(
            matches__mentor__user=user,
            matches__status__in=Match.CURRENT_STATUSES,
        ).distinct()
    return Mentee.objects.none()


def mentee_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Mentee]:
    """Coordinators: their programmes' mentees. Mentors: mentees of their own open matches.
    Managers read aggregates only, never rows."""
    filters = filters or {}
    qs = _mentees_visible_to(user=user).select_related("person", "family", "programme", "school")
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    qs = qs.annotate(
        background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person")
    ).prefetch_related(*_person_prefetches())
    return qs


def mentee_with_profile(*, mentee_id: int) -> Mentee:
    """One mentee with what matching reads: languages, backgrounds and consent."""
    return (
        Mentee.objects.select_related("person", "programme")
        .annotate(background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"))
        .prefetch_related(*_person_prefetches())
        .get(pk=mentee_id)
    )


def mentee_waiting_list(*, user: User, programme_id: int | None = None) -> QuerySet[Mentee]:
    """Waiting mentees, longest wait first; a mentee proposed to a mentor (waiting for the
    mentor's answer) is not on the list."""
    filters = {"status": Mentee.Status.WAITING}
    if programme_id:
        filters["programme"] = programme_id
    return (
        mentee_list_visible_to(user=user, filters=filters)
        .exclude(matches__status=Match.Status.PROPOSED)
        .order_by("waiting_since", "id")
    )


def mentee_get_for_user(
    *, user: User, mentee_id: int, request: HttpRequest | None = None, audit: bool = True
) -> Mentee:
    """Fetch one mentee the user may see; another programme's mentee is simply not found.
    Every successful read of the case record is audited."""
    return audited_get(
        mentee_list_visible_to(user=user), pk=mentee_id, user=user, request=request, audit_read=audit
    )


def mentee_reference_for_user(*, user: User, mentee_id: int, request: HttpRequest | None = None) -> Mentee:
    """The mentee's id, programme and status only, for views whose other reads of the case go
    through the matching engine (suggestions): visibility and audit as in
    :func:`mentee_get_for_user`, without reading the rest of the record."""
    return audited_get(
        _mentees_visible_to(user=user).only("id", "programme_id", "status"),
        pk=mentee_id,
        user=user,
        request=request,
    )


def mentor_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Mentor]:
    """Coordinators: their programmes' mentors. Mentors: only their own profile."""
    filters = filters or {}
    qs = Mentor.objects.select_related("person", "programme")
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(user=user)
    else:
        return Mentor.objects.none()
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    return (
        qs.annotate(
            open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES)),
            background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"),
        )
        .prefetch_related(*_person_prefetches())
        .order_by("person__last_name", "person__first_name", "pk")
    )


def mentor_get_for_user(*, user: User, mentor_id: int, request: HttpRequest | None = None) -> Mentor:
    return audited_get(mentor_list_visible_to(user=user), pk=mentor_id, user=user, request=request)


def mentor_matchable_queryset(*, programme: Programme, on: datetime.date | None = None) -> QuerySet[Mentor]:
    """Mentors who may take a new mentee on ``on``: approved or active, a record check valid
    that day, training completed, and fewer open matches than their capacity."""
    on = on or timezone.localdate()
    return (
        Mentor.objects.filter(
            programme=programme,
            status__in=Mentor.MATCHABLE_STATUSES,
            record_check_expires_on__gte=on,
            training_completed_on__isnull=False,
        )
        .annotate(open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES)))
        .filter(open_matches__lt=F("capacity"))
        .annotate(background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"))
        .select_related("person")
        .prefetch_related(*_person_prefetches())
    )


def mentor_unmatchable_reasons(
    *, mentor: Mentor, on: datetime.date | None = None, check_capacity: bool = True
) -> list[str]:
    """Why a mentor cannot take a new mentee now, in the coordinator's words (empty if they can).
    Without ``check_capacity`` only the mentor's own standing (approval, check, training)."""
    on = on or timezone.localdate()
    reasons = []
    if mentor.status not in Mentor.MATCHABLE_STATUSES:
        reasons.append(
            _("Not approved yet (status: %(status)s).") % {"status": mentor.get_status_display().lower()}
        )
    if mentor.record_check_expires_on is None:
        reasons.append(_("No criminal-record check recorded."))
    elif mentor.record_check_expires_on < on:
        reasons.append(
            _("Criminal-record check expired on %(date)s.")
            % {"date": dateformat.format(mentor.record_check_expires_on, "d M Y")}
        )
    if mentor.training_completed_on is None:
        reasons.append(_("Training not completed."))
    if check_capacity:
        load = mentor.matches.filter(status__in=Match.OPEN_STATUSES).count()
        if load >= mentor.capacity:
            reasons.append(
                _("No free capacity (%(load)s of %(capacity)s places taken).")
                % {"load": load, "capacity": mentor.capacity}
            )
    return reasons


# Coordinators' work lists -------------------------------------------------------------------
#
# The record pages are for coordinators (and administrators) only, so these reads are scoped by
# ``coordinated_programmes``: the same rule ``mentor_list_visible_to`` applies to coordinators,
# and an empty answer for everybody else. They stay lean (no aggregates over matches) so the
# database can page through 20,000 people; what a page shows per row is prefetched for the page.

PIPELINE_STAGES = (
    Mentor.Status.APPLIED,
    Mentor.Status.SCREENING,
    Mentor.Status.TRAINING,
    Mentor.Status.APPROVED,
    Mentor.Status.ACTIVE,
    Mentor.Status.INACTIVE,
)
# Stages in which a mentor's record check matters (an applicant has none yet; an inactive or
# withdrawn mentor needs a new one only to come back, which the reactivation checks).
RECORD_CHECK_STAGES = (
    Mentor.Status.SCREENING,
    Mentor.Status.TRAINING,
    Mentor.Status.APPROVED,
    Mentor.Status.ACTIVE,
)


def _coordinated(model, *, user: User, programme_id: int | None = None) -> QuerySet:
    qs = model.objects.filter(programme__in=coordinated_programmes(user=user))
    if programme_id:
        qs = qs.filter(programme_id=programme_id)
    return qs


def _name_terms(query: str, *lookups: str) -> Q:
    """Every word of ``query`` must be found in one of ``lookups`` ("ana pop" finds Ana Pop)."""
    condition = Q()
    for term in query.split()[:5]:
        any_field = Q()
        for lookup in lookups:
            any_field |= Q(**{f"{lookup}__icontains": term})
        condition &= any_field
    return condition


def mentor_search(*, user: User, filters: dict | None = None) -> QuerySet[Mentor]:
    """The coordinator's mentor list: searched by name or e-mail (``q``), filtered by
    ``status``, ``programme`` and ``record_check="due"`` (expired or expiring within 60 days, as
    ``mentor_record_checks_due``), ordered by name. Languages are prefetched for the rows read."""
    filters = filters or {}
    qs = _coordinated(Mentor, user=user, programme_id=filters.get("programme")).select_related(
        "person", "programme"
    )
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if query := (filters.get("q") or "").strip():
        qs = qs.filter(_name_terms(query, "person__first_name", "person__last_name", "person__email"))
    if filters.get("record_check") == "due":
        due_by = timezone.localdate() + RECORD_CHECK_WARNING
        qs = qs.filter(status__in=RECORD_CHECK_STAGES, record_check_expires_on__lte=due_by)
    return qs.prefetch_related(
        Prefetch("person__languages", queryset=PersonLanguage.objects.order_by("-is_preferred", "language"))
    ).order_by("person__last_name", "person__first_name", "pk")


def mentor_stage_counts(*, user: User, programme_id: int | None = None) -> dict[str, int]:
    """How many mentors are at each lifecycle stage."""
    rows = (
        _coordinated(Mentor, user=user, programme_id=programme_id)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def mentor_pipeline(
    *, user: User, programme_id: int | None = None, per_stage: int = 30
) -> dict[str, list[Mentor]]:
    """The pipeline board: per stage, the ``per_stage`` mentors who have waited longest since
    applying, with what ``mentor_missing_for`` and the free places read already prefetched
    (one query for the rows whatever the number of stages, one per prefetch)."""
    ranked = (
        _coordinated(Mentor, user=user, programme_id=programme_id)
        .filter(status__in=PIPELINE_STAGES)
        .annotate(
            stage_rank=Window(
                RowNumber(), partition_by=[F("status")], order_by=[F("applied_on").asc(), F("pk").asc()]
            )
        )
        .filter(stage_rank__lte=per_stage)
        .select_related("person", "programme")
        .prefetch_related(
            "references",
            "training_records",
            "self_assessments",
            Prefetch(
                "matches",
                queryset=Match.objects.filter(status__in=Match.OPEN_STATUSES).only("pk", "mentor_id"),
                to_attr="open_match_list",
            ),
        )
        .order_by("applied_on", "pk")
    )
    board: dict[str, list[Mentor]] = {stage: [] for stage in PIPELINE_STAGES}
    for mentor in ranked:
        board[mentor.status].append(mentor)
    return board


def mentor_record_checks_due(
    *, user: User, programme_id: int | None = None, on: datetime.date | None = None
) -> QuerySet[Mentor]:
    """Mentors in screening, training or service whose record check has expired or expires
    within ``RECORD_CHECK_WARNING`` (60 days), soonest first."""
    on = on or timezone.localdate()
    return (
        _coordinated(Mentor, user=user, programme_id=programme_id)
        .filter(status__in=RECORD_CHECK_STAGES, record_check_expires_on__lte=on + RECORD_CHECK_WARNING)
        .select_related("person", "programme")
        .order_by("record_check_expires_on", "pk")
    )


def mentor_with_record(*, mentor: Mentor) -> Mentor:
    """One mentor's case file: what the lifecycle, the detail page and ``mentor_missing_for``
    read, prefetched once."""
    return (
        Mentor.objects.select_related("person", "programme", "interviewed_by", "user")
        .annotate(
            open_matches=Count("matches", filter=Q(matches__status__in=Match.OPEN_STATUSES)),
            background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"),
        )
        .prefetch_related(
            *_person_prefetches(),
            "person__needs",
            Prefetch("person__consents", queryset=Consent.objects.select_related("recorded_by")),
            Prefetch("references", queryset=MentorReference.objects.select_related("recorded_by")),
            "training_records",
            "self_assessments",
            Prefetch("status_changes", queryset=MentorStatusChange.objects.select_related("changed_by")),
        )
        .get(pk=mentor.pk)
    )


def mentee_waiting_search(*, user: User, filters: dict | None = None) -> QuerySet[Mentee]:
    """The waiting list searched by name or family reference (``q``) and filtered by the
    mentee's preferred ``language``, ``kind`` and ``programme``; longest wait first."""
    filters = filters or {}
    qs = mentee_waiting_list(user=user, programme_id=filters.get("programme"))
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    if language := filters.get("language"):
        qs = qs.filter(
            Exists(
                PersonLanguage.objects.filter(person=OuterRef("person"), language=language, is_preferred=True)
            )
        )
    if query := (filters.get("q") or "").strip():
        qs = qs.filter(_name_terms(query, "person__first_name", "person__last_name", "family__reference"))
    return qs


def mentee_waiting_languages(*, user: User) -> list[str]:
    """The preferred languages of the mentees waiting in the user's programmes (for a filter)."""
    waiting = mentee_waiting_list(user=user).values("person_id")
    return list(
        PersonLanguage.objects.filter(is_preferred=True, person_id__in=waiting)
        .order_by("language")
        .values_list("language", flat=True)
        .distinct()
    )


def family_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Family]:
    """Families of the programmes the user coordinates, newest referral first; ``q`` finds a
    reference or a member's name, ``status`` families with a member at that status."""
    filters = filters or {}
    qs = _coordinated(Family, user=user, programme_id=filters.get("programme")).select_related("programme")
    if query := (filters.get("q") or "").strip():
        members = Mentee.objects.filter(
            _name_terms(query, "person__first_name", "person__last_name"), family=OuterRef("pk")
        )
        qs = qs.filter(Q(reference__icontains=query) | Exists(members))
    if status := filters.get("status"):
        qs = qs.filter(Exists(Mentee.objects.filter(family=OuterRef("pk"), status=status)))
    return qs.prefetch_related(
        Prefetch("mentees", queryset=Mentee.objects.select_related("person").order_by("kind", "id"))
    ).order_by("-referred_on", "-pk")


def family_get_for_user(*, user: User, family_id: int, request: HttpRequest | None = None) -> Family:
    """One family with its members, their languages and consents; another programme's family
    is not found. The read of the case file is audited."""
    family = (
        _coordinated(Family, user=user)
        .select_related("programme")
        .prefetch_related(
            Prefetch(
                "mentees",
                queryset=Mentee.objects.select_related("person", "school")
                .annotate(background_consent=has_active_consent(ConsentPurpose.BACKGROUND_MATCHING, "person"))
                .prefetch_related(
                    *_person_prefetches(),
                    Prefetch("person__consents", queryset=Consent.objects.select_related("recorded_by")),
                )
                .order_by("kind", "id"),
            )
        )
    )
    return audited_get(family, pk=family_id, user=user, request=request)


# The API's reads, and the fetch-and-check of a record before a change ----------------------
#
# Who may change people's records (``domain.md``): admins any, coordinators those of the
# programmes they coordinate. Anyone else is refused (403) when they know the record exists
# (it is visible to them, as a mentor's own profile or mentee, or it belongs to a programme
# they are staff of, as a manager's), and told it is not found (404) otherwise, so an id of
# another programme reveals nothing. Each refusal is audited.


def mentee_records_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Mentee]:
    """``mentee_list_visible_to`` with the needs the API shows per row prefetched, longest
    wait first (mentees not waiting after those who are)."""
    return (
        mentee_list_visible_to(user=user, filters=filters)
        .prefetch_related("person__needs")
        .order_by(F("waiting_since").asc(nulls_last=True), "pk")
    )


def consent_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[Consent]:
    """Coordinators: the consents of their programmes' people; a mentor: their own (part of
    their profile). Managers: none. Newest first."""
    filters = filters or {}
    qs = Consent.objects.all()
    if user.is_admin:
        pass
    elif user.role == User.Role.COORDINATOR:
        qs = qs.filter(person__programme__in=coordinated_programmes(user=user))
    elif user.role == User.Role.MENTOR:
        qs = qs.filter(person__mentor__user=user)
    else:
        return Consent.objects.none()
    if person := filters.get("person"):
        qs = qs.filter(person_id=person)
    return qs.order_by("-given_at", "-pk")


def person_list_coordinated_by(*, user: User) -> QuerySet[Person]:
    """The people whose records the user may change (consent is recorded for them)."""
    return Person.objects.filter(programme__in=coordinated_programmes(user=user))


def _vocabulary_visible_to(model, *, user: User, order: tuple[str, ...]) -> QuerySet:
    """A programme-managed vocabulary: read by the programme's staff and by admins (it holds
    no personal data, and reports group by it); mentors read people's entries, not the lists."""
    visible = programme_list_visible_to(user=user).order_by().values("pk")
    return model.objects.filter(programme__in=visible).order_by("programme_id", *order, "pk")


def cultural_background_list_visible_to(*, user: User) -> QuerySet[CulturalBackground]:
    return _vocabulary_visible_to(CulturalBackground, user=user, order=("name",))


def need_list_visible_to(*, user: User) -> QuerySet[Need]:
    return _vocabulary_visible_to(Need, user=user, order=("name",))


def self_assessment_question_list_visible_to(*, user: User) -> QuerySet[SelfAssessmentQuestion]:
    return _vocabulary_visible_to(SelfAssessmentQuestion, user=user, order=("order",))


def _get_for_change(
    model,
    *,
    user: User,
    pk: int,
    programme_path: str,
    visible: QuerySet,
    request: HttpRequest | None,
):
    try:
        return model.objects.get(pk=pk, **{f"{programme_path}__in": coordinated_programmes(user=user)})
    except model.DoesNotExist:
        pass
    audit_record(
        user=user,
        action=AuditEvent.Action.DENIED,
        object_type=model._meta.label,
        object_id=pk,
        request=request,
    )
    name = model._meta.verbose_name
    staff_of = reported_programmes(user=user)
    if (
        visible.filter(pk=pk).exists()
        or model.objects.filter(pk=pk, **{f"{programme_path}__in": staff_of}).exists()
    ):
        raise PermissionDenied(
            _("Only the programme's coordinators can change this %(name)s.") % {"name": name}
        )
    raise NotFound(_("%(name)s not found.") % {"name": capfirst(name)})


def mentor_get_for_change(*, user: User, mentor_id: int, request: HttpRequest | None = None) -> Mentor:
    """The mentor whose record the user is about to change (see above for the refusals)."""
    return _get_for_change(
        Mentor,
        user=user,
        pk=mentor_id,
        programme_path="programme",
        visible=mentor_list_visible_to(user=user),
        request=request,
    )


def mentee_get_for_change(*, user: User, mentee_id: int, request: HttpRequest | None = None) -> Mentee:
    return _get_for_change(
        Mentee,
        user=user,
        pk=mentee_id,
        programme_path="programme",
        visible=mentee_list_visible_to(user=user),
        request=request,
    )


def consent_get_for_change(*, user: User, consent_id: int, request: HttpRequest | None = None) -> Consent:
    return _get_for_change(
        Consent,
        user=user,
        pk=consent_id,
        programme_path="person__programme",
        visible=consent_list_visible_to(user=user),
        request=request,
    )
