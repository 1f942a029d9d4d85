"""Pages of the people of a programme: the landing page, the waiting list, a mentee's page,
and the coordinator's record pages (mentor pipeline, list, application and case file; family
referral, list and intake).

Views are thin: they ask the selectors (which scope every read to the user) and shape the
answer for a template. ``role_required`` is shared by every app's pages.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from matching.forms import MatchCreateForm
from matching.selectors import mentor_suggestions_for_mentee
from mentoring.errors import NotFound
from mentoring.forms import (
    DAY_LABELS,
    DAY_PART_LABELS,
    MODE_CHOICES,
    ConsentForm,
    ConsentWithdrawForm,
    DeactivateForm,
    EmptyForm,
    FamilyMemberFormSet,
    FamilyReferralForm,
    FamilySearchForm,
    IntakeCompleteForm,
    InterviewForm,
    MentorApplicationForm,
    MentorSearchForm,
    RecordCheckForm,
    ReferenceForm,
    SearchForm,
    SelfAssessmentForm,
    TrainingRecordForm,
    WaitingSearchForm,
    WithdrawForm,
    add_service_errors,
    country_name,
    programme_languages,
)
from mentoring.models import (
    ConsentPurpose,
    Family,
    Mentee,
    Mentor,
    Person,
    Programme,
    SelfAssessment,
    SelfAssessmentQuestion,
    TrainingRecord,
    User,
)
from mentoring.permissions import coordinated_programmes
from mentoring.selectors import (
    PIPELINE_STAGES,
    RECORD_CHECK_STAGES,
    family_get_for_user,
    family_list_visible_to,
    mentee_get_for_user,
    mentee_waiting_languages,
    mentee_waiting_search,
    mentor_get_for_user,
    mentor_pipeline,
    mentor_record_checks_due,
    mentor_search,
    mentor_stage_counts,
    mentor_unmatchable_reasons,
    mentor_with_record,
)
from mentoring.services import (
    RECORD_CHECK_WARNING,
    REFERENCES_NEEDED,
    consent_record,
    consent_withdraw,
    family_refer,
    mentee_intake_complete,
    mentee_intake_start,
    mentor_apply,
    mentor_approve,
    mentor_deactivate,
    mentor_interview_record,
    mentor_missing_for,
    mentor_reactivate,
    mentor_record_check_record,
    mentor_reference_record,
    mentor_screening_start,
    mentor_self_assessment_record,
    mentor_training_record,
    mentor_training_start,
    mentor_withdraw,
)
from mentoring.vocabulary import language_name

# Where each role starts. Administrators work in the admin site.
ROLE_HOME = {
    User.Role.COORDINATOR: "mentee-waiting-list",
    User.Role.MENTOR: "matching:my-matches",
    User.Role.MANAGER: "reports:dashboard",
}


def role_required(*roles: str) -> Callable:
    """Sign-in required, and the page exists only for ``roles``: anyone else gets 404, as for
    another programme's records (``domain.md``: not found, not forbidden). Administrators
    count as a role only when it is listed. A selector's ``NotFound`` becomes a 404 too."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            role = User.Role.ADMIN if user.is_admin else user.role
            if role not in roles:
                raise Http404
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc)) from exc

        return wrapped

    return decorator


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work starts."""
    if request.user.is_admin:
        return redirect("admin:index")
    url_name = ROLE_HOME.get(request.user.role)
    if url_name is None:
        raise Http404
    return redirect(url_name)


def preferred_language(person: Person) -> str:
    """Name of the person's preferred language (languages are prefetched by the selectors)."""
    languages = list(person.languages.all())
    preferred = next((pl for pl in languages if pl.is_preferred), languages[0] if languages else None)
    return language_name(preferred.language) if preferred else ""


@dataclass
class WaitingRow:
    mentee: Mentee
    days_waiting: int | None
    preferred_language: str


@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def mentee_page(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """A mentee's page with the suggested mentors, each with a Match button."""
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request)
    waiting = mentee.status == Mentee.Status.WAITING
    suggestions = mentor_suggestions_for_mentee(mentee=mentee) if waiting else []
    today = timezone.localdate()
    return render(
        request,
        "mentoring/mentee_detail.html",
        {
            "mentee": mentee,
            "waiting": waiting,
            "days_waiting": (today - mentee.waiting_since).days if mentee.waiting_since else None,
            "section": "waiting",
            "languages": [
                {
                    "name": language_name(pl.language),
                    "level": pl.get_level_display(),
                    "preferred": pl.is_preferred,
                }
                for pl in mentee.person.languages.all()
            ],
            "suggestions": [
                {
                    "mentor": s.mentor,
                    "score": s.score,
                    "reasons": s.reasons,
                    "free_places": s.mentor.capacity - s.mentor.open_matches,
                    "languages": [language_name(pl.language) for pl in s.mentor.person.languages.all()],
                    "form": MatchCreateForm(
                        user=request.user, mentee=mentee, initial={"mentor": s.mentor.pk}
                    ),
                }
                for s in suggestions
            ],
        },
    )


# Record pages -------------------------------------------------------------------------------
#
# The coordinator's pages for the programme's records: the mentor pipeline and list, a mentor's
# case file with the lifecycle step forms valid at its stage, family referral and intake. Every
# write goes through a service; its ``ValidationError`` is shown on the form that caused it,
# with what was typed kept (status 422), and a success redirects (post/redirect/get).

COORDINATORS = (User.Role.COORDINATOR, User.Role.ADMIN)
PAGE_SIZE = 50
BOARD_CARDS_PER_STAGE = 20


def _programmes(user: User) -> list[Programme]:
    return list(coordinated_programmes(user=user).order_by("name"))


def _page(request: HttpRequest, queryset) -> Page:
    """One page of a list; the database does the paging (LIMIT/OFFSET and one COUNT)."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _list_template(request: HttpRequest, full: str, results: str) -> str:
    """An HTMX search request gets only the results; anything else the whole page."""
    return results if request.htmx and not request.htmx.boosted else full


def _programme_for_form(request: HttpRequest) -> tuple[Programme | None, list[Programme]]:
    """The programme a new record goes into: the only one the coordinator coordinates, or the
    one chosen with ``?programme=`` (another programme's id is not found)."""
    programmes = _programmes(request.user)
    chosen = request.GET.get("programme")
    if chosen:
        programme = next((p for p in programmes if str(p.pk) == chosen), None)
        if programme is None:
            raise Http404
        return programme, programmes
    return (programmes[0] if len(programmes) == 1 else None), programmes


def _days_since(day: datetime.date | None, today: datetime.date) -> int | None:
    return (today - day).days if day else None


# Waiting list


@role_required(*COORDINATORS)
def mentee_waiting_list_page(request: HttpRequest) -> HttpResponse:
    """Mentees waiting for a mentor, longest wait first; searchable and filterable."""
    today = timezone.localdate()
    form = WaitingSearchForm(
        request.GET,
        programmes=_programmes(request.user),
        languages=mentee_waiting_languages(user=request.user),
    )
    page = _page(request, mentee_waiting_search(user=request.user, filters=form.filters()))
    rows = [
        WaitingRow(
            mentee=mentee,
            days_waiting=_days_since(mentee.waiting_since, today),
            preferred_language=preferred_language(mentee.person),
        )
        for mentee in page
    ]
    show_programme = "programme" in form.fields
    return render(
        request,
        _list_template(request, "mentoring/waiting_list.html", "mentoring/_waiting_results.html"),
        {
            "rows": rows,
            "page_obj": page,
            "form": form,
            "show_programme": show_programme,
            "section": "waiting",
        },
    )


# Mentors: the pipeline board and the list


NEXT_STAGE = {
    Mentor.Status.SCREENING: Mentor.Status.TRAINING,
    Mentor.Status.TRAINING: Mentor.Status.APPROVED,
    Mentor.Status.INACTIVE: Mentor.Status.APPROVED,
}
STAGE_HEADINGS = {
    Mentor.Status.APPLIED: (gettext_lazy("Applied"), gettext_lazy("Waiting for screening to start.")),
    Mentor.Status.SCREENING: (
        gettext_lazy("Screening"),
        gettext_lazy("Interview, two references and a record check."),
    ),
    Mentor.Status.TRAINING: (
        gettext_lazy("Training"),
        gettext_lazy("Course, end-of-course test and self-assessment."),
    ),
    Mentor.Status.APPROVED: (
        gettext_lazy("Approved"),
        gettext_lazy("Can be matched while the check is valid and places are free."),
    ),
    Mentor.Status.ACTIVE: (gettext_lazy("Active"), gettext_lazy("Mentoring at least one mentee.")),
    Mentor.Status.INACTIVE: (
        gettext_lazy("Inactive"),
        gettext_lazy("On a break; reactivation needs screening still valid."),
    ),
}
NEXT_HEADINGS = {
    Mentor.Status.APPLIED: gettext_lazy("Next: screening"),
    Mentor.Status.SCREENING: gettext_lazy("Next: training"),
    Mentor.Status.TRAINING: gettext_lazy("Next: approval"),
    Mentor.Status.INACTIVE: gettext_lazy("Next: back to approved"),
}
NEEDS_HEADINGS = {
    Mentor.Status.SCREENING: gettext_lazy("For training, still needs:"),
    Mentor.Status.TRAINING: gettext_lazy("For approval, still needs:"),
    Mentor.Status.INACTIVE: gettext_lazy("To come back, needs:"),
}
READY_TEXT = {
    Mentor.Status.APPLIED: gettext_lazy("Next: start screening."),
    Mentor.Status.SCREENING: gettext_lazy("Screening complete: ready to start training."),
    Mentor.Status.TRAINING: gettext_lazy("Training complete: ready to approve."),
    Mentor.Status.INACTIVE: gettext_lazy("Can be reactivated."),
}


@dataclass
class RecordCheckNote:
    expires_on: datetime.date
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def _record_check_note(mentor: Mentor, today: datetime.date) -> RecordCheckNote | None:
    """Set when the mentor's check has expired or expires within the warning period."""
    expires = mentor.record_check_expires_on
    if expires is None or mentor.status not in RECORD_CHECK_STAGES or expires > today + RECORD_CHECK_WARNING:
        return None
    return RecordCheckNote(expires_on=expires, days_left=(expires - today).days)


@dataclass
class BoardCard:
    mentor: Mentor
    needs_heading: str
    missing: list[str]
    ready: str
    free_places: int | None
    record_check: RecordCheckNote | None


def _board_card(mentor: Mentor, today: datetime.date) -> BoardCard:
    next_stage = NEXT_STAGE.get(mentor.status)
    missing = mentor_missing_for(mentor=mentor, stage=next_stage, on=today) if next_stage else []
    matchable = mentor.status in Mentor.MATCHABLE_STATUSES
    return BoardCard(
        mentor=mentor,
        needs_heading=NEEDS_HEADINGS.get(mentor.status, ""),
        missing=missing,
        ready="" if missing else READY_TEXT.get(mentor.status, ""),
        free_places=max(mentor.capacity - len(mentor.open_match_list), 0) if matchable else None,
        record_check=_record_check_note(mentor, today),
    )


class PipelineFilterForm(SearchForm):
    """The board filters by programme only."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["q"]


@role_required(*COORDINATORS)
def mentor_pipeline_page(request: HttpRequest) -> HttpResponse:
    """One column per stage with what each mentor still lacks for the next one, and the
    record checks that have expired or expire within 60 days."""
    today = timezone.localdate()
    programmes = _programmes(request.user)
    form = PipelineFilterForm(request.GET, programmes=programmes)
    programme_id = form.filters().get("programme")
    board = mentor_pipeline(user=request.user, programme_id=programme_id, per_stage=BOARD_CARDS_PER_STAGE)
    counts = mentor_stage_counts(user=request.user, programme_id=programme_id)
    due = list(mentor_record_checks_due(user=request.user, programme_id=programme_id, on=today)[:11])
    columns = [
        {
            "stage": stage,
            "title": STAGE_HEADINGS[stage][0],
            "hint": STAGE_HEADINGS[stage][1],
            "count": counts.get(stage, 0),
            "cards": [_board_card(mentor, today) for mentor in board[stage]],
        }
        for stage in PIPELINE_STAGES
    ]
    return render(
        request,
        "mentoring/mentor_pipeline.html",
        {
            "form": form,
            "columns": columns,
            "programme_id": programme_id,
            "due": [(mentor, _record_check_note(mentor, today)) for mentor in due[:10]],
            "more_due": len(due) > 10,
            "show_programme": len(programmes) > 1 and not programme_id,
            "section": "mentors",
        },
    )


@role_required(*COORDINATORS)
def mentor_list_page(request: HttpRequest) -> HttpResponse:
    """Every mentor of the coordinator's programmes, by name, 50 a page."""
    today = timezone.localdate()
    programmes = _programmes(request.user)
    form = MentorSearchForm(request.GET, programmes=programmes, status_choices=Mentor.Status.choices)
    page = _page(request, mentor_search(user=request.user, filters=form.filters()))
    rows = [
        {
            "mentor": mentor,
            "preferred_language": preferred_language(mentor.person),
            "record_check": _record_check_note(mentor, today),
        }
        for mentor in page
    ]
    return render(
        request,
        _list_template(request, "mentoring/mentor_list.html", "mentoring/_mentor_results.html"),
        {
            "form": form,
            "rows": rows,
            "page_obj": page,
            "show_programme": len(programmes) > 1,
            "section": "mentors",
        },
    )


# Mentors: application


@role_required(*COORDINATORS)
def mentor_apply_page(request: HttpRequest) -> HttpResponse:
    programme, programmes = _programme_for_form(request)
    if programme is None:
        return render(
            request,
            "mentoring/choose_programme.html",
            {"programmes": programmes, "title": _("New mentor application"), "section": "mentors"},
        )
    languages = programme_languages(programme)
    if request.method == "POST":
        form = MentorApplicationForm(request.POST, programme=programme, languages=languages)
        if form.is_valid():
            try:
                mentor = mentor_apply(
                    programme=programme,
                    person=form.person_spec(),
                    capacity=form.cleaned_data["capacity"],
                    recorded_by=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc, form.field_for)
            else:
                messages.success(
                    request,
                    _("The application of %(name)s is recorded. Next: start screening.")
                    % {"name": mentor.person.full_name},
                )
                return redirect("mentor-detail", mentor_id=mentor.pk)
        status = 422
    else:
        form = MentorApplicationForm(programme=programme, languages=languages)
        status = 200
    return render(
        request,
        "mentoring/mentor_apply.html",
        {
            "form": form,
            "programme": programme,
            "several_programmes": len(programmes) > 1,
            "section": "mentors",
        },
        status=status,
    )


# Mentors: the case file and its lifecycle steps


@dataclass(frozen=True)
class Step:
    """A form on a mentor's case file: when it is offered, how its form is built
    (``form(data, mentor=..., prefix=...)``) and the service call it makes, which returns
    the message shown once it worked. The services decide; ``offered`` only chooses which
    forms the page shows."""

    slug: str
    button: str
    offered: Callable[[Mentor], bool]
    form: Callable[..., forms.Form]
    run: Callable[[Mentor, forms.Form, User], str]

    @property
    def key(self) -> str:
        return self.slug.replace("-", "_")

    def build(self, mentor: Mentor, data=None) -> forms.Form:
        return self.form(data, mentor=mentor, prefix=self.slug)


def _plain(form_class: type[forms.Form]) -> Callable[..., forms.Form]:
    """A step form that needs nothing from the mentor."""
    return lambda data, *, mentor, prefix: form_class(data, prefix=prefix)


def _self_assessment_form(data, *, mentor: Mentor, prefix: str) -> forms.Form:
    return SelfAssessmentForm(data, programme=mentor.programme, prefix=prefix)


def _at(*stages: str) -> Callable[[Mentor], bool]:
    return lambda mentor: mentor.status in stages


NOT_WITHDRAWN = tuple(s for s in Mentor.Status.values if s != Mentor.Status.WITHDRAWN)


def _run_start_screening(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_screening_start(mentor=mentor, by=user)
    return _("Screening started.")


def _run_interview(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_interview_record(mentor=mentor, interviewed_on=form.cleaned_data["interviewed_on"], by=user)
    return _("Interview recorded.")


def _run_reference(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_reference_record(mentor=mentor, by=user, **form.cleaned_data)
    return _("Reference recorded.")


def _run_record_check(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_record_check_record(mentor=mentor, by=user, **form.cleaned_data)
    return _("Record check recorded.")


def _run_start_training(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_training_start(mentor=mentor, by=user)
    return _("Screening complete: training started.")


def _run_training_record(mentor: Mentor, form: forms.Form, user: User) -> str:
    record = mentor_training_record(mentor=mentor, by=user, **form.cleaned_data)
    if record.passed:
        return _("Training recorded: test passed with %(score)s %%.") % {"score": record.test_score}
    return _("Training recorded: %(score)s %% is below the pass mark of %(mark)s %%.") % {
        "score": record.test_score,
        "mark": TrainingRecord.PASS_MARK,
    }


def _run_self_assessment(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_self_assessment_record(
        mentor=mentor, stage=SelfAssessment.Stage.START, answers=form.answers(), by=user
    )
    return _("Self-assessment recorded.")


def _run_approve(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_approve(mentor=mentor, by=user)
    return _("%(name)s is approved and can now be matched.") % {"name": mentor.person.full_name}


def _run_deactivate(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_deactivate(mentor=mentor, by=user, note=form.cleaned_data["note"])
    return _("The mentor is now inactive.")


def _run_reactivate(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_reactivate(mentor=mentor, by=user)
    return _("The mentor is approved again.")


def _run_withdraw(mentor: Mentor, form: forms.Form, user: User) -> str:
    mentor_withdraw(mentor=mentor, by=user, reason=form.cleaned_data["reason"])
    return _("The mentor has withdrawn.")


def _run_consent(person: Person, form: forms.Form, user: User) -> str:
    consent_record(person=person, recorded_by=user, **form.cleaned_data)
    return _("Consent recorded.")


def _run_consent_withdraw(person: Person, form: forms.Form, user: User) -> str:
    consent_withdraw(consent=form.cleaned_data["consent"], withdrawn_by=user)
    return _("Consent withdrawn: the data it covered is no longer used for that purpose.")


def _has_no_start_assessment(mentor: Mentor) -> bool:
    return mentor.status == Mentor.Status.TRAINING and not any(
        sa.stage == SelfAssessment.Stage.START for sa in mentor.self_assessments.all()
    )


MENTOR_STEPS = {
    step.slug: step
    for step in (
        Step(
            "start-screening",
            gettext_lazy("Start screening"),
            _at(Mentor.Status.APPLIED),
            _plain(EmptyForm),
            _run_start_screening,
        ),
        Step(
            "interview",
            gettext_lazy("Record interview"),
            _at(Mentor.Status.SCREENING),
            _plain(InterviewForm),
            _run_interview,
        ),
        Step(
            "reference",
            gettext_lazy("Add reference"),
            _at(Mentor.Status.SCREENING),
            _plain(ReferenceForm),
            _run_reference,
        ),
        Step(
            "record-check",
            gettext_lazy("Record check"),
            _at(*NOT_WITHDRAWN),
            _plain(RecordCheckForm),
            _run_record_check,
        ),
        Step(
            "start-training",
            gettext_lazy("Start training"),
            _at(Mentor.Status.SCREENING),
            _plain(EmptyForm),
            _run_start_training,
        ),
        Step(
            "training-record",
            gettext_lazy("Add training record"),
            _at(Mentor.Status.TRAINING),
            _plain(TrainingRecordForm),
            _run_training_record,
        ),
        Step(
            "self-assessment",
            gettext_lazy("Save self-assessment"),
            _has_no_start_assessment,
            _self_assessment_form,
            _run_self_assessment,
        ),
        Step(
            "approve", gettext_lazy("Approve"), _at(Mentor.Status.TRAINING), _plain(EmptyForm), _run_approve
        ),
        Step(
            "deactivate",
            gettext_lazy("Make inactive"),
            _at(Mentor.Status.APPROVED, Mentor.Status.ACTIVE),
            _plain(DeactivateForm),
            _run_deactivate,
        ),
        Step(
            "reactivate",
            gettext_lazy("Reactivate"),
            _at(Mentor.Status.INACTIVE),
            _plain(EmptyForm),
            _run_reactivate,
        ),
        Step("withdraw", gettext_lazy("Withdraw"), _at(*NOT_WITHDRAWN), _plain(WithdrawForm), _run_withdraw),
    )
}


def _mentor_page(
    request: HttpRequest, mentor: Mentor, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    mentor = mentor_with_record(mentor=mentor)
    today = timezone.localdate()
    next_stage = NEXT_STAGE.get(mentor.status)
    steps = {}
    for step in MENTOR_STEPS.values():
        if step.offered(mentor) or step.slug in bound:
            steps[step.key] = {
                "slug": step.slug,
                "id": f"step-{step.slug}",
                "button": step.button,
                "url": reverse("mentor-step", args=[mentor.pk, step.slug]),
                "form": bound.get(step.slug) or step.build(mentor),
            }
    person = mentor.person
    assessments = {sa.stage: sa for sa in mentor.self_assessments.all()}
    start_assessment = assessments.get(SelfAssessment.Stage.START)
    questions = {}
    if start_assessment:
        questions = {
            str(q.pk): q.text for q in SelfAssessmentQuestion.objects.filter(programme=mentor.programme_id)
        }
    consent_form = bound.get("consent") or ConsentForm(
        person=person,
        programme=mentor.programme,
        languages=programme_languages(mentor.programme),
        prefix=f"consent-{person.pk}",
    )
    return render(
        request,
        "mentoring/mentor_detail.html",
        {
            "mentor": mentor,
            "person": person,
            "steps": steps,
            "next_heading": NEXT_HEADINGS.get(mentor.status, ""),
            "missing": mentor_missing_for(mentor=mentor, stage=next_stage, on=today) if next_stage else [],
            "ready": READY_TEXT.get(mentor.status, ""),
            "unmatchable_reasons": mentor_unmatchable_reasons(mentor=mentor, on=today),
            "free_places": max(mentor.capacity - mentor.open_matches, 0),
            "record_check": _record_check_note(mentor, today),
            "languages": _language_rows(person),
            "country_of_birth": country_name(person.country_of_birth),
            "availability": _availability_labels(person.availability),
            "session_modes": [dict(MODE_CHOICES).get(mode, mode) for mode in person.session_modes],
            "references": list(mentor.references.all()),
            "satisfactory_references": sum(1 for ref in mentor.references.all() if ref.satisfactory),
            "references_needed": REFERENCES_NEEDED,
            "training_records": list(mentor.training_records.all()),
            "pass_mark": TrainingRecord.PASS_MARK,
            "start_assessment": start_assessment,
            "start_answers": [
                (questions.get(qid, qid), score)
                for qid, score in (start_assessment.answers.items() if start_assessment else [])
            ],
            "history": list(mentor.status_changes.all()),
            "consents": list(person.consents.all()),
            "consent_form": consent_form,
            "consent_url": reverse("mentor-step", args=[mentor.pk, "consent"]),
            "consent_withdraw_url": reverse("mentor-step", args=[mentor.pk, "consent-withdraw"]),
            "section": "mentors",
        },
        status=status,
    )


def _language_rows(person: Person) -> list[dict]:
    return [
        {"name": language_name(pl.language), "level": pl.get_level_display(), "preferred": pl.is_preferred}
        for pl in person.languages.all()
    ]


def _availability_labels(slots: list[str]) -> list[str]:
    labels = []
    for slot in slots:
        day, _sep, part = slot.partition("_")
        labels.append(f"{DAY_LABELS.get(day, day)} {DAY_PART_LABELS.get(part, part)}")
    return labels


@role_required(*COORDINATORS)
def mentor_detail_page(request: HttpRequest, mentor_id: int) -> HttpResponse:
    mentor = mentor_get_for_user(user=request.user, mentor_id=mentor_id, request=request)
    return _mentor_page(request, mentor)


@require_POST
@role_required(*COORDINATORS)
def mentor_step(request: HttpRequest, mentor_id: int, step: str) -> HttpResponse:
    """Run one lifecycle step (or record/withdraw a consent) from the mentor's page."""
    mentor = mentor_get_for_user(user=request.user, mentor_id=mentor_id, request=request)
    if step in ("consent", "consent-withdraw"):
        return _person_consent_step(
            request,
            person=mentor.person,
            programme=mentor.programme,
            step=step,
            prefix=f"consent-{mentor.person_id}",
            done=reverse("mentor-detail", args=[mentor.pk]),
            again=lambda bound: _mentor_page(request, mentor, bound=bound, status=422),
        )
    action = MENTOR_STEPS.get(step)
    if action is None:
        raise Http404
    form = action.build(mentor, request.POST)
    if form.is_valid():
        try:
            message = action.run(mentor, form, request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(reverse("mentor-detail", args=[mentor.pk]) + "#main")
    if not action.offered(mentor_with_record(mentor=mentor)):
        # A stale page: the form is not on the mentor's page any more, so say it at the top.
        for error in form.non_field_errors() or [_("This step is not possible at the mentor's stage.")]:
            messages.error(request, error)
        return redirect("mentor-detail", mentor_id=mentor.pk)
    return _mentor_page(request, mentor, bound={step: form}, status=422)


def _person_consent_step(
    request: HttpRequest,
    *,
    person: Person,
    programme: Programme,
    step: str,
    prefix: str,
    done: str,
    again: Callable[[dict], HttpResponse],
) -> HttpResponse:
    if step == "consent":
        form = ConsentForm(
            request.POST,
            person=person,
            programme=programme,
            languages=programme_languages(programme),
            prefix=prefix,
        )
        run = _run_consent
    else:
        form = ConsentWithdrawForm(request.POST, person=person)
        run = _run_consent_withdraw
    if form.is_valid():
        try:
            message = run(person, form, request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(done)
    if step == "consent-withdraw":
        # Nothing was typed: a consent already withdrawn on a stale page is said at the top.
        for error in form.errors.values():
            for message in error:
                messages.error(request, message)
        return redirect(done)
    return again({"consent": form})


# Families


@role_required(*COORDINATORS)
def family_list_page(request: HttpRequest) -> HttpResponse:
    programmes = _programmes(request.user)
    form = FamilySearchForm(request.GET, programmes=programmes, status_choices=Mentee.Status.choices)
    page = _page(request, family_list_visible_to(user=request.user, filters=form.filters()))
    return render(
        request,
        _list_template(request, "mentoring/family_list.html", "mentoring/_family_results.html"),
        {"form": form, "page_obj": page, "show_programme": len(programmes) > 1, "section": "families"},
    )


def _referral_field_for(key: str) -> str | None:
    # The family's only unique rule is its reference within the programme.
    return "reference" if key == "__all__" else key


@role_required(*COORDINATORS)
def family_refer_page(request: HttpRequest) -> HttpResponse:
    """Refer a family with its parents and pupils (``family_refer``: all or nothing)."""
    programme, programmes = _programme_for_form(request)
    if programme is None:
        return render(
            request,
            "mentoring/choose_programme.html",
            {"programmes": programmes, "title": _("Refer a family"), "section": "families"},
        )
    languages = programme_languages(programme)
    member_kwargs = {"languages": languages}
    if request.method == "POST":
        form = FamilyReferralForm(request.POST, programme=programme, languages=languages)
        members = FamilyMemberFormSet(request.POST, prefix="members", form_kwargs=member_kwargs)
        if form.is_valid() and members.is_valid():
            filled = members.filled_forms()
            consent_language = form.cleaned_data["consent_language"]
            data = {k: v for k, v in form.cleaned_data.items() if k != "consent_language"}
            try:
                family = family_refer(
                    programme=programme,
                    members=[member.member_spec(consent_language=consent_language) for member in filled],
                    recorded_by=request.user,
                    **data,
                )
            except ValidationError as exc:
                _add_referral_errors(form, members, filled, exc)
            else:
                messages.success(
                    request,
                    _("Family %(reference)s is referred. Next: the intake of each member.")
                    % {"reference": family.reference},
                )
                return redirect("family-detail", family_id=family.pk)
        status = 422
    else:
        form = FamilyReferralForm(programme=programme, languages=languages)
        members = FamilyMemberFormSet(prefix="members", form_kwargs=member_kwargs)
        status = 200
    schools = list(programme.schools.values_list("name", flat=True))
    return render(
        request,
        "mentoring/family_refer.html",
        {
            "form": form,
            "members": members,
            "programme": programme,
            "schools": schools,
            "several_programmes": len(programmes) > 1,
            "section": "families",
        },
        status=status,
    )


def _add_referral_errors(form, members, filled: list, exc: ValidationError) -> None:
    """``family_refer`` names a member's errors ``members.<i>.<field>``, ``i`` counting the
    members sent; put each on the slot it came from."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.error_dict.items():
        parts = key.split(".", 2)
        if parts[0] == "members" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(filled):
            member = filled[int(parts[1])]
            name = member.field_for(parts[2] if len(parts) > 2 else "")
            member.add_error(name if name in member.fields else None, errors)
        elif parts[0] == "members":
            members.non_form_errors().extend(message for error in errors for message in error.messages)
        else:
            name = _referral_field_for(key)
            form.add_error(name if name in form.fields else None, errors)


MEMBER_STEPS = {
    "intake-start": (gettext_lazy("Start intake"), (Mentee.Status.REFERRED,)),
    "intake-complete": (gettext_lazy("Complete intake"), (Mentee.Status.REFERRED, Mentee.Status.INTAKE)),
}


def _family_page(
    request: HttpRequest, family: Family, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    """``bound`` holds a form that failed, keyed by (mentee id, step)."""
    bound = bound or {}
    languages = programme_languages(family.programme)
    today = timezone.localdate()
    members = []
    for mentee in family.mentees.all():
        person = mentee.person
        steps = {}
        for slug, (button, stages) in MEMBER_STEPS.items():
            if mentee.status in stages or (mentee.pk, slug) in bound:
                form_class = IntakeCompleteForm if slug == "intake-complete" else EmptyForm
                steps[slug.replace("-", "_")] = {
                    "slug": slug,
                    "id": f"m{mentee.pk}-{slug}",
                    "button": button,
                    "url": reverse("family-member-step", args=[family.pk, mentee.pk, slug]),
                    "form": bound.get((mentee.pk, slug)) or form_class(prefix=f"m{mentee.pk}-{slug}"),
                }
        has_case_consent = any(
            c.is_active and c.purpose == ConsentPurpose.CASE_MANAGEMENT for c in person.consents.all()
        )
        members.append(
            {
                "mentee": mentee,
                "anchor": f"member-{mentee.pk}",
                "consent_open": not has_case_consent and mentee.status in MEMBER_STEPS["intake-complete"][1],
                "person": person,
                "languages": _language_rows(person),
                "consents": list(person.consents.all()),
                "has_case_consent": has_case_consent,
                "days_waiting": _days_since(mentee.waiting_since, today)
                if mentee.status == Mentee.Status.WAITING
                else None,
                "steps": steps,
                "consent_form": bound.get((mentee.pk, "consent"))
                or ConsentForm(
                    person=person,
                    programme=family.programme,
                    languages=languages,
                    prefix=f"consent-{person.pk}",
                ),
                "consent_url": reverse("family-member-step", args=[family.pk, mentee.pk, "consent"]),
                "consent_withdraw_url": reverse(
                    "family-member-step", args=[family.pk, mentee.pk, "consent-withdraw"]
                ),
            }
        )
    return render(
        request,
        "mentoring/family_detail.html",
        {"family": family, "members": members, "section": "families"},
        status=status,
    )


@role_required(*COORDINATORS)
def family_detail_page(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get_for_user(user=request.user, family_id=family_id, request=request)
    return _family_page(request, family)


@require_POST
@role_required(*COORDINATORS)
def family_member_step(request: HttpRequest, family_id: int, mentee_id: int, step: str) -> HttpResponse:
    """Intake steps and consent of one member, from the family's page."""
    # The write is audited by the service; the page shown after it audits its read.
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request, audit=False)
    if mentee.family_id != family_id:
        raise Http404
    done = reverse("family-detail", args=[family_id]) + f"#member-{mentee.pk}"

    def again(bound: dict) -> HttpResponse:
        family = family_get_for_user(user=request.user, family_id=family_id, request=request)
        return _family_page(request, family, bound={(mentee.pk, k): v for k, v in bound.items()}, status=422)

    if step in ("consent", "consent-withdraw"):
        return _person_consent_step(
            request,
            person=mentee.person,
            programme=mentee.programme,
            step=step,
            prefix=f"consent-{mentee.person_id}",
            done=done,
            again=again,
        )
    if step not in MEMBER_STEPS:
        raise Http404
    form_class = IntakeCompleteForm if step == "intake-complete" else EmptyForm
    form = form_class(request.POST, prefix=f"m{mentee.pk}-{step}")
    if form.is_valid():
        try:
            if step == "intake-start":
                mentee_intake_start(mentee=mentee, by=request.user)
                message = _("Intake started for %(name)s.")
            else:
                mentee_intake_complete(
                    mentee=mentee, needs_assessment=form.cleaned_data["needs_assessment"], by=request.user
                )
                message = _("Intake complete: %(name)s is on the waiting list.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message % {"name": mentee.person.full_name})
            return redirect(done)
    mentee.refresh_from_db(fields=["status"])
    if mentee.status not in MEMBER_STEPS[step][1]:
        for error in form.non_field_errors() or [_("This step is not possible at the member's stage.")]:
            messages.error(request, error)
        return redirect(done)
    return again({step: form})
