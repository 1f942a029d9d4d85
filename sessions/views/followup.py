"""Pages of a mentee's follow-up: the family's check-in page (public, through its link), the
mentor's check-in pages, and the mentee's timeline with its forms and outcome charts.

The forms live here rather than in ``sessions/forms.py`` because only these pages use them.
"""

from __future__ import annotations

import pycountry
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mentoring.audit import audit_record
from mentoring.models import AuditEvent, User
from mentoring.selectors import mentee_get_for_user
from mentoring.views import role_required
from sessions.models import CheckIn, Goal, OutcomeInstrument, OutcomeMeasure, OutcomeStage, Topic
from sessions.selectors.followup import (
    checkin_get_for_family,
    checkin_get_for_user,
    checkin_list_visible_to,
    goal_get_for_user,
    mentee_timeline,
)
from sessions.selectors.logs import session_topics_for
from sessions.services.checkins import QUESTIONS, checkin_answer
from sessions.services.goals import goal_create, goal_progress_record, goal_user_may_add
from sessions.services.outcomes import outcome_measure_record

# --- Forms -----------------------------------------------------------------------------------

SCORE_CHOICES = [
    (1, gettext_lazy("1 – not at all")),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (5, gettext_lazy("5 – fully")),
]


class CheckInForm(forms.Form):
    """The five statements; ``family`` adds the private box for the coordinator."""

    comment = forms.CharField(
        label=gettext_lazy("Anything you would like to add?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, family: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for code, label in QUESTIONS:
            self.fields[code] = forms.TypedChoiceField(
                label=label, choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
            )
        self.fields["comment"] = self.fields.pop("comment")  # after the questions
        if family:
            self.fields["uncertain"] = forms.BooleanField(
                label=gettext_lazy("I feel uncertain about this match — tell the coordinator only"),
                required=False,
            )
            self.fields["private_note"] = forms.CharField(
                label=gettext_lazy("A note for the coordinator only (optional)"),
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def answer_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "answers": {code: data[code] for code, _label in QUESTIONS},
            "comment": data.get("comment", ""),
            "uncertain": data.get("uncertain", False),
            "private_note": data.get("private_note", ""),
        }


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        name = name.removeprefix("answers.")
        form.add_error(name if name in form.fields else None, errors)


class OutcomeMeasureForm(forms.Form):
    instrument = forms.ModelChoiceField(
        queryset=OutcomeInstrument.objects.none(), label=gettext_lazy("Measure")
    )
    stage = forms.ChoiceField(choices=OutcomeStage.choices, label=gettext_lazy("Stage"))
    value = forms.DecimalField(max_digits=6, decimal_places=2, label=gettext_lazy("Score"))
    measured_on = forms.DateField(
        label=gettext_lazy("Measured on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, instruments, **kwargs) -> None:
        super().__init__(*args, prefix="measure", **kwargs)
        self.fields["instrument"].queryset = instruments


class GoalForm(forms.Form):
    description = forms.CharField(max_length=300, label=gettext_lazy("Goal"))
    agreed_on = forms.DateField(
        label=gettext_lazy("Agreed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    target_on = forms.DateField(
        label=gettext_lazy("Target date (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="goal", **kwargs)


class GoalProgressForm(forms.Form):
    goal = forms.IntegerField(widget=forms.HiddenInput)
    progress = forms.IntegerField(min_value=0, max_value=100, label=gettext_lazy("Progress (%)"))
    recorded_on = forms.DateField(label=gettext_lazy("On"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("Note (optional)"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="progress", **kwargs)


# --- The family's check-in page (public) -----------------------------------------------------


def _unavailable(request: HttpRequest) -> HttpResponse:
    # Audited without the token: the trail must not hold a key that opens the page.
    audit_record(
        user=AnonymousUser(),
        action=AuditEvent.Action.DENIED,
        object_type=CheckIn._meta.label,
        request=request,
    )
    return render(request, "sessions/checkin_unavailable.html", status=404)


def _page_language(code: str) -> str:
    """The language the family's page is shown in: the check-in's, written as the interface
    writes it when it is one of the interface's ("ron" → "ro"); any other as it is (Django then
    shows what it can in it, the rest in the default language)."""
    supported = {language for language, _name in settings.LANGUAGES}
    if code in supported or len(code) != 3:
        return code
    record = pycountry.languages.get(alpha_3=code)
    alpha_2 = getattr(record, "alpha_2", None)
    return alpha_2 if alpha_2 in supported else code


def checkin_family_page(request: HttpRequest, token: str) -> HttpResponse:
    """The family answers here, through their personal link, without an account, in their own
    language. A used or unknown link answers 404 with a friendly page."""
    checkin = checkin_get_for_family(token=token)
    if checkin is None:
        return _unavailable(request)
    language = _page_language(checkin.language)
    with translation.override(language):
        if request.method == "POST":
            form = CheckInForm(request.POST, family=True)
            if form.is_valid():
                try:
                    checkin_answer(checkin=checkin, user=None, request=request, **form.answer_kwargs())
                except ValidationError as exc:
                    if getattr(exc, "code", None) == "already_answered":
                        return _unavailable(request)
                    _add_service_errors(form, exc)
                else:
                    return render(request, "sessions/checkin_thanks.html", {"checkin": checkin})
            status = 422
        else:
            form = CheckInForm(family=True)
            status = 200
        response = render(
            request, "sessions/checkin_family.html", {"form": form, "checkin": checkin}, status=status
        )
        response["Content-Language"] = language
    return response


# --- The mentor's check-in pages -------------------------------------------------------------


@role_required(User.Role.MENTOR)
def checkin_mentor_list_page(request: HttpRequest) -> HttpResponse:
    checkins = checkin_list_visible_to(user=request.user).select_related("match__mentee__person")
    return render(request, "sessions/checkin_list.html", {"checkins": checkins})


@role_required(User.Role.MENTOR)
def checkin_mentor_page(request: HttpRequest, checkin_id: int) -> HttpResponse:
    """The mentor answers their own check-in (never a family's: the selector does not give it)."""
    checkin = checkin_get_for_user(user=request.user, checkin_id=checkin_id, request=request)
    if checkin.match.mentor.user_id != request.user.pk:
        raise Http404
    form = None
    status = 200
    if checkin.answered_at is None:
        if request.method == "POST":
            form = CheckInForm(request.POST, family=False)
            if form.is_valid():
                try:
                    checkin_answer(
                        checkin=checkin, user=request.user, request=request, **form.answer_kwargs()
                    )
                except ValidationError as exc:
                    _add_service_errors(form, exc)
                else:
                    messages.success(request, _("Thank you! Your check-in is saved."))
                    return redirect("sessions:checkin-mentor-list")
            status = 422
        else:
            form = CheckInForm(family=False)
    labels = dict(QUESTIONS)
    answered = [(labels[code], score) for code, score in checkin.answers.items() if code in labels]
    return render(
        request,
        "sessions/checkin_mentor.html",
        {"checkin": checkin, "form": form, "answered": answered},
        status=status,
    )


# --- The mentee's timeline -------------------------------------------------------------------


def _number(value: float) -> str:
    """A score as the chart writes it (``3``, ``2.5``), with the reader's decimal separator."""
    return f"{value:g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def outcome_chart(*, instrument: OutcomeInstrument, measures: list[OutcomeMeasure]) -> SafeString:
    """One instrument's line, baseline → midway → closure, as an ``<svg role="img">`` with a
    title and a description in words (the page shows a table of the same values too).
    ``reports.charts.line_chart`` draws shares of 0–1; a score scale needs its own axis."""
    stages = list(OutcomeStage)
    by_stage = {m.stage: m for m in measures}
    low, high = float(instrument.scale_min), float(instrument.scale_max)
    left, top, plot_w, plot_h = 44, 14, 300, 120
    width, height = left + plot_w + 24, top + plot_h + 34

    def px(i: int) -> float:
        return left + plot_w * i / (len(stages) - 1)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    body = []
    for tick in (low, (low + high) / 2, high):
        y = py(tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d8dce5"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="#4a5468">'
            f"{escape(_number(tick))}</text>"
        )
    points = []
    for i, stage in enumerate(stages):
        body.append(
            f'<text x="{px(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle" font-size="10" '
            f'fill="#4a5468">{escape(str(stage.label).split(" (")[0])}</text>'
        )
        if stage.value in by_stage:
            value = float(by_stage[stage.value].value)
            points.append(f"{px(i):.1f},{py(value):.1f}")
            body.append(f'<circle cx="{px(i):.1f}" cy="{py(value):.1f}" r="4" fill="#2f5d8a"/>')
            body.append(
                f'<text x="{px(i):.1f}" y="{py(value) - 8:.1f}" text-anchor="middle" font-size="11" '
                f'font-weight="600" fill="#1d2433">{escape(_number(value))}</text>'
            )
    if len(points) > 1:
        line = " ".join(points)
        body.insert(0, f'<polyline points="{line}" fill="none" stroke="#2f5d8a" stroke-width="2"/>')
    described = [
        f"{str(stage.label).split(' (')[0]} {_number(float(by_stage[stage.value].value))}"
        if stage.value in by_stage
        else f"{str(stage.label).split(' (')[0]} " + _("not measured")
        for stage in stages
    ]
    direction = _("higher is better") if instrument.higher_is_better else _("lower is better")
    scale = _("scale")
    desc = f"{'; '.join(described)} ({scale} {_number(low)}–{_number(high)}, {direction})"
    uid = f"outcome-{instrument.pk}"
    return mark_safe(  # noqa: S308 - every text above goes through escape()  # nosec B308, B703
        f'<svg class="chart chart--outcome" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{uid}-title {uid}-desc" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{uid}-title">{escape(instrument.name)}</title>'
        f'<desc id="{uid}-desc">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


def _save(form: forms.Form, write) -> bool:
    """Call the service; its errors land on the form's fields. True when saved."""
    try:
        write()
    except ValidationError as exc:
        _add_service_errors(form, exc)
        return False
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return False
    return True


@role_required(User.Role.COORDINATOR, User.Role.ADMIN, User.Role.MENTOR)
def mentee_timeline_page(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """Sessions, outcome measures, goals (and, for coordinators, check-ins) of one mentee in
    date order, a chart per instrument, and the forms to add to them. For the programme's
    coordinators and the mentee's current mentor; the read is audited."""
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request)
    user = request.user
    instruments = OutcomeInstrument.objects.filter(programme_id=mentee.programme_id)
    today = timezone.localdate()
    measure_form = OutcomeMeasureForm(instruments=instruments, initial={"measured_on": today})
    goal_form = GoalForm(initial={"agreed_on": today})
    progress_form = None
    status = 200
    may_add = goal_user_may_add(user=user, mentee=mentee)

    if request.method == "POST" and may_add:
        kind = request.POST.get("form")
        saved = False
        if kind == "measure":
            measure_form = OutcomeMeasureForm(request.POST, instruments=instruments)
            if measure_form.is_valid():
                data = measure_form.cleaned_data
                saved = _save(
                    measure_form,
                    lambda: outcome_measure_record(mentee=mentee, recorded_by=user, request=request, **data),
                )
        elif kind == "goal":
            goal_form = GoalForm(request.POST)
            if goal_form.is_valid():
                data = goal_form.cleaned_data
                saved = _save(
                    goal_form, lambda: goal_create(mentee=mentee, created_by=user, request=request, **data)
                )
        elif kind == "progress":
            progress_form = GoalProgressForm(request.POST)
            if progress_form.is_valid():
                data = dict(progress_form.cleaned_data)
                goal = goal_get_for_user(user=user, goal_id=data.pop("goal"), request=request)
                if goal.mentee_id != mentee.pk:
                    raise Http404
                saved = _save(
                    progress_form,
                    lambda: goal_progress_record(goal=goal, recorded_by=user, request=request, **data),
                )
        else:
            raise Http404
        if saved:
            messages.success(request, _("Saved."))
            return redirect("sessions:mentee-timeline", mentee_id=mentee.pk)
        status = 422
    elif request.method == "POST":
        raise Http404

    timeline = mentee_timeline(user=user, mentee=mentee)
    labels = dict(QUESTIONS)
    topics = {**dict(Topic.choices), **dict(session_topics_for(mentee.programme))}
    for entry in timeline.entries:
        if entry.kind == "session":
            entry.topic_labels = [topics.get(code, code) for code in entry.record.topics]
        elif entry.kind == "checkin":
            entry.scores = [(labels[c], s) for c, s in entry.record.answers.items() if c in labels]
    measures_by_instrument: dict[int, list[OutcomeMeasure]] = {}
    for measure in timeline.measures:
        measures_by_instrument.setdefault(measure.instrument_id, []).append(measure)
    charts = [
        {
            "instrument": instrument,
            "svg": outcome_chart(instrument=instrument, measures=measures_by_instrument[instrument.pk]),
            "measures": measures_by_instrument[instrument.pk],
        }
        for instrument in timeline.instruments
        if instrument.pk in measures_by_instrument
    ]
    open_goals = [g for g in timeline.goals if g.status != Goal.Status.DROPPED]
    return render(
        request,
        "sessions/timeline.html",
        {
            "mentee": mentee,
            "entries": timeline.entries,
            "charts": charts,
            "open_goals": open_goals,
            "measure_form": measure_form if instruments else None,
            "goal_form": goal_form,
            "progress_form": progress_form,
            "may_add": may_add,
            "is_coordinator": user.is_admin or user.role == User.Role.COORDINATOR,
            "section": "waiting" if user.role != User.Role.MENTOR else "",
            "today": today,
        },
        status=status,
    )
