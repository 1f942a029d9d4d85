"""Pages of the people of a programme: the landing page, the waiting list and a mentee's page.

Views are thin: they ask the selectors (which scope every read to the user) and shape the
answer for a template. ``role_required`` is shared by every app's pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from matching.forms import MatchCreateForm
from matching.selectors import mentor_suggestions_for_mentee
from mentoring.errors import NotFound
from mentoring.models import Mentee, Person, User
from mentoring.selectors import mentee_get_for_user, mentee_waiting_list
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
def mentee_waiting_list_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rows = [
        WaitingRow(
            mentee=mentee,
            days_waiting=(today - mentee.waiting_since).days if mentee.waiting_since else None,
            preferred_language=preferred_language(mentee.person),
        )
        for mentee in mentee_waiting_list(user=request.user)
    ]
    show_programme = len({row.mentee.programme_id for row in rows}) > 1
    return render(
        request,
        "mentoring/waiting_list.html",
        {"rows": rows, "show_programme": show_programme},
    )


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
