"""The mentor's session-log form (new log and correction). It checks only the shape of the
input; the rules (no future dates, nothing before the match started, only the match's mentor,
the edit window, the family of shared logs) live in ``sessions.services.logs`` and come back
as this form's errors.

The programme decides the topics offered and the optional fields shown
(``sessions.selectors.logs``). The constraint attributes (``required``, ``min``, ``max``,
``maxlength``, ``data-required-group``) let ``static/js/session-log.js`` point at a mistake
while the mentor types; the server checks everything again."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from matching.models import Match
from mentoring.vocabulary import language_name
from sessions.models import Concern, Participant, SessionLog, SessionMode
from sessions.selectors.logs import (
    session_hidden_fields_for,
    session_log_defaults_for,
    session_log_family_matches,
    session_topics_for,
)
from sessions.services.logs import EDITABLE_FIELDS

CONCERN_FIELDS = ("concern_severity", "concern_description")
LOG_FIELDS = EDITABLE_FIELDS  # the form shows what a log holds and a correction may change


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
        widget=forms.CheckboxSelectMultiple(
            attrs={"data-required-group": "participants", "data-message": _("Choose at least one.")}
        ),
    )
    also_matches = forms.MultipleChoiceField(
        label=_("Was anyone else of the family there?"),
        required=False,
        help_text=_("The same log is saved for each of them."),
        widget=forms.CheckboxSelectMultiple,
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(label=_("Language used"))
    interpreter_used = forms.BooleanField(label=_("An interpreter helped"), required=False)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=5000,
        help_text=_("Private: only you and the programme's coordinators can read them."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    follow_ups = forms.CharField(
        label=_("Follow-ups"),
        required=False,
        max_length=2000,
        help_text=_("What you or the family will do before the next session."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    concern_severity = forms.ChoiceField(
        label=_("How serious is it?"),
        required=False,
        choices=Concern.Severity.choices,
        widget=forms.RadioSelect,
    )
    concern_description = forms.CharField(
        label=_("What worries you?"),
        required=False,
        max_length=5000,
        help_text=_("Only you and the programme's coordinators will read this; they are told at once."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Made when the form is first shown and kept through error pages and the draft, so a
    # double tap or a retry after a dropped connection stores one log (``session_log_create``).
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, match: Match, log: SessionLog | None = None, **kwargs) -> None:
        self.match = match
        self.log = log
        if log is None:
            initial = {**session_log_defaults_for(match=match), "idempotency_key": uuid.uuid4()}
        else:
            initial = {field: getattr(log, field) for field in LOG_FIELDS}
        kwargs.setdefault("initial", initial)
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

        self.hidden_log_fields = session_hidden_fields_for(match.programme)
        for field in self.hidden_log_fields:
            del self.fields[field]
        if "topics" in self.fields:
            self.fields["topics"].choices = session_topics_for(match.programme)
        languages = _language_codes(match)
        if (current := self.initial.get("language")) and current not in languages:
            languages.append(current)
        self.fields["language"].choices = [(code, language_name(code)) for code in languages]

        self.family_matches = [] if log is not None else list(session_log_family_matches(match=match))
        if self.family_matches:
            self.fields["also_matches"].choices = [
                (str(m.pk), _("Also with %(name)s") % {"name": m.mentee.person.full_name})
                for m in self.family_matches
            ]
        else:
            del self.fields["also_matches"]
        if log is not None:
            for field in (*CONCERN_FIELDS, "idempotency_key"):
                del self.fields[field]

        # Hints for the phone's date picker and the script; the service holds the rules.
        held_on = self.fields["held_on"].widget.attrs
        held_on["max"] = timezone.localdate().isoformat()
        if match.started_on:
            held_on["min"] = match.started_on.isoformat()

    @property
    def concern_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in CONCERN_FIELDS if name in self.fields]

    @property
    def log_fields(self) -> list[forms.BoundField]:
        return [field for field in self.visible_fields() if field.name not in CONCERN_FIELDS]

    def clean(self) -> dict:
        data = super().clean()
        severity, description = data.get("concern_severity"), (data.get("concern_description") or "").strip()
        if severity and not description:
            self.add_error("concern_description", _("Say in a few words what worries you."))
        elif description and not severity and "concern_severity" not in self.errors:
            self.add_error("concern_severity", _("Choose how serious it is."))
        return data

    def log_values(self) -> dict:
        """The cleaned log fields the programme shows (hidden ones are left to the service)."""
        return {field: self.cleaned_data[field] for field in LOG_FIELDS if field in self.fields}

    def chosen_also_matches(self) -> list[Match]:
        chosen = set(self.cleaned_data.get("also_matches") or [])
        return [m for m in self.family_matches if str(m.pk) in chosen]

    def concern(self) -> dict | None:
        """``{"severity", "description"}`` when the "Something worries me" section is filled in."""
        if "concern_severity" not in self.fields or not self.cleaned_data.get("concern_severity"):
            return None
        return {
            "severity": self.cleaned_data["concern_severity"],
            "description": self.cleaned_data["concern_description"].strip(),
        }
