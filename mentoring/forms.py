"""Forms of the people pages.

The forms check only the shape of what was typed (a date is a date, a choice is on the list);
the rules live in ``mentoring.services`` and come back as the errors of these forms, each tied
to the field it is about (``add_service_errors``). Vocabulary choices (cultural backgrounds,
needs, self-assessment questions) are the programme's own, so those forms take the programme.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import pycountry
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mentoring.models import (
    AVAILABILITY_SLOTS,
    AgeBand,
    Consent,
    ConsentPurpose,
    LanguageLevel,
    Mentee,
    MigrantBackground,
    Person,
    PersonLanguage,
    Programme,
    ReferralSource,
    SelfAssessmentQuestion,
    SessionMode,
)
from mentoring.services import LanguageSpec, MemberSpec, PersonSpec
from mentoring.vocabulary import active_language, language_name, name_sort_key
from mentoring.vocabulary import country_name as _country_name


class LoginForm(AuthenticationForm):
    """Django's sign-in form, with labels styled like every other form (no trailing colon)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class OneTimeCodeForm(forms.Form):
    """The 6-digit code of an authenticator app (two-step sign-in: ``mentoring.two_step``).
    Spaces are allowed, as some apps show the code in two groups of three."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        help_text=_("6 digits"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise ValidationError(_("Enter the 6 digits your app shows, without letters."))
        return code


# Shared pieces ------------------------------------------------------------------------------

# Languages spoken in the programmes' communities that have no ISO 639-1 code.
EXTRA_LANGUAGE_CODES = ("ckb", "kmr", "prs", "rmy", "rom")

DAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}
DAY_PART_LABELS = {"morning": _("morning"), "afternoon": _("afternoon"), "evening": _("evening")}

CONSENT_LABELS = {
    ConsentPurpose.CASE_MANAGEMENT: _(
        "Case management: the programme keeps this record to run the mentoring"
    ),
    ConsentPurpose.BACKGROUND_MATCHING: _(
        "Matching on language and cultural background (country of birth, migrant background)"
    ),
    ConsentPurpose.STATISTICS: _("Anonymous participation statistics (equality reports)"),
}
LEVEL_CHOICES = [
    (LanguageLevel.NATIVE, _("Native")),
    (LanguageLevel.FLUENT, _("Fluent")),
    (LanguageLevel.BASIC, _("Basic")),
]
MIGRANT_CHOICES = [
    (MigrantBackground.FIRST_GENERATION, _("First generation (born abroad)")),
    (MigrantBackground.SECOND_GENERATION, _("Second generation (a parent born abroad)")),
    (MigrantBackground.NONE, _("No migrant background")),
    (MigrantBackground.DECLINED, _("Declined to say")),
    (MigrantBackground.UNKNOWN, _("Not recorded")),
]
MODE_CHOICES = [
    (SessionMode.IN_PERSON, _("In person")),
    (SessionMode.PHONE, _("Phone")),
    (SessionMode.VIDEO, _("Video")),
]
AGE_BAND_CHOICES = [("", _("Not given")), *AgeBand.choices]
KIND_CHOICES = [(Mentee.Kind.PARENT, _("Parent")), (Mentee.Kind.PUPIL, _("Pupil"))]
REFERRAL_SOURCE_CHOICES = [
    (ReferralSource.SCHOOL, _("School")),
    (ReferralSource.SOCIAL_SERVICE, _("Social service")),
    (ReferralSource.COMMUNITY, _("Community organisation")),
    (ReferralSource.SELF, _("Self-referral")),
]


def _by_name(choices) -> list[tuple[str, str]]:
    return sorted(choices, key=lambda item: name_sort_key(item[1]))


@lru_cache(maxsize=8)
def _all_languages(language: str) -> tuple[tuple[str, str], ...]:
    """Every language by its name in ``language`` (the active one: the cache is per language)."""
    codes = [lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")]
    codes += EXTRA_LANGUAGE_CODES
    return tuple(_by_name((code, language_name(code)) for code in codes))


@lru_cache(maxsize=8)
def _all_countries(language: str) -> tuple[tuple[str, str], ...]:
    return tuple(_by_name((c.alpha_2, _country_name(c.alpha_2)) for c in pycountry.countries))


def programme_languages(programme: Programme) -> list:
    """ISO 639 languages by name for a select, those already recorded in the programme (and
    its school language) first, so the common ones are a keystroke away. One query: a page
    reads it once and hands it to each of its forms."""
    used = set(
        PersonLanguage.objects.filter(person__programme=programme)
        .order_by()
        .values_list("language", flat=True)
        .distinct()
    )
    used.add(programme.local_language)
    common = _by_name((code, language_name(code)) for code in used)
    return [
        (_("Used in this programme"), common),
        (_("All languages"), list(_all_languages(active_language()))),
    ]


def _with_blank(choices: list, blank) -> list:
    return [("", blank), *choices]


def country_name(code: str) -> str:
    return _country_name(code)


def country_choices() -> list:
    return [("", _("Not given")), *_all_countries(active_language())]


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PageForm(forms.Form):
    """A form without Django's trailing colon on labels (every Tandem form). Dates named in
    ``not_future`` get today as the date picker's limit (a hint: the services hold the rule)."""

    not_future: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in self.not_future:
            self.fields[name].widget.attrs["max"] = timezone.localdate().isoformat()


def add_service_errors(
    form: forms.Form, exc: ValidationError, field_for: Callable[[str], str | None] = lambda key: key
) -> None:
    """Show a service's ``ValidationError`` on ``form``: each error next to the field
    ``field_for(key)`` names (by default the key itself), errors about anything else above it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.error_dict.items():
        name = field_for(key)
        form.add_error(name if name in form.fields else None, errors)


# Mentor application -------------------------------------------------------------------------


class PersonLanguagesMixin:
    """Up to three languages: the preferred one for sessions and two more, each with a level.
    ``language_rows`` gives the template the pairs; ``language_specs`` the service's input."""

    LANGUAGE_ROWS = (
        ("preferred_language", "preferred_level"),
        ("language_2", "level_2"),
        ("language_3", "level_3"),
    )

    def _add_language_fields(self, programme: Programme, languages: list) -> None:
        labels = (
            (_("Preferred language for sessions"), _("Level of the preferred language")),
            (_("Second language"), _("Level of the second language")),
            (_("Third language"), _("Level of the third language")),
        )
        for i, ((language, level), (language_label, level_label)) in enumerate(
            zip(self.LANGUAGE_ROWS, labels, strict=True)
        ):
            preferred = i == 0
            self.fields[language] = forms.ChoiceField(
                label=language_label,
                required=preferred,
                choices=_with_blank(languages, _("Choose a language") if preferred else _("None")),
            )
            self.fields[level] = forms.ChoiceField(
                label=level_label,
                choices=LEVEL_CHOICES,
                initial=LanguageLevel.NATIVE if preferred else LanguageLevel.FLUENT,
            )
        self._language_rows_used: list[tuple[str, str]] = []

    def language_rows(self) -> list[tuple]:
        return [
            (self[language], self[level]) for language, level in self.LANGUAGE_ROWS if language in self.fields
        ]

    def language_specs(self) -> list[LanguageSpec]:
        """The languages given, in order; remembers which row each came from so the service's
        ``languages.<i>`` errors can be put back on that row."""
        specs, self._language_rows_used = [], []
        for i, (language, level) in enumerate(self.LANGUAGE_ROWS):
            code = self.cleaned_data.get(language)
            if code:
                specs.append(LanguageSpec(language=code, level=self.cleaned_data[level], is_preferred=i == 0))
                self._language_rows_used.append((language, level))
        return specs

    def language_field_for(self, key: str) -> str | None:
        """``languages.1.level`` → the level field of the row the second language came from;
        ``languages`` (a duplicate) → the row that repeats an earlier language."""
        parts = key.split(".")
        if parts[0] != "languages":
            return None
        if len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(self._language_rows_used):
            language, level = self._language_rows_used[int(parts[1])]
            return level if parts[2] == "level" else language
        seen = set()
        for language, _level in self._language_rows_used:
            code = self.cleaned_data.get(language)
            if code in seen:
                return language
            seen.add(code)
        return self.LANGUAGE_ROWS[0][0]


class MentorApplicationForm(PersonLanguagesMixin, PageForm):
    """A volunteer's application (``mentor_apply``)."""

    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    gender = forms.CharField(
        label=_("Gender"),
        max_length=60,
        required=False,
        help_text=_("Self-described; leave empty if not given."),
    )
    age_band = forms.ChoiceField(label=_("Age"), choices=AGE_BAND_CHOICES, required=False)
    municipality = forms.CharField(label=_("Municipality"), max_length=100, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)
    cultural_backgrounds = forms.MultipleChoiceField(
        label=_("Cultural background"), required=False, widget=forms.CheckboxSelectMultiple
    )
    country_of_birth = forms.ChoiceField(label=_("Country of birth"), required=False)
    migrant_background = forms.ChoiceField(
        label=_("Migrant background"),
        choices=MIGRANT_CHOICES,
        initial=MigrantBackground.UNKNOWN,
        widget=forms.RadioSelect,
        help_text=_("Self-declared. “Declined to say” is a valid answer."),
    )
    availability = forms.MultipleChoiceField(
        label=_("Available"),
        required=False,
        choices=[(slot, slot) for slot in AVAILABILITY_SLOTS],
        widget=forms.CheckboxSelectMultiple,
    )
    session_modes = forms.MultipleChoiceField(
        label=_("Can meet"), required=False, choices=MODE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    needs = forms.MultipleChoiceField(
        label=_("Strengths"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the mentor can help families with."),
    )
    capacity = forms.TypedChoiceField(
        label=_("Mentees at once"),
        choices=[(1, "1"), (2, "2"), (3, "3")],
        coerce=int,
        initial=1,
        widget=forms.RadioSelect,
    )
    consents = forms.MultipleChoiceField(
        label=_("Consent given to"),
        required=False,
        choices=list(CONSENT_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Background data is recorded only with consent to matching on it or to anonymous statistics."
        ),
    )
    consent_language = forms.ChoiceField(label=_("Language of the consent form"))

    def __init__(self, *args, programme: Programme, languages: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.programme = programme
        self._add_language_fields(programme, languages)
        self.fields["cultural_backgrounds"].choices = [
            (cb.code, cb.name) for cb in programme.cultural_backgrounds.all()
        ]
        self.fields["needs"].choices = [(need.code, need.name) for need in programme.needs.all()]
        self.fields["country_of_birth"].choices = country_choices()
        self.fields["availability"].choices = [
            (f"{day}_{part}", f"{DAY_LABELS[day]} {DAY_PART_LABELS[part]}")
            for day, part in (slot.split("_") for slot in AVAILABILITY_SLOTS)
        ]
        self.fields["consent_language"].choices = languages
        self.fields["consent_language"].initial = programme.local_language

    def availability_grid(self) -> list[tuple]:
        """The 21 availability checkboxes as (day, [morning, afternoon, evening]) rows."""
        boxes = list(self["availability"])
        return [(DAY_LABELS[day], boxes[i * 3 : i * 3 + 3]) for i, day in enumerate(DAY_LABELS)]

    def day_parts(self) -> list:
        return list(DAY_PART_LABELS.values())

    def person_spec(self) -> PersonSpec:
        data = self.cleaned_data
        return PersonSpec(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            gender=data["gender"],
            age_band=data["age_band"],
            country_of_birth=data["country_of_birth"],
            migrant_background=data["migrant_background"],
            municipality=data["municipality"],
            postcode=data["postcode"],
            availability=data["availability"],
            session_modes=data["session_modes"],
            languages=self.language_specs(),
            cultural_backgrounds=data["cultural_backgrounds"],
            needs=data["needs"],
            consents=data["consents"],
            consent_language=data["consent_language"],
        )

    def field_for(self, key: str) -> str | None:
        """The field a ``mentor_apply`` error key is about (``person.languages.0.level`` …)."""
        key = key.removeprefix("person.")
        return self.language_field_for(key) or key


# Family referral ----------------------------------------------------------------------------


class FamilyReferralForm(PageForm):
    reference = forms.CharField(
        label=_("Case reference"),
        max_length=40,
        help_text=_("The programme's own reference, e.g. BM-2025-014."),
    )
    referral_source = forms.ChoiceField(label=_("Referred by"), choices=REFERRAL_SOURCE_CHOICES)
    referrer_name = forms.CharField(
        label=_("Referrer"), max_length=200, required=False, help_text=_("e.g. the class teacher")
    )
    referrer_organisation = forms.CharField(
        label=_("Referrer's organisation"), max_length=200, required=False
    )
    municipality = forms.CharField(label=_("Municipality"), max_length=100, required=False)
    referred_on = forms.DateField(label=_("Referred on"), widget=_date_widget())
    consent_language = forms.ChoiceField(label=_("Language of the consent forms"))

    not_future = ("referred_on",)

    def __init__(self, *args, programme: Programme, languages: list, **kwargs) -> None:
        kwargs.setdefault("initial", {"referred_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["consent_language"].choices = languages
        self.fields["consent_language"].initial = programme.local_language


class FamilyMemberForm(PageForm):
    """A parent or pupil of the referred family. A slot left as it was is ignored."""

    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    kind = forms.ChoiceField(label=_("Member"), choices=KIND_CHOICES, widget=forms.RadioSelect)
    mentored = forms.BooleanField(label=_("To be mentored"), required=False, initial=True)
    school = forms.CharField(
        label=_("School"),
        max_length=200,
        required=False,
        help_text=_("Pupils only"),
        widget=forms.TextInput(attrs={"list": "schools"}),  # the programme's schools, as suggestions
    )
    grade = forms.CharField(label=_("Grade"), max_length=20, required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), required=False)
    preferred_level = forms.ChoiceField(label=_("Level"), choices=LEVEL_CHOICES, initial=LanguageLevel.NATIVE)
    migrant_background = forms.ChoiceField(
        label=_("Migrant background"), choices=MIGRANT_CHOICES, initial=MigrantBackground.UNKNOWN
    )
    consents = forms.MultipleChoiceField(
        label=_("Consent given to"),
        required=False,
        choices=list(CONSENT_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    consent_given_by = forms.CharField(
        label=_("Consent given by"),
        max_length=200,
        required=False,
        help_text=_("For a pupil, usually a parent. Leave empty if the member consented themself."),
    )

    def __init__(self, *args, languages: list, slot_kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].initial = slot_kind
        self.fields["preferred_language"].choices = _with_blank(languages, _("Not recorded"))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == Mentee.Kind.PARENT and (data.get("school") or data.get("grade")):
            self.add_error("school", _("Only pupils have a school and grade."))
        return data

    def member_spec(self, *, consent_language: str) -> MemberSpec:
        data = self.cleaned_data
        languages = (
            [LanguageSpec(data["preferred_language"], data["preferred_level"], True)]
            if data["preferred_language"]
            else []
        )
        return MemberSpec(
            kind=data["kind"],
            mentored=data["mentored"],
            school=data["school"],
            grade=data["grade"],
            person=PersonSpec(
                first_name=data["first_name"],
                last_name=data["last_name"],
                migrant_background=data["migrant_background"],
                languages=languages,
                consents=data["consents"],
                consent_given_by=data["consent_given_by"],
                consent_language=consent_language,
            ),
        )

    def field_for(self, key: str) -> str | None:
        """A ``family_refer`` error key below ``members.<i>.`` → this form's field."""
        key = key.removeprefix("person.")
        if key.startswith("languages"):
            return "preferred_level" if key.endswith(".level") else "preferred_language"
        return key or None


# Slot 1 is the parent the referral is about; slots 2 to 4 default to pupils (one can be a
# second parent). A family with more members is referred, then completed from its page.
MEMBER_SLOTS = (Mentee.Kind.PARENT, Mentee.Kind.PUPIL, Mentee.Kind.PUPIL, Mentee.Kind.PUPIL)
MAX_PUPILS = 3


class BaseFamilyMemberFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int) -> dict:
        kwargs = super().get_form_kwargs(index)
        kwargs["slot_kind"] = (
            MEMBER_SLOTS[index] if index is not None and index < len(MEMBER_SLOTS) else "pupil"
        )
        return kwargs

    def filled_forms(self) -> list[FamilyMemberForm]:
        """The first slot and every other slot where something was typed or changed."""
        return [form for i, form in enumerate(self.forms) if i < self.min_num or form.has_changed()]

    def clean(self) -> None:
        if any(self.errors):
            return
        kinds = [form.cleaned_data["kind"] for form in self.filled_forms()]
        if Mentee.Kind.PARENT not in kinds:
            raise ValidationError(_("Give at least one parent."), code="no_parent")
        if kinds.count(Mentee.Kind.PUPIL) > MAX_PUPILS:
            raise ValidationError(_("Give at most three pupils."), code="too_many_pupils")


FamilyMemberFormSet = forms.formset_factory(
    FamilyMemberForm,
    formset=BaseFamilyMemberFormSet,
    extra=len(MEMBER_SLOTS) - 1,
    min_num=1,
    max_num=len(MEMBER_SLOTS),
    validate_min=True,
    validate_max=True,
)


# Mentor lifecycle actions -------------------------------------------------------------------


class InterviewForm(PageForm):
    interviewed_on = forms.DateField(label=_("Interview date"), widget=_date_widget())

    not_future = ("interviewed_on",)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"interviewed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class ReferenceForm(PageForm):
    referee_name = forms.CharField(label=_("Referee"), max_length=200)
    relationship = forms.CharField(
        label=_("Relationship"), max_length=100, help_text=_("e.g. employer, teacher, community leader")
    )
    received_on = forms.DateField(label=_("Received on"), widget=_date_widget())
    satisfactory = forms.TypedChoiceField(
        label=_("Satisfactory?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )

    not_future = ("received_on",)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"received_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class RecordCheckForm(PageForm):
    checked_on = forms.DateField(label=_("Checked on"), widget=_date_widget())
    expires_on = forms.DateField(label=_("Valid until"), widget=_date_widget())
    reference = forms.CharField(
        label=_("Certificate number"), max_length=60, required=False, help_text=_("Optional")
    )

    not_future = ("checked_on",)


class TrainingRecordForm(PageForm):
    course = forms.CharField(label=_("Course"), max_length=200)
    completed_on = forms.DateField(label=_("Completed on"), widget=_date_widget())
    test_score = forms.IntegerField(
        label=_("End-of-course test score (%)"),
        min_value=0,
        max_value=100,
        # xgettext:no-python-format
        help_text=_("Passed at 80 % or more."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    not_future = ("completed_on",)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"completed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]


class SelfAssessmentForm(PageForm):
    """The programme's competence self-assessment: one 1–5 answer per active question."""

    def __init__(self, *args, programme: Programme, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(SelfAssessmentQuestion.objects.filter(programme=programme, is_active=True))
        for question in self.questions:
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=question.text,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect(attrs={"class": "scale"}),
                error_messages={"required": _("Choose a score from 1 to 5.")},
            )

    def answers(self) -> dict[str, int]:
        return {str(question.pk): self.cleaned_data[f"q{question.pk}"] for question in self.questions}


class EmptyForm(PageForm):
    """A step that is just a button (start screening, approve …)."""


class DeactivateForm(PageForm):
    note = forms.CharField(
        label=_("Note"), max_length=200, required=False, help_text=_("Optional, e.g. a break")
    )


class WithdrawForm(PageForm):
    reason = forms.CharField(label=_("Reason for leaving"), max_length=200, required=False)


# Consent ------------------------------------------------------------------------------------


class ConsentForm(PageForm):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=list(CONSENT_LABELS.items()))
    given_by = forms.CharField(label=_("Given by"), max_length=200)
    language = forms.ChoiceField(label=_("Language of the consent form"))

    def __init__(self, *args, person: Person, programme: Programme, languages: list, **kwargs) -> None:
        kwargs.setdefault("initial", {"given_by": person.full_name, "language": programme.local_language})
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = languages


class ConsentWithdrawForm(PageForm):
    consent = forms.ModelChoiceField(
        queryset=Consent.objects.none(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This consent was already withdrawn.")},
    )

    def __init__(self, *args, person: Person, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consent"].queryset = Consent.objects.filter(person=person, withdrawn_at__isnull=True)


# Intake -------------------------------------------------------------------------------------


class IntakeCompleteForm(PageForm):
    needs_assessment = forms.CharField(
        label=_("Needs assessment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the family hopes the mentoring brings."),
    )


# Lists --------------------------------------------------------------------------------------


class SearchForm(PageForm):
    """The search and filters above a list; every field is optional and bad values are ignored."""

    q = forms.CharField(label=_("Search"), required=False, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, programmes: list[Programme] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if programmes is not None and len(programmes) > 1:
            self.fields["programme"] = forms.TypedChoiceField(
                label=_("Programme"),
                required=False,
                coerce=int,
                choices=[("", _("All programmes")), *((p.pk, p.name) for p in programmes)],
            )

    def filters(self) -> dict:
        """The valid, non-empty filters (a stale or hand-made URL just filters less)."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}


class MentorSearchForm(SearchForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    record_check = forms.ChoiceField(
        label=_("Record check"),
        required=False,
        choices=[("", _("Any")), ("due", _("Expired or expiring within 60 days"))],
    )

    def __init__(self, *args, status_choices: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].help_text = _("Name or e-mail")
        self.fields["status"].choices = [("", _("Any status")), *status_choices]


class WaitingSearchForm(SearchForm):
    language = forms.ChoiceField(label=_("Preferred language"), required=False)
    kind = forms.ChoiceField(
        label=_("Mentee"), required=False, choices=[("", _("Parents and pupils")), *KIND_CHOICES]
    )

    def __init__(self, *args, languages: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].help_text = _("Name or family reference")
        self.fields["language"].choices = [
            ("", _("Any language")),
            *((c, language_name(c)) for c in languages),
        ]


class FamilySearchForm(SearchForm):
    status = forms.ChoiceField(label=_("A member is"), required=False)

    def __init__(self, *args, status_choices: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].help_text = _("Reference or a member's name")
        self.fields["status"].choices = [("", _("Any status")), *status_choices]
