"""Pages of matches: a coordinator's Match button and a mentor's own matches."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from matching.forms import MatchCreateForm
from matching.models import Match
from matching.scoring import score_pair
from matching.selectors import match_list_visible_to
from matching.services import match_create
from mentoring.models import User
from mentoring.selectors import mentee_get_for_user, mentor_matchable_queryset
from mentoring.views import preferred_language, role_required


@require_POST
@role_required(User.Role.COORDINATOR, User.Role.ADMIN)
def match_create_view(request: HttpRequest, mentee_id: int) -> HttpResponse:
    """Match the mentee with the chosen mentor. Refusals are not about anything the
    coordinator typed, so they are shown as messages on the mentee's page (post/redirect/get,
    so a reload cannot post twice)."""
    # The page that offered the button audited the read; this request is audited as the write.
    mentee = mentee_get_for_user(user=request.user, mentee_id=mentee_id, request=request, audit=False)
    form = MatchCreateForm(request.POST, user=request.user, mentee=mentee)
    if not form.is_valid():
        for error in form.errors.get("mentor", []):
            messages.error(request, error)
        return redirect("mentee-detail", mentee_id=mentee.pk)

    mentor = form.cleaned_data["mentor"]
    # Store the score the suggestion showed, computed here rather than trusted from the form.
    matchable = mentor_matchable_queryset(programme=mentee.programme).filter(pk=mentor.pk).first()
    try:
        match_create(
            mentee=mentee,
            mentor=mentor,
            created_by=request.user,
            score=score_pair(mentee=mentee, mentor=matchable).score if matchable else None,
            request=request,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("mentee-detail", mentee_id=mentee.pk)

    messages.success(
        request,
        _("%(mentee)s is now matched with %(mentor)s.")
        % {"mentee": mentee.person.full_name, "mentor": mentor.person.full_name},
    )
    return redirect("mentee-waiting-list")


@role_required(User.Role.MENTOR)
def my_matches(request: HttpRequest) -> HttpResponse:
    """A mentor's own matches, current ones first, each with its sessions so far."""
    matches = (
        match_list_visible_to(user=request.user)
        .annotate(session_count=Count("session_logs"), last_session_on=Max("session_logs__held_on"))
        .prefetch_related("mentee__person__languages")
        .order_by("-started_on", "-proposed_at")
    )
    current, earlier = [], []
    for match in matches:
        match.preferred_language = preferred_language(match.mentee.person)
        (earlier if match.status == Match.Status.CLOSED else current).append(match)
    return render(request, "matching/my_matches.html", {"current": current, "earlier": earlier})
