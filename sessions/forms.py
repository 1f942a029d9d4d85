"""The mentor's session-log form. It checks only the shape of the input; the rules (no future
dates, nothing before the match started, only the match's mentor) live in
``sessions.services.session_log_create`` and come back as this form's errors."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from matching.models import Match
from mentoring.vocabulary import language_name
from sessions.models import Participant, SessionMode, Topic


def _language_codes(match: Match) -> list[str]:
    """The languages a session of this match could be held in: the mentee's (preferred
    first), then the mentor's, then the school language."""
    codes: list[str] = []
    for person in (match.mentee.person, match.mentor.person):
        codes += [pl.language for pl in person.languages.all()]
    codes.append(match.programme.local_language)
    return list(dict.fromkeys(codes))


class SessionLogForm(forms.Form):
    held_on = forms.DateField(
        label=_("Date of the session"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration in minutes"),
        min_value=5,
        max_value=600,
        help_text=_("From 5 to 600 minutes."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 5}),
    )
    mode = forms.ChoiceField(
        label=_("How did you meet?"), choices=SessionMode.choices, widget=forms.RadioSelect
    )
    participants = forms.MultipleChoiceField(
        label=_("Who took part?"),
        choices=Participant.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        choices=Topic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(label=_("Language used"))
    interpreter_used = forms.BooleanField(label=_("An interpreter helped"), required=False)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        help_text=_("Private: only you and the programme's coordinators can read them."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    follow_ups = forms.CharField(
        label=_("Follow-ups"),
        required=False,
        help_text=_("What you or the family will do before the next session."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Made when the form is first shown and kept through error pages, so a double tap or a
    # retry after a dropped connection stores one log (see ``session_log_create``).
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, match: Match, **kwargs) -> None:
        today = timezone.localdate()
        preferred = next((pl.language for pl in match.mentee.person.languages.all() if pl.is_preferred), None)
        kwargs.setdefault(
            "initial",
            {
                "held_on": today,
                "mode": SessionMode.IN_PERSON,
                "language": preferred or match.programme.local_language,
                "participants": [match.mentee.kind] if match.mentee.kind in Participant.values else [],
                "idempotency_key": uuid.uuid4(),
            },
        )
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [(code, language_name(code)) for code in _language_codes(match)]
        # Hints for the phone's date picker; the service holds the rule itself.
        held_on = self.fields["held_on"].widget.attrs
        held_on["max"] = today.isoformat()
        if match.started_on:
            held_on["min"] = match.started_on.isoformat()
