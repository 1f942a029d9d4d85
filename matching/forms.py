"""Forms of the matching pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mentoring.models import Mentee, User
from mentoring.selectors import mentor_list_visible_to


class MatchCreateForm(forms.Form):
    """The Match button of one suggestion: which mentor the coordinator chose. Only mentors of
    the mentee's programme the user may see are accepted; the service checks the rest."""

    mentor = forms.ModelChoiceField(
        queryset=None,
        widget=forms.HiddenInput,
        label=_("Mentor"),
        error_messages={"invalid_choice": _("This mentor cannot be matched with this mentee.")},
    )

    def __init__(self, *args, user: User, mentee: Mentee, **kwargs) -> None:
        # Several Match buttons share one page; their hidden inputs need no (duplicate) ids.
        kwargs.setdefault("auto_id", False)
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = mentor_list_visible_to(
            user=user, filters={"programme": mentee.programme_id}
        )
